"""Scheduling: dataflow fold models, tensor residency, tiling of a training step."""
