"""A study expanded into design points (one memory configuration of one network) and the tasks that evaluate them.

Two kinds of task, each a plain JSON-able dict keyed by the hash of everything that determines its result:

* ``sim``: one simulated training step of a network under a config (energy, latency, breakdown);
* ``acc``: one training run of the network's accuracy proxy, for one seed, at the error rates the config's bank
  models report per data type (``ErrorPolicy.from_config``) -- the same config object the simulator gets.

Points share tasks where results must be equal: iso-capacity and iso-area configs with the same write points have
the same error rates and so the same ``acc`` tasks, and every SRAM point's accuracy task is a clean run. A task is
computed once per results store, however many points use it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import archsim
from archsim.config import SimConfig, load_config
from archsim.config.scenarios import apply_memory
from archsim.datatypes import ALL_DATATYPES

from .spec import StudySpec


def task_key(payload: dict) -> str:
    """Stable key of a task: hash of its defining fields and of archsim's version."""
    blob = json.dumps({**payload, "archsim": archsim.__version__}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


@dataclass
class DesignPoint:
    network: str
    label: str
    family: str                  # "sram" | "mram" | "het"
    scenario: str | None         # None for the SRAM baseline
    recipe: str | None
    voltage_v: float | None      # relaxed write point of a het point
    pulse_ns: float | None
    config: SimConfig
    ecc: str = "none"            # error correction of the MRAM partitions
    sim_key: str = ""
    acc_keys: list[str] = field(default_factory=list)

    def placement(self) -> dict[str, str]:
        """Data type -> "sram" or "sttmram@V,ns" (the write point of each MRAM partition)."""
        out = {}
        for dt in ALL_DATATYPES:
            p = self.config.scratchpad.partition(dt)
            if p.technology == "sram":
                out[dt.value] = "sram"
            else:
                o = p.options
                out[dt.value] = (f"{p.technology}@{o.get('write_voltage_v', 'nom')}V,{o.get('write_pulse_ns', 'nom')}ns"
                                 + ("" if p.ecc == "none" else f"+{p.ecc}"))
        return out


def base_config(spec: StudySpec) -> SimConfig:
    """The study's SRAM baseline: base file <- ``base_config`` fields, every partition in SRAM."""
    cfg = load_config(spec.base_config_file, spec.base_config or None)
    return apply_memory(cfg, "sram")


def nominal_options(spec: StudySpec) -> dict:
    """The nominal MRAM options with the write point spelled out (so a grid point equal to it is recognised)."""
    from archsim.memory import technology

    opts = technology("sttmram").options(spec.nominal)
    return {**spec.nominal, "write_voltage_v": opts.write_voltage_v, "write_pulse_ns": opts.write_pulse_ns}


def het_config(base: SimConfig, scenario: str, nominal: dict, relaxed_opts: dict, relaxed, sram,
               ecc: str = "none") -> SimConfig:
    """``relaxed`` data types in MRAM at ``relaxed_opts``, ``sram`` ones in SRAM, the rest in MRAM at ``nominal``;
    every MRAM partition with error correction ``ecc``.

    Each partition is sized from its SRAM baseline geometry under ``scenario`` (never from an already converted
    MRAM partition, so iso-area does not compound)."""
    cfg = apply_memory(base, "mram", scenario, relaxed_opts, datatypes=set(relaxed), ecc=ecc)
    others = set(ALL_DATATYPES) - set(relaxed) - set(sram)
    if others:
        cfg = apply_memory(cfg, "mram", scenario, dict(nominal), datatypes=others, ecc=ecc)
    return cfg


def _tag(ecc: str) -> str:
    return "" if ecc == "none" else f"+{ecc}"


def expand(spec: StudySpec) -> list[DesignPoint]:
    """Every design point of the study, in table order (per network: SRAM, MRAM per ECC and scenario, het points)."""
    base = base_config(spec)
    nominal = nominal_options(spec)
    mram = {(e, sc): apply_memory(base, "mram", sc, nominal, ecc=e) for e in spec.ecc for sc in spec.scenarios}
    het: list[tuple] = []  # configs do not depend on the network: build them once
    seen = {base.content_hash(), *(c.content_hash() for c in mram.values())}
    for e in spec.ecc:
        for sc in spec.het_scenarios:
            for rec in spec.recipes:
                for v, t in spec.grid.points():
                    cfg = het_config(base, sc, nominal, {**nominal, "write_voltage_v": v, "write_pulse_ns": t},
                                     rec.relaxed, rec.sram, e)
                    if cfg.content_hash() in seen:  # e.g. the grid's nominal point of a recipe without SRAM types
                        continue
                    seen.add(cfg.content_hash())
                    het.append((f"{rec.name}{_tag(e)}/{sc}@{v:g}V,{t:g}ns", sc, rec.name, v, t, e, cfg))
    points: list[DesignPoint] = []
    for entry in spec.networks:
        net = entry.name
        points.append(DesignPoint(net, "sram", "sram", None, None, None, None, base))
        points += [DesignPoint(net, f"mram{_tag(e)}/{sc}", "mram", sc, None, None, None, cfg, ecc=e)
                   for (e, sc), cfg in mram.items()]
        points += [DesignPoint(net, label, "het", sc, rec, v, t, cfg, ecc=e) for label, sc, rec, v, t, e, cfg in het]
    return points


def sim_task(network: str, cfg: SimConfig) -> dict:
    body = {"kind": "sim", "network": network, "config": cfg.model_dump(mode="json")}
    return {**body, "key": "sim-" + task_key(body)}


def acc_task(spec: StudySpec, network: str, cfg: SimConfig, seed: int) -> dict:
    """The training run that measures ``cfg``'s accuracy for ``network``'s proxy, with ``seed``."""
    from archsim.accuracy.policy import ErrorPolicy

    entry = next(e for e in spec.networks if e.name == network)
    acc = spec.accuracy
    policy = ErrorPolicy.from_config(cfg, acc.write_model)
    body = {"kind": "acc", "proxy": entry.proxy.model_dump(mode="json"),
            "accuracy": acc.model_dump(mode="json", exclude={"seeds", "enabled"}),
            "policy": policy.model_dump(mode="json"), "seed": seed}
    return {**body, "key": "acc-" + task_key(body)}


def attach_tasks(spec: StudySpec, points: list[DesignPoint]) -> list[dict]:
    """Give each point its task keys; return the distinct tasks (first-seen order)."""
    tasks: dict[str, dict] = {}
    for p in points:
        t = sim_task(p.network, p.config)
        p.sim_key = t["key"]
        tasks.setdefault(t["key"], t)
        p.acc_keys = []
        if spec.accuracy.enabled:
            for seed in spec.accuracy.seeds:
                a = acc_task(spec, p.network, p.config, seed)
                p.acc_keys.append(a["key"])
                tasks.setdefault(a["key"], a)
    return list(tasks.values())
