"""The work of one training step, derived from a network graph.

Each layer expands into operations (``Op``) in the order a training step runs them:

* forward, in topological order: GEMM layers (conv, linear) on the systolic array, the rest on the vector unit,
  then the loss (softmax + cross-entropy gradient) on the vector unit;
* backward, in reverse topological order: for a GEMM layer its backward-data GEMM (error w.r.t. its input; skipped
  when the input is the network input, which needs no gradient) and its backward-weight GEMM; for vector layers the
  elementwise backward;
* the weight update (SGD with momentum) of every layer with parameters: read weight, gradient and momentum, write
  momentum and weight.

Every operand names a tensor and carries its :class:`~archsim.datatypes.DataType`. Tensor ids:
``act:L`` (output activation of layer L, i.e. input activation of its consumers), ``err:L`` (error = gradient of the
loss w.r.t. ``act:L``), ``w:L``, ``wg:L``, ``mom:L``. Sizes are element counts at the given batch.

GEMM views (im2col; C[MxN] = A[MxK] . B[KxN], per group, ``groups`` independent GEMMs):

=================  ====================  ==================  ====================  =========  =========
pass               M                     N                   K                     A          B
=================  ====================  ==================  ====================  =========  =========
forward            B*Ho*Wo               Cout/g              Cin/g*kh*kw           act (in)   weight
backward_data      B*Ho*Wo               Cin/g*kh*kw         Cout/g                err (out)  weight^T
backward_weight    Cin/g*kh*kw           Cout/g              B*Ho*Wo               act^T (in) err (out)
=================  ====================  ==================  ====================  =========  =========

backward_data computes the error in im2col form (dX_col = dY . W^T, then col2im), the convention of SCALE-Sim's
hand-written training topologies (``topologies/resnet/resnet_input_grad.csv``); its MACs equal the forward MACs.
The schedule knows nothing about memory technology or the array: it only says what is computed on what.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from archsim.datatypes import DataType

from .graph import Layer, Network


class Pass(str, Enum):
    FORWARD = "forward"
    BACKWARD_DATA = "backward_data"
    BACKWARD_WEIGHT = "backward_weight"
    UPDATE = "update"

    def __str__(self) -> str:  # pragma: no cover
        return self.value


ALL_PASSES = tuple(Pass)

#: elementwise operations per output element on the vector unit, per layer kind and pass (archsim's assumptions,
#: docs/schedule.md): e.g. BN forward = normalise (sub, mul) + scale/shift (mul, add) + statistics (2 adds).
VECTOR_OPS_PER_ELEMENT = {
    ("relu", Pass.FORWARD): 1, ("relu", Pass.BACKWARD_DATA): 1,
    ("relu6", Pass.FORWARD): 2, ("relu6", Pass.BACKWARD_DATA): 2,
    ("bn", Pass.FORWARD): 6, ("bn", Pass.BACKWARD_DATA): 8,
    ("add", Pass.FORWARD): 1, ("add", Pass.BACKWARD_DATA): 0,
    ("dropout", Pass.FORWARD): 1, ("dropout", Pass.BACKWARD_DATA): 1,
    ("loss", Pass.BACKWARD_DATA): 5,  # exp, sum, divide, subtract one-hot, scale by 1/B
    ("update", Pass.UPDATE): 4,       # m = mu*m + g ; w = w - lr*m  (2 mul + 2 add)
}


@dataclass(frozen=True)
class Gemm:
    M: int
    N: int
    K: int
    groups: int = 1

    @property
    def macs(self) -> int:
        return self.M * self.N * self.K * self.groups


@dataclass(frozen=True)
class Operand:
    tensor: str
    dtype: DataType
    elements: int
    role: str  # "A" / "B" (GEMM inputs), "C" (GEMM output), "in" / "out" (vector unit)
    accumulate: bool = False  # an output added into an existing tensor (read-modify-write), e.g. errors at forks


@dataclass(frozen=True)
class Op:
    index: int
    layer: str
    kind: str            # layer kind, or "loss" / "update"
    pass_: Pass
    inputs: tuple[Operand, ...]
    outputs: tuple[Operand, ...]
    gemm: Gemm | None = None
    vector_elements: int = 0       # elements processed on the vector unit
    vector_ops: float = 0.0        # elementwise operations in total

    @property
    def is_gemm(self) -> bool:
        return self.gemm is not None

    @property
    def macs(self) -> int:
        return self.gemm.macs if self.gemm else 0


@dataclass
class TrainingSchedule:
    network: Network
    batch: int
    ops: list[Op] = field(default_factory=list)
    tensor_elements: dict[str, int] = field(default_factory=dict)
    tensor_dtype: dict[str, DataType] = field(default_factory=dict)
    persistent: set[str] = field(default_factory=set)  # tensors that live across training steps (w, mom)

    def passes(self) -> list[Pass]:
        return sorted({op.pass_ for op in self.ops}, key=ALL_PASSES.index)

    def total_macs(self) -> int:
        return sum(op.macs for op in self.ops)


def conv_gemms(layer: Layer, batch: int) -> dict[Pass, Gemm]:
    """The three GEMMs of a conv or linear layer at a batch size (see the module docstring)."""
    g = layer.groups
    if layer.kind == "conv":
        kh, kw = layer.kernel
        m = batch * layer.out_shape[1] * layer.out_shape[2]
        k = (layer.in_channels // g) * kh * kw
        n = layer.out_channels // g
    elif layer.kind == "linear":
        m, k, n = batch, layer.in_numel, layer.out_channels
    else:
        raise ValueError(f"layer {layer.name!r} ({layer.kind}) is not a GEMM layer")
    return {Pass.FORWARD: Gemm(m, n, k, g), Pass.BACKWARD_DATA: Gemm(m, k, n, g),
            Pass.BACKWARD_WEIGHT: Gemm(k, n, m, g)}


def build_schedule(net: Network, batch: int = 32, passes: tuple[Pass, ...] | None = None,
                   momentum: bool = True) -> TrainingSchedule:
    """Expand ``net`` into the ops of one training step (all four passes unless ``passes`` narrows them)."""
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    wanted = set(passes or ALL_PASSES)
    sched = TrainingSchedule(net, batch)
    layers = net.layers()
    by_name = {l.name: l for l in layers}
    inputs = {l.name for l in layers if l.kind == "input"}

    def act(name):  # the activation tensor a layer produces (flatten/dropout alias their input)
        l = by_name[name]
        while l.kind == "flatten":
            l = by_name[l.inputs[0]]
        return l.name

    def reg(tid, dt, n, persistent=False):
        sched.tensor_elements[tid] = n
        sched.tensor_dtype[tid] = dt
        if persistent:
            sched.persistent.add(tid)
        return tid

    for l in layers:
        if l.kind != "flatten":
            reg(f"act:{l.name}", DataType.ACTIVATION, batch * l.out_numel)
            if l.kind != "input":
                reg(f"err:{l.name}", DataType.ERROR, batch * l.out_numel)
        if l.weight_count:
            reg(f"w:{l.name}", DataType.WEIGHT, l.weight_count, persistent=True)
            reg(f"wg:{l.name}", DataType.WEIGHT_GRADIENT, l.weight_count)
            if momentum:
                reg(f"mom:{l.name}", DataType.OPTIMIZER_STATE, l.weight_count, persistent=True)

    ops: list[Op] = []

    def add(**kw):
        ops.append(Op(index=len(ops), **kw))

    def a(tid, role, acc=False):
        return Operand(tid, sched.tensor_dtype[tid], sched.tensor_elements[tid], role, acc)

    # ---- forward -------------------------------------------------------------------------------------------
    if Pass.FORWARD in wanted:
        for l in layers:
            if l.kind in ("input", "flatten"):
                continue
            ins = tuple(a(f"act:{act(s)}", "A" if l.is_gemm else "in") for s in l.inputs)
            out = (a(f"act:{l.name}", "C" if l.is_gemm else "out"),)
            if l.is_gemm:
                add(layer=l.name, kind=l.kind, pass_=Pass.FORWARD, inputs=ins + (a(f"w:{l.name}", "B"),),
                    outputs=out, gemm=conv_gemms(l, batch)[Pass.FORWARD])
            else:
                n = batch * l.out_numel
                opc = _vector_ops(l, Pass.FORWARD)
                ins_v = ins + ((a(f"w:{l.name}", "in"),) if l.weight_count else ())
                add(layer=l.name, kind=l.kind, pass_=Pass.FORWARD, inputs=ins_v, outputs=out,
                    vector_elements=n, vector_ops=n * opc)

    # ---- backward (loss gradient first) ----------------------------------------------------------------------
    want_bwd = bool(wanted & {Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT})
    sinks = [l for l in layers if net.graph.out_degree(l.name) == 0 and l.kind not in ("input",)]
    if want_bwd:
        for s in sinks:
            n = batch * s.out_numel
            add(layer=f"loss:{s.name}" if len(sinks) > 1 else "loss", kind="loss", pass_=Pass.BACKWARD_DATA,
                inputs=(a(f"act:{s.name}", "in"),), outputs=(a(f"err:{s.name}", "out"),), vector_elements=n,
                vector_ops=n * VECTOR_OPS_PER_ELEMENT[("loss", Pass.BACKWARD_DATA)])
        produced: set[str] = set()  # error tensors already holding a contribution (forks accumulate)
        for l in reversed(layers):
            if l.kind in ("input", "flatten"):
                continue
            err_out = f"err:{l.name}"
            srcs = [act(s) for s in l.inputs]
            need = [s for s in srcs if s not in inputs]  # the network input needs no gradient

            def err_in(s):
                tid = f"err:{s}"
                acc = tid in produced
                produced.add(tid)
                return a(tid, "C" if l.is_gemm else "out", acc)

            if l.is_gemm:
                gemms = conv_gemms(l, batch)
                if Pass.BACKWARD_DATA in wanted and need:
                    add(layer=l.name, kind=l.kind, pass_=Pass.BACKWARD_DATA,
                        inputs=(a(err_out, "A"), a(f"w:{l.name}", "B")), outputs=(err_in(need[0]),),
                        gemm=gemms[Pass.BACKWARD_DATA])
                if Pass.BACKWARD_WEIGHT in wanted:
                    add(layer=l.name, kind=l.kind, pass_=Pass.BACKWARD_WEIGHT,
                        inputs=(a(f"act:{srcs[0]}", "A"), a(err_out, "B")), outputs=(a(f"wg:{l.name}", "C"),),
                        gemm=gemms[Pass.BACKWARD_WEIGHT])
            elif Pass.BACKWARD_DATA in wanted and need:
                n = batch * l.out_numel
                ins = [a(err_out, "in")]
                if l.kind in ("relu", "relu6", "bn", "maxpool", "dropout"):
                    ins.append(a(f"act:{act(l.name) if l.kind in ('relu', 'relu6') else srcs[0]}", "in"))
                if l.weight_count:
                    ins.append(a(f"w:{l.name}", "in"))
                outs = [err_in(s) for s in need]
                if l.weight_count and Pass.BACKWARD_WEIGHT in wanted:
                    outs.append(a(f"wg:{l.name}", "out"))
                opc = _vector_ops(l, Pass.BACKWARD_DATA)
                add(layer=l.name, kind=l.kind, pass_=Pass.BACKWARD_DATA, inputs=tuple(ins), outputs=tuple(outs),
                    vector_elements=n, vector_ops=n * opc)

    # ---- weight update ----------------------------------------------------------------------------------------
    if Pass.UPDATE in wanted:
        for l in layers:
            if not l.weight_count:
                continue
            n = l.weight_count
            ins = [a(f"w:{l.name}", "in"), a(f"wg:{l.name}", "in")]
            outs = [a(f"w:{l.name}", "out")]
            if momentum:
                ins.append(a(f"mom:{l.name}", "in"))
                outs.append(a(f"mom:{l.name}", "out"))
            add(layer=l.name, kind="update", pass_=Pass.UPDATE, inputs=tuple(ins), outputs=tuple(outs),
                vector_elements=n, vector_ops=n * VECTOR_OPS_PER_ELEMENT[("update", Pass.UPDATE)])
    sched.ops = ops
    return sched


def _vector_ops(l: Layer, p: Pass) -> float:
    if l.kind in ("maxpool", "avgpool"):
        kh, kw = l.kernel
        return kh * kw / (l.stride * l.stride) if p is Pass.BACKWARD_DATA else kh * kw
    if l.kind == "gap":
        return l.in_numel / l.out_numel
    return VECTOR_OPS_PER_ELEMENT.get((l.kind, p), 1)
