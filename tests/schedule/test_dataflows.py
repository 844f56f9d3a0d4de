"""Dataflow fold models: registry, validation, closed forms vs a fold-by-fold reference, block additivity, groups."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.schedule.dataflows import Dataflow, FoldPlan, Mapping, SramCounts, dataflow_names, get_dataflow
from archsim.schedule.dataflows import base as df_base

DFS = ["os", "ws", "is"]
dims = st.integers(1, 5000)
arr = st.integers(1, 40)


def reference(name: str, M: int, N: int, K: int, R: int, C: int) -> dict:
    """Walk the folds one by one (column folds outer, row folds inner) and add up what each fold does, the way
    SCALE-Sim's compute classes accumulate per fold; independent of the closed forms in the dataflow classes."""
    sr, sc, t = {"os": (M, N, K), "ws": (K, N, M), "is": (K, M, N)}[name]
    out = dict(folds=0, busy=0, a=0, b=0, c=0, psum=0, map_eff=[], util=[])
    for c0 in range(0, sc, C):
        for r0 in range(0, sr, R):
            ur, uc = min(R, sr - r0), min(C, sc - c0)
            out["folds"] += 1
            if name == "os":       # rows: M tile, cols: N tile, K streamed; outputs leave once, complete
                cyc, win = t + R + C - 2, t + R + C - 2
                out["a"] += ur * t
                out["b"] += uc * t
                out["c"] += ur * uc
            else:                   # rows: K tile held with its column tile; the other operand streams t rows
                cyc, win = 2 * R + C + t - 2, 2 * R + 2 * C + t - 3
                first_k = r0 == 0
                if name == "ws":    # cols: N tile; A (M x K tile) streams, B tile loaded once
                    out["a"] += t * ur
                    out["b"] += ur * uc
                else:               # cols: M tile; A tile loaded once, B (K tile x N) streams
                    out["a"] += ur * uc
                    out["b"] += t * ur
                out["c"] += t * uc
                out["psum"] += 0 if first_k else t * uc
            out["busy"] += cyc
            out["map_eff"].append(ur * uc / (R * C))
            out["util"].append(ur * uc * t / (R * C * win))
    return out


def test_registry():
    assert set(DFS) <= set(dataflow_names())
    for n in DFS:
        assert get_dataflow(n).name == n
    with pytest.raises(ValueError, match="unknown dataflow 'xs'"):
        get_dataflow("xs")


def test_new_dataflow_registers_by_subclassing():
    class _Toy(Dataflow):
        name = "toy_test_only"

        def mapping(self, M, N, K):
            return Mapping(M, N, K)

        def spatial_dims(self):
            return "M", "N"

        def fold_cycles(self, rows, cols, t):
            return t

        def util_window_cycles(self, rows, cols, t):
            return t

        def sram_counts(self, M, N, K, rows, cols):
            return SramCounts(M * K, K * N, M * N, 0)

    try:
        assert "toy_test_only" in dataflow_names()
        assert get_dataflow("toy_test_only").plan(4, 4, 3, 2, 2).busy_cycles == 4 * 3
        with pytest.raises(TypeError, match="already registered"):
            type("Dup", (Dataflow,), {"name": "toy_test_only"})
    finally:
        df_base._REGISTRY.pop("toy_test_only", None)


@pytest.mark.parametrize("bad", [dict(M=0), dict(rows=0), dict(cols=-3), dict(K=2.5), dict(groups=0)])
def test_invalid_arguments(bad):
    args = dict(M=8, N=8, K=8, rows=4, cols=4, groups=1) | bad
    with pytest.raises(ValueError, match=next(iter(bad))):
        get_dataflow("os").plan(**args)


def test_groups_must_divide():
    with pytest.raises(ValueError, match="groups=3 must divide"):
        get_dataflow("ws").plan(10, 8, 9, 4, 4, groups=3)


@settings(max_examples=80, deadline=None)
@given(name=st.sampled_from(DFS), M=st.integers(1, 200), N=st.integers(1, 200), K=st.integers(1, 200),
       R=st.integers(1, 40), C=st.integers(2, 40))
def test_closed_forms_match_fold_walk(name, M, N, K, R, C):
    p = get_dataflow(name).plan(M, N, K, R, C)
    ref = reference(name, M, N, K, R, C)
    assert p.folds == ref["folds"] == p.row_folds * p.col_folds
    assert p.busy_cycles == ref["busy"] == p.folds * p.fold_cycles
    assert p.compute_cycles == p.busy_cycles - 1
    assert (p.sram_reads_a, p.sram_reads_b, p.sram_writes_c, p.psum_reads) == (
        ref["a"], ref["b"], ref["c"], ref["psum"])
    assert p.macs == M * N * K
    assert math.isclose(p.mapping_efficiency, math.fsum(ref["map_eff"]) / p.folds, rel_tol=1e-9)
    assert math.isclose(p.compute_utilization, math.fsum(ref["util"]) / p.folds, rel_tol=1e-9)
    assert 0 < p.utilization <= 1 and 0 < p.mapping_efficiency <= 1
    assert p.utilization == pytest.approx(p.macs / (p.busy_cycles * R * C))


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(DFS), M=dims, N=dims, K=dims, R=arr, C=arr)
def test_physical_invariants(name, M, N, K, R, C):
    p = get_dataflow(name).plan(M, N, K, R, C)
    # every operand word is read at least once, every output written at least once
    assert p.sram_reads_a >= M * K and p.sram_reads_b >= K * N and p.sram_writes_c >= M * N
    # each partial sum written back (beyond the final output) is read back exactly once
    assert p.psum_reads == p.sram_writes_c - M * N
    if name == "os" or K <= R:
        assert p.psum_reads == 0
    # no fold can do more MACs than the array in its cycles
    assert p.macs <= p.busy_cycles * R * C
    v = p.scalesim_compat()
    assert v.total_cycles == p.compute_cycles
    assert v.sram_ofmap_writes - p.sram_writes_c == (p.folds * (R + C) if name == "os" else 0)


