"""On-chip residency of training tensors: which part of each tensor stays in its scratchpad partition.

Activations saved in the forward pass are read again in the backward pass, errors flow from one layer to the next,
weights and optimizer state live across training steps. A tensor that stays in its partition from its producer to
its last consumer costs no DRAM traffic; the part that does not fit is written to DRAM when produced and read back
at every later use.

Policy (documented in docs/schedule.md): each partition keeps ``1 - stream_fraction`` of its capacity for resident
tensors (the rest double-buffers streamed tiles). Walking the ops in order, a tensor is placed when it is first
produced (persistent tensors -- weights, momentum -- at the start of the step, in order of first use); it gets the
largest fraction of its bytes that fits in the free resident space (partial residency), keeps it until its last use,
and frees it afterwards. More capacity never evicts anything earlier, so DRAM traffic cannot grow with capacity
(tested in tests/schedule/test_residency.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from archsim.datatypes import DataType
from archsim.workload.training import TrainingSchedule


@dataclass
class ResidencyPlan:
    fraction: dict[str, float]                 # resident fraction of each tensor (0..1)
    first_use: dict[str, int]
    last_use: dict[str, int]
    producer: dict[str, int]                   # op index that first writes the tensor (-1: lives before the step)
    peak_bytes: dict[DataType, float] = field(default_factory=dict)

    def resident_bytes(self, tid: str, nbytes: float) -> float:
        return self.fraction.get(tid, 0.0) * nbytes


def plan_residency(sched: TrainingSchedule, resident_capacity: dict[DataType, float],
                   element_bytes: dict[DataType, int]) -> ResidencyPlan:
    """Greedy lifetime-based placement; ``resident_capacity`` in bytes per data type."""
    first_use: dict[str, int] = {}
    last_use: dict[str, int] = {}
    producer: dict[str, int] = {}
    for op in sched.ops:
        for o in op.inputs + op.outputs:
            first_use.setdefault(o.tensor, op.index)
            last_use[o.tensor] = op.index
        for o in op.outputs:
            producer.setdefault(o.tensor, op.index)
    for tid in sched.persistent:
        if tid in first_use:
            producer[tid] = -1
            last_use[tid] = len(sched.ops)  # persistent: kept to the end of the step (and into the next)
    # tensors read before anything writes them (the input batch) are placed at their first use
    for tid, i in first_use.items():
        producer.setdefault(tid, i)
        if producer[tid] > i:
            producer[tid] = i

    def nbytes(tid):
        return sched.tensor_elements[tid] * element_bytes[sched.tensor_dtype[tid]]

    free = {dt: float(resident_capacity.get(dt, 0.0)) for dt in DataType}
    peak = {dt: 0.0 for dt in DataType}
    fraction: dict[str, float] = {}
    held: dict[str, float] = {}
    births: dict[int, list[str]] = {}
    for tid, p in producer.items():
        births.setdefault(p, []).append(tid)
    deaths: dict[int, list[str]] = {}
    for tid, l in last_use.items():
        deaths.setdefault(l, []).append(tid)

    def place(tid):
        dt = sched.tensor_dtype[tid]
        b = nbytes(tid)
        take = min(b, free[dt]) if b > 0 else 0.0
        fraction[tid] = take / b if b > 0 else 1.0
        held[tid] = take
        free[dt] -= take
        used = resident_capacity.get(dt, 0.0) - free[dt]
        peak[dt] = max(peak[dt], used)

    for tid in sorted(births.get(-1, []), key=lambda t: (first_use[t], t)):
        place(tid)
    for op in sched.ops:
        for tid in sorted(births.get(op.index, []), key=lambda t: (t not in {o.tensor for o in op.inputs}, t)):
            place(tid)
        for tid in deaths.get(op.index, []):
            dt = sched.tensor_dtype[tid]
            free[dt] += held.pop(tid, 0.0)
    return ResidencyPlan(fraction, first_use, last_use, producer, peak)
