"""Benchmark (not a test): two builds of the compiled core, side by side in one process, in training.

    .venv/bin/python benchmarks/ab_core.py A.so B.so CASE [CASE ...] [--rounds 24] [--workload W] [--image-size N]
        [--no-worker]

A and B are copies of ``archsim/accuracy/_bitflip*.so`` (say, the build before a change and the build after it).
Both are imported under their own names, and round by round (alternating which goes first) the harness is pointed
at one, then the other: a new run from seed = round makes one clean and one injected step, then a block of three
injected steps whose time inside the core's calls (write, flip, capture) is summed. Prints the median core time a
step of each and the median ratio B / A. Timing the core alone, within one process, sees a change of a few percent
that whole training steps, which vary by +-20 % on this machine, hide. The two builds must give the same bits:
the flip counts are compared.

CASE: ``V/NS`` (an STT-MRAM write point of the default config, as in bench_injection.py) or ``KIND:RATE:MODEL``
with KIND write, read or both and MODEL directional or symmetric (e.g. ``write:1e-2:directional``).
"""
from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import archsim.accuracy.hooks as hooks  # noqa: E402
import archsim.accuracy.inject as inject  # noqa: E402
from archsim.accuracy.data import load_digits  # noqa: E402
from archsim.accuracy.policy import ErrorPolicy  # noqa: E402
from archsim.accuracy.train import data_for, network_for  # noqa: E402
from archsim.datatypes import ALL_DATATYPES  # noqa: E402
from bench_injection import Runner, point_policy, reads_and_writes  # noqa: E402


def load_build(path: str, tag: str):
    """The extension at ``path`` as module ``tag._bitflip`` (its init function is named for the last part)."""
    name = f"{tag}._bitflip"
    loader = importlib.machinery.ExtensionFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def use_build(mod) -> None:
    """New injectors make their streams and slots from ``mod``."""
    inject.Stream = mod.Stream
    inject.Slot = mod.Slot
    hooks.Slot = mod.Slot


def policy(case: str) -> ErrorPolicy:
    if "/" in case:
        return point_policy(*(float(x) for x in case.split("/")))
    kind, rate, model = case.split(":")
    dts = list(ALL_DATATYPES)
    if kind == "both":
        return reads_and_writes(dts, float(rate), model)
    return ErrorPolicy.uniform(dts, float(rate), kind, model)


class _Timed:
    """A stream whose core calls add their time to ``clock[0]`` of each of ``clocks``."""

    def __init__(self, stream, *clocks: list):
        self._s, self._clocks = stream, clocks

    def __getattr__(self, name):
        v = getattr(self._s, name)
        if name not in ("flip", "write", "capture"):
            return v

        def timed(*args):
            t = time.perf_counter()
            r = v(*args)
            dt = time.perf_counter() - t
            for c in self._clocks:
                c[0] += dt
            return r
        return timed


def timed_run(net, data, pol: ErrorPolicy, seed: int, thread: bool = True,
              by: dict | None = None) -> tuple[Runner, list]:
    """A new run from ``seed`` past its first clean and first injected step, whose core calls from then on add
    their time to the returned clock's one entry (seconds); with ``by``, also to ``by[(data type, access)]``'s
    (access "write" or "read"). ``thread``: the injector's worker thread (the core's calls it runs are not timed)."""
    run = Runner(net, data, pol, 32, seed=seed, thread=thread)
    run.clean_block(1)
    run.block(1)
    clock = [0.0]
    for dt, port in run.inj._ports.items():
        for attr, access in (("ws", "write"), ("rs", "read")):
            stream = getattr(port, attr)
            if stream is not None:
                own = () if by is None else (by.setdefault((dt.value, access), [0.0]),)
                setattr(port, attr, _Timed(stream, clock, *own))
    return run, clock


def case_args(ap: argparse.ArgumentParser, rounds: int) -> None:
    """The arguments that this benchmark shares with core_share.py, ab_deferred_capture.py and ab_errors_ahead.py
    (dense_threshold.py shares ``--workload``, ``--image-size`` and :func:`case_net`)."""
    ap.add_argument("cases", nargs="+")
    ap.add_argument("--rounds", type=int, default=rounds)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--workload", default="resnet18-mini")
    ap.add_argument("--image-size", type=int, default=None, help="resize the digits to N x N (default: as training)")


