"""1T-1MTJ STT-MRAM bank: the shared array model (array_model.py) plus the MTJ device model (archsim.device.mtj).

What comes from where:
  * area, H-tree delay/energy, periphery leakage: the shared array model with STT's own cell and periphery areas;
  * write latency / energy / BER: the device model at the write operating point (V, t), plus array periphery;
  * read energy / read disturb: the device model at the read point, plus array periphery and a sensing-error term;
  * leakage: periphery only (the MTJ is non-volatile and draws no standby current).
Calibration (22 nm LOP, 350 K, 64-bit words): NVMExplorer's 1 MB STT array built from NVSim's default cell
(54 F^2, 3k/6k ohm, read 0.25 V, set/reset 80 uA / 10 ns / 1 pJ). Equations in docs/memory.md.
Bit convention (archsim-wide): 0 = parallel (P), 1 = antiparallel (AP); a 0->1 write is P->AP.
"""
from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from archsim.device.mtj import (MTJ, NEVER_SWITCHES_WER, READ_VOLTAGE_RANGE_V, VOLTAGE_RANGE_V, DeviceError)
from archsim.device.params import MTJParams, WriteOperatingPoint

from . import array_model as am
from .base import BankCharacteristics, BankGeometry, MemoryTechnology, OptionError

_REF = am.NVMX_STT_1MB
_REF_GLOBAL = am.reference_global_path(_REF, am.STT_PERIPHERY_F2)
#: array-local read time at the calibration point (decode, wordline, current-mode sensing), ns. [derived] NVMX 1 MB
#: read latency 0.971 ns minus the model's H-tree delay for that bank (~0.51 ns): ~0.46 ns. It is also the default
#: read pulse: the read current flows while the wordline is up and the sense amplifier resolves.
LOCAL_READ_NS = _REF.read_latency_ns - _REF_GLOBAL.delay_ns
#: array-local write overhead on top of the cell pulse (decode, driver turn-on), ns. [derived] NVMX 1 MB write
#: latency 10.967 ns minus the cell's 10 ns pulse minus the H-tree delay: ~0.45 ns.
LOCAL_WRITE_NS = _REF.write_latency_ns - _REF.cell_write_pulse_ns - _REF_GLOBAL.delay_ns
#: write periphery energy per word bit (column select, data latches, driver control), pJ. [derived] NVMX 1 MB write
#: energy 68.27 pJ minus 64 x the cell's 1 pJ minus the H-tree share, over 64 bits: ~0.064 pJ/bit. NVSim drives
#: every bit of the word (64 x 1 pJ = 94 % of the array's write energy).
WRITE_PERIPHERY_PJ_PER_BIT = (_REF.write_energy_pj - _REF.word_bits * _REF.cell_write_energy_pj
                              - _REF_GLOBAL.energy_pj) / _REF.word_bits
_REF_READ = MTJ(MTJParams()).read(read_voltage_v=0.25, read_pulse_ns=LOCAL_READ_NS)
#: read periphery energy per word bit (bitline clamp, current-mode sense amplifier, reference), pJ. [derived] NVMX
#: 1 MB read energy 3.79 pJ minus the H-tree share minus the MTJ read energy of the default device at 0.25 V over
#: the read pulse, over 64 bits: ~0.057 pJ/bit (the MTJ itself takes only ~2 fJ of that).
READ_PERIPHERY_PJ_PER_BIT = max(0.0, (_REF.read_energy_pj - _REF_GLOBAL.energy_pj
                                      - _REF.word_bits * _REF_READ.energy_mean_pj) / _REF.word_bits)

_WRITE_DEFAULT = WriteOperatingPoint()


