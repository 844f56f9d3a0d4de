"""Parsing of the accuracy command's textual options into typed objects (kept out of the thin CLI module)."""
from __future__ import annotations

from archsim.datatypes import DataType

from .formats import FORMATS
from .policy import ErrorPolicy

_BY_NAME = {**{d.value: d for d in DataType}, **{d.short: d for d in DataType},
            "activations": DataType.ACTIVATION, "weights": DataType.WEIGHT, "errors": DataType.ERROR,
            "gradient": DataType.ERROR, "wgrad": DataType.WEIGHT_GRADIENT, "optimizer": DataType.OPTIMIZER_STATE}
_KINDS = {"write": ("write_ber_0to1", "write_ber_1to0"), "read": ("read_ber",), "0to1": ("write_ber_0to1",),
          "1to0": ("write_ber_1to0",)}


def parse_datatype(text: str) -> DataType:
    key = text.strip().lower().replace("-", "_")
    if key not in _BY_NAME:
        raise ValueError(f"unknown data type {text!r}; allowed: {', '.join(d.value for d in DataType)} "
                         f"(or {', '.join(d.short for d in DataType)})")
    return _BY_NAME[key]


def parse_rate(text: str, what: str = "rate") -> float:
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{what} {v} outside the allowed range [0, 1]")
    return v


def parse_inject(spec: str) -> tuple[DataType, tuple[str, ...], float]:
    """``DT=RATE`` (both write directions), ``DT:read=RATE``, ``DT:write=RATE``, ``DT:0to1=RATE``, ``DT:1to0=RATE``."""
    if "=" not in spec:
        raise ValueError(f"--inject {spec!r}: expected DATATYPE[:KIND]=RATE, e.g. weight=1e-4 or activation:read=1e-5")
    lhs, rhs = spec.split("=", 1)
    dt_txt, _, kind = lhs.partition(":")
    kind = kind.strip().lower() or "write"
    if kind not in _KINDS:
        raise ValueError(f"--inject {spec!r}: unknown kind {kind!r}; allowed: {', '.join(_KINDS)}")
    return parse_datatype(dt_txt), _KINDS[kind], parse_rate(rhs, f"--inject {spec!r}: rate")


def parse_format(spec: str) -> tuple[DataType | None, str]:
    """``FMT`` (every data type) or ``DT=FMT``."""
    dt_txt, _, fmt = spec.rpartition("=")
    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise ValueError(f"--format {spec!r}: unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
    return (parse_datatype(dt_txt) if dt_txt else None), fmt


def build_policy(config_path: str | None = None, injects=(), formats=(), datatypes=None,
                 write_model: str = "directional", fresh_old: str = "previous",
                 int8_scale: float | None = None) -> ErrorPolicy:
    """Config rates (through the bank models) <- explicit ``--inject`` rates <- ``--format``; then ``--datatypes``
    switches off every data type not named."""
    if config_path:
        from archsim.config import load_config

        pol = ErrorPolicy.from_config(load_config(config_path), write_model, fresh_old_contents=fresh_old)
    else:
        pol = ErrorPolicy(fresh_old_contents=fresh_old)
    pol = pol.model_copy(update={"datatypes": {dt: m.model_copy(update={"write_model": write_model})
                                               for dt, m in pol.datatypes.items()}})
    injected = {}  # data type -> the first --inject that named it
    for spec in injects:
        dt, fields, rate = parse_inject(spec)
        injected.setdefault(dt, spec)
        pol = pol.with_rates(dt, write_model=write_model, **{f: rate for f in fields})
    for spec in formats:
        dt, fmt = parse_format(spec)
        for d in ([dt] if dt else list(DataType)):
            pol = pol.with_rates(d, format=fmt)
    if int8_scale is not None:
        for d in list(pol.datatypes):
            pol = pol.with_rates(d, int8_scale=int8_scale)
    if datatypes:
        keep = [parse_datatype(d) for d in datatypes]
        for dt, spec in injected.items():
            if dt not in keep:
                raise ValueError(f"--inject {spec!r}: {dt.value} is not among --datatypes "
                                 f"({', '.join(d.value for d in keep)}), so the rate would be ignored")
        pol = pol.only(keep)
    return pol


def format_map(formats=()) -> dict[DataType, str]:
    out: dict[DataType, str] = {}
    for spec in formats:
        dt, fmt = parse_format(spec)
        for d in ([dt] if dt else list(DataType)):
            out[d] = fmt
    return out
