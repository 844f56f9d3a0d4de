"""Sweeps: final accuracy vs bit error rate, one curve per data type, several seeds.

A point injects errors into one data type only (the others stay clean), at one rate; each seed's clean run is
shared by all points of that seed. Rates are either given directly (``rates``) or come from a memory config whose
partition option (e.g. an STT-MRAM write operating point) takes a list of values (:func:`sweep_config_option`).
"""
from __future__ import annotations

import math
import pathlib
import statistics
import textwrap
from dataclasses import asdict, dataclass, field
from typing import Callable, Literal

from archsim.datatypes import DataType
from archsim.workload.graph import Network

from .data import Dataset
from .policy import ErrorPolicy, WriteModel
from .train import RunResult, TrainSettings, train


@dataclass
class SweepPoint:
    datatype: str          # "clean" for the shared baseline
    rate: float            # per-bit rate injected (write: mean of the two directions)
    seed: int
    final_accuracy: float
    final_test_loss: float
    flips: int
    setting: str = ""      # the operating-point value, for config sweeps


@dataclass
class SweepResult:
    workload: str
    dataset: str
    kind: str
    write_model: str
    settings: dict
    points: list[SweepPoint] = field(default_factory=list)

    def clean(self) -> list[SweepPoint]:
        return [p for p in self.points if p.datatype == "clean"]

    def datatypes(self) -> list[str]:
        seen: list[str] = []
        for p in self.points:
            if p.datatype != "clean" and p.datatype not in seen:
                seen.append(p.datatype)
        return seen

    def rates(self) -> list[float]:
        return sorted({p.rate for p in self.points if p.datatype != "clean"})

    def aggregate(self) -> list[dict]:
        """Mean, standard deviation (n-1), min and max of the final accuracy per (data type, rate)."""
        groups: dict[tuple[str, float], list[SweepPoint]] = {}
        for p in self.points:
            groups.setdefault((p.datatype, p.rate), []).append(p)
        rows = []
        for (dt, rate), pts in groups.items():
            acc = [p.final_accuracy for p in pts]
            rows.append({"datatype": dt, "rate": rate, "setting": pts[0].setting, "n": len(acc),
                         "mean_accuracy": statistics.fmean(acc),
                         "std_accuracy": statistics.stdev(acc) if len(acc) > 1 else 0.0,
                         "min_accuracy": min(acc), "max_accuracy": max(acc),
                         "mean_flips": statistics.fmean(p.flips for p in pts)})
        order = {d: i for i, d in enumerate(["clean", *self.datatypes()])}
        return sorted(rows, key=lambda r: (order[r["datatype"]], r["rate"]))

    def cell(self, dt: str, rate: float) -> dict | None:
        for r in self.aggregate():
            if r["datatype"] == dt and r["rate"] == rate:
                return r
        return None

    def as_dict(self) -> dict:
        return {"workload": self.workload, "dataset": self.dataset, "kind": self.kind,
                "write_model": self.write_model, "settings": self.settings,
                "summary": self.aggregate(), "points": [asdict(p) for p in self.points]}

    def plot(self, path: str) -> None:
        """Final accuracy vs bit error rate (log axis), one curve per data type; bars = min..max over seeds,
        markers = mean; the clean mean and range as a grey line and band."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        clean = [p.final_accuracy for p in self.clean()]
        rates = [r for r in self.rates() if r > 0]
        if clean and rates:
            m = statistics.fmean(clean)
            ax.axhline(m, color="0.4", ls="--", lw=1, label=f"clean ({m:.3f})")
            ax.axhspan(min(clean), max(clean), color="0.85", zorder=0)
        for dt in self.datatypes():
            rows = [r for r in self.aggregate() if r["datatype"] == dt and r["rate"] > 0]
            if not rows:
                continue
            x = [r["rate"] for r in rows]
            y = [r["mean_accuracy"] for r in rows]
            lo = [r["mean_accuracy"] - r["min_accuracy"] for r in rows]
            hi = [r["max_accuracy"] - r["mean_accuracy"] for r in rows]
            ax.errorbar(x, y, yerr=[lo, hi], marker="o", capsize=3, label=dt)
        if rates:
            ax.set_xscale("log")
        model = self.write_model if self.kind == "write" else "every bit"
        ax.set_xlabel(f"bit error rate per bit ({self.kind}, {model})")
        ax.set_ylabel("final test accuracy")
        nseeds = len({p.seed for p in self.points})
        # the network's name carries its adaptation to the data (resnet18-mini(in_channels=1, input_size=8, ...)):
        # wrapped, so that the title stays inside the figure
        title = f"{self.workload} on {self.dataset}: mean and min-max over {nseeds} seed(s)"
        ax.set_title("\n".join(textwrap.wrap(title, 64)), fontsize=9)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:  # a sweep with no finished point yet has nothing to label
            ax.legend(fontsize=8)
        fig.tight_layout()
        pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
        plt.close(fig)


RunCallback = Callable[[SweepPoint, int, int], None]


def _point(dt: str, rate: float, seed: int, r: RunResult, setting: str = "") -> SweepPoint:
    flips = sum(v["flips"] for v in r.stats.values()) if r.stats else 0
    loss = r.final_loss if math.isfinite(r.final_loss) else float("nan")
    return SweepPoint(dt, rate, seed, r.final_accuracy, loss, flips, setting)


def run_sweep(net: Network, data: Dataset, settings: TrainSettings, datatypes, rates, seeds,
              kind: Literal["write", "read"] = "write", write_model: WriteModel = "directional",
              base: ErrorPolicy | None = None, on_run: RunCallback | None = None) -> SweepResult:
    """Final accuracy for every (data type, rate, seed); one data type at a time carries errors.

    ``base`` supplies each data type's number format and other fields (e.g. from a config); the swept rate replaces
    its read rate (``kind="read"``) or both write directions (``kind="write"``)."""
    dts = [DataType(d) for d in datatypes]
    rates = sorted({float(r) for r in rates})
    seeds = list(seeds)
    if not dts or not seeds:
        raise ValueError("a sweep needs at least one data type and one seed")
    for r in rates:
        if not 0.0 <= r <= 1.0:
            raise ValueError(f"rate {r} outside [0, 1]")
    base = base or ErrorPolicy()
    res = SweepResult(net.name, data.name, kind, write_model, settings.model_dump())
    cases = []
    for dt in dts:
        for rate in rates:
            if rate == 0.0:  # a rate of 0 is the clean run: no errors are injected anywhere
                cases.append(_Case(dt.value, 0.0, None))
                continue
            fields = {"read_ber": rate, "write_ber_0to1": 0.0, "write_ber_1to0": 0.0} if kind == "read" else \
                {"read_ber": 0.0, "write_ber_0to1": rate, "write_ber_1to0": rate}
            cases.append(_Case(dt.value, rate, base.with_rates(dt, enabled=True, write_model=write_model,
                                                               **fields).only([dt])))
    return _run_cases(res, net, data, settings, seeds, cases, on_run)


@dataclass
class _Case:
    """One curve point of a sweep: a data type's errors at one rate (``policy`` None: the seed's clean run)."""

    datatype: str
    rate: float | None          # None: the policy's write rate of ``datatype``
    policy: ErrorPolicy | None
    setting: str = ""


def _run_cases(res: SweepResult, net: Network, data: Dataset, settings: TrainSettings, seeds, cases: list[_Case],
               on_run: RunCallback | None) -> SweepResult:
    """Per seed: the clean run, then every case (one training run each; cases without a policy reuse the clean
    run). Points are appended to ``res`` in that order, and ``on_run(point, done, total)`` follows each run."""
    total = len(seeds) * (1 + sum(c.policy is not None for c in cases))
    done = 0
    for seed in seeds:
        clean = _point("clean", 0.0, seed, train(net, data, settings, None, seed))
        res.points.append(clean)
        done += 1
        if on_run:
            on_run(clean, done, total)
        for c in cases:
            if c.policy is None:
                res.points.append(SweepPoint(c.datatype, 0.0, seed, clean.final_accuracy, clean.final_test_loss, 0,
                                             c.setting))
                continue
            rate = c.rate if c.rate is not None else c.policy.get(DataType(c.datatype)).write_ber
            pt = _point(c.datatype, rate, seed, train(net, data, settings, c.policy, seed), c.setting)
            res.points.append(pt)
            done += 1
            if on_run:
                on_run(pt, done, total)
    return res


def sweep_config_option(net: Network, data: Dataset, settings: TrainSettings, cfg, option: str, values,
                        datatypes, seeds, write_model: WriteModel = "directional",
                        on_run: RunCallback | None = None) -> SweepResult:
    """Sweep a technology option of the data types' partitions (e.g. a write voltage); the bank model turns each
    value into error rates (:func:`archsim.memory.rates.datatype_error_rates`). Reads keep the config's read rate;
    a point's ``rate`` is the resulting per-bit write rate (mean of the two directions)."""
    from archsim.config import SimConfig

    dts = [DataType(d) for d in datatypes]
    res = SweepResult(net.name, data.name, "write", write_model, settings.model_dump())
    cases = []
    for dt in dts:
        for v in values:
            raw = cfg.model_dump()
            raw["scratchpad"]["partitions"][dt.value]["options"] = {
                **raw["scratchpad"]["partitions"][dt.value]["options"], option: v}
            pol = ErrorPolicy.from_config(SimConfig.model_validate(raw), write_model).only([dt])
            cases.append(_Case(dt.value, None, pol, f"{option}={v}"))
    return _run_cases(res, net, data, settings, seeds, cases, on_run)
