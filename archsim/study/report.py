"""Study output: rich tables in the terminal, JSON/CSV files and two plots.

Files in the study directory: ``points.json`` / ``points.csv`` (every design point), ``summary.json`` (headline per
network, recommendations, the spec), ``energy_breakdown.png`` (stacked energy bars per network for SRAM, MRAM per
scenario and the recommended configuration) and ``energy_accuracy.png`` (energy vs accuracy per network, front
marked).
"""
from __future__ import annotations

import math
import pathlib

from rich.console import Console
from rich.table import Table

from archsim.engine.simulator import ENERGY_COMPONENTS
from archsim.report.files import write_csv, write_json


def _f(x, fmt: str = "{:.3f}") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return fmt.format(x)


def headline_table(head: list[dict], bound_pp: float) -> Table:
    t = Table(title=f"Study headline: one training step; x = SRAM energy / this (>1: saves energy); recommended = "
                    f"lowest energy with accuracy drop <= {bound_pp:g} pp", header_style="bold")
    mram_labels = list(dict.fromkeys(lab for h in head for lab in h["mram"]))
    cols = ["network", "SRAM J", "SRAM acc %"]
    for lab in mram_labels:
        cols += [f"{lab} x", "drop pp"]
    cols += ["recommended", "J", "x", "acc %", "drop pp", "write saving x"]
    for c in cols:
        t.add_column(c, justify="left" if c in ("network", "recommended") else "right")
    for h in head:
        row = [h["network"], _f(h["sram_energy_j"]), _f(h["sram_accuracy_pct"], "{:.1f}")]
        for lab in mram_labels:
            m = h["mram"].get(lab, {})
            row += [_f(m.get("ratio"), "{:.3f}"), _f(m.get("accuracy_drop_pp"), "{:+.1f}")]
        if h.get("recommended"):
            row += [h["recommended"], _f(h["recommended_energy_j"]), _f(h["recommended_ratio"], "{:.3f}"),
                    _f(h["recommended_accuracy_pct"], "{:.1f}"), _f(h["recommended_drop_pp"], "{:+.2f}"),
                    _f(h["recommended_write_saving_vs_mram"], "{:.2f}")]
        else:
            row += ["none within bound", "-", "-", "-", "-", "-"]
        t.add_row(*row)
    return t


def front_table(rows: list[dict], network: str) -> Table:
    t = Table(title=f"{network}: energy-accuracy Pareto front", header_style="bold")
    for c in ("configuration", "total J", "x SRAM", "scratchpad J", "write J", "write saving x", "latency ms",
              "acc %", "± std", "drop pp"):
        t.add_column(c, justify="left" if c == "configuration" else "right")
    front = sorted((r for r in rows if r["network"] == network and r["pareto"]), key=lambda r: r["total_energy_j"])
    for r in front:
        t.add_row(r["label"], _f(r["total_energy_j"]), _f(r["energy_vs_sram"]), _f(r["scratchpad_energy_j"], "{:.4f}"),
                  _f(r["write_energy_j"], "{:.4f}"), _f(r["write_saving_vs_mram"], "{:.2f}"),
                  _f(r["latency_s"] * 1e3, "{:.2f}"), _f(r["accuracy_pct"], "{:.1f}"),
                  _f(r["accuracy_std_pct"], "{:.1f}"), _f(r["accuracy_drop_pp"], "{:+.2f}"))
    return t


def relaxed_write_table(head: list[dict], bound_pp: float) -> Table:
    t = Table(title=f"Write point alone: every data type in MRAM, largest write saving vs nominal MRAM with accuracy "
                    f"drop <= {bound_pp:g} pp", header_style="bold")
    for c in ("network", "configuration", "write saving x", "x SRAM", "acc %", "drop pp"):
        t.add_column(c, justify="left" if c in ("network", "configuration") else "right")
    for h in head:
        t.add_row(h["network"], *_relaxed_cells(h.get("relaxed_write")))
    return t


