"""Weight initialisers for models built from workload graphs.

``pytorch``: the layers' own defaults (Kaiming-uniform with a = sqrt(5), i.e. a gain of 1/sqrt(3) -- fine with batch
norm, but deep plain ReLU stacks such as VGG16 and AlexNet at reduced width then shrink the signal layer by layer
and do not start learning).
``kaiming``: He et al., "Delving Deep into Rectifiers", ICCV 2015 (arXiv:1502.01852): conv weights
``N(0, 2 / fan_out)``, as torchvision initialises VGG and ResNet; linear weights ``N(0, 2 / fan_in)`` (the same rule
for the fully connected ReLU layers, so that a narrow classifier stack keeps its signal); biases 0; batch-norm scale 1
and shift 0.
"""
from __future__ import annotations

from typing import Literal

import torch
from torch import nn

Init = Literal["pytorch", "kaiming"]
INITS: tuple[str, ...] = ("pytorch", "kaiming")


def initialize_(model: nn.Module, init: Init, seed: int) -> nn.Module:
    """Re-initialise ``model``'s parameters in place with ``init`` from ``seed`` (``pytorch`` leaves them)."""
    if init == "pytorch":
        return model
    if init != "kaiming":
        raise ValueError(f"unknown initialiser {init!r}; allowed: {', '.join(INITS)}")
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
                continue
            else:
                continue
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model
