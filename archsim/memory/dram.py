"""Off-chip DRAM cost model (pure): bandwidth, latency and energy per bit, by preset with per-field overrides.

Presets (sources in docs/energy.md):
* ``ddr4-2400``: 2 x 64-bit channels at 2400 MT/s = 19.2 GB/s each (JEDEC JESD79-4); 13.8 pJ/bit read, 19.8 pJ/bit
  write including activate/precharge/refresh/background, from a DRAMPower-style calculation with Micron 8 Gb x8
  DDR4-2400 IDD values (Ramulator/DRAMPower methodology, tabulated in github.com/Dongyunkam/DRAM_info sec. 5.5).
* ``lpddr4-3200``: 4 x 16-bit channels at 3200 MT/s = 6.4 GB/s each (JEDEC JESD209-4); ~13.5 pJ/bit (13-14 pJ/bit
  reported for LPDDR4 devices by DramDSE simulations, same compilation, sec. 4).
* ``hbm2``: one stack, 8 x 128-bit channels at 2 Gb/s/pin = 32 GB/s each (JEDEC JESD235A); 7 pJ/bit (HyGCN, Yan et
  al., HPCA 2020, which assumes 7 pJ/bit for HBM).
Latencies are typical loaded access latencies (row miss + controller), archsim's assumption, see docs/energy.md.
"""
from __future__ import annotations

from dataclasses import dataclass

PRESETS = {
    "ddr4-2400": dict(channels=2, bandwidth_gbps_per_channel=19.2, latency_ns=60.0,
                      read_energy_pj_per_bit=13.8, write_energy_pj_per_bit=19.8),
    "lpddr4-3200": dict(channels=4, bandwidth_gbps_per_channel=6.4, latency_ns=80.0,
                        read_energy_pj_per_bit=13.5, write_energy_pj_per_bit=13.5),
    "hbm2": dict(channels=8, bandwidth_gbps_per_channel=32.0, latency_ns=100.0,
                 read_energy_pj_per_bit=7.0, write_energy_pj_per_bit=7.0),
}


@dataclass(frozen=True)
class DRAMModel:
    preset: str
    channels: int
    bandwidth_gbps_per_channel: float
    latency_ns: float
    read_energy_pj_per_bit: float
    write_energy_pj_per_bit: float

    @property
    def bandwidth_gbps(self) -> float:
        return self.channels * self.bandwidth_gbps_per_channel

    def read_energy_pj(self, nbytes: float) -> float:
        return nbytes * 8 * self.read_energy_pj_per_bit

    def write_energy_pj(self, nbytes: float) -> float:
        return nbytes * 8 * self.write_energy_pj_per_bit

    def bytes_per_cycle_per_channel(self, frequency_ghz: float) -> float:
        return self.bandwidth_gbps_per_channel / frequency_ghz


def dram_model(cfg) -> DRAMModel:
    """Build the model from a :class:`~archsim.config.DRAMConfig` (preset values, then any given overrides)."""
    base = dict(PRESETS[cfg.preset])
    for k in base:
        v = getattr(cfg, k, None)
        if v is not None:
            base[k] = v
    return DRAMModel(preset=cfg.preset, **base)
