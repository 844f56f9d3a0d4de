"""Benchmark (not a test): one directional write of the compiled core into a fresh copy against the same write in
place, outside training.

    .venv/bin/python benchmarks/write_in_place.py [FMT:P01 ...] [--buffers 140] [--words 86000] [--repeats 6]

Each FMT:P01 (default ``bf16:7.9e-3 bf16:2.9e-2 fp32:5.5e-3``: sparse, dense and sparse fp32 streams at rates of the
study's dearest write points) makes a write stream with 0 -> 1 rate P01 and 1 -> 0 rate 1e-4 of it, as the bank
models give. Every repeat writes ``--buffers`` new buffers of ``--words`` float32 words (ReLU'd normal values, as
activations are) once each, over slots carried from repeat to repeat: either into a fresh ``torch.empty_like`` copy
(what a stored activation's write does, since the forward pass still reads the tensor) or in place (what an error's
write does). Prints the median over repeats, in ns a word, with the two modes alternating twice.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from archsim.accuracy.formats import codec
from archsim.accuracy.inject import Slot, write_stream


def one(fmt: str, p01: float, buffers: int, words: int, repeats: int) -> tuple[bool, dict[str, list[float]]]:
    ws = write_stream(1, p01, p01 * 1e-4, codec(fmt))
    slots = [Slot() for _ in range(buffers)]
    gen = torch.Generator().manual_seed(0)
    out: dict[str, list[float]] = {"copy": [], "in place": []}

    def run(mode: str) -> float:
        times = []
        for _ in range(repeats):
            xs = [torch.randn(words, generator=gen).relu_() for _ in range(buffers)]
            t0 = time.perf_counter()
            for s, x in zip(slots, xs):
                p = x.data_ptr()
                if mode == "copy":
                    y = torch.empty_like(x)
                    ws.write(s, p, y.data_ptr(), words, None, 0, 1)
                else:
                    ws.write(s, p, p, words, None, 0, 1)
            times.append((time.perf_counter() - t0) / (buffers * words) * 1e9)
        return statistics.median(times)

    for mode in ("copy", "in place", "copy", "in place"):
        out[mode].append(run(mode))
    return ws.dense, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cases", nargs="*", default=["bf16:7.9e-3", "bf16:2.9e-2", "fp32:5.5e-3"], metavar="FMT:P01")
    ap.add_argument("--buffers", type=int, default=140)
    ap.add_argument("--words", type=int, default=86_000)
    ap.add_argument("--repeats", type=int, default=6)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print("| case | kind | into a fresh copy, ns a word | in place, ns a word |")
    print("|---|---|---|---|")
    for case in args.cases:
        fmt, rate = case.split(":")
        dense, out = one(fmt, float(rate), args.buffers, args.words, args.repeats)
        cells = [", ".join(f"{t:.2f}" for t in out[m]) for m in ("copy", "in place")]
        print(f"| {fmt} at {rate} | {'dense' if dense else 'sparse'} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
