"""Benchmark (not a test): what sets the floor of the injection overhead on a small model.

    .venv/bin/python benchmarks/bench_injection_floor.py [--workload resnet18-mini] [--rate 1e-4]

Every data type gets reads and directional writes at ``--rate``. Each row replaces part of the work of an *event*
(a tensor access in which some bit fails) by nothing, everything else unchanged, and prints the step time in
multiples of a clean step on the same weights (the method of bench_injection.py):

* ``hooks only``: rates 1e-15 -- every hook runs, no bit ever fails;
* ``draws``: reads and writes draw their failing positions from the bit streams, then return the tensor unchanged;
  the optimizer step is a plain one;
* ``draws + copies``: as ``draws``, and a tensor with a failing position is copied, as the harness must do;
* ``harness``: the real injector.

The numbers are not those of a correct harness (the middle rows flip nothing); they say where the time goes.
"""
from __future__ import annotations

import argparse
import contextlib

import torch
from bench_injection import compare, reads_and_writes

from archsim.accuracy import hooks
from archsim.accuracy.data import load_digits
from archsim.accuracy.inject import private_copy
from archsim.accuracy.train import network_for
from archsim.datatypes import ALL_DATATYPES


@contextlib.contextmanager
def _events(copies: bool):
    """Injector reads and writes that only draw their positions (and copy where one fails, with ``copies``)."""
    saved = hooks.Injector.read, hooks.Injector.write, hooks.Injector.step

    def access(stream, bits, x, inplace=False):
        if stream is None or not len(stream.positions(x.numel() * bits)):
            return x
        return private_copy(x)[0] if copies and not inplace else x

    hooks.Injector.read = lambda self, dt, x, inplace=False: access(self._rs[dt], self.codecs[dt].bits, x, inplace)
    hooks.Injector.write = lambda self, dt, key, new, inplace=False: access(self._ws[dt], self.codecs[dt].bits, new,
                                                                             inplace)
    hooks.Injector.step = lambda self, optimizer, names=None: optimizer.step()
    try:
        yield
    finally:
        hooks.Injector.read, hooks.Injector.write, hooks.Injector.step = saved


def _policy(rate: float):
    return reads_and_writes(list(ALL_DATATYPES), rate)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", default="resnet18-mini")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rate", type=float, default=1e-4)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = load_digits()
    net = network_for(args.workload, data)
    print(f"{args.workload}, batch {args.batch}, every data type read and written at {args.rate:g}\n")
    print("| what an event does | x clean (same weights) |\n|---|---|")
    rows = [("hooks only (rates 1e-15)", _policy(1e-15), contextlib.nullcontext()),
            ("draws its positions; no copy, no flip, plain optimizer step", _policy(args.rate), _events(False)),
            ("draws and copies; no flip, plain optimizer step", _policy(args.rate), _events(True)),
            ("the harness", _policy(args.rate), contextlib.nullcontext())]
    for label, pol, ctx in rows:
        with ctx:
            r = compare(net, data, pol, args.batch, args.steps, args.repeats)
        print(f"| {label} | {r['x_clean']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
