"""Load a :class:`SimConfig` from YAML or TOML, and apply command-line overrides."""
from __future__ import annotations

import pathlib
import tomllib
from typing import Any

import yaml

from .models import SimConfig


def read_mapping(path: str | pathlib.Path) -> dict:
    p = pathlib.Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"config file not found: {p}")
    text = p.read_text()
    try:
        data = tomllib.loads(text) if p.suffix.lower() == ".toml" else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise ValueError(f"cannot parse {p}: {first}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{p}: top level must be a mapping, got {type(data).__name__}")
    return data


def deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_config(path: str | pathlib.Path | None = None, overrides: dict[str, Any] | None = None) -> SimConfig:
    """Defaults <- file <- overrides (a nested dict, e.g. ``{"array": {"rows": 32}}``)."""
    data = read_mapping(path) if path else {}
    if overrides:
        data = deep_merge(data, overrides)
    return SimConfig.model_validate(data)