def test_single_fold_textbook_cases():
    # os on a 4x4 array, one fold: K products + R + C - 2 fill/drain cycles; SCALE-Sim reports the last index
    p = get_dataflow("os").plan(4, 4, 4, 4, 4)
    assert (p.folds, p.busy_cycles, p.compute_cycles) == (1, 10, 9)
    # ws: R cycles of weight load before the M rows of A stream through
    p = get_dataflow("ws").plan(10, 3, 4, 4, 4)
    assert (p.folds, p.fold_cycles, p.sram_reads_b, p.sram_writes_c) == (1, 8 + 4 + 10 - 2, 12, 30)
    # is with K split over 3 row folds: 3 writes and 2 read-backs per output
    p = get_dataflow("is").plan(5, 7, 9, 4, 8)
    assert (p.row_folds, p.sram_writes_c, p.psum_reads) == (3, 3 * 35, 2 * 35)


@settings(max_examples=120, deadline=None)
@given(name=st.sampled_from(DFS), M=dims, N=dims, K=st.integers(1, 300), R=st.integers(1, 24),
       C=st.integers(1, 24), mb=st.integers(1, 5), nb=st.integers(1, 5))
def test_fold_aligned_blocks_are_exactly_additive(name, M, N, K, R, C, mb, nb):
    df = get_dataflow(name)
    m_step, n_step = df.block_steps(R, C)
    m_block = mb * m_step if m_step else M      # a streamed dimension is kept whole
    n_block = nb * n_step if n_step else N
    assert df.blocks_are_additive(M, N, R, C, m_block, n_block)
    full = df.plan(M, N, K, R, C)
    blocks = df.plan_blocks(M, N, K, R, C, m_block, n_block)
    assert len(blocks) == math.ceil(M / m_block) * math.ceil(N / n_block)
    for f in FoldPlan.ADDITIVE:
        assert sum(getattr(b, f) for b in blocks) == getattr(full, f), f


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(DFS), M=st.integers(2, 400), N=st.integers(2, 400), K=st.integers(1, 200),
       R=st.integers(1, 16), C=st.integers(1, 16))
def test_splitting_a_streamed_dimension_costs_extra_fill(name, M, N, K, R, C):
    df = get_dataflow(name)
    m_step, n_step = df.block_steps(R, C)
    if m_step is None:      # M streamed (ws): two halves pay the fill/drain twice
        blocks, dim_ok = df.plan_blocks(M, N, K, R, C, math.ceil(M / 2), N), False
    elif n_step is None:    # N streamed (is)
        blocks, dim_ok = df.plan_blocks(M, N, K, R, C, M, math.ceil(N / 2)), False
    else:                   # os: both spatial; a block that is not a multiple of the fold size wastes PEs
        return
    assert not dim_ok
    full = df.plan(M, N, K, R, C)
    assert sum(b.busy_cycles for b in blocks) > full.busy_cycles


@settings(max_examples=80, deadline=None)
@given(name=st.sampled_from(DFS), M=dims, g=st.integers(1, 12), n=st.integers(1, 20), k=st.integers(1, 60),
       R=arr, C=arr)
def test_groups_run_back_to_back(name, M, g, n, k, R, C):
    df = get_dataflow(name)
    one = df.plan(M, n, k, R, C)
    p = df.plan_grouped(M, g * n, g * k, g, R, C)
    assert p == df.plan(M, g * n, g * k, R, C, groups=g)
    assert p.groups == g and (p.sr, p.sc, p.t) == (one.sr, one.sc, one.t)
    for f in FoldPlan.ADDITIVE:
        assert getattr(p, f) == g * getattr(one, f), f
    assert p.compute_cycles == p.busy_cycles - 1
    assert p.mapping_efficiency == one.mapping_efficiency
    # SCALE-Sim runs each group as its own layer, each with its own 'last index' cycle count
    assert p.scalesim_compat().total_cycles == g * one.compute_cycles
    assert p.scalesim_compat().overall_util_pct == pytest.approx(one.scalesim_compat().overall_util_pct,
                                                                 nan_ok=True)


def test_non_square_arrays_are_not_transposed():
    # os maps M on rows: a tall array suits a tall GEMM, a wide one does not
    tall = get_dataflow("os").plan(64, 16, 50, 64, 16)
    wide = get_dataflow("os").plan(64, 16, 50, 16, 64)
    assert (tall.row_folds, tall.col_folds) == (1, 1)
    assert (wide.row_folds, wide.col_folds) == (4, 1)
    assert tall.busy_cycles < wide.busy_cycles


def test_degenerate_one_pe_array():
    p = get_dataflow("os").plan(1, 1, 1, 1, 1)
    assert (p.busy_cycles, p.compute_cycles) == (1, 0)
    assert math.isnan(p.scalesim_compat().overall_util_pct)
