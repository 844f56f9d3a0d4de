"""``archsim device``: MTJ write current, energy and WER over a voltage x pulse-width grid.

    archsim device --voltages 0.8,1.0,1.25 --pulses-ns 2,5,10,20 [--delta 60] [--plot wer.png] [--json t.json]
"""
from __future__ import annotations

import argparse
import json
import pathlib

from archsim.cli.argtypes import float_list_in, output_file, plot_file


def _floats(text: str, name: str, lo: float, hi: float, unit: str) -> list[float]:
    """Parse in ``run`` (not as an argparse type) so a bad list is one ``archsim: error: --NAME: ...`` line."""
    try:
        return float_list_in(lo, hi, unit)(text)
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"--{name}: {exc}") from None


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("device", help="MTJ write current/energy/WER over a voltage x pulse grid",
                              description=__doc__)
    p.add_argument("--voltages", default="0.8,1.0,1.25,1.5", help="write voltages, V (comma-separated)")
    p.add_argument("--pulses-ns", default="2,5,10,20", help="write pulse widths, ns (comma-separated)")
    p.add_argument("--delta", type=float, default=None, help="thermal stability factor (default 60)")
    p.add_argument("--diameter-nm", type=float, default=None, help="free-layer diameter, nm (default 25)")
    p.add_argument("--temperature-k", type=float, default=None, help="temperature, K (default 300)")
    p.add_argument("--plot", type=plot_file, metavar="FILE.png",
                   help="write WER vs pulse width (one curve per voltage, direction); .png, .pdf, .svg, ...")
    p.add_argument("--json", type=output_file, metavar="FILE", help="write the table as JSON")
    return p


def run(args) -> int:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from archsim.device import MTJ, MTJParams, WriteOperatingPoint
    from archsim.device.mtj import MAX_PULSE_NS, VOLTAGE_RANGE_V
    from archsim.report.files import atomic_write_text

    voltages = _floats(args.voltages, "voltages", *VOLTAGE_RANGE_V, "V")
    pulses = _floats(args.pulses_ns, "pulses-ns", 0.0, MAX_PULSE_NS, "ns")  # lower bound: mtj.min_pulse_ns below
    overrides = {k: v for k, v in (("thermal_stability", args.delta), ("diameter_nm", args.diameter_nm),
                                   ("temperature_k", args.temperature_k)) if v is not None}
    mtj = MTJ(MTJParams(**overrides))
    rows = []
    for v in voltages:
        for t in pulses:
            r = mtj.evaluate_write(WriteOperatingPoint(voltage_v=v, pulse_ns=t))  # DeviceError -> one line
            rows.append(r.as_dict() | {"wer_mean": r.wer_mean})

    table = Table(title=f"MTJ write per bit: Delta={mtj.delta:g}, Ic0 P>AP {mtj.ic0_p2ap_ua:.1f} uA, "
                  f"AP>P {mtj.ic0_ap2p_ua:.1f} uA, t_D {mtj.t_d_ns:.2f} ns; bit 0->1 = P>AP",
                  box=box.SIMPLE_HEAD,
                  caption="regime: prec = precessional, therm = thermally activated, inter = intermediate")
    for col in ("V", "pulse\nns", "I uA\nP>AP/AP>P", "E pJ/bit\nP>AP/AP>P", "WER\nP>AP", "WER\nAP>P",
                "regime\nP>AP/AP>P"):
        table.add_column(col, justify="right", no_wrap=True)
    short = {"precessional": "prec", "thermal": "therm", "intermediate": "inter"}
    for r in rows:
        table.add_row(f"{r['voltage_v']:.3g}", f"{r['pulse_ns']:.3g}",
                      f"{r['current_p2ap_ua']:.1f}/{r['current_ap2p_ua']:.1f}",
                      f"{r['energy_p2ap_pj']:.3f}/{r['energy_ap2p_pj']:.3f}",
                      f"{r['wer_p2ap']:.2e}", f"{r['wer_ap2p']:.2e}",
                      f"{short[r['regime_p2ap']]}/{short[r['regime_ap2p']]}")
    Console().print(table)

    if args.json:
        out = {"params": mtj.params.model_dump(), "derived": mtj.summary(), "rows": rows}
        atomic_write_text(args.json, json.dumps(out, indent=1))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np

        lo, hi = min(pulses), max(pulses)
        t = np.geomspace(max(lo, mtj.min_pulse_ns), hi, 200) if hi > lo else np.array([lo])
        wp, wa = mtj.wer_grid(voltages, t)
        fig, ax = plt.subplots(figsize=(7, 4.5))
        floor = 1e-30
        for k, v in enumerate(voltages):
            ax.loglog(t, np.maximum(wp[k], floor), color=f"C{k}", label=f"{v:g} V P->AP (0->1)")
            ax.loglog(t, np.maximum(wa[k], floor), color=f"C{k}", ls="--", label=f"{v:g} V AP->P (1->0)")
        ax.set_xlabel("write pulse width (ns)")
        ax.set_ylabel("write error rate per bit")
        ax.set_ylim(bottom=max(floor, float(min(wp.min(), wa.min())) * 0.5), top=1.5)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        try:
            pathlib.Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(args.plot, dpi=110)
        except OSError as exc:
            raise ValueError(f"--plot: cannot write {args.plot!r}: {exc.strerror or exc}") from None
        finally:
            plt.close(fig)
    return 0
