"""6T SRAM bank: the shared array model (array_model.py) with SRAM's cell, periphery and local terms.

Calibration (22 nm LOP, 350 K, 64-bit words): NVMExplorer's 1 MB SRAM array (NVSim, ReadEDP target), cell file
NVSim ``SRAM.cell`` / NVMExplorer ``data/cell_cfgs/SRAM.cell`` (146 F^2). Equations in docs/memory.md.
"""
from __future__ import annotations

import math

from pydantic import Field

from . import array_model as am
from .base import BankCharacteristics, BankGeometry, MemoryTechnology

_REF = am.NVMX_SRAM_1MB
_REF_GLOBAL = am.reference_global_path(_REF, am.SRAM_PERIPHERY_F2)
#: array-local read/write time (decoder, wordline, bitline, sense), ns. [derived] NVMX 1 MB latency minus the
#: H-tree delay the model assigns to a 1 MB bank (~0.84 ns): ~3.49 ns; dominated by LOP bitline discharge.
LOCAL_READ_NS = _REF.read_latency_ns - _REF_GLOBAL.delay_ns
LOCAL_WRITE_NS = _REF.write_latency_ns - _REF_GLOBAL.delay_ns
#: array-local energy per word bit (bitline swing of the selected columns, sense amps / write drivers), pJ.
#: [derived] NVMX 1 MB energies minus the H-tree share, divided by 64 bits. Writes swing the bitlines fully, reads
#: only by the sense margin, hence write >> read (16.9 vs 1.03 pJ per 64-bit access in NVMExplorer).
LOCAL_READ_PJ_PER_BIT = (_REF.read_energy_pj - _REF_GLOBAL.energy_pj) / _REF.word_bits
LOCAL_WRITE_PJ_PER_BIT = (_REF.write_energy_pj - _REF_GLOBAL.energy_pj) / _REF.word_bits
_REF_GEO = am.layout(int(_REF.capacity_mb * am.BITS_PER_MB // 8), _REF.cell_area_f2, am.SRAM_PERIPHERY_F2,
                     am.REFERENCE_FEATURE_NM)
#: standby leakage of one 6T cell at 22 nm LOP, 350 K, nW. [derived] NVMX 1 MB leakage (28.17 mW) minus the
#: periphery leakage the shared model gives (~5.2 mW), over 8 Mib cells: ~2.7 nW/cell.
CELL_LEAKAGE_NW = (_REF.leakage_mw - am.periphery_leakage_mw(_REF_GEO)) / _REF_GEO.n_bits * 1e6


class SRAMOptions(am.ArrayOptions):
    cell_area_f2: float = Field(
        146.0, ge=50.0, le=400.0,
        description="6T cell area, F^2 ([read] 146 F^2 NVSim SRAM.cell / NVMExplorer data/cell_cfgs/SRAM.cell)")
    cell_leakage_nw: float = Field(
        CELL_LEAKAGE_NW, ge=0.0, le=1000.0,
        description="standby leakage per cell at 22 nm, nW (default derived from NVMExplorer 1 MB, LOP, 350 K); "
        "raise it for HP devices or a hotter die")


class SRAM(MemoryTechnology):
    name = "sram"
    description = "6T SRAM bank, NVSim-class array model calibrated to NVMExplorer 22 nm (1 MB)"
    Options = SRAMOptions
    strict_options = True

    def characterize(self, geometry: BankGeometry, options: SRAMOptions) -> BankCharacteristics:
        geo = am.layout(geometry.capacity_bytes, options.cell_area_f2, am.SRAM_PERIPHERY_F2, options.feature_size_nm)
        glob = am.global_path(geo, geometry.word_bits, options)
        k = am.node_scale(options.feature_size_nm)
        w = geometry.word_bits
        leak = geo.n_bits * options.cell_leakage_nw * 1e-6 * k + am.periphery_leakage_mw(geo)
        return BankCharacteristics(
            technology=self.name, capacity_bytes=geometry.capacity_bytes, word_bits=w,
            read_latency_ns=LOCAL_READ_NS + glob.delay_ns, write_latency_ns=LOCAL_WRITE_NS + glob.delay_ns,
            read_energy_pj=w * LOCAL_READ_PJ_PER_BIT * k + glob.energy_pj,
            write_energy_pj=w * LOCAL_WRITE_PJ_PER_BIT * k + glob.energy_pj,
            leakage_mw=leak, area_mm2=geo.area_mm2, read_ber=0.0, write_ber_0to1=0.0, write_ber_1to0=0.0,
            retention_s=math.inf,
            source=f"archsim SRAM array model ({options.cell_area_f2:g} F^2, {options.feature_size_nm:g} nm), "
                   "calibrated to NVMExplorer/NVSim 22 nm 1 MB")
