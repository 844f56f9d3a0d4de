"""Memory scenarios on a whole config: every partition moved to another technology at iso-capacity or iso-area.

The SRAM configuration is the baseline; ``iso-capacity`` keeps each partition's bytes (MRAM is then smaller),
``iso-area`` keeps each partition's silicon area (MRAM then holds density-ratio times the bytes, rounded to whole
banks). The density ratio comes from the bank models (archsim.memory.scenario), not from a constant.
"""
from __future__ import annotations

from archsim.memory.scenario import PartitionGeometry, iso_area, iso_capacity

SCENARIOS = ("iso-capacity", "iso-area")
MEMORIES = {"sram": "sram", "mram": "sttmram", "sttmram": "sttmram"}


def apply_memory(cfg, memory: str, scenario: str = "iso-capacity", options: dict | None = None,
                 datatypes=None):
    """Return ``cfg`` with the partitions of ``datatypes`` (default: all) in ``memory`` under ``scenario``."""
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
        if tech == "sram":
            parts[dt] = {**parts[dt], "technology": "sram", "options": {}}
            continue
        base = PartitionGeometry(p.capacity_bytes, p.n_banks, p.word_bits)
        sram_opts = p.options if p.technology == "sram" else None
        mram_opts = dict(options or (p.options if p.technology == tech else {}))
        geo = (iso_area if scenario == "iso-area" else iso_capacity)(base, sram_opts, mram_opts, mram=tech)
        parts[dt] = {**parts[dt], "technology": tech, "options": mram_opts,
                     "capacity_kib": geo.capacity_bytes // 1024, "n_banks": geo.n_banks}
    return type(cfg).model_validate(data)
