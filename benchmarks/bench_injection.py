"""Benchmark (not a test): time of one training step, clean vs with bit-error injection at every data type.

    .venv/bin/python benchmarks/bench_injection.py [--workload resnet18-mini] [--batch 32] [--steps 30]

Prints a markdown table, one torch thread, on the embedded digits. Each of ``--repeats`` rounds runs one block of
``--steps`` steps of each kind back to back; the ratios are medians over the rounds of the ratio within a round
(the machine's speed drifts by +-20 % over seconds, and blocks next to each other see the same speed), the
times are minima over the rounds. The issue's target: injection costs at most 1.5x a clean training step *on the same
model*. So the injected run alternates blocks of injected steps with blocks of clean steps (injector detached) that
continue training the same weights: both see the same numbers. At high rates the weights turn non-finite within a
few steps, and arithmetic on NaN and denormal values makes every step of that model slower, clean or not; the
``x fresh`` column (against a separate run trained clean from the same seed) includes that slowdown.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from archsim.accuracy.data import load_digits
from archsim.config import load_config
from archsim.config.scenarios import apply_memory
from archsim.accuracy.hooks import Injector
from archsim.accuracy.models import build_model
from archsim.accuracy.policy import DataTypeErrors, ErrorPolicy
from archsim.accuracy.train import data_for, network_for
from archsim.datatypes import ALL_DATATYPES, DataType


class Runner:
    """One model + optimizer (+ injector) that trains block after block on the digits."""

    def __init__(self, net, data, policy, batch: int, seed: int = 0, thread: bool = True):
        self.injecting = True
        torch.manual_seed(seed)
        self.model = build_model(net, seed)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        self.names = {id(p): n for n, p in self.model.named_parameters()}
        self.inj = (Injector(policy, seed, thread=thread).attach(self.model) if policy is not None and policy.active
                    else None)
        self.x, self.y, self.batch, self.i, self.steps = data.x_train, data.y_train, batch, 0, 0
        self.model.train()

    def one(self):
        j = (self.i * self.batch) % (len(self.x) - self.batch)
        self.i += 1
        xb, yb = self.x[j:j + self.batch], self.y[j:j + self.batch]
        self.opt.zero_grad(set_to_none=True)
        inj = self.inj if self.injecting else None
        if inj is not None:
            with inj.forward():
                out = self.model(xb)
        else:
            out = self.model(xb)
        torch.nn.functional.cross_entropy(out, yb).backward()
        if inj is not None:
            inj.step(self.opt, self.names)
            self.steps += 1
        else:
            self.opt.step()

    def clean_block(self, steps: int) -> float:
        """A block of clean steps on this run's weights (the injector detached)."""
        if self.inj is None:
            return self.block(steps)
        self.injecting = False
        self.inj.detach()
        try:
            return self.block(steps)
        finally:
            self.inj.attach(self.model)
            self.injecting = True

    def block(self, steps: int) -> float:
        t0 = time.perf_counter()
        for _ in range(steps):
            self.one()
        return (time.perf_counter() - t0) / steps

    @property
    def flips_per_step(self) -> float:
        return sum(s.flips for s in self.inj.stats.values()) / max(1, self.steps) if self.inj else 0.0


def reads_and_writes(dts, rate: float, model: str = "directional") -> ErrorPolicy:
    """Writes (``model``) and reads at ``rate`` per bit at every data type of ``dts``."""
    pol = ErrorPolicy.uniform(dts, rate, "write", model)
    return ErrorPolicy(datatypes={d: m.model_copy(update={"read_ber": rate}) for d, m in pol.datatypes.items()})


def point_policy(v: float, ns: float, dts=ALL_DATATYPES) -> ErrorPolicy:
    """Every data type of ``dts`` in STT-MRAM written at ``v`` volts / ``ns`` ns: the rates and formats the bank models
    of the default config give (as the study trains them)."""
    cfg = apply_memory(load_config(), "sttmram", options={"write_voltage_v": v, "write_pulse_ns": ns})
    return ErrorPolicy.from_config(cfg).only(list(dts))


