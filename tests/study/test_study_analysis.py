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
