"""Memory scenarios on a whole config: every partition moved to another technology at iso-capacity or iso-area.

The SRAM configuration is the baseline; ``iso-capacity`` keeps each partition's bytes (MRAM is then smaller),
``iso-area`` keeps each partition's silicon area (MRAM then holds density-ratio times the bytes, rounded to whole
banks). The density ratio comes from the bank models (archsim.memory.scenario), not from a constant.
"""
from __future__ import annotations

from archsim.memory.rates import bank_characteristics
from archsim.memory.scenario import PartitionGeometry, iso_area, iso_capacity

SCENARIOS = ("iso-capacity", "iso-area")
MEMORIES = {"sram": "sram", "mram": "sttmram", "sttmram": "sttmram"}


def _raise_located(model, dt, partition: dict) -> None:
    """Validate the converted partition; if that fails, raise its errors located at
    ``scratchpad.partitions.<dt>...`` (e.g. ``...options.write_voltage_v``) with the allowed range."""
    from pydantic import ValidationError
    from pydantic_core import PydanticCustomError

    from .models import PartitionConfig

    try:
        PartitionConfig.model_validate(partition)
    except ValidationError as exc:
        key = getattr(dt, "value", dt)
        raise ValidationError.from_exception_data(model.__name__, [
            {"type": PydanticCustomError(e["type"], "{message}", {"message": e["msg"]}),
             "loc": ("scratchpad", "partitions", key, *e["loc"]), "input": e["input"]}
            for e in exc.errors()]) from None


def apply_memory(cfg, memory: str, scenario: str = "iso-capacity", options: dict | None = None,
                 datatypes=None, ecc: str | None = None):
    """Return ``cfg`` with the partitions of ``datatypes`` (default: all) in ``memory`` under ``scenario``;
    ``ecc`` ("none" / "secded") sets the converted partitions' error correction (default: keep each one's).

    Iso-area compares whole banks as characterised (archsim.memory.rates.bank_characteristics), so ECC's extra
    check-bit cells on either side count against the area."""
    if memory not in MEMORIES:
        raise ValueError(f"--memory: unknown memory {memory!r}; allowed: {', '.join(MEMORIES)}")
    if scenario not in SCENARIOS:
        raise ValueError(f"--scenario: unknown scenario {scenario!r}; allowed: {', '.join(SCENARIOS)}")
    tech = MEMORIES[memory]
    data = cfg.model_dump()
    parts = data["scratchpad"]["partitions"]
    for dt, p in cfg.scratchpad.partitions.items():
        if datatypes is not None and dt not in datatypes:
            continue
        new_ecc = ecc if ecc is not None else p.ecc
        if tech == "sram":
            parts[dt] = {**parts[dt], "technology": "sram", "options": {}, "ecc": new_ecc}
            continue
        base = PartitionGeometry(p.capacity_bytes, p.n_banks, p.word_bits)
        sram_opts = p.options if p.technology == "sram" else None
        mram_opts = dict(options or (p.options if p.technology == tech else {}))
        try:
            if scenario == "iso-area":
                mram_part = p.model_copy(update={"technology": tech, "options": mram_opts, "ecc": new_ecc})
                ratio = bank_characteristics(p).area_mm2 / bank_characteristics(mram_part).area_mm2
                geo = iso_area(base, sram_opts, mram_opts, mram=tech, ratio=ratio)
            else:
                geo = iso_capacity(base, sram_opts, mram_opts, mram=tech)
        except ValueError:  # bad MRAM options (a ValidationError or DeviceError naming no config field)
            _raise_located(type(cfg), dt, {**parts[dt], "technology": tech, "options": mram_opts, "ecc": new_ecc})
            raise
        parts[dt] = {**parts[dt], "technology": tech, "options": mram_opts, "ecc": new_ecc,
                     "capacity_kib": geo.capacity_bytes // 1024, "n_banks": geo.n_banks}
    return type(cfg).model_validate(data)
