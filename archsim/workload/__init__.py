"""Workloads: network graphs, their registry, importers, and the training schedule built from them."""
from .graph import Layer, Network, NetworkBuilder, GraphError
from . import registry

__all__ = ["Layer", "Network", "NetworkBuilder", "GraphError", "registry"]
