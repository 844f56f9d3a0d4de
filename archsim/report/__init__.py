"""Reports: rich tables for people, JSON/CSV files for scripts."""
