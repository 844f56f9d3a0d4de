"""archsim's dataflow models vs SCALE-Sim v3, layer by layer, on the stored golden runs (tests/golden/data).

For every golden layer: import the topology with archsim's importer, lower each conv to its GEMM, plan it with the
dataflow of the run's config on its array, and compare with SCALE-Sim's report: 'Total Cycles' exactly, SRAM
ifmap/filter reads and ofmap writes within 1 % (through ``FoldPlan.scalesim_compat()``, which adds SCALE-Sim's os
write-count quirk), and the three utilisation percentages to the 4 decimals summarize.py keeps.
"""
from __future__ import annotations

import math

import pytest
from scalesim_data import golden_cases

from archsim.schedule.dataflows import get_dataflow
from archsim.workload.scalesim_import import gemm_dims, load_scalesim_topology

pytestmark = pytest.mark.golden

CASES = golden_cases()
REL_TOL = 0.01      # the brief's tolerance for SRAM access counts
PCT_TOL = 1.5e-4    # summarize.py rounds percentages to 4 decimals


def _rel(ours: int, theirs: int) -> float:
    return abs(ours - theirs) / max(theirs, 1)


def test_golden_set_covers_dataflows_and_arrays():
    assert CASES, "no golden data under tests/golden/data/scalesim"
    assert {c.dataflow for c in CASES} == {"os", "ws", "is"}
    arrays = {(c.rows, c.cols) for c in CASES}
    assert any(r == c for r, c in arrays) and any(r != c for r, c in arrays)
    assert any(l.depthwise for c in CASES for l in c.layers)
    assert sum(len(c.layers) for c in CASES) >= 50


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_layers_match_scalesim(case):
    net = load_scalesim_topology(case.topology_path)
    ours = {l.name: l for l in net.gemm_layers()}
    df = get_dataflow(case.dataflow)
    assert [l.name for l in case.layers] == list(ours)
    for gl in case.layers:
        M, N, K, g = gemm_dims(ours[gl.name])
        assert g == len(gl.channels), gl.name
        view = df.plan(M, N, K, case.rows, case.cols, groups=g).scalesim_compat()
        assert view.total_cycles == gl.total_cycles, gl.name
        assert _rel(view.sram_ifmap_reads, gl.sram_ifmap_reads) <= REL_TOL, gl.name
        assert _rel(view.sram_filter_reads, gl.sram_filter_reads) <= REL_TOL, gl.name
        assert _rel(view.sram_ofmap_writes, gl.sram_ofmap_writes) <= REL_TOL, gl.name
        # every one of SCALE-Sim's layers (a DP row's per-channel layers one by one) on its own
        for ch in gl.channels:
            one = df.plan(M, N // g, K // g, case.rows, case.cols).scalesim_compat()
            assert one.total_cycles == ch.total_cycles, ch.name
            assert math.isclose(one.mapping_eff_pct, ch.mapping_eff_pct, abs_tol=PCT_TOL), ch.name
            assert math.isclose(one.compute_util_pct, ch.compute_util_pct, abs_tol=PCT_TOL), ch.name
            assert math.isclose(one.overall_util_pct, ch.overall_util_pct, abs_tol=PCT_TOL), ch.name


def test_os_write_quirk_is_what_separates_physical_from_reported():
    """The physical os ofmap count is M*N; SCALE-Sim's is larger by exactly folds*(R+C)."""
    checked = 0
    for case in (c for c in CASES if c.dataflow == "os"):
        net = load_scalesim_topology(case.topology_path)
        for l in net.gemm_layers():
            M, N, K, g = gemm_dims(l)
            p = get_dataflow("os").plan(M, N, K, case.rows, case.cols, groups=g)
            gl = next(x for x in case.layers if x.name == l.name)
            assert p.sram_writes_c == M * N
            assert gl.sram_ofmap_writes - p.sram_writes_c == p.folds * (case.rows + case.cols)
            checked += 1
    assert checked > 0
