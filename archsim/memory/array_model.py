"""Shared NVSim-class array model for the SRAM and STT-MRAM banks (pure: no SimPy, no torch).

A bank is a grid of subarrays ("mats") of ``SUBARRAY_ROWS x SUBARRAY_COLS`` cells. Each subarray carries
pitch-matched periphery: row decoder / wordline drivers along one edge, sense amplifiers, column mux, precharge and
write drivers along the other. The subarrays are joined by an H-tree that carries address in and data out. This is
the organisation of NVSim (Dong, Xu, Xie, Jouppi, IEEE TCAD 31(7):994-1007, 2012) and CACTI (Muralimanohar,
Balasubramonian, Jouppi, MICRO 2007 / HPL-2009-85); archsim keeps one closed form per quantity (docs/memory.md):

  area      A = N_bits (a_cell + a_per / d) F^2                 d = 512, or sqrt(N_bits) below one subarray
  edge      S = sqrt(A)
  latency   t = t_local + tau_g S                               (repeated H-tree: delay linear in its length)
  energy    E = W e_local + e_g W S                             (W = word bits; H-tree energy ~ bus width x length)
  leakage   P = N_bits p_cell (F/F0) + rho A_periphery (F0/F)   (cells + periphery transistor width)

The constants that are not technology-specific (tau_g, e_g, rho) are *derived here, in code,* from the published
NVMExplorer/NVSim characterisations below (22 nm, LOP devices, 350 K, 64-bit word, ReadEDP-optimised), so the
calibration can be re-checked by anyone: tau_g and e_g from the SRAM 1 MB -> 2 MB change, rho from the STT 1 MB
array whose cells do not leak. Technology-specific local terms are derived in sram.py / sttmram.py the same way.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import Field

from .base import TechnologyOptions

#: node at which the calibration data were produced, nm. [read] NVMExplorer CSVs, column ProcessNode = 22.
REFERENCE_FEATURE_NM = 22.0
#: subarray (mat) size in cells. [assumption] archsim's fixed organisation, the middle of the 256-1024 range that
#: NVSim/CACTI organisation searches settle on for MB-class arrays; the published arrays' own organisation is not
#: in their output files, so the per-row/column periphery areas below are calibrated *for this size*.
SUBARRAY_ROWS = 512
SUBARRAY_COLS = 512
BITS_PER_MB = 8 * 1024 * 1024


@dataclass(frozen=True)
class Reference:
    """One published array characterisation (per bank; energies per access of ``word_bits``)."""

    name: str
    capacity_mb: float
    word_bits: int
    cell_area_f2: float
    area_mm2: float
    read_latency_ns: float
    write_latency_ns: float
    read_energy_pj: float
    write_energy_pj: float
    leakage_mw: float
    cell_write_pulse_ns: float = 0.0
    cell_write_energy_pj: float = 0.0
    source: str = ""


_NVMX_TUTORIAL = "NVMExplorer (Pentecost et al., arXiv 2109.01188) lpentecost/NVMExplorer:EducationalTutorial/"
_NVMX_AE = "NVMExplorer (Pentecost et al., arXiv 2109.01188) lpentecost/NVMExplorer:AE_dnn_output/"

#: NVSim-via-NVMExplorer characterisations at 22 nm, LOP, 350 K, 64-bit words, ReadEDP target. [read]
NVMX_SRAM_1MB = Reference("SRAM 1 MB", 1, 64, 146, 0.654296934, 4.334, 4.329, 1.031, 16.919, 28.173,
                          source=_NVMX_TUTORIAL + "SRAM_1BPC-combined.csv")
NVMX_SRAM_2MB = Reference("SRAM 2 MB", 2, 64, 146, 1.309, 4.68, 4.68, 1.13, 17.0, 56.3,
                          source=_NVMX_AE + "SRAM_1BPC-combined.csv (ReadEDP rows)")
#: STT default cell: 54 F^2, R 3k/6k ohm, read 0.25 V, set/reset 80 uA / 10 ns / 1 pJ (NVSim sample_STTRAM.cell).
NVMX_STT_1MB = Reference("STT 1 MB (54 F^2, 10 ns / 1 pJ cell)", 1, 64, 54, 0.244130564, 0.971344, 10.967, 3.788,
                         68.267, 2.097, cell_write_pulse_ns=10.0, cell_write_energy_pj=1.0,
                         source=_NVMX_TUTORIAL + "STT_1BPC-combined.csv")
#: survey "tentpole" cells (nvmexplorer_src/tentpoles.py): validation only, not calibration (NVSim re-optimises the
#: organisation per cell, so periphery and leakage differ a lot between these rows).
NVMX_STT_2MB_BEST = Reference("STT 2 MB best (14 F^2, 2 ns / 0.6 pJ)", 2, 64, 14, 0.220, 0.59, 2.45, 4.37, 43.5,
                              22.0, cell_write_pulse_ns=2.0, cell_write_energy_pj=0.6,
                              source=_NVMX_AE + "STT_1BPC-combined.csv (ReadEDP rows)")
NVMX_STT_2MB_WORST = Reference("STT 2 MB worst (75 F^2, 200 ns / 4.5 pJ)", 2, 64, 75, 0.720, 0.89, 200.6, 7.45,
                               295.0, 12.1, cell_write_pulse_ns=200.0, cell_write_energy_pj=4.5,
                               source=_NVMX_AE + "STT_1BPC-combined.csv (ReadEDP rows)")
REFERENCES = (NVMX_SRAM_1MB, NVMX_SRAM_2MB, NVMX_STT_1MB, NVMX_STT_2MB_BEST, NVMX_STT_2MB_WORST)


# --------------------------------------------------------------------------------------------------- geometry
def periphery_per_bit_f2(periphery_f2_per_rowcol: float, n_bits: float) -> float:
    """Periphery area per bit, F^2. A subarray of r rows x c cols carries r row drivers and c column circuits, each
    of ``periphery_f2_per_rowcol``/2 on average: per bit that is a_per (r + c) / (2 r c) = a_per / d for a square
    d x d subarray. Banks smaller than one subarray use a single square subarray of side sqrt(N_bits)."""
    d = min(float(SUBARRAY_ROWS), math.sqrt(max(n_bits, 1.0)))
    return periphery_f2_per_rowcol / d


@dataclass(frozen=True)
class ArrayGeometry:
    """Physical layout of one bank as the array model sees it."""

    n_bits: int
    feature_nm: float
    cell_area_mm2: float
    periphery_area_mm2: float

    @property
    def area_mm2(self) -> float:
        return self.cell_area_mm2 + self.periphery_area_mm2

    @property
    def edge_mm(self) -> float:
        """Side of the (square) bank: the H-tree's root-to-leaf path length scales with it."""
        return math.sqrt(self.area_mm2)

    @property
    def n_subarrays(self) -> float:
        return max(1.0, self.n_bits / (SUBARRAY_ROWS * SUBARRAY_COLS))

    @property
    def efficiency(self) -> float:
        return self.cell_area_mm2 / self.area_mm2


