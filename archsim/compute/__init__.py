"""Compute cost models (pure): energy per MAC and per vector operation."""
