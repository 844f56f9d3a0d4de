"""SRAM -> STT-MRAM replacement scenarios (pure functions): density ratio, iso-capacity, iso-area.

* ``density_ratio``: area(SRAM bank) / area(MRAM bank) at equal capacity and word width, from the full bank models
  (cells *and* periphery), so it is below the bare cell-area ratio (146/54 = 2.70) by the periphery each carries.
* ``iso_capacity``: the MRAM partition holds the same bytes in the same banks.
* ``iso_area``: the MRAM partition fills the SRAM partition's silicon area. archsim keeps the *bank size* and adds
  banks: n_mram = round(n_sram x ratio), ratio evaluated at the bank capacity, so that the total MRAM area
  n_mram x A_mram(bank) equals n_sram x A_sram(bank) to within half a bank, and every bank keeps the latency and
  energy characterised for that bank size. Total capacity = sram capacity x ratio, to within half a bank.
"""
from __future__ import annotations

from dataclasses import dataclass

from .base import BankGeometry, TechnologyOptions, characterize, technology


@dataclass(frozen=True)
class PartitionGeometry:
    """A scratchpad partition as the scenarios see it: total bytes split into equal banks of ``word_bits`` words."""

    capacity_bytes: int
    n_banks: int
    word_bits: int = 64

    def __post_init__(self):
        if self.n_banks < 1:
            raise ValueError(f"n_banks must be >= 1, got {self.n_banks}")
        if self.word_bits <= 0 or self.word_bits % 8:
            raise ValueError(f"word_bits must be a positive multiple of 8, got {self.word_bits}")
        if self.capacity_bytes <= 0 or self.capacity_bytes % self.n_banks:
            raise ValueError(f"capacity_bytes={self.capacity_bytes} does not split into n_banks={self.n_banks} "
                             "equal banks")
        if self.bank_bytes < self.word_bits // 8:
            raise ValueError(f"a bank of {self.bank_bytes} B is smaller than one {self.word_bits}-bit word")

    @property
    def bank_bytes(self) -> int:
        return self.capacity_bytes // self.n_banks

    @property
    def bank(self) -> BankGeometry:
        return BankGeometry(capacity_bytes=self.bank_bytes, word_bits=self.word_bits)


OptionsLike = dict | TechnologyOptions | None


def density_ratio(sram_options: OptionsLike = None, mram_options: OptionsLike = None, capacity_bytes: int = 1 << 20,
                  word_bits: int = 64, sram: str = "sram", mram: str = "sttmram") -> float:
    """area(``sram`` bank) / area(``mram`` bank) for one bank of ``capacity_bytes`` with ``word_bits`` words."""
    geo = BankGeometry(capacity_bytes=capacity_bytes, word_bits=word_bits)
    a_s = characterize(sram, geo, sram_options).area_mm2
    a_m = characterize(mram, geo, mram_options).area_mm2
    return a_s / a_m


def partition_area_mm2(part: PartitionGeometry, tech: str, options: OptionsLike = None) -> float:
    return part.n_banks * characterize(tech, part.bank, options).area_mm2


def iso_capacity(sram_part: PartitionGeometry, sram_options: OptionsLike = None, mram_options: OptionsLike = None,
                 mram: str = "sttmram") -> PartitionGeometry:
    """Same bytes, banks and word width. (Options are validated so a bad MRAM option fails here, not later.)"""
    technology("sram").options(sram_options)
    technology(mram).options(mram_options)
    return PartitionGeometry(sram_part.capacity_bytes, sram_part.n_banks, sram_part.word_bits)


def iso_area(sram_part: PartitionGeometry, sram_options: OptionsLike = None, mram_options: OptionsLike = None,
             mram: str = "sttmram", ratio: float | None = None) -> PartitionGeometry:
    """Same silicon area: keep the bank size and word width, n_banks -> max(1, round(n_banks x ratio)).

    ``ratio``: the bank area ratio when the caller has it (e.g. with ECC on either side); default
    :func:`density_ratio` of the two technologies."""
    if ratio is None:
        ratio = density_ratio(sram_options, mram_options, sram_part.bank_bytes, sram_part.word_bits, mram=mram)
    elif not ratio > 0:
        raise ValueError(f"area ratio must be > 0, got {ratio}")
    n = max(1, round(sram_part.n_banks * ratio))
    return PartitionGeometry(n * sram_part.bank_bytes, n, sram_part.word_bits)
