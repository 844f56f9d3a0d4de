"""Registry of named networks. Each file in ``workloads/`` registers its networks with :func:`register`.

A name maps to a builder function and the keyword arguments that select the variant (input size, classes, width),
so ``vgg16`` (ImageNet, 224) and ``vgg16-cifar`` (32) come from one definition.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

from .graph import Network


@dataclass(frozen=True)
class WorkloadEntry:
    name: str
    builder: Callable[..., Network]
    kwargs: dict = field(default_factory=dict)
    description: str = ""
    family: str = ""


_REGISTRY: dict[str, WorkloadEntry] = {}
_LOADED = False


def register(name: str, builder: Callable[..., Network], description: str = "", family: str = "", **kwargs) -> None:
    key = name.lower()
    if key in _REGISTRY and _REGISTRY[key].builder is not builder:
        raise ValueError(f"workload {name!r} registered twice")
    _REGISTRY[key] = WorkloadEntry(key, builder, dict(kwargs), description, family or key.split("-")[0])


def _load_all() -> None:
    global _LOADED
    if _LOADED:
        return
    import workloads  # the top-level package of network definitions

    for mod in pkgutil.iter_modules(workloads.__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"workloads.{mod.name}")
    _LOADED = True


def names() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def entries() -> list[WorkloadEntry]:
    _load_all()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def _entry(name: str) -> WorkloadEntry:
    _load_all()
    key = name.lower()
    if key not in _REGISTRY:
        raise KeyError(f"unknown workload {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[key]


def variant(name: str) -> dict:
    """The builder arguments that select the named variant (e.g. ``{'input_size': 32, ...}``)."""
    return dict(_entry(name).kwargs)


def get(name: str, **overrides) -> Network:
    """Build the named network; ``overrides`` replace the variant's builder arguments (e.g. ``width=0.25``)."""
    e = _entry(name)
    net = e.builder(**{**e.kwargs, **overrides})
    args = ", ".join(f"{k}={v}" for k, v in sorted(overrides.items()))
    net.name = f"{e.name}({args})" if overrides else e.name
    return net
