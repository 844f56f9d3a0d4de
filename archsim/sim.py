"""One call from a network and a config to a simulated training step: ``simulate(network, cfg)``.

Builds the training schedule, plans residency and tiles, characterises every partition's banks with its memory
technology, runs the SimPy engine and rolls results up into one record per layer and pass.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from archsim.datatypes import DataType
from archsim.engine.simulator import ENERGY_COMPONENTS, Engine, SimResult
from archsim.memory.dram import dram_model
from archsim.memory.rates import bank_characteristics
from archsim.schedule.tiling import plan_step
from archsim.workload.graph import Network
from archsim.workload.training import ALL_PASSES, Pass, build_schedule

RECORD_KEYS = ("layer", "pass", "kind", "unit", "M", "N", "K", "groups", "macs", "compute_cycles", "stall_cycles",
               "total_cycles", "utilization", "dram_read_bytes", "dram_write_bytes")


@dataclass
class StepReport:
    network: str
    records: list[dict]
    totals: dict
    config: dict
    partitions: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"network": self.network, "records": self.records, "totals": self.totals,
                "partitions": self.partitions, "config": self.config}


def parse_passes(text: str | None) -> tuple[Pass, ...]:
    if not text:
        return ALL_PASSES
    out = []
    for p in text.split(","):
        p = p.strip()
        try:
            out.append(Pass(p))
        except ValueError:
            raise ValueError(f"--passes: unknown pass {p!r}; allowed: {', '.join(x.value for x in Pass)}") from None
    return tuple(out)


def run_engine(net: Network, cfg, passes=None) -> SimResult:
    sched = build_schedule(net, cfg.training.batch, passes, momentum=cfg.training.momentum)
    step = plan_step(sched, cfg)
    banks = {dt: bank_characteristics(cfg.scratchpad.partition(dt)) for dt in DataType}
    return Engine(cfg, step, banks, dram_model(cfg.dram)).run()


def simulate(net: Network, cfg, passes=None) -> StepReport:
    res = run_engine(net, cfg, passes)
    return build_report(net, cfg, res)


def build_report(net: Network, cfg, res: SimResult) -> StepReport:
    recs: dict[tuple[str, str], dict] = {}
    for r in res.ops:
        op, p = r.plan.op, r.plan
        key = (op.layer, op.pass_.value)
        rec = recs.get(key)
        if rec is None:
            g = op.gemm
            rec = recs[key] = {
                "layer": op.layer, "pass": op.pass_.value, "kind": op.kind, "unit": p.unit,
                "M": g.M if g else None, "N": g.N if g else None, "K": g.K if g else None,
                "groups": g.groups if g else None, "macs": 0, "vector_ops": 0.0, "compute_cycles": 0,
                "busy_cycles": 0,
                "stall_cycles": 0.0, "total_cycles": 0.0, "folds": 0, "utilization": 0.0,
                "stalls": {"dram": 0.0, "writeback": 0.0, "bank": 0.0, "write_buffer": 0.0},
                "sram_reads": {dt.value: 0.0 for dt in DataType},
                "sram_writes": {dt.value: 0.0 for dt in DataType},
                "dram_read_bytes": 0.0, "dram_write_bytes": 0.0,
                "energy_pj": {k: 0.0 for k in ENERGY_COMPONENTS}, "n_tiles": 0, "notes": [],
            }
        rec["macs"] += op.macs
        rec["vector_ops"] += op.vector_ops
        rec["compute_cycles"] += p.compute_cycles
        rec["busy_cycles"] += p.busy_cycles
        rec["stall_cycles"] += r.stall_cycles
        rec["total_cycles"] += p.compute_cycles + r.stall_cycles
        rec["folds"] += p.folds
        rec["n_tiles"] += p.n_tiles
        rec["notes"] += p.notes
        for k, v in (("dram", r.stall_dram), ("writeback", r.stall_writeback), ("bank", r.stall_bank),
                     ("write_buffer", r.stall_write_buffer)):
            rec["stalls"][k] += v
        for dt in DataType:
            rec["sram_reads"][dt.value] += r.sram_read_words.get(dt, 0.0)
            rec["sram_writes"][dt.value] += r.sram_write_words.get(dt, 0.0)
        rec["dram_read_bytes"] += sum(p.dram_read_bytes.values())
        rec["dram_write_bytes"] += sum(p.dram_write_bytes.values())
        for k, v in r.energy_pj.items():
            rec["energy_pj"][k] += v
    rows, cols = cfg.array.rows, cfg.array.cols
    for rec in recs.values():
        # physical: the cycles the array was held (busy_cycles, not SCALE-Sim's last-index compute_cycles), stalls
        # included (docs/dataflows.md); never above 1
        held = rec["busy_cycles"] + rec["stall_cycles"]
        if rec["unit"] == "array" and held > 0:
            rec["utilization"] = rec["macs"] / (held * rows * cols)
        rec["energy_pj"]["total"] = sum(rec["energy_pj"][k] for k in ENERGY_COMPONENTS)
    records = list(recs.values())
    energy = res.energy_pj()
    energy["total"] = sum(energy.values())
    totals = {
        "cycles": res.total_cycles,
        "seconds": res.seconds,
        "compute_cycles": sum(r["compute_cycles"] for r in records),
        "stall_cycles": sum(r["stall_cycles"] for r in records),
        "macs": sum(r["macs"] for r in records),
        "dram_read_bytes": res.dram_bytes["read"],
        "dram_write_bytes": res.dram_bytes["write"],
        "energy_pj": energy,
        "sim_events": res.events,
    }
    parts = {}
    for dt, p in res.partitions.items():
        b = res.banks[dt]
        parts[dt.value] = {"technology": p.technology, "capacity_kib": p.capacity_kib, "n_banks": p.n_banks,
                           "word_bits": p.word_bits, "format": p.format,
                           "write_buffer_entries": p.write_buffer_entries,
                           "bank": b.as_dict(), "area_mm2": b.area_mm2 * p.n_banks,
                           "leakage_mw": b.leakage_mw * p.n_banks,
                           "peak_resident_kib": res.step.residency.peak_bytes.get(dt, 0.0) / 1024}
    return StepReport(net.name, records, totals, cfg.model_dump(mode="json"), parts)
