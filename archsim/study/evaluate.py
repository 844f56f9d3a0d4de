"""Execution of one study task (a top-level function of a plain dict, so process pools and Ray can ship it).

``sim`` tasks run the SimPy engine (archsim.sim) and keep the numbers a study reports; ``acc`` tasks train the
accuracy proxy with the harness (archsim.accuracy) and keep the final accuracy and loss. Nothing here touches the
results store: the runner writes what this returns.
"""
from __future__ import annotations

import math
import time

#: energy components (archsim.engine.simulator.ENERGY_COMPONENTS) that belong to the on-chip scratchpad
SCRATCHPAD_COMPONENTS = ("scratchpad_read", "scratchpad_write", "write_buffer", "leakage")


def execute(task: dict) -> dict:
    """The result payload of ``task`` (``kind`` ``sim`` or ``acc``)."""
    t0 = time.perf_counter()
    if task["kind"] == "sim":
        out = _sim(task)
    elif task["kind"] == "acc":
        out = _acc(task)
    else:
        raise ValueError(f"unknown task kind {task['kind']!r}")
    return {"key": task["key"], "kind": task["kind"], "wall_s": time.perf_counter() - t0, **out}


def _sim(task: dict) -> dict:
    from archsim.config import SimConfig
    from archsim.sim import simulate
    from archsim.workload import registry

    cfg = SimConfig.model_validate(task["config"])
    rep = simulate(registry.get(task["network"]), cfg)
    tot = rep.totals
    e = {k: v * 1e-12 for k, v in tot["energy_pj"].items()}  # pJ -> J
    parts = {dt: {"technology": p["technology"], "capacity_kib": p["capacity_kib"], "n_banks": p["n_banks"],
                  "area_mm2": p["area_mm2"], "write_energy_pj": p["bank"]["write_energy_pj"],
                  "options": {k: v for k, v in cfg.scratchpad.partitions[_dt(dt)].options.items()
                              if k in ("write_voltage_v", "write_pulse_ns")}}
             for dt, p in rep.partitions.items()}
    return {"network": task["network"],
            "energy_j": e,
            "total_energy_j": e["total"],
            "scratchpad_energy_j": sum(e.get(k, 0.0) for k in SCRATCHPAD_COMPONENTS),
            "write_energy_j": e.get("scratchpad_write", 0.0),
            "latency_s": tot["seconds"], "cycles": tot["cycles"], "stall_cycles": tot["stall_cycles"],
            "dram_bytes": tot["dram_read_bytes"] + tot["dram_write_bytes"],
            "area_mm2": sum(p["area_mm2"] for p in parts.values()),
            "capacity_kib": sum(p["capacity_kib"] for p in parts.values()),
            "partitions": parts}


def _dt(name: str):
    from archsim.datatypes import DataType

    return DataType(name)


def _acc(task: dict) -> dict:
    from archsim.accuracy.data import load_dataset
    from archsim.accuracy.policy import ErrorPolicy
    from archsim.accuracy.train import TrainSettings, data_for, network_for, train

    proxy, acc = task["proxy"], task["accuracy"]
    data = data_for(proxy["workload"], load_dataset(acc["dataset"], acc.get("data_dir")), proxy.get("image_size"))
    net = network_for(proxy["workload"], data)
    settings = TrainSettings(epochs=proxy.get("epochs") or acc["epochs"], batch_size=acc["batch_size"],
                             lr=proxy["lr"], init=proxy["init"], train_samples=acc.get("train_samples"), threads=1,
                             stop_on_divergence=acc.get("stop_on_divergence", True),
                             # the injection's worker thread only where the runner left each task a second core
                             # (runner.spare_core): its tasks run side by side on the cores
                             injection_thread=bool(task.get("spare_core")))
    policy = ErrorPolicy.model_validate(task["policy"])
    res = train(net, data, settings, policy if policy.active else None, seed=task["seed"])
    loss = res.final_loss
    return {"workload": proxy["workload"], "seed": task["seed"], "injected": res.injected,
            "final_accuracy": res.final_accuracy, "final_loss": loss if math.isfinite(loss) else None,
            "diverged_step": res.diverged_step, "flips": res.stats}