def layout(capacity_bytes: int, cell_area_f2: float, periphery_f2_per_rowcol: float, feature_nm: float
           ) -> ArrayGeometry:
    n_bits = 8 * int(capacity_bytes)
    f2_mm2 = (feature_nm * 1e-6) ** 2  # one F^2 in mm^2
    cell = n_bits * cell_area_f2 * f2_mm2
    per = n_bits * periphery_per_bit_f2(periphery_f2_per_rowcol, n_bits) * f2_mm2
    return ArrayGeometry(n_bits=n_bits, feature_nm=feature_nm, cell_area_mm2=cell, periphery_area_mm2=per)


def calibrate_periphery_f2(ref: Reference) -> float:
    """Per-row+column periphery area (F^2) that reproduces ``ref.area_mm2`` at the reference node:
    A / (N F^2) = a_cell + a_per / 512  ->  a_per = 512 (A / (N F^2) - a_cell)."""
    n_bits = ref.capacity_mb * BITS_PER_MB
    f2_mm2 = (REFERENCE_FEATURE_NM * 1e-6) ** 2
    per_bit_f2 = ref.area_mm2 / (n_bits * f2_mm2) - ref.cell_area_f2
    return per_bit_f2 * min(float(SUBARRAY_ROWS), math.sqrt(n_bits))


#: per-row+column periphery area, F^2 [derived] from the 1 MB areas above (SRAM ~7.8e3 F^2, STT ~3.1e3 F^2).
SRAM_PERIPHERY_F2 = calibrate_periphery_f2(NVMX_SRAM_1MB)
STT_PERIPHERY_F2 = calibrate_periphery_f2(NVMX_STT_1MB)


