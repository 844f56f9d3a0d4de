"""Benchmark (not a test): whole injected steps with and without the errors' deferred capture, round by round.

    .venv/bin/python benchmarks/ab_deferred_capture.py CASE [CASE ...] [--rounds 12] [--steps 3]
        [--workload resnet18-mini] [--image-size N] [--defer-candidates N]

CASE as in ab_core.py (``V/NS``, or ``KIND:RATE:MODEL``). With the worker thread, an error's write in place leaves
the capture of its buffer's next old contents to the worker where the stream is sparse (``hooks._Port.defers``);
this turns that off in one of each pair of runs. Each round makes both runs from the same seed (new weights, one
clean and one injected step, then a timed block of injected steps), alternating which goes first, and the pair's
difference is taken within the round: this machine's speed drifts by more from minute to minute than the change
is worth. The two runs give the same bits (their flip counts are compared). Prints the median step of each and the
median of the paired differences, "on - off" (below 0: the deferral saves that much a step).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import archsim.accuracy.hooks as hooks

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ab_core import case_args, case_net, pair_header, paired_steps, policy, report_pair  # noqa: E402
from archsim.datatypes import DataType  # noqa: E402


class _Counted:
    """A write stream whose writes that leave their capture to the worker (a ``hold`` given) are counted; in both
    runs of a pair, so that both pay for the extra Python call."""

    def __init__(self, stream):
        self.stream, self.left = stream, 0

    def __getattr__(self, name):
        return getattr(self.stream, name)

    def write(self, *args):
        self.left += len(args) == 8
        return self.stream.write(*args)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    case_args(ap, 12)
    ap.add_argument("--defer-candidates", type=float, default=None,
                    help="hooks.DEFER_CANDIDATES for the runs with the deferral (default: as it is)")
    args = ap.parse_args()
    if args.defer_candidates is not None:
        hooks.DEFER_CANDIDATES = args.defer_candidates
    data, net = case_net(args)
    pair_header(args, data)
    for case in args.cases:
        left = []

        def prepare(run, on):
            err = run.inj._ports[DataType.ERROR]
            err.defers = err.defers and on
            if err.ws is not None:
                err.ws = _Counted(err.ws)
            left.append(err.ws)

        times, diffs = paired_steps(net, data, policy(case), args.rounds, args.steps, prepare, case)
        deferred = any(getattr(w, "left", 0) > 0 for w in left)
        note = "" if deferred else ("  (no capture was left to the worker: no spare core, no sparse directional "
                                    "errors, or none of DEFER_CANDIDATES)")
        report_pair(case, times, diffs, note)

if __name__ == "__main__":
    main()
