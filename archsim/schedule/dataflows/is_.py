"""Input stationary (is): a K x M tile of A (transposed) is loaded into the array and held; B streams through it.

Mapping: K (the im2col window) on the array rows, M (ofmap pixels) on the columns, N (filters) streamed in time.
The mirror image of ws with the roles of A and B swapped: weight-load phase of R cycles per fold, partial sums
written once per K fold and read back for the next one. (Module named ``is_`` because ``is`` is a keyword.)
Source: SCALE-Sim v3 ``compute/systolic_compute_is.py`` (see docs/dataflows.md).
"""
from __future__ import annotations

from archsim.schedule.dataflows.base import Dataflow, Mapping, SramCounts, _ceil


class InputStationary(Dataflow):
    name = "is"
    description = "input stationary: K on rows, M on columns, N streamed"

    def mapping(self, M: int, N: int, K: int) -> Mapping:
        return Mapping(sr=K, sc=M, t=N)

    def spatial_dims(self) -> tuple[str, str]:
        return "K", "M"

    def fold_cycles(self, rows: int, cols: int, t: int) -> int:
        # The held operand is A: its fold is R load rows + (R + C + T - 2) rows of gap, unskewed
        # (systolic_compute_is.py:224); filter: R + T + (C - 1), skewed by R - 1 (:289, :292); ofmap:
        # (2R - 1) + T, skewed by C - 1 (:337). All three: 2R + C + T - 2.
        return 2 * rows + cols + t - 2

    def util_window_cycles(self, rows: int, cols: int, t: int) -> int:
        # 'Compute Util' uses the ifmap fold matrix: (2R + C + T - 2) rows + C cols - 1 (:266).
        return 2 * rows + 2 * cols + t - 3

    def sram_counts(self, M: int, N: int, K: int, rows: int, cols: int) -> SramCounts:
        k_folds = _ceil(K, rows)
        return SramCounts(reads_a=M * K, reads_b=K * N * _ceil(M, cols), writes_c=M * N * k_folds,
                          psum_reads=M * N * (k_folds - 1))
