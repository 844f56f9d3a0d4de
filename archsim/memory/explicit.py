"""A technology whose numbers the user types in: for what-if studies and for numbers from another tool
(NVSim/NVMExplorer/CACTI output, a macro datasheet). Every field is per bank and per access of one word."""
from __future__ import annotations

import math

from pydantic import Field

from .base import BankCharacteristics, BankGeometry, MemoryTechnology, TechnologyOptions


class ExplicitOptions(TechnologyOptions):
    read_latency_ns: float = Field(gt=0, le=1e6)
    write_latency_ns: float = Field(gt=0, le=1e6)
    read_energy_pj: float = Field(ge=0, le=1e6)
    write_energy_pj: float = Field(ge=0, le=1e6)
    leakage_mw: float = Field(ge=0, le=1e6)
    area_mm2: float = Field(ge=0, le=1e6)
    read_ber: float = Field(0.0, ge=0, le=0.5)
    write_ber_0to1: float = Field(0.0, ge=0, le=1)
    write_ber_1to0: float = Field(0.0, ge=0, le=1)
    source: str = "user-supplied"


class ExplicitTechnology(MemoryTechnology):
    name = "explicit"
    description = "numbers given in the config (per bank, per access)"
    Options = ExplicitOptions
    strict_options = True

    def characterize(self, geometry: BankGeometry, options: ExplicitOptions) -> BankCharacteristics:
        return BankCharacteristics(
            technology=self.name, capacity_bytes=geometry.capacity_bytes, word_bits=geometry.word_bits,
            read_latency_ns=options.read_latency_ns, write_latency_ns=options.write_latency_ns,
            read_energy_pj=options.read_energy_pj, write_energy_pj=options.write_energy_pj,
            leakage_mw=options.leakage_mw, area_mm2=options.area_mm2, read_ber=options.read_ber,
            write_ber_0to1=options.write_ber_0to1, write_ber_1to0=options.write_ber_1to0,
            retention_s=math.inf, source=options.source)
