"""Benchmark (not a test): what one small numpy call costs inside the injector's hooks during training.

    .venv/bin/python benchmarks/bench_numpy_in_hooks.py [--workload resnet18-mini] [--batch 32] [--steps 30]

Trains the model clean, with probes where the injector's hooks run (saved-tensor pack and unpack, error hooks in
backward, weight reads in forward). Each probe times two identical tiny numpy calls back to back: the first shows
what the caches left by the training kernels cost a hook, the second a warm call. docs/performance.md uses it to
say where an injection event's time goes.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from archsim.accuracy.data import load_digits
from archsim.accuracy.models import build_model
from archsim.accuracy.train import network_for


class _Probes:
    """Stands in for the injector: every hook only times two numpy calls."""

    reads_weights = True

    def __init__(self):
        self.a = np.zeros(16)
        self.times: dict[str, tuple[list, list]] = {k: ([], []) for k in ("pack", "unpack", "error", "weight read")}

    def probe(self, kind: str) -> None:
        s = time.perf_counter()
        np.add(self.a, 1.0)
        m = time.perf_counter()
        np.add(self.a, 1.0)
        e = time.perf_counter()
        self.times[kind][0].append(m - s)
        self.times[kind][1].append(e - m)

    def read_weight(self, name, w):
        self.probe("weight read")
        return w

    def watch_error(self, name, y):
        y.register_hook(lambda g: self.probe("error"))

    def pack(self, t):
        self.probe("pack")
        return t

    def unpack(self, t):
        self.probe("unpack")
        return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", default="resnet18-mini")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = load_digits()
    model = build_model(network_for(args.workload, data), 0)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    probes = _Probes()
    model.injector = probes
    x, y = data.x_train[:args.batch], data.y_train[:args.batch]
    for step in range(args.steps + 5):
        if step == 5:  # warm-up steps are not counted
            for first, second in probes.times.values():
                first.clear()
                second.clear()
        opt.zero_grad()
        with torch.autograd.graph.saved_tensors_hooks(probes.pack, probes.unpack):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    print(f"{args.workload}, batch {args.batch}, 1 thread, {args.steps} steps: one np.add on 16 numbers inside each hook")
    print()
    print("| hook | calls/step | first call: median us | mean us | second call: median us |")
    print("|---|---|---|---|---|")
    for kind, (first, second) in probes.times.items():
        print(f"| {kind} | {len(first) / args.steps:.0f} | {statistics.median(first) * 1e6:.1f} | "
              f"{statistics.mean(first) * 1e6:.1f} | {statistics.median(second) * 1e6:.1f} |")


if __name__ == "__main__":
    main()
