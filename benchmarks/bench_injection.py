"""Benchmark (not a test): time of one training step, clean vs with bit-error injection at every data type.

    .venv/bin/python benchmarks/bench_injection.py [--workload resnet18-mini] [--batch 32] [--steps 30]

Prints a markdown table: minimum step time over ``--repeats`` blocks of
``--steps`` steps, clean and injected blocks interleaved (after warm-up), one
torch thread, on the embedded digits. The issue's target: injection costs at most 1.5x the clean step.
"""
from __future__ import annotations

import argparse
import platform
import time

import torch

from archsim.accuracy.data import load_digits
from archsim.accuracy.hooks import Injector
from archsim.accuracy.models import build_model
from archsim.accuracy.policy import DataTypeErrors, ErrorPolicy
from archsim.accuracy.train import network_for
from archsim.datatypes import ALL_DATATYPES, DataType


class Runner:
    """One model + optimizer (+ injector) that trains block after block on the digits."""

    def __init__(self, net, data, policy, batch: int, seed: int = 0):
        torch.manual_seed(seed)
        self.model = build_model(net, seed)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        self.names = {id(p): n for n, p in self.model.named_parameters()}
        self.inj = Injector(policy, seed).attach(self.model) if policy is not None and policy.active else None
        self.x, self.y, self.batch, self.i, self.steps = data.x_train, data.y_train, batch, 0, 0
        self.model.train()

    def one(self):
        j = (self.i * self.batch) % (len(self.x) - self.batch)
        self.i += 1
        xb, yb = self.x[j:j + self.batch], self.y[j:j + self.batch]
        self.opt.zero_grad(set_to_none=True)
        if self.inj is not None:
            with self.inj.forward():
                out = self.model(xb)
        else:
            out = self.model(xb)
        torch.nn.functional.cross_entropy(out, yb).backward()
        if self.inj is not None:
            self.inj.step(self.opt, self.names)
        else:
            self.opt.step()
        self.steps += 1

    def block(self, steps: int) -> float:
        t0 = time.perf_counter()
        for _ in range(steps):
            self.one()
        return (time.perf_counter() - t0) / steps

    @property
    def flips_per_step(self) -> float:
        return sum(s.flips for s in self.inj.stats.values()) / max(1, self.steps) if self.inj else 0.0


def compare(net, data, policy, batch: int, steps: int, repeats: int) -> tuple[float, float, float]:
    """(clean s/step, injected s/step, flips/step): minimum over blocks, clean and injected blocks interleaved so
    that load from other processes hits both alike."""
    clean, inj = Runner(net, data, None, batch), Runner(net, data, policy, batch)
    clean.block(3)
    inj.block(3)
    tc, ti = [], []
    for _ in range(repeats):
        tc.append(clean.block(steps))
        ti.append(inj.block(steps))
    return min(tc), min(ti), inj.flips_per_step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", default="resnet18-mini")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rates", type=float, nargs="+", default=[1e-6, 1e-4, 1e-2])
    ap.add_argument("--datatypes", nargs="+", default=[d.value for d in ALL_DATATYPES],
                    choices=[d.value for d in ALL_DATATYPES], help="data types that get errors (default: all)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = load_digits()
    net = network_for(args.workload, data)
    print(f"{args.workload}, batch {args.batch}, {args.threads} thread(s), torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}; min over {args.repeats} blocks of {args.steps} steps, "
          "clean and injected blocks interleaved")
    print()
    dts = [DataType(d) for d in args.datatypes]
    print(f"| injection ({', '.join(args.datatypes)}) | rate per bit | clean ms | injected ms | "
          "x clean | bits flipped/step |")
    print("|---|---|---|---|---|---|")
    cases = [("machinery only (rates 1e-15: every hook runs, nothing flips)", 1e-15, "both", "directional")]
    for model in ("directional", "symmetric"):
        for kind in ("write", "read", "both"):
            if kind == "read" and model == "symmetric":
                continue  # reads have one model
            for rate in args.rates:
                cases.append((f"{kind}" + (f" ({model})" if kind != "read" else ""), rate, kind, model))
    # the rates docs/accuracy.md quotes for an STT-MRAM weight partition at its default operating point, at every
    # data type chosen (directional writes with unequal directions: the thinning draw runs too)
    cases.append(("STT-MRAM operating point: write 6.6e-7 (0->1) / 6e-16 (1->0), read 7.5e-9", 6.6e-7, "mram",
                  "directional"))
    for label, rate, kind, model in cases:
        if kind == "mram":
            pol = ErrorPolicy(datatypes={d: DataTypeErrors(read_ber=7.5e-9, write_ber_0to1=6.6e-7,
                                                           write_ber_1to0=6e-16) for d in dts})
        elif kind == "both":
            pol = ErrorPolicy.uniform(dts, rate, "write", model)
            pol = ErrorPolicy(datatypes={d: m.model_copy(update={"read_ber": rate}) for d, m in pol.datatypes.items()})
        else:
            pol = ErrorPolicy.uniform(dts, rate, kind, model)
        tc, ti, flips = compare(net, data, pol, args.batch, args.steps, args.repeats)
        print(f"| {label} | {rate:.0e} | {tc * 1e3:.2f} | {ti * 1e3:.2f} | {ti / tc:.2f} | {flips:.0f} |", flush=True)


if __name__ == "__main__":
    main()
