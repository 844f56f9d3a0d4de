"""From a training schedule to tiles: compute cycles, scratchpad accesses and DRAM transfers per tile.

For each op this module decides (pure functions, no SimPy, no memory technology):

* the array's work: the dataflow's fold plan of the op's GEMM (cycles, SRAM reads of A and B, writes and partial-sum
  reads of C; see docs/dataflows.md), or the vector unit's work for non-GEMM ops;
* the DRAM traffic: the non-resident part of every input is streamed in through the partition's stream buffer,
  the non-resident part of every output is written back if anything reads it later (or it lives across steps).
  When a streamed operand of a GEMM does not fit in half of its stream buffer, the GEMM is blocked; the loop order
  (N-blocks outer re-streams A, M-blocks outer re-streams B) that moves fewer bytes is chosen;
* the tiles the engine simulates: blocks of the GEMM (or chunks of a vector op), each carrying an equal share of the
  op's work, so the engine's events grow with tiles, never with cycles or elements.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from archsim.datatypes import DataType
from archsim.schedule.residency import ResidencyPlan, plan_residency
from archsim.workload.training import Op, Pass, TrainingSchedule


@dataclass
class OpPlan:
    op: Op
    busy_cycles: int                      # array (or vector unit) cycles with ideal memory
    compute_cycles: int                   # as reported: SCALE-Sim's 'Total Cycles' convention for GEMMs
    unit: str                             # "array" | "vector"
    sram_reads: dict[DataType, float]     # elements read by the compute unit, per partition
    sram_writes: dict[DataType, float]    # elements written by the compute unit, per partition
    dram_read_bytes: dict[DataType, float]
    dram_write_bytes: dict[DataType, float]
    n_tiles: int
    folds: int = 0
    utilization: float = 0.0
    mapping_efficiency: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def layer(self) -> str:
        return self.op.layer

    @property
    def pass_(self) -> Pass:
        return self.op.pass_


@dataclass
class StepPlan:
    schedule: TrainingSchedule
    ops: list[OpPlan]
    residency: ResidencyPlan
    element_bytes: dict[DataType, int]


def _gemm_counts(df, gemm, rows: int, cols: int):
    """busy, reported cycles, reads A, reads B, writes C, psum reads, folds, util, mapping eff. (all groups).

    Reported cycles follow SCALE-Sim's 'Total Cycles' convention (index of the last cycle, per group), so a forward
    pass on a SCALE-Sim topology is directly comparable with its COMPUTE_REPORT (docs/dataflows.md)."""
    g = gemm.groups
    p = df.plan(gemm.M, gemm.N * g, gemm.K * g, rows, cols, groups=g)
    return (p.busy_cycles, p.scalesim_compat().total_cycles, p.sram_reads_a, p.sram_reads_b, p.sram_writes_c,
            p.psum_reads, p.folds, p.utilization, p.mapping_efficiency)


def gemm_traffic(gemm, a_bytes: float, b_bytes: float, a_buf: float, b_buf: float, c_buf_elems: float
                 ) -> tuple[float, float, int, str]:
    """DRAM bytes of the streamed operands A and B of a GEMM, and the number of blocks (tiles).

    ``a_bytes``/``b_bytes`` are the non-resident bytes that must come from DRAM; ``a_buf``/``b_buf`` the half stream
    buffers (bytes) they pass through; ``c_buf_elems`` how many output elements (partial sums) the output partition's
    half stream buffer holds. The cheapest of three blockings is taken:

    * an operand whose streamed part fits its half buffer stays for the whole op: A + B;
    * row blocks (M-blocks outer, each holding Mb x K of A): A + B * ceil(M / Mb), or column blocks (N-blocks outer,
      each K x Nb of B): A * ceil(N / Nb) + B;
    * output-stationary blocks of Mb x Nb partial sums held in the output buffer while K streams:
      A * ceil(N / Nb) + B * ceil(M / Mb) -- with a small output (FC layers) both operands stream once.
    """
    M, N = gemm.M, gemm.N * gemm.groups
    n_a = math.ceil(a_bytes / a_buf) if a_bytes > 0 else 1
    n_b = math.ceil(b_bytes / b_buf) if b_bytes > 0 else 1
    if a_bytes <= a_buf or b_bytes <= b_buf:
        return a_bytes, b_bytes, max(n_a, n_b, 1), ""
    # (A bytes moved, B bytes moved, blocks, name)
    options = [(a_bytes, b_bytes * min(n_a, M), min(n_a, M), "row blocks"),
               (a_bytes * min(n_b, N), b_bytes, min(n_b, N), "column blocks")]
    mb = 1
    while mb < 2 * M:
        m_blk = min(mb, M)
        n_blk = min(N, int(c_buf_elems // m_blk))
        if n_blk >= 1:
            nm, nn = math.ceil(M / m_blk), math.ceil(N / n_blk)
            options.append((a_bytes * nn, b_bytes * nm, nm * nn, "output-stationary blocks"))
        mb *= 2
    a_t, b_t, blocks, how = min(options, key=lambda o: (o[0] + o[1], o[2]))
    return a_t, b_t, max(1, blocks), f"{how}: A streamed {a_t / a_bytes:.1f}x, B {b_t / b_bytes:.1f}x"


def plan_step(sched: TrainingSchedule, cfg) -> StepPlan:
    """Plan every op of ``sched`` on the accelerator described by ``cfg`` (a :class:`~archsim.config.SimConfig`)."""
    from archsim.schedule.dataflows import get_dataflow

    sp = cfg.scratchpad
    eb = {dt: sp.partition(dt).element_bytes for dt in DataType}
    stream = {dt: sp.partition(dt).capacity_bytes * sp.stream_fraction for dt in DataType}
    resident = {dt: sp.partition(dt).capacity_bytes - stream[dt] for dt in DataType}
    res = plan_residency(sched, resident, eb)
    df = get_dataflow(cfg.array.dataflow)
    rows, cols = cfg.array.rows, cfg.array.cols
    lanes = cfg.compute.vector_lanes
    max_tiles = cfg.engine.max_tiles_per_op
    plans = []

    def nbytes(o):
        return o.elements * eb[o.dtype]

    def nonres(o):
        return (1.0 - res.fraction.get(o.tensor, 0.0)) * nbytes(o)

    for op in sched.ops:
        reads = {dt: 0.0 for dt in DataType}
        writes = {dt: 0.0 for dt in DataType}
        dram_r = {dt: 0.0 for dt in DataType}
        dram_w = {dt: 0.0 for dt in DataType}
        notes: list[str] = []
        # ---- inputs: the non-resident part is streamed from DRAM ----
        streamed = [nonres(o) for o in op.inputs]
        for i, o in enumerate(op.inputs):
            if res.producer.get(o.tensor) == op.index and res.first_use.get(o.tensor) == op.index:
                streamed[i] = nbytes(o)  # read before anything wrote it this step (the input batch): fetched whole
        if op.is_gemm:
            busy, reported, ra, rb, wc, pr, folds, util, meff = _gemm_counts(df, op.gemm, rows, cols)
            ia = next(i for i, o in enumerate(op.inputs) if o.role == "A")
            ib = next(i for i, o in enumerate(op.inputs) if o.role == "B")
            a_op, b_op, c_op = op.inputs[ia], op.inputs[ib], op.outputs[0]
            reads[a_op.dtype] += ra
            reads[b_op.dtype] += rb
            writes[c_op.dtype] += wc
            reads[c_op.dtype] += pr
            a_nb, b_nb = streamed[ia], streamed[ib]
            a_traffic, b_traffic, n_tiles, note = gemm_traffic(
                op.gemm, a_nb, b_nb, stream[a_op.dtype] / 2, stream[b_op.dtype] / 2,
                stream[c_op.dtype] / 2 / eb[c_op.dtype])
            if note:
                notes.append(note)
            dram_r[a_op.dtype] += a_traffic
            dram_r[b_op.dtype] += b_traffic
            unit = "array"
        else:
            busy = max(1, math.ceil(max(op.vector_ops, op.vector_elements) / lanes))
            reported = busy
            folds, util, meff = 0, 0.0, 0.0
            for i, o in enumerate(op.inputs):
                reads[o.dtype] += o.elements
                dram_r[o.dtype] += streamed[i]
            for o in op.outputs:
                writes[o.dtype] += o.elements
            vol = sum(streamed) + sum(nonres(o) for o in op.outputs)
            half = min(stream[o.dtype] for o in op.inputs + op.outputs) / 2
            n_tiles = max(1, math.ceil(vol / half)) if vol > 0 else 1
            unit = "vector"
        # ---- outputs: accumulation reads, spills ----
        for o in op.outputs:
            nr = nonres(o)
            if o.accumulate:
                reads[o.dtype] += o.elements        # read-modify-write of the partial error
                dram_r[o.dtype] += nr
            later = res.last_use.get(o.tensor, -1) > op.index
            if later or o.tensor in sched.persistent:
                dram_w[o.dtype] += nr
        n_tiles = min(max(n_tiles, 1), max_tiles)
        plans.append(OpPlan(op, busy, reported, unit, reads, writes, dram_r, dram_w, n_tiles, folds, util, meff,
                            notes))
    return StepPlan(sched, plans, res, eb)

