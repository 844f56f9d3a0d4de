"""Weight stationary (ws): a K x N tile of B is loaded into the array and held; A streams through it.

Mapping: K (the im2col window) on the array rows, N (filters) on the columns, M (ofmap pixels) streamed in time.
Each fold first loads its weights (R cycles, not overlapped with the previous fold), then streams all M rows of
A; partial sums flow down the columns and leave at the bottom edge. When K > R the K tiles are separate folds,
so every output is written once per K fold (partial sums) and read back for the next one.
Source: SCALE-Sim v3 ``compute/systolic_compute_ws.py`` (see docs/dataflows.md).
"""
from __future__ import annotations

from archsim.schedule.dataflows.base import Dataflow, Mapping, SramCounts, _ceil


class WeightStationary(Dataflow):
    name = "ws"
    description = "weight stationary: K on rows, N on columns, M streamed"

    def mapping(self, M: int, N: int, K: int) -> Mapping:
        return Mapping(sr=K, sc=N, t=M)

    def spatial_dims(self) -> tuple[str, str]:
        return "K", "N"

    def fold_cycles(self, rows: int, cols: int, t: int) -> int:
        # R weight-load rows + T + (C-1) drain, skewed by R-1 (systolic_compute_ws.py:242, :245, then skew_matrix);
        # filter: R + (R + C + T - 2) (:345); ofmap: (2R - 1) + T, skewed by C-1 (:434). All: 2R + C + T - 2.
        return 2 * rows + cols + t - 2

    def util_window_cycles(self, rows: int, cols: int, t: int) -> int:
        # 'Compute Util' uses the filter fold matrix: (2R + C + T - 2) rows + C cols - 1 (:403).
        return 2 * rows + 2 * cols + t - 3

    def sram_counts(self, M: int, N: int, K: int, rows: int, cols: int) -> SramCounts:
        k_folds = _ceil(K, rows)
        return SramCounts(reads_a=M * K * _ceil(N, cols), reads_b=K * N, writes_c=M * N * k_folds,
                          psum_reads=M * N * (k_folds - 1))
