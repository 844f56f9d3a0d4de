"""Systolic-array dataflows (output / weight / input stationary) as pure fold-level cost models.

>>> from archsim.schedule.dataflows import get_dataflow
>>> p = get_dataflow("ws").plan(M=25, N=384, K=1728, rows=32, cols=32)
>>> p.folds, p.fold_cycles, p.compute_cycles
(648, 119, 77111)
"""
from archsim.schedule.dataflows.base import (Dataflow, FoldPlan, Mapping, ScaleSimView, SramCounts,
                                             dataflow_names, get_dataflow)
# Importing the implementations registers them by name.
from archsim.schedule.dataflows import os as _os, ws as _ws, is_ as _is  # noqa: F401,E401

__all__ = ["Dataflow", "FoldPlan", "Mapping", "ScaleSimView", "SramCounts", "dataflow_names", "get_dataflow"]