def paired_steps(net, data, pol: ErrorPolicy, rounds: int, steps: int, prepare, case: str = ""
                 ) -> tuple[dict[bool, list[float]], list[float]]:
    """Whole injected steps with a change on and off, round by round, with the worker thread: each round makes both
    runs from the same seed (new weights, one clean and one injected step, then a timed block of ``steps`` injected
    steps), alternating which goes first, so that the pair's difference is taken within the round (this machine's
    speed drifts by more from minute to minute than such a change is worth). ``prepare(run, on)`` sets the change on
    or off in a new ``Runner`` before its first step. The two runs must flip the same bits (SystemExit if not).
    Returns the ms a step of each run by ``on``, and the paired differences, on - off."""
    times: dict[bool, list[float]] = {True: [], False: []}
    diffs: list[float] = []
    for r in range(rounds):
        got, flips = {}, {}
        for on in ((True, False) if r % 2 == 0 else (False, True)):
            run = Runner(net, data, pol, 32, seed=r, thread=True)
            prepare(run, on)
            run.clean_block(1)
            run.block(1)
            got[on] = run.block(steps) * 1e3
            flips[on] = run.flips_per_step
            times[on].append(got[on])
        if flips[True] != flips[False]:
            raise SystemExit(f"{case}: round {r} flipped {flips[True]} bits a step with the change and "
                             f"{flips[False]} without: not the same bits")
        diffs.append(got[True] - got[False])
    return times, diffs


def pair_header(args: argparse.Namespace, data) -> None:
    """The heading of :func:`paired_steps`' results: workload, input size, rounds and steps."""
    print(f"{args.workload}, {data.x_train.shape[-1]} x {data.x_train.shape[-2]} inputs, batch 32, {args.rounds} "
          f"rounds of {args.steps} injected steps a run; ms a step")


def report_pair(case: str, times: dict[bool, list[float]], diffs: list[float], note: str = "") -> None:
    """One line of :func:`paired_steps`' results: the median step on and off, and the median paired difference."""
    print(f"{case}: on {statistics.median(times[True]):.1f}, off {statistics.median(times[False]):.1f}, "
          f"on - off {statistics.median(diffs):+.1f} (pairs from {min(diffs):+.1f} to {max(diffs):+.1f}){note}")


def case_net(args: argparse.Namespace):
    """(data, network) of ``case_args``' workload and image size, torch on one thread."""
    torch.set_num_threads(1)
    data = data_for(args.workload, load_digits(), args.image_size)
    return data, network_for(args.workload, data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    case_args(ap, 24)
    ap.add_argument("--no-worker", action="store_true", help="every core call on the training thread, all timed")
    args = ap.parse_args()
    data, net = case_net(args)
    builds = [load_build(args.a, "build_a"), load_build(args.b, "build_b")]
    for case in args.cases:
        pol = policy(case)
        times: list[list[float]] = [[], []]
        flips = [0.0, 0.0]
        for r in range(args.rounds):
            for i in ((0, 1) if r % 2 == 0 else (1, 0)):
                use_build(builds[i])
                run, clock = timed_run(net, data, pol, r, thread=not args.no_worker)
                run.steps = 0
                for st in run.inj.stats.values():
                    st.__init__()
                run.block(args.steps)
                times[i].append(clock[0] / args.steps * 1e3)
                flips[i] += run.flips_per_step
        if flips[0] != flips[1]:
            raise SystemExit(f"{case}: the builds flip different bits ({flips[0]} vs {flips[1]} a step, summed)")
        ratio = statistics.median(b / a for a, b in zip(*times))
        print(f"{case}: core ms a step A {statistics.median(times[0]):.3f}  B {statistics.median(times[1]):.3f}  "
              f"B/A {ratio:.3f}  ({flips[0] / args.rounds:.0f} flips a step)", flush=True)


if __name__ == "__main__":
    main()