def _q(z: float) -> float:
    """Gaussian upper tail Q(z) = P(N(0,1) > z)."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


#: longest write pulse an option may ask for, ns (1 ms: far beyond any STT-MRAM write; archsim's bound)
MAX_WRITE_PULSE_NS = 1.0e6


class STTMRAMOptions(am.ArrayOptions):
    cell_area_f2: float = Field(
        54.0, ge=6.0, le=200.0,
        description="1T-1MTJ cell area, F^2 ([read] 54 F^2 NVSim sample_STTRAM.cell; published cells span "
        "14-75 F^2, NVMExplorer survey tentpoles; 34.5 F^2 NVSim sample_STTRAM_aggressive.cell)")
    write_voltage_v: float = Field(
        _WRITE_DEFAULT.voltage_v, gt=0.0, le=3.0,
        description="write voltage across access device + MTJ, V ([derived] 1.25 V = 1 pJ/(80 uA x 10 ns), the "
        "NVSim default cell; same default as archsim.device.params.WriteOperatingPoint)")
    write_pulse_ns: float = Field(
        _WRITE_DEFAULT.pulse_ns, gt=0.0, le=MAX_WRITE_PULSE_NS,
        description="write pulse width, ns ([read] 10 ns, NVSim sample_STTRAM.cell)")
    read_voltage_v: float = Field(
        0.25, gt=0.0, le=1.5, description="read voltage, V ([read] 0.25 V, NVSim sample_STTRAM.cell ReadVoltage)")
    read_pulse_ns: float | None = Field(
        None, gt=0.0, le=1000.0,
        description="time the read current flows (wordline up until the sense amplifier latches), ns. None: the "
        f"array-local read time derived from NVMExplorer 1 MB ({LOCAL_READ_NS:.3f} ns)")
    read_current_direction: Literal["p2ap", "ap2p"] = Field(
        "p2ap",
        description="sense in which the read current flows. 'p2ap' (default) can only disturb stored P (0) bits "
        "and P->AP has the higher critical current, so it disturbs least [assumption: designers pick the "
        "less-disturbing sense]; 'ap2p' can only disturb stored AP (1) bits")
    resistance_sigma_frac: float = Field(
        0.05, ge=0.0, le=0.5,
        description="cell-to-cell sigma of MTJ resistance relative to its mean, both states [assumption: 5 %, "
        "archsim's choice; 0 turns sensing errors off]. Sets the sensing error with a mid-point reference")
    write_scheme: Literal["all_bits", "changed_bits"] = Field(
        "all_bits",
        description="'all_bits' (default): every bit of the word is driven, as NVSim models writes; "
        "'changed_bits': read-before-write, only bits whose value changes are driven (costs a read first)")
    changed_bit_fraction: float = Field(
        0.5, ge=0.0, le=1.0,
        description="expected fraction of a word's bits that a write changes (only used by 'changed_bits'); "
        "0.5 = uncorrelated old and new data [assumption]")
    retention_failure_prob: float = Field(
        1e-9, gt=0.0, lt=1.0,
        description="per-bit failure probability that defines retention_s [assumption: 1e-9]")
    mtj: MTJParams = Field(default_factory=MTJParams, description="MTJ device parameters (archsim.device)")

    @model_validator(mode="after")
    def _check(self):
        if self.read_voltage_v >= self.write_voltage_v:
            raise ValueError(f"read_voltage_v={self.read_voltage_v} V must be below write_voltage_v="
                             f"{self.write_voltage_v} V (a read at write voltage is a write)")
        return self

    @property
    def effective_read_pulse_ns(self) -> float:
        return LOCAL_READ_NS if self.read_pulse_ns is None else self.read_pulse_ns


def sensing_error(i_p_ua: float, i_ap_ua: float, r_p_ohm: float, r_ap_ohm: float, r_series_ohm: float,
                  read_voltage_v: float, sigma_frac: float) -> float:
    """Per-bit sensing error for equiprobable data: the sense amplifier compares the cell current with a reference
    midway between the mean P and AP currents; cell resistance varies with relative sigma ``sigma_frac``, so the
    cell current I = V/(R + R_s) has sigma V sigma_R R/(R + R_s)^2 (first order)."""
    if sigma_frac <= 0.0:
        return 0.0
    i_ref = 0.5 * (i_p_ua + i_ap_ua)
    s_p = read_voltage_v * sigma_frac * r_p_ohm / (r_p_ohm + r_series_ohm) ** 2 * 1e6
    s_ap = read_voltage_v * sigma_frac * r_ap_ohm / (r_ap_ohm + r_series_ohm) ** 2 * 1e6
    return 0.5 * (_q((i_p_ua - i_ref) / s_p) + _q((i_ref - i_ap_ua) / s_ap))


class STTMRAM(MemoryTechnology):
    name = "sttmram"
    description = ("1T-1MTJ STT-MRAM bank: NVSim-class array model (NVMExplorer 22 nm, 1 MB) + archsim MTJ "
                   "device model for write energy/latency/BER and read disturb")
    Options = STTMRAMOptions
    strict_options = True

    def check_options(self, options: STTMRAMOptions) -> None:
        """The device model's range, checked when a config is validated, naming the option and its allowed range
        (:meth:`characterize` would raise a :class:`~archsim.device.mtj.DeviceError` naming neither)."""
        try:
            mtj = MTJ(options.mtj)
        except DeviceError as exc:
            raise OptionError("mtj", None, str(exc)) from None
        v, t = options.write_voltage_v, options.write_pulse_ns
        t_hi = MAX_WRITE_PULSE_NS
        t_min = mtj.min_pulse_ns
        if t < t_min:
            raise OptionError("write_pulse_ns", t, f"{t:g} ns is shorter than the MTJ model's validity bound "
                              f"{t_min:.3g} ns (one free-layer precession period); allowed: {t_min:.3g} to "
                              f"{t_hi:g} ns")
        lo, hi = VOLTAGE_RANGE_V
        if not lo <= v <= hi:
            raise OptionError("write_voltage_v", v, f"{v:g} V is outside the MTJ model's range; allowed: {lo:g} to "
                              f"{hi:g} V")
        lo, hi = READ_VOLTAGE_RANGE_V
        if not lo <= options.read_voltage_v <= hi:
            raise OptionError("read_voltage_v", options.read_voltage_v, f"{options.read_voltage_v:g} V is outside "
                              f"the MTJ model's range; allowed: {lo:g} to {hi:g} V")
        t_read = options.effective_read_pulse_ns
        if t_read < t_min:
            raise OptionError("read_pulse_ns", t_read, f"{t_read:g} ns is shorter than the MTJ model's validity "
                              f"bound {t_min:.3g} ns (one free-layer precession period)")

        def worst_wer(volts: float) -> tuple[float, str]:
            r = mtj.evaluate_write(WriteOperatingPoint(voltage_v=volts, pulse_ns=t))
            return max(r.wer_p2ap, r.wer_ap2p), ("P->AP" if r.wer_p2ap >= r.wer_ap2p else "AP->P")

        wer, direction = worst_wer(v)
        if wer > NEVER_SWITCHES_WER:
            v_hi = VOLTAGE_RANGE_V[1]
            if worst_wer(v_hi)[0] > NEVER_SWITCHES_WER:
                need = (f"no write_voltage_v up to {v_hi:g} V switches at write_pulse_ns={t:g} ns; lengthen the "
                        "pulse")
            else:  # WER falls monotonically with V: bisect for the lowest voltage that switches at this pulse
                a, b = v, v_hi
                for _ in range(40):
                    mid = 0.5 * (a + b)
                    a, b = (mid, b) if worst_wer(mid)[0] > NEVER_SWITCHES_WER else (a, mid)
                need = (f"at write_pulse_ns={t:g} ns allowed: {math.ceil(b * 1000) / 1000:g} to {v_hi:g} V "
                        "(or lengthen the pulse)")
            raise OptionError("write_voltage_v", v, f"a write at {v:g} V / {t:g} ns never switches {direction} "
                              f"(WER {wer:.4g} > {NEVER_SWITCHES_WER:g}); {need}")

    def characterize(self, geometry: BankGeometry, options: STTMRAMOptions) -> BankCharacteristics:
        mtj = MTJ(options.mtj)
        wr = mtj.write(WriteOperatingPoint(voltage_v=options.write_voltage_v, pulse_ns=options.write_pulse_ns))
        t_read_pulse = options.effective_read_pulse_ns
        rd = mtj.read(read_voltage_v=options.read_voltage_v, read_pulse_ns=t_read_pulse)

        geo = am.layout(geometry.capacity_bytes, options.cell_area_f2, am.STT_PERIPHERY_F2, options.feature_size_nm)
        glob = am.global_path(geo, geometry.word_bits, options)
        k = am.node_scale(options.feature_size_nm)
        w = geometry.word_bits

        read_latency = glob.delay_ns + t_read_pulse
        read_energy = glob.energy_pj + w * (READ_PERIPHERY_PJ_PER_BIT * k + rd.energy_mean_pj)
        write_latency = glob.delay_ns + LOCAL_WRITE_NS + wr.latency_ns
        # A driven bit draws V^2 t/(R_start + R_s) whichever state it starts in: mean over the two start states.
        write_periphery = glob.energy_pj + w * WRITE_PERIPHERY_PJ_PER_BIT * k
        if options.write_scheme == "all_bits":
            write_energy = write_periphery + w * wr.energy_mean_pj
        else:  # read-before-write: read the old word, drive only the changed bits
            write_energy = read_energy + write_periphery + options.changed_bit_fraction * w * wr.energy_mean_pj
            write_latency += read_latency

        disturb = 0.5 * (rd.disturb_prob_p if options.read_current_direction == "p2ap" else rd.disturb_prob_ap)
        sense = sensing_error(rd.current_p_ua, rd.current_ap_ua, mtj.r_p_ohm, mtj.r_ap_ohm, mtj.r_series_ohm,
                              options.read_voltage_v, options.resistance_sigma_frac)
        return BankCharacteristics(
            technology=self.name, capacity_bytes=geometry.capacity_bytes, word_bits=w,
            read_latency_ns=read_latency, write_latency_ns=write_latency,
            read_energy_pj=read_energy, write_energy_pj=write_energy,
            leakage_mw=am.periphery_leakage_mw(geo), area_mm2=geo.area_mm2,
            read_ber=min(0.5, disturb + sense), write_ber_0to1=wr.wer_p2ap, write_ber_1to0=wr.wer_ap2p,
            retention_s=mtj.retention_s(options.retention_failure_prob),
            source=f"archsim STT-MRAM array model ({options.cell_area_f2:g} F^2, {options.feature_size_nm:g} nm, "
                   f"write {options.write_voltage_v:g} V / {options.write_pulse_ns:g} ns, {options.write_scheme}), "
                   "calibrated to NVMExplorer/NVSim 22 nm 1 MB; cell from archsim.device.mtj")
