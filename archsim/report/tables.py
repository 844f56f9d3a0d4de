"""Rich tables of a simulated training step: one row per layer and pass, and a totals panel."""
from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from archsim.datatypes import DataType
from archsim.engine.simulator import ENERGY_COMPONENTS


def _si(x: float, unit: str = "", digits: int = 3) -> str:
    """``x`` with an SI prefix: k/M/G/T above 1000; with a unit also m/u/n/p below 1 (counts print as integers)."""
    for div, p in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.2f}{p}{unit}"
    if abs(x) >= 1 or x == 0:
        return f"{x:.0f}{unit}" if float(x).is_integer() else f"{x:.{digits}g}{unit}"
    if unit:
        for div, p in ((1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p")):
            if abs(x) >= div:
                return f"{x / div:.{digits}g}{p}{unit}"
    return f"{x:.{digits}g}{unit}"


def _uj(pj: float) -> str:
    uj = pj * 1e-6
    return f"{uj:.0f}" if uj >= 100 else f"{uj:.2f}" if uj >= 0.01 else ("0" if uj == 0 else f"{uj:.1e}")


def step_table(report, title: str | None = None) -> Table:
    """Per layer and pass. SRAM columns are word accesses per data type, act/wgt/err/wgrad/opt."""
    t = Table(title=title or f"{report.network}: one training step, per layer and pass "
              "(SRAM words: act/wgt/err/wgrad/opt)", header_style="bold", expand=False)
    cols = ["layer", "pass", "M/N/K", "MACs", "compute cyc", "stall cyc", "util %", "SRAM reads", "SRAM writes",
            "DRAM rd", "DRAM wr", "E compute uJ", "E SRAM uJ", "E leak uJ", "E DRAM uJ", "E total uJ"]
    for c in cols:
        t.add_column(c, justify="left" if c in ("layer", "pass", "M/N/K") else "right", no_wrap=True)
    for r in report.records:
        mnk = f"{r['M']}/{r['N']}/{r['K']}" + (f"x{r['groups']}" if (r["groups"] or 1) > 1 else "") \
            if r["M"] is not None else r["kind"]
        e = r["energy_pj"]
        t.add_row(r["layer"], r["pass"], mnk, _si(r["macs"]), _si(r["compute_cycles"]), _si(r["stall_cycles"]),
                  f"{100 * r['utilization']:.1f}" if r["unit"] == "array" else "-",
                  "/".join(_si(r["sram_reads"][dt.value]) for dt in DataType),
                  "/".join(_si(r["sram_writes"][dt.value]) for dt in DataType),
                  _si(r["dram_read_bytes"], "B"), _si(r["dram_write_bytes"], "B"),
                  *(_uj(x) for x in (e["compute"], e["scratchpad_read"] + e["scratchpad_write"] + e["write_buffer"],
                                     e["leakage"], e["dram"], e["total"])))
    return t


def totals_panel(report) -> Panel:
    T = report.totals
    e = T["energy_pj"]
    lines = [
        f"cycles {T['cycles']:.4g}  ({T['seconds'] * 1e3:.3f} ms)   compute {T['compute_cycles']:.4g}   "
        f"stall {T['stall_cycles']:.4g}   MACs {_si(T['macs'])}",
        f"DRAM read {_si(T['dram_read_bytes'], 'B')}   write {_si(T['dram_write_bytes'], 'B')}",
        "energy " + "   ".join(f"{k} {_si(e[k] * 1e-12, 'J', 4)} ({100 * e[k] / e['total']:.1f}%)"
                               for k in ENERGY_COMPONENTS) + f"   total {_si(e['total'] * 1e-12, 'J', 4)}",
        "scratchpad " + "   ".join(
            f"{k}: {p['technology']} {p['capacity_kib'] / 1024:g} MiB x{p['n_banks']} ({p['area_mm2']:.2f} mm2)"
            for k, p in report.partitions.items()),
    ]
    return Panel("\n".join(lines), title=f"totals: {report.network}", expand=False)


def make_console() -> Console:
    """A console for reports: as wide as the terminal, or 260 columns when writing to a file or pipe."""
    c = Console()
    return c if c.is_terminal else Console(width=260)


def print_report(report, console: Console | None = None, per_layer: bool = True) -> None:
    console = console or make_console()
    if per_layer:
        console.print(step_table(report))
    console.print(totals_panel(report))
