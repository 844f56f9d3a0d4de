"""Load a :class:`SimConfig` from YAML or TOML, and apply command-line overrides."""
from __future__ import annotations

import pathlib
import re
import tomllib
from typing import Any

import yaml

from .models import SimConfig


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that rejects a key given twice in one mapping (PyYAML keeps the last one silently).

    Keys merged in with ``<<`` may still be overridden, as YAML intends."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    ident = (type(key), key)
                    first = seen.get(ident)
                except TypeError:  # an unhashable key: the base class reports it
                    continue
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first given at line {first.line + 1}, column "
                        f"{first.column + 1})", key_node.start_mark)
                seen[ident] = key_node.start_mark
        return super().construct_mapping(node, deep)


# PyYAML follows YAML 1.1, where ``1e5``, ``1e-9`` and ``1.0e5`` (an exponent without a dot or sign) are strings;
# a strict config would then reject them. Resolve them as floats, as YAML 1.2 and TOML do.
_UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))


def _yaml_error(exc: yaml.YAMLError) -> str:
    """One line for a YAML error: line and column of the problem, the problem, and its context."""
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if not problem:
        return str(exc).strip().splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    msg = f"{where}{problem}"
    context, cmark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context:
        started = (f" started at line {cmark.line + 1}, column {cmark.column + 1}"
                   if cmark is not None and (mark is None or (cmark.line, cmark.column) != (mark.line, mark.column))
                   else "")
        msg += f" ({context}{started})"
    return msg


def read_mapping(path: str | pathlib.Path) -> dict:
    p = pathlib.Path(path)
    if p.is_dir():
        raise ValueError(f"config path is a directory, not a file: {p}")
    if not p.is_file():
        raise FileNotFoundError(f"config file not found: {p}")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {p}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"cannot read {p}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                         "a config file is YAML or TOML text") from None
    if text.startswith("\ufeff"):  # a UTF-8 byte-order mark
        text = text[1:]
    try:
        if p.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        else:
            data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ValueError(f"cannot parse {p}: {_yaml_error(exc)}") from None
    except tomllib.TOMLDecodeError as exc:
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
