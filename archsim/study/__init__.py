"""The full study: energy and training accuracy of SRAM, MRAM and heterogeneous scratchpads across networks.

:func:`run_study` expands a :class:`StudySpec` into design points, computes their tasks on a backend into a
resumable store, and builds the table, Pareto fronts and recommendations (docs/results.md).
"""
from .spec import AccuracyProxy, AccuracySettings, NetworkEntry, Recipe, StudySpec, WriteGrid, load_spec
from .study import StudyResult, run_study

__all__ = ["AccuracyProxy", "AccuracySettings", "NetworkEntry", "Recipe", "StudySpec", "WriteGrid", "load_spec",
           "StudyResult", "run_study"]
