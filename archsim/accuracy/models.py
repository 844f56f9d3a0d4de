"""A ``torch.nn.Module`` built from a workload graph: the layers whose energy the simulator charges are the layers
whose accuracy the harness measures.

Every tensor is kept four-dimensional, ``(N, C, H, W)``, following the graph's per-sample shape convention (a flat
feature vector is ``(F, 1, 1)``). Nodes execute in the graph's topological (definition) order; a node's output is
dropped as soon as its last consumer has run. Conv and linear layers read their weight through the injector (read
errors on weights); every node's output gets a backward hook through which the injector corrupts the error
(gradient w.r.t. that activation) flowing back to the layers before it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from archsim.workload.graph import Network

if TYPE_CHECKING:  # pragma: no cover
    from .hooks import Injector

#: dropout probability of ``dropout`` nodes (the graph does not carry one): 0.5, AlexNet's (Krizhevsky et al. 2012)
DROPOUT_P = 0.5


def _key(name: str) -> str:
    return name.replace(".", "_")


class GraphModule(nn.Module):
    """Executes a :class:`~archsim.workload.graph.Network` on batches of shape ``(N, C, H, W)``; returns logits
    ``(N, num_classes)``."""

    def __init__(self, net: Network, dropout_p: float = DROPOUT_P):
        super().__init__()
        self.net_name = net.name
        self.layers_ = [l for l in net.layers()]
        self.input_shape = net.input_shape
        self.num_classes = net.num_classes
        self.mods = nn.ModuleDict()
        inputs = [l.name for l in self.layers_ if l.kind == "input"]
        if len(inputs) != 1:
            raise ValueError(f"network {net.name!r} has {len(inputs)} inputs; the accuracy harness needs one")
        self._input = inputs[0]
        self._output = net.output.name
        consumers: dict[str, int] = {l.name: 0 for l in self.layers_}
        for l in self.layers_:
            for src in l.inputs:
                consumers[src] += 1
            if l.kind == "conv":
                self.mods[_key(l.name)] = nn.Conv2d(l.in_channels, l.out_channels, l.kernel, l.stride, l.padding,
                                                    groups=l.groups, bias=l.bias)
            elif l.kind == "linear":
                self.mods[_key(l.name)] = nn.Linear(l.in_numel, l.out_channels, bias=l.bias)
            elif l.kind == "bn":
                self.mods[_key(l.name)] = nn.BatchNorm2d(l.in_channels)
            elif l.kind == "dropout":
                self.mods[_key(l.name)] = nn.Dropout(dropout_p)
        self._consumers = consumers
        self.injector: Injector | None = None
        self._check_shapes()

    def _check_shapes(self) -> None:
        with torch.no_grad():
            was = self.training
            self.eval()
            self.forward(torch.zeros(1, *self.input_shape), _check=True)
            self.train(was)

    def weight_layers(self) -> dict[str, str]:
        """Parameter name -> graph layer name."""
        out = {}
        for l in self.layers_:
            if _key(l.name) in self.mods:
                for pn, _ in self.mods[_key(l.name)].named_parameters():
                    out[f"mods.{_key(l.name)}.{pn}"] = l.name
        return out

    def _weight(self, name: str, w: torch.Tensor) -> torch.Tensor:
        inj = self.injector
        return w if inj is None else inj.read_weight(name, w)

    def forward(self, x: torch.Tensor, _check: bool = False) -> torch.Tensor:
        vals: dict[str, torch.Tensor] = {}
        left = dict(self._consumers)
        inj = self.injector
        for l in self.layers_:
            k = l.kind
            if k == "input":
                y = x
            else:
                a = vals[l.inputs[0]]
                if k == "conv":
                    m = self.mods[_key(l.name)]
                    y = F.conv2d(a, self._weight(l.name + ".weight", m.weight),
                                 None if m.bias is None else self._weight(l.name + ".bias", m.bias),
                                 m.stride, m.padding, 1, m.groups)
                elif k == "linear":
                    m = self.mods[_key(l.name)]
                    y = F.linear(a.flatten(1), self._weight(l.name + ".weight", m.weight),
                                 None if m.bias is None else self._weight(l.name + ".bias", m.bias))
                    y = y.view(y.shape[0], -1, 1, 1)
                elif k == "bn":
                    m = self.mods[_key(l.name)]
                    if inj is not None and inj.reads_weights:
                        y = F.batch_norm(a, m.running_mean, m.running_var,
                                         self._weight(l.name + ".weight", m.weight),
                                         self._weight(l.name + ".bias", m.bias),
                                         m.training, m.momentum, m.eps)
                    else:
                        y = m(a)
                elif k == "relu":
                    y = F.relu(a)
                elif k == "relu6":
                    y = F.relu6(a)
                elif k == "maxpool":
                    y = F.max_pool2d(a, l.kernel, l.stride, l.padding, ceil_mode=l.ceil_mode)
                elif k == "avgpool":
                    y = F.avg_pool2d(a, l.kernel, l.stride, l.padding, ceil_mode=l.ceil_mode)
                elif k == "gap":
                    y = F.adaptive_avg_pool2d(a, 1)
                elif k == "add":
                    y = a + vals[l.inputs[1]]
                elif k == "flatten":
                    y = a.reshape(a.shape[0], -1, 1, 1)
                elif k == "dropout":
                    y = self.mods[_key(l.name)](a)
                else:  # pragma: no cover - graph.KINDS is closed
                    raise ValueError(f"layer {l.name!r}: kind {k!r} is not supported by the accuracy harness")
                if _check and tuple(y.shape[1:]) != tuple(l.out_shape):
                    raise ValueError(f"layer {l.name!r}: torch gives shape {tuple(y.shape[1:])}, graph says "
                                     f"{l.out_shape}")
                for src in l.inputs:
                    left[src] -= 1
                    if left[src] == 0 and src != l.name:
                        vals.pop(src, None)
            if inj is not None and y.requires_grad and k != "input":
                inj.watch_error(l.name, y)
            vals[l.name] = y
        return vals[self._output].flatten(1)


def build_model(net: Network, seed: int = 0, dropout_p: float = DROPOUT_P) -> GraphModule:
    """The network as a module, with parameters initialised from ``seed`` (PyTorch's default initialisers)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return GraphModule(net, dropout_p)
