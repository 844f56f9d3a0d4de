"""Benchmark (not a test): sparse against dense directional write streams in training, over candidate densities.

    .venv/bin/python benchmarks/dense_threshold.py CAND [CAND ...] [--workload mobilenetv2-mini] [--image-size N]
        [--format bf16] [--ratio 1e-4] [--datatypes activation error ...] [--rounds 3] [--steps 3] [--worker]

CAND is the expected candidate bits per stored word of the named ``--format``, ``p_0to1 * bits``; the 1 -> 0 rate is
``--ratio`` times the 0 -> 1 rate (STT-MRAM's are 1e-4 to 1e-9 of it at the study's write points; 1 for equal
rates). Weight gradients and optimizer state stay fp32, as the default config stores them. For each density, round
by round (alternating which goes first), a new run from seed = round is made once with every directional stream
sparse and once with every one dense (``inject.DENSE_CANDIDATES`` patched to 1e9, then to 0), one clean and one
injected step, then a block of injected steps whose time inside the core's calls (write, capture, flip of the write
streams) is summed. Prints the medians of the core's time a step, their ratio (dense / sparse: below 1, dense pays)
and the fastest whole injected step of each kind. The bits of the two kinds differ (other random streams); their
statistics are the same (tests/accuracy/test_inject.py).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import archsim.accuracy.inject as inject  # noqa: E402
from ab_core import _Timed, case_net  # noqa: E402  (_Timed: a write stream whose core calls add to a clock)
from archsim.accuracy.formats import FORMATS, codec  # noqa: E402
from archsim.accuracy.policy import DataTypeErrors, ErrorPolicy  # noqa: E402
from archsim.datatypes import ALL_DATATYPES, DataType  # noqa: E402
from bench_injection import Runner  # noqa: E402

_FP32_ALWAYS = (DataType.WEIGHT_GRADIENT, DataType.OPTIMIZER_STATE)


def policy(cand: float, fmt: str, ratio: float, dts) -> ErrorPolicy:
    p01 = cand / codec(fmt).bits
    return ErrorPolicy(datatypes={
        dt: DataTypeErrors(enabled=dt in dts, write_ber_0to1=p01, write_ber_1to0=p01 * ratio,
                           format="fp32" if dt in _FP32_ALWAYS else fmt)
        for dt in ALL_DATATYPES})


def one(net, data, pol: ErrorPolicy, seed: int, dense: bool, steps: int, worker: bool) -> tuple[float, float]:
    """(core seconds, step seconds) a step of a new run from ``seed`` with every directional stream ``dense``."""
    saved = inject.DENSE_CANDIDATES
    inject.DENSE_CANDIDATES = 0.0 if dense else 1e9
    try:
        run = Runner(net, data, pol, 32, seed=seed, thread=worker)
    finally:
        inject.DENSE_CANDIDATES = saved
    run.clean_block(1)
    run.block(1)
    clock = [0.0]
    for port in run.inj._ports.values():
        if port.ws is not None:
            assert port.ws.dense == dense
            port.ws = _Timed(port.ws, clock)
    t = time.perf_counter()
    run.block(steps)
    return clock[0] / steps, (time.perf_counter() - t) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cands", nargs="+", type=float)
    ap.add_argument("--workload", default="mobilenetv2-mini")
    ap.add_argument("--image-size", type=int, default=None, help="resize the digits to N x N (default: as training)")
    ap.add_argument("--format", default="bf16", choices=list(FORMATS))
    ap.add_argument("--ratio", type=float, default=1e-4, help="1 -> 0 rate over 0 -> 1 rate")
    ap.add_argument("--datatypes", nargs="+", default=[dt.value for dt in ALL_DATATYPES],
                    choices=[dt.value for dt in ALL_DATATYPES])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--worker", action="store_true", help="let the injector use the core's worker thread")
    a = ap.parse_args()
    data, net = case_net(a)
    dts = {DataType(d) for d in a.datatypes}
    print(f"{a.workload}, {a.format}, 1->0 / 0->1 = {a.ratio:g}, {sorted(d.value for d in dts)}, "
          f"{'with' if a.worker else 'no'} worker thread; medians of {a.rounds} rounds of {a.steps} steps")
    print("| candidates / word | 0->1 rate | core ms sparse | core ms dense | dense / sparse | step ms sparse | "
          "step ms dense |")
    print("|---|---|---|---|---|---|---|")
    for cand in a.cands:
        pol = policy(cand, a.format, a.ratio, dts)
        core = {False: [], True: []}
        step = {False: [], True: []}
        for r in range(a.rounds):
            for dense in ((False, True) if r % 2 == 0 else (True, False)):
                c, s = one(net, data, pol, r, dense, a.steps, a.worker)
                core[dense].append(c * 1e3)
                step[dense].append(s * 1e3)
        sp, de = statistics.median(core[False]), statistics.median(core[True])
        print(f"| {cand:.3f} | {cand / codec(a.format).bits:.2e} | {sp:.2f} | {de:.2f} | {de / sp:.2f} | "
              f"{min(step[False]):.1f} | {min(step[True]):.1f} |", flush=True)


if __name__ == "__main__":
    main()
