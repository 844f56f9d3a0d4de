"""The SimPy engine: composes bank groups, write buffers, DRAM channels, a DMA engine and the compute units, and
runs a planned training step tile by tile.

Processes (docs/engine.md):

* **DMA prefetch** walks all tiles of the step in order. For each it takes an input-buffer slot (two slots: double
  buffering), streams the tile's DRAM bytes over the DRAM channels and writes them into the partition's banks
  (holding bank ports), then marks the tile ready. It runs ahead of the compute units by at most one tile, across
  op boundaries.
* **Compute** (PE array for GEMMs, vector unit otherwise; ops are dependent, so they run in schedule order): per
  tile it waits for the tile's data (stall: DRAM) and for an output-buffer slot (stall: write-back), then executes
  the tile in ``steps_per_tile`` steps. Each step runs the step's compute time, its read bursts on the input
  partitions' bank ports and its writes through the output partitions' write buffers concurrently; the step ends
  when all three are done, and any time beyond the compute time is a stall (bank ports or write buffer full).
* **Write-back** reads spilled outputs out of the banks and writes them to DRAM, then frees the output slot.

Energy is the sum of counts x per-access energies from the cost models, plus leakage integrated over the simulated
time of each op; nothing in here knows which memory technology it simulates.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import simpy

from archsim.compute.energy import mac_energy_pj, vector_op_energy_pj
from archsim.datatypes import DataType
from archsim.memory.base import BankCharacteristics, BankGeometry, characterize
from archsim.memory.dram import DRAMModel
from archsim.schedule.tiling import OpPlan, StepPlan

from .bank import BankGroup
from .dram_channel import DRAMChannels
from .write_buffer import WriteBuffer

#: energy components of a step; ``scratchpad_read`` / ``scratchpad_write`` are the on-chip banks' accesses, whatever
#: their technology (called ``sram_read`` / ``sram_write`` before 2026-12-02: see archsim.study.analysis)
ENERGY_COMPONENTS = ("compute", "scratchpad_read", "scratchpad_write", "write_buffer", "leakage", "dram")


@dataclass
class OpResult:
    plan: OpPlan
    start: float = 0.0
    end: float = 0.0
    stall_dram: float = 0.0
    stall_writeback: float = 0.0
    stall_bank: float = 0.0
    stall_write_buffer: float = 0.0
    sram_read_words: dict = field(default_factory=dict)
    sram_write_words: dict = field(default_factory=dict)
    wb_words: float = 0.0
    energy_pj: dict = field(default_factory=dict)

    @property
    def elapsed(self) -> float:
        return self.end - self.start

    @property
    def stall_cycles(self) -> float:
        return max(0.0, self.elapsed - self.plan.busy_cycles)


@dataclass
class SimResult:
    ops: list[OpResult]
    total_cycles: float
    frequency_ghz: float
    banks: dict[DataType, BankCharacteristics]
    partitions: dict
    dram: DRAMModel
    dram_bytes: dict
    events: int
    step: StepPlan

    @property
    def seconds(self) -> float:
        return self.total_cycles / (self.frequency_ghz * 1e9)

    def energy_pj(self) -> dict[str, float]:
        tot = {k: 0.0 for k in ENERGY_COMPONENTS}
        for r in self.ops:
            for k, v in r.energy_pj.items():
                tot[k] += v
        return tot


class Engine:
    def __init__(self, cfg, step: StepPlan, banks: dict[DataType, BankCharacteristics], dram: DRAMModel):
        self.cfg = cfg
        self.step = step
        self.banks = banks
        self.dram_model = dram
        self.f = cfg.array.frequency_ghz
        self.env = simpy.Environment()
        sp = cfg.scratchpad
        self.parts = {dt: sp.partition(dt) for dt in DataType}
        self.word_bytes = {dt: self.parts[dt].word_bits / 8 for dt in DataType}
        self.eb = step.element_bytes
        self.groups: dict[DataType, BankGroup] = {}
        self.wbs: dict[DataType, WriteBuffer] = {}
        for dt, p in self.parts.items():
            ch = banks[dt]
            g = BankGroup(self.env, dt.value, p.n_banks, p.ports_per_bank, self._cycles(ch.read_latency_ns),
                          self._cycles(ch.write_latency_ns))
            self.groups[dt] = g
            self.wbs[dt] = WriteBuffer(self.env, g, p.write_buffer_entries * p.n_banks)
        self.dram = DRAMChannels(self.env, dram.channels, dram.bytes_per_cycle_per_channel(self.f),
                                 dram.latency_ns * self.f)
        self.steps = cfg.engine.steps_per_tile
        self.results = [OpResult(p) for p in step.ops]
        self.tiles = [(i, t) for i, p in enumerate(step.ops) for t in range(p.n_tiles)]
        self.ready = [self.env.event() for _ in self.tiles]
        self.in_slots = simpy.Container(self.env, capacity=2, init=2)
        self.out_slots = simpy.Container(self.env, capacity=2, init=2)
        self.wb_jobs = simpy.Store(self.env)

    def _cycles(self, ns: float) -> int:
        return max(1, math.ceil(ns * self.f - 1e-9))

    def words(self, dt: DataType, elements: float) -> float:
        return elements * self.eb[dt] / self.word_bytes[dt]

    @staticmethod
    def share(total: float, i: int, n: int) -> float:
        return total * (i + 1) / n - total * i / n

    # ---- processes -----------------------------------------------------------------------------------------
    def _fill(self, dt: DataType, nbytes: float, res: OpResult):
        yield from self.dram.transfer("read", nbytes)
        w = nbytes / self.word_bytes[dt]
        res.sram_write_words[dt] = res.sram_write_words.get(dt, 0.0) + w
        yield from self.groups[dt].access("write", w)

    def dma_prefetch(self):
        for k, (i, t) in enumerate(self.tiles):
            plan = self.step.ops[i]
            yield self.in_slots.get(1)
            fills = [self.env.process(self._fill(dt, self.share(b, t, plan.n_tiles), self.results[i]))
                     for dt, b in plan.dram_read_bytes.items() if b > 0]
            if fills:
                yield self.env.all_of(fills)
            self.ready[k].succeed()

    def _spill(self, dt: DataType, nbytes: float, res: OpResult):
        w = nbytes / self.word_bytes[dt]
        res.sram_read_words[dt] = res.sram_read_words.get(dt, 0.0) + w
        yield from self.groups[dt].access("read", w)
        yield from self.dram.transfer("write", nbytes)

    def writeback(self):
        while True:
            i, t = yield self.wb_jobs.get()
            plan = self.step.ops[i]
            spills = [self.env.process(self._spill(dt, self.share(b, t, plan.n_tiles), self.results[i]))
                      for dt, b in plan.dram_write_bytes.items() if b > 0]
            if spills:
                yield self.env.all_of(spills)
            yield self.out_slots.put(1)

    def _read(self, dt, w, res):
        res.sram_read_words[dt] = res.sram_read_words.get(dt, 0.0) + w
        yield from self.groups[dt].access("read", w)

    def compute(self):
        env = self.env
        for k, (i, t) in enumerate(self.tiles):
            plan, res = self.step.ops[i], self.results[i]
            if t == 0:
                res.start = env.now
            ts = env.now
            yield self.ready[k]
            res.stall_dram += env.now - ts
            ts = env.now
            yield self.out_slots.get(1)
            res.stall_writeback += env.now - ts
            busy = self.share(plan.busy_cycles, t, plan.n_tiles)
            reads = {dt: self.words(dt, self.share(e, t, plan.n_tiles)) for dt, e in plan.sram_reads.items() if e}
            writes = {dt: self.words(dt, self.share(e, t, plan.n_tiles)) for dt, e in plan.sram_writes.items() if e}
            for s in range(self.steps):
                t0 = env.now
                c = self.share(busy, s, self.steps)
                done_c = env.timeout(c)
                rd = [env.process(self._read(dt, self.share(w, s, self.steps), res)) for dt, w in reads.items()]
                wr = []
                for dt, w in writes.items():
                    ww = self.share(w, s, self.steps)
                    res.sram_write_words[dt] = res.sram_write_words.get(dt, 0.0) + ww
                    if self.wbs[dt].capacity > 0:
                        res.wb_words += ww
                    wr.append(self.wbs[dt].write(ww))
                yield env.all_of([done_c] + rd + wr)
                # attribute the step's stall to what finished last
                t_rd = max((p.value[1] for p in rd if p.value), default=t0)
                t_wr = max((e.value for e in wr), default=t0)
                extra = env.now - t0 - c
                if extra > 1e-9:
                    if t_wr >= t_rd:
                        res.stall_write_buffer += extra
                    else:
                        res.stall_bank += extra
            self.in_slots.put(1)
            if any(b > 0 for b in plan.dram_write_bytes.values()):
                self.wb_jobs.put((i, t))
            else:
                self.out_slots.put(1)
            if t == plan.n_tiles - 1:
                res.end = env.now

    def run(self) -> SimResult:
        env = self.env
        env.process(self.dma_prefetch())
        env.process(self.writeback())
        done = env.process(self.compute())
        env.run(until=done)
        # drain outstanding write-backs and write buffers
        while self.wb_jobs.items or self.out_slots.level < 2 or any(w.occupancy > 1e-9 for w in self.wbs.values()):
            if env.peek() == float("inf"):
                break
            env.step()
        total = env.now
        self._energy(total)
        return SimResult(self.results, total, self.f, self.banks, self.parts, self.dram_model,
                         dict(self.dram.bytes), _event_count(env), self.step)

    # ---- energy --------------------------------------------------------------------------------------------
    def _energy(self, total: float) -> None:
        cfg = self.cfg
        e_mac = mac_energy_pj(cfg.compute)
        e_vec = vector_op_energy_pj(cfg.compute)
        leak_mw = sum(self.banks[dt].leakage_mw * self.parts[dt].n_banks for dt in DataType)
        wb_e = {}
        for dt, p in self.parts.items():
            if p.write_buffer_entries:
                wb = characterize("sram", BankGeometry(p.write_buffer_entries * p.word_bits // 8, p.word_bits))
                wb_e[dt] = (wb.read_energy_pj + wb.write_energy_pj, wb.leakage_mw * p.n_banks)
        leak_mw += sum(l for _, l in wb_e.values())
        ns_per_cycle = 1.0 / self.f
        for n, r in enumerate(self.results):
            op = r.plan.op
            # an op leaks from its start to the next op's start (the last one to the end of the step)
            next_start = self.results[n + 1].start if n + 1 < len(self.results) else total
            elapsed = next_start - r.start
            e = {k: 0.0 for k in ENERGY_COMPONENTS}
            e["compute"] = op.macs * e_mac + op.vector_ops * e_vec
            for dt in DataType:
                e["scratchpad_read"] += r.sram_read_words.get(dt, 0.0) * self.banks[dt].read_energy_pj
                e["scratchpad_write"] += r.sram_write_words.get(dt, 0.0) * self.banks[dt].write_energy_pj
            for dt, (ew, _) in wb_e.items():
                e["write_buffer"] += ew * self.words(dt, r.plan.sram_writes.get(dt, 0.0))
            e["leakage"] = leak_mw * elapsed * ns_per_cycle
            e["dram"] = (self.dram_model.read_energy_pj(sum(r.plan.dram_read_bytes.values()))
                         + self.dram_model.write_energy_pj(sum(r.plan.dram_write_bytes.values())))
            r.energy_pj = e


def _event_count(env) -> int:
    """Events scheduled so far (SimPy numbers every scheduled event from an itertools.count)."""
    eid = getattr(env, "_eid", None)
    return next(eid) if eid is not None else 0
