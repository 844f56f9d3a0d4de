"""Fold-level cost model of a GEMM on a weight/output/input-stationary systolic array (pure functions, no simpy).

A GEMM ``C[M x N] = A[M x K] @ B[K x N]`` (A = ifmap / im2col operand, B = filter operand, C = ofmap) runs on an
``rows x cols`` array of MAC units. Each dataflow maps two of the three GEMM dimensions onto the array
(``sr`` onto its rows, ``sc`` onto its columns) and streams the third (``t``) through it in time. When ``sr > rows``
or ``sc > cols`` the work is split into *folds*, each occupying the whole array for the same number of cycles
(``fold_cycles``), run one after another, column-fold outer and row-fold inner.

The timing and access counts reproduce SCALE-Sim v3 (Samajdar et al., "A Systematic Methodology for Characterizing
Scalability of DNN Accelerators using SCALE-Sim", ISPASS 2020; PyPI ``scalesim==3.0.0``), whose
``compute/systolic_compute_{os,ws,is}.py`` build one demand-matrix row per cycle per fold; the closed forms in the
subclasses are derived from those loops (see docs/dataflows.md for the line-by-line derivation and the measured
agreement). Where SCALE-Sim's report differs from the physical count, :class:`FoldPlan` holds the physical number
and :meth:`FoldPlan.scalesim_compat` gives SCALE-Sim's.

Adding a dataflow: subclass :class:`Dataflow` in a new module with a class attribute ``name`` and implement the four
hooks (:meth:`Dataflow.mapping`, :meth:`Dataflow.fold_cycles`, :meth:`Dataflow.sram_counts`,
:meth:`Dataflow.util_window_cycles`); ``__init_subclass__`` registers it, and importing the module in
``archsim/schedule/dataflows/__init__.py`` makes it available to :func:`get_dataflow`.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, fields
from typing import ClassVar, NamedTuple

_REGISTRY: dict[str, type["Dataflow"]] = {}


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _check_pos(**kw: int) -> None:
    for k, v in kw.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{k} must be an integer >= 1, got {v!r}")


class Mapping(NamedTuple):
    """Which GEMM extent lies on the array rows (``sr``), the array columns (``sc``) and in time (``t``)."""

    sr: int
    sc: int
    t: int


class SramCounts(NamedTuple):
    """Array <-> scratchpad word transfers of one group (physical counts)."""

    reads_a: int       #: A (ifmap) words read by the array
    reads_b: int       #: B (filter) words read by the array
    writes_c: int    #: C (ofmap) words written, partial sums included
    psum_reads: int    #: partial sums read back to continue accumulating (K split over folds)


class ScaleSimView(NamedTuple):
    """The numbers exactly as SCALE-Sim v3 reports them (COMPUTE_REPORT / DETAILED_ACCESS_REPORT).

    For a grouped GEMM (``groups > 1``) SCALE-Sim has no groups; its ``DP`` layers are expanded into one layer
    per channel (``topology_utils.py:153``). The view then gives the *sum over those per-group layers* for the
    cycle and access counts and the per-layer value (identical for all groups) for the percentages.
    """

    total_cycles: int            #: 'Total Cycles' (per layer: demand rows - 1; summed over groups)
    overall_util_pct: float      #: 'Overall Util %' = MACs / (Total Cycles * R * C) of one group's layer
    mapping_eff_pct: float       #: 'Mapping Efficiency %'
    compute_util_pct: float      #: 'Compute Util %'
    sram_ifmap_reads: int
    sram_filter_reads: int
    sram_ofmap_writes: int       #: os: includes the ``+ folds*(R+C)`` quirk of systolic_compute_os.py:403


@dataclass(frozen=True)
class FoldPlan:
    """Cost of one GEMM (or of ``groups`` independent equal GEMMs run back to back) on one array.

    Cycle fields, counts and ``folds`` cover all groups; ``sr, sc, t, row_folds, col_folds`` describe one group.
    """

    dataflow: str
    rows: int
    cols: int
    M: int
    N: int
    K: int
    groups: int
    sr: int
    sc: int
    t: int
    row_folds: int
    col_folds: int
    folds: int
    fold_cycles: int
    busy_cycles: int
    compute_cycles: int
    macs: int
    sram_reads_a: int
    sram_reads_b: int
    sram_writes_c: int
    psum_reads: int
    mapping_efficiency: float
    compute_utilization: float
    utilization: float
    scalesim_ofmap_write_excess: int
    util_window_cycles: int

    #: Fields that add up exactly when a GEMM is split into fold-aligned blocks (see Dataflow.plan_blocks).
    ADDITIVE: ClassVar[tuple[str, ...]] = ("folds", "busy_cycles", "macs", "sram_reads_a", "sram_reads_b",
                                           "sram_writes_c", "psum_reads", "scalesim_ofmap_write_excess")

    @property
    def sram_reads(self) -> int:
        """All array reads from the scratchpads (A + B + partial sums)."""
        return self.sram_reads_a + self.sram_reads_b + self.psum_reads

    def scalesim_compat(self) -> ScaleSimView:
        """SCALE-Sim's reported numbers for this GEMM (what its report would say, quirks included).

        * 'Total Cycles' of a layer is the index of its last demand row, ``busy_cycles - 1`` (with ``groups``
          layers, ``groups`` times that of one group).
        * os 'SRAM OFMAP writes' adds ``R + C`` per fold (``self.ofmap_writes += shape[0] + shape[1]`` at
          systolic_compute_os.py:403 next to the real ``shape[0] * shape[1]`` count at :385); the physical
          count is :attr:`sram_writes_c`.
        * SCALE-Sim does not count partial-sum read-backs (:attr:`psum_reads`).
        """
        g = self.groups
        per_layer_cycles = self.busy_cycles // g - 1
        per_layer_macs = self.macs // g
        if per_layer_cycles > 0:
            overall = 100.0 * per_layer_macs / (per_layer_cycles * self.rows * self.cols)
        else:  # SCALE-Sim divides by zero here (a 1-cycle layer on a 1x1 array); report no number
            overall = math.nan
        return ScaleSimView(
            total_cycles=g * per_layer_cycles,
            overall_util_pct=overall,
            mapping_eff_pct=100.0 * self.mapping_efficiency,
            compute_util_pct=100.0 * self.compute_utilization,
            sram_ifmap_reads=self.sram_reads_a,
            sram_filter_reads=self.sram_reads_b,
            sram_ofmap_writes=self.sram_writes_c + self.scalesim_ofmap_write_excess,
        )

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Dataflow(ABC):
    """A systolic-array dataflow: how a GEMM is mapped and folded, and what each fold costs.

    Subclasses set ``name`` and implement the hooks; instances are stateless (use :func:`get_dataflow`).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if not cls.name:
            raise TypeError(f"dataflow class {cls.__name__} must set a non-empty `name`")
        if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
            raise TypeError(f"dataflow name {cls.name!r} already registered by {_REGISTRY[cls.name].__name__}")
        _REGISTRY[cls.name] = cls

    # -- hooks ----------------------------------------------------------------------------------------------
    @abstractmethod
    def mapping(self, M: int, N: int, K: int) -> Mapping:
        """(sr, sc, t): the GEMM extents on the array rows, the array columns, and in time."""

    @abstractmethod
    def fold_cycles(self, rows: int, cols: int, t: int) -> int:
        """Cycles one fold occupies the array (fill + stream + drain), independent of how much of it is used."""

    @abstractmethod
    def sram_counts(self, M: int, N: int, K: int, rows: int, cols: int) -> SramCounts:
        """Physical array <-> scratchpad transfers of one (ungrouped) GEMM."""

    @abstractmethod
    def util_window_cycles(self, rows: int, cols: int, t: int) -> int:
        """Per-fold cycle count SCALE-Sim divides by in 'Compute Util %' (rows + cols - 1 of one fold matrix)."""

    def scalesim_ofmap_write_excess(self, folds: int, rows: int, cols: int) -> int:
        """Extra OFMAP writes SCALE-Sim reports beyond the physical count (0 unless a quirk adds some)."""
        return 0

    def block_steps(self, rows: int, cols: int) -> tuple[int | None, int | None]:
        """(m_step, n_step): splitting M (N) into blocks that are multiples of the step is exactly additive.

        ``None`` means that dimension is streamed in time: every block repeats the fold fill/drain, so only
        ``block >= M`` (``N``) is additive.
        """
        sr_dim, sc_dim = self.spatial_dims()
        steps = {sr_dim: rows, sc_dim: cols}
        return steps.get("M"), steps.get("N")

    @abstractmethod
    def spatial_dims(self) -> tuple[str, str]:
        """Names ('M', 'N' or 'K') of the GEMM dimensions on the array rows and columns."""

    # -- planning -------------------------------------------------------------------------------------------
    def plan(self, M: int, N: int, K: int, rows: int, cols: int, groups: int = 1) -> FoldPlan:
        """Plan ``C[MxN] = A[MxK] B[KxN]`` on a ``rows x cols`` array.

        With ``groups = g`` the GEMM is ``g`` independent ``(M, N/g, K/g)`` GEMMs (grouped / depthwise conv)
        run one after another; all counts and cycles are the sum over the groups.
        """
        _check_pos(M=M, N=N, K=K, rows=rows, cols=cols, groups=groups)
        if N % groups or K % groups:
            raise ValueError(f"groups={groups} must divide N={N} and K={K}")
        n, k = N // groups, K // groups
        sr, sc, t = self.mapping(M, n, k)
        row_folds, col_folds = _ceil(sr, rows), _ceil(sc, cols)
        folds_1 = row_folds * col_folds
        fc = self.fold_cycles(rows, cols, t)
        busy = groups * folds_1 * fc
        counts = self.sram_counts(M, n, k, rows, cols)
        macs = groups * M * n * k
        pes = rows * cols
        # Mean over folds of used PEs / PEs; the used rows (cols) of all row (col) folds add up to sr (sc).
        mapping_eff = sr * sc / (pes * folds_1)
        window = self.util_window_cycles(rows, cols, t)
        compute_util = sr * sc * t / (pes * window * folds_1)
        return FoldPlan(
            dataflow=self.name, rows=rows, cols=cols, M=M, N=N, K=K, groups=groups,
            sr=sr, sc=sc, t=t, row_folds=row_folds, col_folds=col_folds, folds=groups * folds_1,
            fold_cycles=fc, busy_cycles=busy, compute_cycles=busy - 1, macs=macs,
            sram_reads_a=groups * counts.reads_a, sram_reads_b=groups * counts.reads_b,
            sram_writes_c=groups * counts.writes_c, psum_reads=groups * counts.psum_reads,
            mapping_efficiency=mapping_eff, compute_utilization=compute_util, utilization=macs / (busy * pes),
            scalesim_ofmap_write_excess=groups * self.scalesim_ofmap_write_excess(folds_1, rows, cols),
            util_window_cycles=window,
        )

    def plan_grouped(self, M: int, N: int, K: int, groups: int, rows: int, cols: int) -> FoldPlan:
        """Same as ``plan(M, N, K, rows, cols, groups=groups)``."""
        return self.plan(M, N, K, rows, cols, groups=groups)

    def plan_blocks(self, M: int, N: int, K: int, rows: int, cols: int, m_block: int,
                    n_block: int) -> list[FoldPlan]:
        """Plan the GEMM as a sequence of output blocks of at most ``m_block x n_block`` (each a sub-GEMM
        ``(Mb, Nb, K)`` planned with :meth:`plan`), M-blocks outer.

        When ``m_block`` and ``n_block`` are multiples of :meth:`block_steps` (or cover the whole dimension),
        the blocks are whole folds of the full GEMM and every field in :attr:`FoldPlan.ADDITIVE` sums exactly
        to the full plan's value; otherwise the blocks cost more (partial folds, repeated fill/drain).
        """
        _check_pos(m_block=m_block, n_block=n_block)
        out = []
        for m0 in range(0, M, m_block):
            for n0 in range(0, N, n_block):
                out.append(self.plan(min(m_block, M - m0), min(n_block, N - n0), K, rows, cols))
        return out

    def blocks_are_additive(self, M: int, N: int, rows: int, cols: int, m_block: int, n_block: int) -> bool:
        """Whether :meth:`plan_blocks` with these block sizes is exactly additive (see there)."""
        m_step, n_step = self.block_steps(rows, cols)

        def ok(block: int, full: int, step: int | None) -> bool:
            return block >= full or (step is not None and block % step == 0)

        return ok(m_block, M, m_step) and ok(n_block, N, n_step)

    def __repr__(self) -> str:
        return f"<Dataflow {self.name}>"


def get_dataflow(name: str) -> Dataflow:
    """The registered dataflow called ``name`` ("os", "ws", "is", ...)."""
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise ValueError(f"unknown dataflow {name!r}; known: {', '.join(dataflow_names())}") from None


def dataflow_names() -> list[str]:
    return sorted(_REGISTRY)