def _relaxed_cells(rw: dict | None, code: bool = False) -> list[str]:
    """Configuration, write saving, x SRAM, accuracy and drop of a headline's ``relaxed_write`` (``code``: the label
    in backticks, for markdown)."""
    if rw is None:
        return ["none within the bound"] + ["-"] * 4
    return [f"`{rw['label']}`" if code else rw["label"], _f(rw["write_saving_vs_mram"], "{:.2f}"),
            _f(rw["energy_ratio"]), _f(rw["accuracy_pct"], "{:.1f}"), _f(rw["accuracy_drop_pp"], "{:+.2f}")]


def print_study(console: Console, rows: list[dict], head: list[dict], bound_pp: float) -> None:
    console.print(headline_table(head, bound_pp))
    console.print(relaxed_write_table(head, bound_pp))
    for h in head:
        console.print(front_table(rows, h["network"]))


def markdown(rows: list[dict], head: list[dict], bound_pp: float, front_rows: int = 6) -> str:
    """The headline and each network's lowest-energy front points as markdown tables (for docs/results.md)."""
    labels = list(dict.fromkeys(lab for h in head for lab in h["mram"]))
    out = ["| network | SRAM J | SRAM acc % | " + " | ".join(f"{lab}: x SRAM, drop pp" for lab in labels)
           + f" | recommended (drop <= {bound_pp:g} pp) | J | x SRAM | acc % | drop pp | write saving x |",
           "|---" * (3 + len(labels) + 6) + "|"]
    for h in head:
        cells = [h["network"], _f(h["sram_energy_j"], "{:.4f}"), _f(h["sram_accuracy_pct"], "{:.1f}")]
        for lab in labels:
            m = h["mram"].get(lab, {})
            cells.append(f"{_f(m.get('ratio'), '{:.3f}')}, {_f(m.get('accuracy_drop_pp'), '{:+.1f}')}")
        if h.get("recommended"):
            cells += [f"`{h['recommended']}`", _f(h["recommended_energy_j"], "{:.4f}"),
                      _f(h["recommended_ratio"], "{:.3f}"), _f(h["recommended_accuracy_pct"], "{:.1f}"),
                      _f(h["recommended_drop_pp"], "{:+.2f}"), _f(h["recommended_write_saving_vs_mram"], "{:.2f}")]
        else:
            cells += ["none within the bound"] + ["-"] * 5
        out.append("| " + " | ".join(cells) + " |")
    out += ["", f"Write energy saved by the write point alone (every data type in MRAM; largest saving vs MRAM at the "
            f"nominal point, same scenario and ECC, with accuracy drop <= {bound_pp:g} pp):", "",
            "| network | configuration | write saving x | x SRAM (total) | acc % | drop pp |",
            "|---|---|---|---|---|---|"]
    for h in head:
        out.append("| " + " | ".join([h["network"], *_relaxed_cells(h.get("relaxed_write"), code=True)]) + " |")
    for h in head:
        net = h["network"]
        front = sorted((r for r in rows if r["network"] == net and r["pareto"]), key=lambda r: r["total_energy_j"])
        out += ["", f"**{net}**: Pareto front, lowest energy first (first {min(front_rows, len(front))} of "
                f"{len(front)})", "",
                "| configuration | J | x SRAM | scratchpad J | write J | write saving x | acc % | ± | drop pp |",
                "|---|---|---|---|---|---|---|---|---|"]
        for r in front[:front_rows]:
            out.append("| " + " | ".join([
                f"`{r['label']}`", _f(r["total_energy_j"], "{:.4f}"), _f(r["energy_vs_sram"], "{:.3f}"),
                _f(r["scratchpad_energy_j"], "{:.4f}"), _f(r["write_energy_j"], "{:.4f}"),
                _f(r["write_saving_vs_mram"], "{:.2f}"), _f(r["accuracy_pct"], "{:.1f}"),
                _f(r["accuracy_std_pct"], "{:.1f}"), _f(r["accuracy_drop_pp"], "{:+.2f}")]) + " |")
    return "\n".join(out) + "\n"


