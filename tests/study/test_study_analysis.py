"""Pareto front and recommendation over synthetic rows (hypothesis properties)."""
import math

from hypothesis import given
from hypothesis import strategies as st

from archsim.study.analysis import mark_front, recommend

_pt = st.tuples(st.floats(0.1, 10.0), st.floats(0.0, 100.0))


def _rows(pts):
    return [{"network": "n", "label": f"p{i}", "total_energy_j": e, "accuracy_pct": a, "accuracy_drop_pp": 90.0 - a}
            for i, (e, a) in enumerate(pts)]


def _dominates(o, r):
    return (o["total_energy_j"] <= r["total_energy_j"] and o["accuracy_pct"] >= r["accuracy_pct"]
            and (o["total_energy_j"] < r["total_energy_j"] or o["accuracy_pct"] > r["accuracy_pct"]))


@given(st.lists(_pt, min_size=1, max_size=25))
def test_front_is_exactly_the_non_dominated_set(pts):
    rows = _rows(pts)
    mark_front(rows)
    for r in rows:
        assert r["pareto"] == (not any(_dominates(o, r) for o in rows if o is not r))
    assert any(r["pareto"] for r in rows)
    best = min(r["total_energy_j"] for r in rows)
    top = max(r["accuracy_pct"] for r in rows if r["total_energy_j"] == best)
    assert any(r["pareto"] and r["total_energy_j"] == best and r["accuracy_pct"] == top for r in rows)


@given(st.lists(_pt, min_size=1, max_size=25), st.floats(0.0, 50.0))
def test_recommendation_is_lowest_energy_within_bound(pts, bound):
    rows = _rows(pts)
    rec = recommend(rows, bound)["n"]
    ok = [r for r in rows if r["accuracy_drop_pp"] <= bound + 1e-9]
    if not ok:
        assert rec is None
    else:
        assert rec["accuracy_drop_pp"] <= bound + 1e-9
        assert rec["total_energy_j"] == min(r["total_energy_j"] for r in ok)


def test_rows_without_accuracy_rank_by_energy():
    rows = _rows([(2.0, 0.0), (1.0, 0.0)])
    for r in rows:
        r["accuracy_pct"] = r["accuracy_drop_pp"] = math.nan
    mark_front(rows)
    assert [r["pareto"] for r in rows] == [False, True]
    assert recommend(rows, 1.0)["n"]["label"] == "p1"


def _hrow(label, family, energy, acc, saving, placement):
    return {"network": "n", "label": label, "family": family, "scenario": "iso-area", "total_energy_j": energy,
            "accuracy_pct": acc, "accuracy_drop_pp": 95.0 - acc, "energy_vs_sram": 2.0 / energy,
            "scratchpad_energy_vs_sram": 1.0, "latency_s": 1.0, "write_saving_vs_mram": saving,
            "placement": placement}


def test_relaxed_write_counts_only_all_mram_points_within_the_bound():
    from archsim.study.analysis import headline

    mram = {d: "sttmram@1.0V,7ns" for d in ("activation", "weight", "error")}
    rows = [_hrow("sram", "sram", 2.0, 95.0, None, {d: "sram" for d in mram}),
            _hrow("mram/iso-area", "mram", 2.1, 95.0, 1.0, mram),
            _hrow("a", "het", 1.9, 94.5, 1.5, mram),                              # within 1 pp
            _hrow("b", "het", 1.8, 90.0, 2.5, mram),                              # larger saving, 5 pp drop
            _hrow("c", "het", 1.7, 95.0, 3.0, {**mram, "activation": "sram"})]    # saving partly from SRAM
    recs = {"n": rows[2]}
    h = headline(rows, recs, 1.0)[0]
    assert h["relaxed_write"]["label"] == "a" and h["relaxed_write"]["write_saving_vs_mram"] == 1.5
    assert headline(rows, recs, 10.0)[0]["relaxed_write"]["label"] == "b"
    assert headline(rows[:2], {"n": rows[0]}, 1.0)[0]["relaxed_write"] is None


def test_rows_from_a_store_with_the_old_energy_names(tmp_path):
    """A store written before the components were renamed (sram_read / sram_write) still gives scratchpad_* rows."""
    from archsim.config import load_config
    from archsim.study.analysis import build_rows
    from archsim.study.points import DesignPoint
    from archsim.study.store import ResultStore

    store = ResultStore(tmp_path)
    energy = {"compute": 1.0, "sram_read": 0.1, "sram_write": 0.2, "write_buffer": 0.01, "leakage": 0.05,
              "dram": 0.5, "total": 1.86}
    store.put("s", {"key": "s", "kind": "sim", "energy_j": energy, "total_energy_j": 1.86, "scratchpad_energy_j": 0.36,
                    "write_energy_j": 0.2, "latency_s": 1e-3, "area_mm2": 1.0, "capacity_kib": 1024, "dram_bytes": 1})
    store.put("a", {"key": "a", "kind": "acc", "final_accuracy": 0.9})
    pt = DesignPoint("n", "sram", "sram", None, None, None, None, load_config(), sim_key="s", acc_keys=["a"])
    row = build_rows([pt], store)[0]
    assert row["energy.scratchpad_read"] == 0.1 and row["energy.scratchpad_write"] == 0.2
    assert not any(k.startswith("energy.sram") for k in row)
