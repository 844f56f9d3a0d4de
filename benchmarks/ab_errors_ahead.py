"""Benchmark (not a test): whole injected steps with and without the errors' Bernoulli words drawn ahead, round by
round.

    .venv/bin/python benchmarks/ab_errors_ahead.py CASE [CASE ...] [--rounds 12] [--steps 3]
        [--workload resnet18-mini] [--image-size N]

CASE as in ab_core.py (``V/NS``, or ``KIND:RATE:MODEL``). With the worker thread, a dense directional error stream
with a bit-parallel direction (1/64 per switching bit or more) has the worker draw that direction's Bernoulli words
ahead, and its writes, on the training thread, take them (``Stream.prefetch``; ``hooks.Injector``); this turns that
off in one of each pair of runs (``ab_core.paired_steps``: same seed, alternating order, the same bits checked).
Prints the median step of each and the median of the paired differences, "on - off" (below 0: drawing ahead saves
that much a step).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ab_core import case_args, case_net, pair_header, paired_steps, policy, report_pair  # noqa: E402
from archsim.datatypes import DataType  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    case_args(ap, 12)
    args = ap.parse_args()
    data, net = case_net(args)
    pair_header(args, data)
    for case in args.cases:
        ahead = []

        def prepare(run, on):
            ws = run.inj._ports[DataType.ERROR].ws
            if not on:  # before the first step, which starts the prefetching streams
                run.inj._prefetch = [s for s in run.inj._prefetch if s is not ws]
            elif ws is not None and ws in run.inj._prefetch:
                ahead.append(ws)

        times, diffs = paired_steps(net, data, policy(case), args.rounds, args.steps, prepare, case)
        note = "" if ahead else ("  (nothing was drawn ahead: no spare core, or no dense error stream with a "
                                 "bit-parallel direction)")
        report_pair(case, times, diffs, note)


if __name__ == "__main__":
    main()
