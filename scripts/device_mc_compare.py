"""Compare the analytic MTJ write-error rate with the stochastic macrospin Monte-Carlo.

Writes docs/figures/device_wer_analytic_vs_mc.png (WER vs pulse width: analytic curves, MC points with 95 %
Wilson intervals) and docs/figures/device_wer_analytic_vs_mc.json (the numbers). Default MTJParams, P->AP.

    .venv/bin/python scripts/device_mc_compare.py [--trials 20000] [--seed 1]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from archsim.device import MTJ, MTJParams, WriteOperatingPoint  # noqa: E402
from archsim.device.llg import simulate_wer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# (direction, voltage, pulse widths in ns): spans WER ~0.5 .. 1e-3 for the default cell
POINTS = [
    ("p2ap", 0.8, [4.0, 6.0, 8.0, 10.0, 12.0]),
    ("p2ap", 1.0, [3.0, 4.0, 5.0, 6.0, 7.0, 8.0]),
    ("p2ap", 1.25, [2.0, 3.0, 4.0, 5.0]),
    ("ap2p", 0.6, [3.0, 4.0, 5.0, 6.0, 7.0]),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dt-ps", type=float, default=1.0)
    ap.add_argument("--out", default=str(ROOT / "docs/figures/device_wer_analytic_vs_mc.png"))
    args = ap.parse_args()
    mtj = MTJ(MTJParams())
    rows = []
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for k, (direction, v, pulses) in enumerate(POINTS):
        colour = f"C{k}"
        t_fine = np.linspace(min(pulses) * 0.8, max(pulses) * 1.1, 200)
        wp, wa = mtj.wer_grid([v], t_fine)
        ax.semilogy(t_fine, (wp if direction == "p2ap" else wa)[0], color=colour,
                    label=f"analytic {direction} {v} V")
        for t in pulses:
            t0 = time.time()
            op = WriteOperatingPoint(voltage_v=v, pulse_ns=t)
            mc = simulate_wer(mtj, op, direction=direction, trials=args.trials, dt_ps=args.dt_ps, seed=args.seed)
            res = mtj.evaluate_write(op)
            w = res.wer_p2ap if direction == "p2ap" else res.wer_ap2p
            rows.append({"direction": direction, "voltage_v": v, "pulse_ns": t, "overdrive": mc.overdrive,
                         "wer_analytic": w, "wer_mc": mc.wer, "ci_low": mc.ci_low, "ci_high": mc.ci_high,
                         "errors": mc.errors, "trials": mc.trials,
                         "ratio_analytic_over_mc": (w / mc.wer) if mc.errors else None})
            print(f"{direction} {v:4.2f} V {t:5.1f} ns  i={mc.overdrive:4.2f}  MC {mc.wer:.4g} "
                  f"[{mc.ci_low:.3g}, {mc.ci_high:.3g}]  analytic {w:.4g}  ({time.time() - t0:.1f} s)", flush=True)
            if mc.errors:
                ax.errorbar([t], [mc.wer], yerr=[[mc.wer - mc.ci_low], [mc.ci_high - mc.wer]], fmt="o",
                            color=colour, ms=4, capsize=2)
    ax.set_xlabel("write pulse width (ns)")
    ax.set_ylabel("write error rate")
    ax.set_ylim(1e-5, 1.0)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(f"Analytic WER vs stochastic macrospin (points, {args.trials} trials, 95% CI)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    meta = {"params": MTJParams().model_dump(), "derived": mtj.summary(), "trials": args.trials,
            "seed": args.seed, "dt_ps": args.dt_ps, "rows": rows}
    out.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    print(f"wrote {out} and {out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
