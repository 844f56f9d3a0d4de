"""Bit error rates per data type, from a configuration's partitions and their technology models.

This is the one place where the accuracy harness learns what the memory does to the bits it stores: the same
config file drives the simulator (latency/energy) and the harness (error rates).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from archsim.datatypes import DataType

from .base import BankCharacteristics, BankGeometry, characterize
from .ecc import apply_secded, physical_capacity_bytes, physical_word_bits


@dataclass(frozen=True)
class BitErrorRates:
    """Per-bit error probabilities of one data type's storage, and the number format it is stored in."""

    read_ber: float = 0.0        # per bit per read
    write_ber_0to1: float = 0.0  # per bit that a write switches 0 -> 1
    write_ber_1to0: float = 0.0  # per bit that a write switches 1 -> 0
    format: str = "fp32"
    technology: str = ""

    @property
    def write_ber(self) -> float:
        return 0.5 * (self.write_ber_0to1 + self.write_ber_1to0)

    def as_dict(self) -> dict:
        return {**asdict(self), "write_ber": self.write_ber}


def bank_characteristics(partition) -> BankCharacteristics:
    """Characterise one bank of a :class:`~archsim.config.PartitionConfig` (data view: with ``ecc``, the array is
    characterised at its ECC-widened geometry and the codec and residual error rates are applied; see
    archsim.memory.ecc)."""
    if partition.ecc == "none":
        return characterize(partition.technology, BankGeometry(partition.bank_bytes, partition.word_bits),
                            partition.options)
    k = partition.ecc_data_bits
    phys = characterize(partition.technology, BankGeometry(physical_capacity_bytes(partition.bank_bytes, k),
                                                           physical_word_bits(partition.word_bits, k)),
                        partition.options)
    return apply_secded(phys, partition.bank_bytes, partition.word_bits, k,
                        float(partition.options.get("changed_bit_fraction", 0.5)))


def datatype_error_rates(cfg) -> dict[DataType, BitErrorRates]:
    """Error rates of every data type's partition in a :class:`~archsim.config.SimConfig`."""
    out = {}
    for dt, part in cfg.scratchpad.partitions.items():
        ch = bank_characteristics(part)
        out[dt] = BitErrorRates(ch.read_ber, ch.write_ber_0to1, ch.write_ber_1to0, part.format, ch.technology)
    return out
