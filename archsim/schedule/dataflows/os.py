"""Output stationary (os): each PE owns one output C[m, n] and accumulates it over the whole K in place.

Mapping: M (ofmap pixels) on the array rows, N (filters) on the columns, K (the im2col window) streamed in time.
A streams in from the left edge, B from the top edge, both skewed; the finished outputs drain out of the array
after the last product. Source: SCALE-Sim v3 ``compute/systolic_compute_os.py`` (see docs/dataflows.md).
"""
from __future__ import annotations

from archsim.schedule.dataflows.base import Dataflow, Mapping, SramCounts, _ceil


class OutputStationary(Dataflow):
    name = "os"
    description = "output stationary: M on rows, N on columns, K streamed"

    def mapping(self, M: int, N: int, K: int) -> Mapping:
        return Mapping(sr=M, sc=N, t=K)

    def spatial_dims(self) -> tuple[str, str]:
        return "M", "N"

    def fold_cycles(self, rows: int, cols: int, t: int) -> int:
        # T operand rows + (cols-1) / (rows-1) drain rows, then a skew of (rows-1) / (cols-1) rows
        # (systolic_compute_os.py:264 ifmap, :316 filter; ofmap: T-1 prefix (:366) + R rows, skewed by C-1):
        # T + R + C - 2.
        return t + rows + cols - 2

    def util_window_cycles(self, rows: int, cols: int, t: int) -> int:
        # 'Compute Util' divides by the unskewed ofmap fold's rows + cols - 1 = (T - 1 + R) + C - 1 (:417).
        return t + rows + cols - 2

    def sram_counts(self, M: int, N: int, K: int, rows: int, cols: int) -> SramCounts:
        # Every column fold re-streams all of A and every row fold all of B; each output is written once,
        # after its full K accumulation (no partial sums leave the array).
        return SramCounts(reads_a=M * K * _ceil(N, cols), reads_b=K * N * _ceil(M, rows), writes_c=M * N,
                          psum_reads=0)

    def scalesim_ofmap_write_excess(self, folds: int, rows: int, cols: int) -> int:
        # systolic_compute_os.py:403 adds shape[0] + shape[1] (= R + C of the padded fold) per fold.
        return folds * (rows + cols)
