"""Network graphs: a DAG of layers (networkx) with tensor shapes inferred as the network is built.

A network is defined once (``workloads/*.py``) with :class:`NetworkBuilder`; the simulator turns it into a training
schedule and the accuracy harness turns it into a ``torch.nn.Module``. Shapes are per sample, ``(C, H, W)``; a flat
feature vector is ``(F, 1, 1)``. The batch size is not part of the graph.

Shape rules (PyTorch's): conv/pool output ``floor((H + 2p - d(k-1) - 1) / s) + 1``; with ``ceil_mode`` the ceiling
is taken instead, which is also how SCALE-Sim sizes an unpadded conv (``ceil((H - k + s) / s)``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Iterator

import networkx as nx

Shape = tuple[int, int, int]

#: Layer kinds and what they are. GEMM kinds run on the systolic array; the rest run on the vector unit.
GEMM_KINDS = frozenset({"conv", "linear"})
VECTOR_KINDS = frozenset({"maxpool", "avgpool", "gap", "bn", "relu", "relu6", "add", "flatten", "dropout"})
KINDS = GEMM_KINDS | VECTOR_KINDS | {"input"}


class GraphError(ValueError):
    """A network definition that cannot be built (bad shapes, unknown inputs, duplicate names)."""


@dataclass(frozen=True)
class Layer:
    """One node of the network graph, with its input and output shapes per sample."""

    name: str
    kind: str
    inputs: tuple[str, ...]
    in_shape: Shape
    out_shape: Shape
    kernel: tuple[int, int] = (1, 1)
    stride: int = 1
    padding: int = 0
    groups: int = 1
    bias: bool = False
    ceil_mode: bool = False

    @property
    def is_gemm(self) -> bool:
        return self.kind in GEMM_KINDS

    @property
    def in_channels(self) -> int:
        return self.in_shape[0]

    @property
    def out_channels(self) -> int:
        return self.out_shape[0]

    @property
    def weight_count(self) -> int:
        """Trainable parameters (weights, bias, and BN's scale and shift)."""
        if self.kind == "conv":
            kh, kw = self.kernel
            n = self.out_channels * (self.in_channels // self.groups) * kh * kw
            return n + (self.out_channels if self.bias else 0)
        if self.kind == "linear":
            n = self.out_channels * _numel(self.in_shape)
            return n + (self.out_channels if self.bias else 0)
        if self.kind == "bn":
            return 2 * self.in_channels
        return 0

    @property
    def in_numel(self) -> int:
        return _numel(self.in_shape)

    @property
    def out_numel(self) -> int:
        return _numel(self.out_shape)

    def forward_macs(self, batch: int = 1) -> int:
        """Multiply-accumulates of the forward pass (GEMM layers only; 0 otherwise)."""
        if self.kind == "conv":
            kh, kw = self.kernel
            return batch * self.out_shape[1] * self.out_shape[2] * self.out_channels * (
                self.in_channels // self.groups) * kh * kw
        if self.kind == "linear":
            return batch * self.out_channels * _numel(self.in_shape)
        return 0


def _numel(shape: Shape) -> int:
    return shape[0] * shape[1] * shape[2]


def conv_out(size: int, k: int, s: int, p: int, ceil_mode: bool = False) -> int:
    span = size + 2 * p - k
    if span < 0:
        raise GraphError(f"window {k} larger than padded input {size + 2 * p}")
    out = (math.ceil(span / s) if ceil_mode else span // s) + 1
    if ceil_mode and p > 0 and (out - 1) * s >= size + p:  # PyTorch: last window must start inside the input
        out -= 1
    return out


@dataclass
class Network:
    """A named DAG of :class:`Layer` nodes; node attribute ``layer`` holds the layer."""

    name: str
    graph: nx.DiGraph
    input_shape: Shape
    num_classes: int
    description: str = ""
    meta: dict = field(default_factory=dict)

    def layers(self) -> list[Layer]:
        """All layers (inputs included) in a deterministic topological order (definition order)."""
        order = self.graph.graph.get("order")
        if order is None:
            order = list(nx.lexicographical_topological_sort(self.graph, key=lambda n: self.graph.nodes[n]["idx"]))
        return [self.graph.nodes[n]["layer"] for n in order]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers())

    def __len__(self) -> int:
        return self.graph.number_of_nodes()

    def layer(self, name: str) -> Layer:
        try:
            return self.graph.nodes[name]["layer"]
        except KeyError:
            raise KeyError(f"no layer {name!r} in network {self.name!r}") from None

    def successors(self, name: str) -> list[str]:
        return list(self.graph.successors(name))

    @property
    def output(self) -> Layer:
        sinks = [n for n in self.graph.nodes if self.graph.out_degree(n) == 0]
        if len(sinks) != 1:
            raise GraphError(f"network {self.name!r} has {len(sinks)} outputs; expected one")
        return self.layer(sinks[0])

    def gemm_layers(self) -> list[Layer]:
        return [l for l in self.layers() if l.is_gemm]

    def param_count(self) -> int:
        return sum(l.weight_count for l in self.layers())

    def forward_macs(self, batch: int = 1) -> int:
        return sum(l.forward_macs(batch) for l in self.layers())

    def summary_rows(self) -> list[tuple]:
        return [(l.name, l.kind, l.in_shape, l.out_shape, l.weight_count, l.forward_macs(1)) for l in self.layers()]


class NetworkBuilder:
    """Build a :class:`Network` layer by layer; every method returns the new layer's name (its output tensor).

    >>> b = NetworkBuilder("tiny", (3, 32, 32), num_classes=10)
    >>> x = b.conv(b.input, 16, 3, padding=1)
    >>> x = b.relu(x)
    >>> y = b.linear(b.flatten(b.gap(x)), 10)
    >>> net = b.build()
    """

    def __init__(self, name: str, input_shape: Shape, num_classes: int, description: str = ""):
        if len(input_shape) != 3 or min(input_shape) <= 0:
            raise GraphError(f"input_shape must be (C, H, W) with positive sizes, got {input_shape}")
        self.name = name
        self.num_classes = num_classes
        self.description = description
        self._g = nx.DiGraph()
        self._order: list[str] = []
        self._counts: dict[str, int] = {}
        self.input = self._add(Layer("input", "input", (), tuple(input_shape), tuple(input_shape)))

    # -- plumbing -------------------------------------------------------------------------------------------
    def _name(self, kind: str, name: str | None) -> str:
        if name:
            return name
        self._counts[kind] = self._counts.get(kind, 0) + 1
        return f"{kind}{self._counts[kind]}"

    def _add(self, layer: Layer) -> str:
        if layer.name in self._g:
            raise GraphError(f"duplicate layer name {layer.name!r} in {self.name!r}")
        for src in layer.inputs:
            if src not in self._g:
                raise GraphError(f"layer {layer.name!r} reads unknown tensor {src!r}")
        if min(layer.out_shape) <= 0:
            raise GraphError(f"layer {layer.name!r} has empty output shape {layer.out_shape}")
        self._g.add_node(layer.name, layer=layer, idx=len(self._order))
        for src in layer.inputs:
            self._g.add_edge(src, layer.name)
        self._order.append(layer.name)
        return layer.name

    def add_input(self, name: str, shape: Shape) -> str:
        """A further input tensor (imported topologies give every layer its own input)."""
        return self._add(Layer(name, "input", (), tuple(shape), tuple(shape)))

    def shape(self, x: str) -> Shape:
        return self._g.nodes[x]["layer"].out_shape

    # -- GEMM layers ----------------------------------------------------------------------------------------
    def conv(self, x: str, out_channels: int, kernel: int | tuple[int, int], stride: int = 1, padding: int = 0,
             groups: int = 1, bias: bool = False, ceil_mode: bool = False, name: str | None = None) -> str:
        c, h, w = self.shape(x)
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else tuple(kernel)
        if groups < 1 or c % groups or out_channels % groups:
            raise GraphError(f"conv {name or ''}: groups={groups} must divide in ({c}) and out ({out_channels}) "
                             "channels")
        ho = conv_out(h, kh, stride, padding, ceil_mode)
        wo = conv_out(w, kw, stride, padding, ceil_mode)
        return self._add(Layer(self._name("conv", name), "conv", (x,), (c, h, w), (out_channels, ho, wo),
                               kernel=(kh, kw), stride=stride, padding=padding, groups=groups, bias=bias,
                               ceil_mode=ceil_mode))

    def dwconv(self, x: str, kernel: int, stride: int = 1, padding: int = 0, name: str | None = None) -> str:
        """Depthwise convolution: one filter per channel (groups = channels)."""
        c = self.shape(x)[0]
        return self.conv(x, c, kernel, stride, padding, groups=c, name=name or self._name("dwconv", None))

    def linear(self, x: str, out_features: int, bias: bool = True, name: str | None = None) -> str:
        shp = self.shape(x)
        return self._add(Layer(self._name("fc", name), "linear", (x,), shp, (out_features, 1, 1), bias=bias))

    # -- vector-unit layers ---------------------------------------------------------------------------------
    def _same(self, kind: str, x: str, name: str | None) -> str:
        shp = self.shape(x)
        return self._add(Layer(self._name(kind, name), kind, (x,), shp, shp))

    def relu(self, x: str, name: str | None = None) -> str:
        return self._same("relu", x, name)

    def relu6(self, x: str, name: str | None = None) -> str:
        return self._same("relu6", x, name)

    def bn(self, x: str, name: str | None = None) -> str:
        return self._same("bn", x, name)

    def dropout(self, x: str, name: str | None = None) -> str:
        return self._same("dropout", x, name)

    def _pool(self, kind: str, x: str, kernel: int, stride: int | None, padding: int, ceil_mode: bool,
              name: str | None) -> str:
        c, h, w = self.shape(x)
        s = stride or kernel
        ho = conv_out(h, kernel, s, padding, ceil_mode)
        wo = conv_out(w, kernel, s, padding, ceil_mode)
        return self._add(Layer(self._name(kind, name), kind, (x,), (c, h, w), (c, ho, wo), kernel=(kernel, kernel),
                               stride=s, padding=padding, ceil_mode=ceil_mode))

    def maxpool(self, x: str, kernel: int, stride: int | None = None, padding: int = 0, ceil_mode: bool = False,
                name: str | None = None) -> str:
        return self._pool("maxpool", x, kernel, stride, padding, ceil_mode, name)

    def avgpool(self, x: str, kernel: int, stride: int | None = None, padding: int = 0, ceil_mode: bool = False,
                name: str | None = None) -> str:
        return self._pool("avgpool", x, kernel, stride, padding, ceil_mode, name)

    def gap(self, x: str, name: str | None = None) -> str:
        """Global average pooling to (C, 1, 1)."""
        c, h, w = self.shape(x)
        return self._add(Layer(self._name("gap", name), "gap", (x,), (c, h, w), (c, 1, 1), kernel=(h, w)))

    def flatten(self, x: str, name: str | None = None) -> str:
        shp = self.shape(x)
        return self._add(Layer(self._name("flatten", name), "flatten", (x,), shp, (_numel(shp), 1, 1)))

    def add(self, a: str, b: str, name: str | None = None) -> str:
        """Elementwise sum of ``a`` and ``b``. In a residual block ``a`` is the branch and ``b`` the shortcut, the
        order the accuracy harness's ``kaiming-zero-residual`` initialiser relies on."""
        sa, sb = self.shape(a), self.shape(b)
        if sa != sb:
            raise GraphError(f"add {name or ''}: shapes differ {sa} vs {sb}")
        return self._add(Layer(self._name("add", name), "add", (a, b), sa, sa))

    def build(self, multiple_outputs: bool = False, **meta) -> Network:
        sinks = [n for n in self._g.nodes if self._g.out_degree(n) == 0]
        if len(sinks) != 1 and not multiple_outputs:
            raise GraphError(f"network {self.name!r} must end in exactly one output, has {sinks}")
        g = self._g.copy()
        g.graph["order"] = list(self._order)
        return Network(self.name, g, self._g.nodes[self.input]["layer"].out_shape, self.num_classes,
                       self.description, dict(meta))


def with_name(layer: Layer, name: str) -> Layer:
    return replace(layer, name=name)
