"""Print how closely archsim's dataflow models agree with the stored SCALE-Sim golden runs (for docs/dataflows.md).

usage: .venv/bin/python tests/golden/agreement.py
Counts SCALE-Sim layers (a DP row's per-channel layers each count) per (topology, config), and the largest
relative error of 'Total Cycles' and of the three SRAM counts (via FoldPlan.scalesim_compat()).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scalesim_data import golden_cases  # noqa: E402

from archsim.schedule.dataflows import get_dataflow  # noqa: E402
from archsim.workload.scalesim_import import gemm_dims, load_scalesim_topology  # noqa: E402

FIELDS = ("total_cycles", "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes")


def main() -> None:
    worst = dict.fromkeys(FIELDS, 0.0)
    n_layers = n_cases = 0
    print(f"{'topology':<18} {'config':<12} {'layers':>6} " + " ".join(f"{f:>18}" for f in FIELDS))
    for case in golden_cases():
        net = load_scalesim_topology(case.topology_path)
        layers = {l.name: l for l in net.gemm_layers()}
        df = get_dataflow(case.dataflow)
        err = dict.fromkeys(FIELDS, 0.0)
        n = 0
        for gl in case.layers:
            M, N, K, g = gemm_dims(layers[gl.name])
            view = df.plan(M, N // g, K // g, case.rows, case.cols).scalesim_compat()
            for ch in gl.channels:
                n += 1
                for f in FIELDS:
                    theirs = getattr(ch, f)
                    err[f] = max(err[f], abs(getattr(view, f) - theirs) / max(theirs, 1))
        n_layers += n
        n_cases += 1
        for f in FIELDS:
            worst[f] = max(worst[f], err[f])
        print(f"{case.topology:<18} {case.config:<12} {n:>6} " + " ".join(f"{err[f]:>18.2e}" for f in FIELDS))
    print(f"{n_cases} runs, {n_layers} SCALE-Sim layers; max relative error: "
          + ", ".join(f"{f} {worst[f]:.2e}" for f in FIELDS))


if __name__ == "__main__":
    main()