def compare(net, data, policy, batch: int, steps: int, repeats: int, restart: bool = False, thread: bool = True
            ) -> dict:
    """Step times (s, minimum over rounds) of a separate clean run (``fresh``), of clean steps on the injected run's
    weights (``clean``) and of injected steps (``injected``); the median over rounds of injected / clean and
    injected / fresh within a round; flips per injected step. ``restart``: every round starts both runs from newly
    initialised weights (seed = round), makes one clean and one injected step (the injector's first step also
    allocates what it keeps of every buffer), and times the injected block first, so that it sees the first steps
    of training -- at high rates the weights turn non-finite within a few steps, and a non-finite word that is
    rewritten with the same NaN no longer switches, which makes later steps cheaper to inject. ``thread``: the
    injector may use the core's worker thread (``Injector(thread=...)``)."""
    if restart:
        tf, tc, ti, flips = [], [], [], []
        for r in range(repeats):
            fresh, inj = Runner(net, data, None, batch, seed=r), Runner(net, data, policy, batch, seed=r, thread=thread)
            fresh.block(2)
            inj.clean_block(1)
            inj.block(1)
            inj.steps = 0
            for st in inj.inj.stats.values():
                st.__init__()
            ti.append(inj.block(steps))
            flips.append(inj.flips_per_step)
            tc.append(inj.clean_block(steps))
            tf.append(fresh.block(steps))
        return {"fresh": min(tf), "clean": min(tc), "injected": min(ti),
                "x_clean": statistics.median(i / c for i, c in zip(ti, tc)),
                "x_fresh": statistics.median(i / f for i, f in zip(ti, tf)), "flips": statistics.mean(flips)}
    fresh, inj = Runner(net, data, None, batch), Runner(net, data, policy, batch, thread=thread)
    fresh.block(3)
    inj.block(3)
    inj.clean_block(2)
    tf, tc, ti = [], [], []
    for _ in range(repeats):
        tf.append(fresh.block(steps))
        tc.append(inj.clean_block(steps))
        ti.append(inj.block(steps))
    return {"fresh": min(tf), "clean": min(tc), "injected": min(ti),
            "x_clean": statistics.median(i / c for i, c in zip(ti, tc)),
            "x_fresh": statistics.median(i / f for i, f in zip(ti, tf)), "flips": inj.flips_per_step}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", default="resnet18-mini")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--image-size", type=int, default=None,
                    help="resize the digits to N x N (default: as training does, archsim.accuracy.train.data_for: "
                         "8 x 8 where the network takes it, else the workload's own size, 32 x 32 for vgg16-mini)")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-worker", action="store_true",
                    help="no worker thread for the injection (Injector(thread=False)), as the study trains")
    ap.add_argument("--rates", type=float, nargs="+", default=[1e-6, 1e-4, 1e-2])
    ap.add_argument("--datatypes", nargs="+", default=[d.value for d in ALL_DATATYPES],
                    choices=[d.value for d in ALL_DATATYPES], help="data types that get errors (default: all)")
    ap.add_argument("--points", nargs="*",  # default: the study's grid (archsim/study/spec.py), mildest first
                    default=["1.25/10", "1.1/10", "1.25/7", "1.0/10", "1.1/7", "1.25/5", "1.0/7", "1.1/5", "1.0/5"],
                    help="STT-MRAM write points V/ns: every data type in STT-MRAM at that point, rates and formats "
                         "from the bank models of the default config (as the study trains them)")
    ap.add_argument("--only-points", action="store_true", help="skip the explicit-rate cases")
    ap.add_argument("--restart", action="store_true",
                    help="each round from newly initialised weights, injected block first (the first steps of "
                         "training, before high rates turn the weights non-finite)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = data_for(args.workload, load_digits(), args.image_size)
    net = network_for(args.workload, data)
    print(f"{args.workload}, {data.input_size} x {data.input_size} inputs, batch {args.batch}, {args.threads} "
          f"thread(s), torch {torch.__version__}, {platform.processor() or platform.machine()}; {args.repeats} rounds "
          f"of one {args.steps}-step block of each kind: times are minima, ratios (x) medians of the ratio within a "
          "round"
          + ("; every round from new weights, injected block first" if args.restart else "")
          + ("; no worker thread" if args.no_worker else ""))
    print()
    dts = [DataType(d) for d in args.datatypes]
    print(f"| injection ({', '.join(args.datatypes)}) | rate per bit | clean ms (same weights) | injected ms | "
          "**x clean** | clean ms (fresh run) | x fresh | bits flipped/step |")
    print("|---|---|---|---|---|---|---|---|")
    cases = [("machinery only (rates 1e-15: every hook runs, nothing flips)", 1e-15, "both", "directional")]
    for model in () if args.only_points else ("directional", "symmetric"):
        for kind in ("write", "read", "both"):
            if kind == "read" and model == "symmetric":
                continue  # reads have one model
            for rate in args.rates:
                cases.append((f"{kind}" + (f" ({model})" if kind != "read" else ""), rate, kind, model))
    # the rates docs/accuracy.md quotes for an STT-MRAM weight partition at its default operating point, at every
    # data type chosen (directional writes with unequal directions: the thinning draw runs too)
    cases.append(("STT-MRAM operating point: write 6.6e-7 (0->1) / 6e-16 (1->0), read 7.5e-9", 6.6e-7, "mram",
                  "directional"))
    for point in args.points:
        v, t = (float(x) for x in point.split("/"))
        cases.append((f"STT-MRAM at {v:g} V / {t:g} ns (bank models; config formats)", (v, t), "point",
                      "directional"))
    for label, rate, kind, model in cases:
        if kind == "point":
            pol = point_policy(*rate, dts)
            rate = max(m.write_ber_0to1 for m in pol.datatypes.values())
        elif kind == "mram":
            pol = ErrorPolicy(datatypes={d: DataTypeErrors(read_ber=7.5e-9, write_ber_0to1=6.6e-7,
                                                           write_ber_1to0=6e-16) for d in dts})
        elif kind == "both":
            pol = reads_and_writes(dts, rate, model)
        else:
            pol = ErrorPolicy.uniform(dts, rate, kind, model)
        r = compare(net, data, pol, args.batch, args.steps, args.repeats, args.restart, not args.no_worker)
        print(f"| {label} | {rate:.1e} | {r['clean'] * 1e3:.2f} | {r['injected'] * 1e3:.2f} | **{r['x_clean']:.2f}** | "
              f"{r['fresh'] * 1e3:.2f} | {r['x_fresh']:.2f} | {r['flips']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
