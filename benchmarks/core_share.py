"""Benchmark (not a test): how much of an injected training step the compiled core takes, and its budget for 1.5x.

    .venv/bin/python benchmarks/core_share.py CASE [CASE ...] [--rounds 24] [--steps 3] [--workload resnet18-mini]
        [--image-size N] [--no-worker]

CASE as in ab_core.py: ``V/NS`` (an STT-MRAM write point of the default config) or ``KIND:RATE:MODEL`` (e.g.
``both:1e-2:directional``). Every round starts from new weights (seed = round) and makes one clean and one injected
step. Then it times a block of injected steps and a block of clean steps on the same weights, the first steps of
training as in ``bench_injection.py --restart``. A second run from the same seed repeats the injected block with
timers around the core's calls (``ab_core.timed_run``): the timers cost Python calls, so the whole-step times come
from the first run. Prints medians over rounds:
- the clean step;
- the injected step and the ratio;
- the core's time;
- what the step spends beyond a clean one outside the core;
- the core's budget for the issue's target of 1.5x (half a clean step less that).
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ab_core import case_args, case_net, policy, timed_run  # noqa: E402
from bench_injection import Runner  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    case_args(ap, 24)
    ap.add_argument("--no-worker", action="store_true", help="no worker thread for the injection, as the study trains")
    args = ap.parse_args()
    thread = not args.no_worker
    data, net = case_net(args)
    print("| case | clean ms | injected ms | x clean | core ms | beyond clean, outside the core, ms | "
          "the core's budget for 1.5x, ms |")
    print("|---|---|---|---|---|---|---|")
    split: dict[str, dict] = {}
    for case in args.cases:
        pol = policy(case)
        clean, injected, core = [], [], []
        parts = split[case] = {}
        for r in range(args.rounds):
            run = Runner(net, data, pol, 32, seed=r, thread=thread)
            run.clean_block(1)
            run.block(1)
            injected.append(run.block(args.steps) * 1e3)
            clean.append(run.clean_block(args.steps) * 1e3)
            by: dict = {}
            run, clock = timed_run(net, data, pol, r, thread=thread, by=by)
            run.block(args.steps)
            core.append(clock[0] / args.steps * 1e3)
            for key, c in by.items():
                parts.setdefault(key, []).append(c[0] / args.steps * 1e3)
        med = statistics.median
        outside = med(i - c - k for i, c, k in zip(injected, clean, core))
        c = med(clean)
        print(f"| {case} | {c:.2f} | {med(injected):.2f} | {med(i / c for i, c in zip(injected, clean)):.2f} | "
              f"{med(core):.2f} | {outside:.2f} | {0.5 * c - outside:.2f} |", flush=True)
    print("\n| case | data type | core ms a step, write | read |")
    print("|---|---|---|---|")
    for case, parts in split.items():
        for dt in dict.fromkeys(d for d, _ in parts):
            w, rd = (statistics.median(parts.get((dt, a), [0.0])) for a in ("write", "read"))
            print(f"| {case} | {dt} | {w:.2f} | {rd:.2f} |")


if __name__ == "__main__":
    main()