def _ref_edge_mm(ref: Reference, periphery_f2: float) -> float:
    geo = layout(int(ref.capacity_mb * BITS_PER_MB // 8), ref.cell_area_f2, periphery_f2, REFERENCE_FEATURE_NM)
    return geo.edge_mm


# ------------------------------------------------------------------------------------------- global H-tree
_S1 = _ref_edge_mm(NVMX_SRAM_1MB, SRAM_PERIPHERY_F2)
_S2 = _ref_edge_mm(NVMX_SRAM_2MB, SRAM_PERIPHERY_F2)
#: effective H-tree delay per mm of bank edge, ns/mm. [derived] SRAM 1 MB -> 2 MB read latency change
#: (4.334 -> 4.68 ns) over the change in bank edge (0.809 -> 1.144 mm): ~1.03 ns/mm. Much slower than an optimally
#: repeated 22 nm wire (tens of ps/mm, Ho, Mai, Horowitz, Proc. IEEE 89(4), 2001) because NVMExplorer's arrays use
#: LOP drivers and unrepeated ("RepeatedNone") global wires; it also absorbs the growth of the decoder.
GLOBAL_DELAY_NS_PER_MM = (NVMX_SRAM_2MB.read_latency_ns - NVMX_SRAM_1MB.read_latency_ns) / (_S2 - _S1)
#: effective H-tree energy per word bit per mm of bank edge, fJ/(bit mm). [derived] SRAM 1 -> 2 MB read energy
#: change (1.031 -> 1.13 pJ per 64-bit read): ~4.6 fJ/(bit mm). A full-swing wire at 0.2 fF/um and 0.8 V would be
#: ~128 fJ/(bit mm) (C V^2; CACTI-class wire capacitance) -- NVSim's ReadEDP arrays are far more frugal; set
#: ``global_wire_energy_fj_per_bit_mm`` to study that sensitivity.
GLOBAL_ENERGY_FJ_PER_BIT_MM = ((NVMX_SRAM_2MB.read_energy_pj - NVMX_SRAM_1MB.read_energy_pj) * 1e3
                               / (NVMX_SRAM_1MB.word_bits * (_S2 - _S1)))
#: periphery leakage per mm^2 of periphery at 22 nm LOP, 350 K, mW/mm^2. [derived] all of the STT 1 MB array's
#: 2.097 mW leaks in its periphery (the MTJ cells are non-volatile and draw no standby current): 2.097 mW over the
#: 0.0249 mm^2 of periphery the area calibration gives (~84 mW/mm^2).
PERIPHERY_LEAKAGE_MW_PER_MM2 = NVMX_STT_1MB.leakage_mw / layout(
    BITS_PER_MB // 8, NVMX_STT_1MB.cell_area_f2, STT_PERIPHERY_F2, REFERENCE_FEATURE_NM).periphery_area_mm2


class ArrayOptions(TechnologyOptions):
    """Options every array-based technology shares (feature size, global-wire constants)."""

    feature_size_nm: float = Field(
        REFERENCE_FEATURE_NM, ge=7.0, le=90.0,
        description="technology node F, nm. Geometry scales with F^2; leakage and local energies are the 22 nm "
        "calibration scaled to first order (see docs/memory.md). Default 22 nm, the calibration node.")
    global_wire_delay_ns_per_mm: float = Field(
        GLOBAL_DELAY_NS_PER_MM, gt=0.0, le=100.0,
        description="H-tree delay per mm of bank edge, ns/mm (default derived from NVMExplorer SRAM 1->2 MB)")
    global_wire_energy_fj_per_bit_mm: float = Field(
        GLOBAL_ENERGY_FJ_PER_BIT_MM, ge=0.0, le=10000.0,
        description="H-tree energy per word bit per mm of bank edge, fJ (default derived from NVMExplorer SRAM "
        "1->2 MB; ~128 for a full-swing 0.2 fF/um wire at 0.8 V)")


@dataclass(frozen=True)
class GlobalPath:
    delay_ns: float
    energy_pj: float


def global_path(geo: ArrayGeometry, word_bits: int, options: ArrayOptions) -> GlobalPath:
    """H-tree from the bank port to the farthest subarray and back: delay ~ S, energy ~ W S."""
    s = geo.edge_mm
    return GlobalPath(delay_ns=options.global_wire_delay_ns_per_mm * s,
                      energy_pj=options.global_wire_energy_fj_per_bit_mm * 1e-3 * word_bits * s)


def reference_global_path(ref: Reference, periphery_f2: float) -> GlobalPath:
    """The global path of a published array under the default constants (used to split it into local + global)."""
    s = _ref_edge_mm(ref, periphery_f2)
    return GlobalPath(delay_ns=GLOBAL_DELAY_NS_PER_MM * s,
                      energy_pj=GLOBAL_ENERGY_FJ_PER_BIT_MM * 1e-3 * ref.word_bits * s)


def periphery_leakage_mw(geo: ArrayGeometry) -> float:
    """Leakage of the CMOS periphery: proportional to its total transistor width, i.e. area / F."""
    return PERIPHERY_LEAKAGE_MW_PER_MM2 * geo.periphery_area_mm2 * (REFERENCE_FEATURE_NM / geo.feature_nm)


def node_scale(feature_nm: float) -> float:
    """First-order scaling of switched capacitance (local energies) and cell leakage with the node: ~ F."""
    return feature_nm / REFERENCE_FEATURE_NM