def write_outputs(out: pathlib.Path, rows: list[dict], head: list[dict], recs: dict, spec_dump: dict,
                  stats: dict) -> list[pathlib.Path]:
    from archsim.report.files import atomic_write_text

    written = [out / "points.json", out / "points.csv", out / "summary.json", out / "headline.md"]
    atomic_write_text(written[3], markdown(rows, head, spec_dump.get("accuracy_drop_pp", 1.0)))
    write_json(written[0], {"points": rows})
    write_csv(written[1], [{k: v for k, v in r.items() if k != "accuracy_seeds"} for r in rows])
    write_json(written[2], {"headline": head, "recommended": {n: (r["label"] if r else None) for n, r in recs.items()},
                            "run": stats, "spec": spec_dump})
    return written


def plot(out: pathlib.Path, rows: list[dict], head: list[dict], recs: dict) -> list[pathlib.Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nets = [h["network"] for h in head]
    paths = [out / "energy_breakdown.png", out / "energy_accuracy.png"]
    comps = [c for c in ENERGY_COMPONENTS]
    fig, axes = plt.subplots(1, len(nets), figsize=(3.2 * len(nets) + 1, 4.2), squeeze=False)
    for ax, net in zip(axes[0], nets):
        bars = [r for r in rows if r["network"] == net and r["family"] in ("sram", "mram")]
        rec = recs.get(net)
        if rec is not None and rec not in bars:
            bars.append(rec)
        labels = [("recommended\n" if r is rec else "") + r["label"].replace("/", "\n").replace("@", "\n@")
                  for r in bars]
        bottom = [0.0] * len(bars)
        for i, c in enumerate(comps):
            vals = [r.get(f"energy.{c}", 0.0) for r in bars]
            ax.bar(range(len(bars)), vals, bottom=bottom, color=f"C{i}", label=c if net == nets[0] else None)
            bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_xticks(range(len(bars)), labels, fontsize=6, rotation=45, ha="right", rotation_mode="anchor")
        ax.set_title(net, fontsize=9)
        ax.set_ylabel("energy per training step (J)" if net == nets[0] else "")
    fig.legend(loc="upper center", ncol=len(comps), fontsize=7)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    fig.savefig(paths[0], dpi=130)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(nets), figsize=(3.4 * len(nets) + 1, 3.8), squeeze=False)
    fam_style = {"sram": ("s", "k"), "mram": ("D", "C3"), "het": ("o", "C0")}
    for ax, net in zip(axes[0], nets):
        nr = [r for r in rows if r["network"] == net and not math.isnan(r["accuracy_pct"])]
        for fam, (m, col) in fam_style.items():
            pts = [r for r in nr if r["family"] == fam]
            ax.scatter([r["total_energy_j"] for r in pts], [r["accuracy_pct"] for r in pts], marker=m, s=18,
                       color=col, alpha=0.7, label=fam if net == nets[0] else None)
        front = sorted((r for r in nr if r["pareto"]), key=lambda r: r["total_energy_j"])
        ax.step([r["total_energy_j"] for r in front], [r["accuracy_pct"] for r in front], where="post",
                color="C2", lw=1.2, label="Pareto front" if net == nets[0] else None)
        rec = recs.get(net)
        if rec is not None and not math.isnan(rec["accuracy_pct"]):
            ax.scatter([rec["total_energy_j"]], [rec["accuracy_pct"]], marker="*", s=120, color="C1",
                       label="recommended" if net == nets[0] else None, zorder=5)
        ax.set_title(net, fontsize=9)
        ax.set_xlabel("energy per training step (J)", fontsize=8)
        ax.set_ylabel("final test accuracy (%)" if net == nets[0] else "", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.legend(loc="upper center", ncol=5, fontsize=7)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    fig.savefig(paths[1], dpi=130)
    plt.close(fig)
    return paths
