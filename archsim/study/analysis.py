"""From stored task results to the study's table: one row per design point, the energy-accuracy Pareto front per
network, and the recommendation (lowest energy whose accuracy drop stays within the bound).

Accuracy drop = mean final accuracy of the SRAM baseline minus the point's, over the same seeds, in percentage points
(the runs of one seed share initial weights and batch order, so the difference is the injected errors' effect).
A point is on the front when no other point of its network has lower-or-equal energy and higher-or-equal accuracy
with one of the two strict.
"""
from __future__ import annotations

import math
import statistics

from .points import DesignPoint
from .store import ResultStore


#: energy components under the names a store written before 2026-12-02 holds (results stay valid: same numbers)
_RENAMED = {"sram_read": "scratchpad_read", "sram_write": "scratchpad_write"}


def _mean_std(xs: list[float]) -> tuple[float, float]:
    if not xs:
        return math.nan, math.nan
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def build_rows(points: list[DesignPoint], store: ResultStore) -> list[dict]:
    """One flat row per point (energies in J, accuracy in %), with ratios against the network's SRAM baseline and,
    for write energy, against all-MRAM at the nominal write point of the same scenario."""
    rows = []
    for p in points:
        sim = store.get(p.sim_key)
        accs = [store.get(k)["final_accuracy"] * 100.0 for k in p.acc_keys]
        mean, std = _mean_std(accs)
        row = {"network": p.network, "label": p.label, "family": p.family, "scenario": p.scenario or "",
               "recipe": p.recipe or "", "voltage_v": p.voltage_v, "pulse_ns": p.pulse_ns, "ecc": p.ecc,
               "total_energy_j": sim["total_energy_j"], "scratchpad_energy_j": sim["scratchpad_energy_j"],
               "write_energy_j": sim["write_energy_j"], "latency_s": sim["latency_s"],
               "area_mm2": sim["area_mm2"], "capacity_kib": sim["capacity_kib"], "dram_bytes": sim["dram_bytes"],
               **{f"energy.{_RENAMED.get(k, k)}": v for k, v in sim["energy_j"].items() if k != "total"},
               "accuracy_pct": mean, "accuracy_std_pct": std, "accuracy_seeds": accs,
               "placement": p.placement()}
        rows.append(row)
    by_net: dict[str, list[dict]] = {}
    for r in rows:
        by_net.setdefault(r["network"], []).append(r)
    for net_rows in by_net.values():
        base = next(r for r in net_rows if r["family"] == "sram")
        nominal = {(r["scenario"], r["ecc"]): r for r in net_rows if r["family"] == "mram"}
        for r in net_rows:
            r["energy_vs_sram"] = base["total_energy_j"] / r["total_energy_j"]
            r["scratchpad_energy_vs_sram"] = base["scratchpad_energy_j"] / r["scratchpad_energy_j"]
            r["latency_vs_sram"] = r["latency_s"] / base["latency_s"]
            ref = nominal.get((r["scenario"], r["ecc"]))
            r["write_saving_vs_mram"] = (ref["write_energy_j"] / r["write_energy_j"]
                                         if ref and r["write_energy_j"] > 0 else None)
            r["accuracy_drop_pp"] = base["accuracy_pct"] - r["accuracy_pct"]
        mark_front(net_rows)
    return rows


def mark_front(rows: list[dict]) -> None:
    """Set ``pareto`` on each row: minimal energy, maximal accuracy (rows without accuracy: energy only)."""
    for r in rows:
        e, a = r["total_energy_j"], r["accuracy_pct"]
        a = -math.inf if math.isnan(a) else a
        dominated = False
        for o in rows:
            if o is r:
                continue
            oe, oa = o["total_energy_j"], (-math.inf if math.isnan(o["accuracy_pct"]) else o["accuracy_pct"])
            if oe <= e and oa >= a and (oe < e or oa > a):
                dominated = True
                break
        r["pareto"] = not dominated


def within_bound(row: dict, bound_pp: float) -> bool:
    """Whether ``row``'s accuracy drop is at most ``bound_pp`` (rows without accuracy results always are)."""
    return math.isnan(row["accuracy_drop_pp"]) or row["accuracy_drop_pp"] <= bound_pp + 1e-9


def recommend(rows: list[dict], bound_pp: float) -> dict[str, dict | None]:
    """Per network, the lowest-energy row whose accuracy drop is at most ``bound_pp`` (None if none qualifies;
    without accuracy results every row qualifies)."""
    out: dict[str, dict | None] = {}
    for net in dict.fromkeys(r["network"] for r in rows):
        ok = [r for r in rows if r["network"] == net and within_bound(r, bound_pp)]
        out[net] = min(ok, key=lambda r: (r["total_energy_j"], r["label"])) if ok else None
    return out


def headline(rows: list[dict], recs: dict[str, dict | None], bound_pp: float = 1.0) -> list[dict]:
    """Per network: SRAM vs MRAM energy ratios per scenario, the recommended configuration, and the largest write
    saving that lowering the write point alone buys within the accuracy bound (``relaxed_write``: the points with
    every data type in MRAM, so that no saving comes from moving a data type to SRAM)."""
    out = []
    for net, rec in recs.items():
        net_rows = [r for r in rows if r["network"] == net]
        base = next(r for r in net_rows if r["family"] == "sram")
        h = {"network": net, "sram_energy_j": base["total_energy_j"], "sram_accuracy_pct": base["accuracy_pct"],
             "sram_latency_s": base["latency_s"]}
        h["mram"] = {r["label"]: {"energy_j": r["total_energy_j"], "ratio": r["energy_vs_sram"],
                                  "scratchpad_ratio": r["scratchpad_energy_vs_sram"],
                                  "accuracy_pct": r["accuracy_pct"], "accuracy_drop_pp": r["accuracy_drop_pp"]}
                     for r in net_rows if r["family"] == "mram"}
        het = [r for r in net_rows if r["family"] == "het"]
        if rec is not None:
            h.update({"recommended": rec["label"], "recommended_energy_j": rec["total_energy_j"],
                      "recommended_ratio": rec["energy_vs_sram"], "recommended_accuracy_pct": rec["accuracy_pct"],
                      "recommended_drop_pp": rec["accuracy_drop_pp"],
                      "recommended_write_saving_vs_mram": rec["write_saving_vs_mram"]})
        else:
            h["recommended"] = None
        if het:
            best_ws = max(het, key=lambda r: (r["write_saving_vs_mram"] or 0.0))
            h["max_het_write_saving_vs_mram"] = best_ws["write_saving_vs_mram"]
        h["relaxed_write"] = None
        relaxed = [r for r in het if r["write_saving_vs_mram"] is not None
                   and all(v != "sram" for v in r["placement"].values()) and within_bound(r, bound_pp)]
        if relaxed:
            r = max(relaxed, key=lambda r: (r["write_saving_vs_mram"], -r["total_energy_j"]))
            h["relaxed_write"] = {"label": r["label"], "write_saving_vs_mram": r["write_saving_vs_mram"],
                                  "energy_ratio": r["energy_vs_sram"], "accuracy_pct": r["accuracy_pct"],
                                  "accuracy_drop_pp": r["accuracy_drop_pp"]}
        out.append(h)
    return out
