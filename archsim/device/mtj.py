"""Analytic perpendicular-MTJ model: write current, energy, write error rate (WER), read disturb, retention.

Convention for all of archsim: a stored bit 0 is the parallel (P) state, bit 1 the antiparallel (AP) state, so a
0->1 write is P->AP (the harder direction) and a 1->0 write is AP->P.

Physics (macrospin, uniaxial perpendicular anisotropy, collinear spin-transfer torque), equations in docs/device.md:

* E_b = Delta kB T = mu0 Ms Hk V / 2 gives the anisotropy field Hk.
* t_D = (1 + alpha^2) / (alpha gamma mu0 Hk), the characteristic time of the linearised LLGS near a pole.
* Ic0 = 4 alpha e E_b / (hbar eta)  (Sun, PRB 62:570, 2000), eta from Slonczewski's tunnelling form
  eta(theta) = P / (2 (1 + P^2 cos theta))  (Slonczewski, PRB 71:024411, 2005) at the starting state.
* Precessional channel (i = I/Ic0 > 1): deterministic growth from a thermally distributed initial angle,
  WER_prec = 1 - exp[-(pi^2 Delta_eff/4) (i-1) / (i e^{2(i-1)t/t_D} - 1)]  (Sun et al. / Butler et al.,
  IEEE Trans. Magn. 48:4684, 2012), with Delta_eff = Delta / (1 + (1 - e^{-2(i-1)t/t_D})/(i-1)) accounting for the
  thermal noise that acts during the pulse (archsim's linearised derivation, see docs/device.md;
  Delta_eff = Delta gives the original closed form).
* Thermal channel (Neel-Brown with a spin-torque-lowered barrier): Kramers/Brown high-barrier escape rate of the
  axially symmetric Fokker-Planck equation, r(i) = (1+i)(1-i)^2 exp(-Delta (1-i)^2) / tau0, with
  tau0 = t_D sqrt(pi/Delta) (Brown, Phys. Rev. 130:1677, 1963; the (1+h)(1-h)^2 prefactor is the uniaxial
  field-driven form, Coffey & Kalmykov, J. Appl. Phys. 112:121301, 2012; spin torque enters the 1-D equation
  exactly like a reduced field, Butler 2012). r(i) peaks where the barrier is ~1 kB T, the edge of the formula's
  validity; for larger i the rate is held at that peak (diffusion-limited, ~1/(t_D sqrt(pi Delta))).
* Crossover rule: the two channels act together; a bit stays unswitched only if neither switches it, so
  WER = WER_prec * WER_therm (monotone in i and t by construction: both factors are). ``regime`` is "thermal"
  for i below the thermal-rate peak, "precessional" where that channel gives >= 90 % of -ln WER, else
  "intermediate".

Pure numpy; no simpy, no torch.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .params import (E_CHARGE_C, GAMMA_RAD_PER_S_T, HBAR_JS, KB_J_PER_K, MU0_H_PER_M, MTJParams,
                     WriteOperatingPoint)

#: write voltage range accepted by :meth:`MTJ.write`, V. [assumption] below 0.05 V no STT cell switches; above
#: 3 V the MgO barrier of any realistic 1T-1MTJ stack breaks down (MgO breakdown ~1-1.5 V across the junction).
VOLTAGE_RANGE_V = (0.05, 3.0)
#: read voltage range accepted by :meth:`MTJ.read`, V. [assumption]
READ_VOLTAGE_RANGE_V = (0.01, 1.5)
#: shortest pulse the model accepts, ns, on top of one free-precession period of the free layer (the macrospin
#: closed forms average over precession; below one period they are not valid). [assumption]
MIN_PULSE_NS = 0.01
MAX_PULSE_NS = 1.0e9  # 1 s
#: a write whose WER (either direction) exceeds this "never switches" and is rejected by :meth:`MTJ.write`.
NEVER_SWITCHES_WER = 0.999

REGIMES = ("precessional", "intermediate", "thermal")


class DeviceError(ValueError):
    """An operating point or parameter set the device model cannot evaluate (one-line message)."""


@dataclass(frozen=True)
class WriteResult:
    """One write pulse, per bit. P->AP is a 0->1 write, AP->P a 1->0 write."""

    voltage_v: float
    pulse_ns: float
    current_p2ap_ua: float
    current_ap2p_ua: float
    overdrive_p2ap: float  # i = I / Ic0
    overdrive_ap2p: float
    energy_p2ap_pj: float  # V * I * t_pulse, start-state resistance
    energy_ap2p_pj: float
    energy_mean_pj: float  # mean of the two directions
    latency_ns: float  # = pulse width (no cell-level overhead modelled; periphery is the bank model's)
    wer_p2ap: float
    wer_ap2p: float
    regime_p2ap: str
    regime_ap2p: str

    @property
    def wer_mean(self) -> float:
        return 0.5 * (self.wer_p2ap + self.wer_ap2p)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ReadResult:
    """One read pulse, per bit. ``disturb_prob`` is the worse of the two stored states (conservative)."""

    voltage_v: float
    pulse_ns: float
    current_p_ua: float
    current_ap_ua: float
    energy_p_pj: float
    energy_ap_pj: float
    energy_mean_pj: float
    disturb_prob_p: float  # stored P (bit 0) flipped by a read current in the P->AP sense
    disturb_prob_ap: float  # stored AP (bit 1) flipped by a read current in the AP->P sense
    disturb_prob: float

    def as_dict(self) -> dict:
        return asdict(self)


class MTJ:
    """Analytic model of one perpendicular MTJ cell (1T-1MTJ). See the module docstring for the physics."""

    def __init__(self, params: MTJParams | None = None):
        self.params = params if params is not None else MTJParams()
        p = self.params
        self.kbt_j = KB_J_PER_K * p.temperature_k
        self.delta = p.thermal_stability
        self.energy_barrier_j = self.delta * self.kbt_j
        self.volume_m3 = p.volume_m3
        self.ms_a_per_m = p.saturation_magnetization_a_per_m
        self.alpha = p.damping
        # E_b = mu0 Ms Hk V / 2
        self.hk_a_per_m = 2.0 * self.energy_barrier_j / (MU0_H_PER_M * self.ms_a_per_m * self.volume_m3)
        self.t_d_ns = (1.0 + self.alpha ** 2) / (self.alpha * GAMMA_RAD_PER_S_T * MU0_H_PER_M * self.hk_a_per_m) * 1e9
        self.precession_period_ns = 2.0 * math.pi * (1.0 + self.alpha ** 2) / (
            GAMMA_RAD_PER_S_T * MU0_H_PER_M * self.hk_a_per_m) * 1e9
        self.tau0_ns = p.attempt_time_ns if p.attempt_time_ns is not None else self.t_d_ns * math.sqrt(
            math.pi / self.delta)
        pol = p.polarization
        ic0_unit = 4.0 * self.alpha * E_CHARGE_C * self.energy_barrier_j / HBAR_JS  # = Ic0 * eta, A
        if p.critical_current_p2ap_ua is None:
            self.eta_p2ap = pol / (2.0 * (1.0 + pol ** 2))
        else:
            self.eta_p2ap = ic0_unit / (p.critical_current_p2ap_ua * 1e-6)
        # Slonczewski's angular factor: eta(pi)/eta(0) = (1 + P^2)/(1 - P^2)
        self.eta_ap2p = self.eta_p2ap * (1.0 + pol ** 2) / (1.0 - pol ** 2)
        self.ic0_p2ap_ua = ic0_unit / self.eta_p2ap * 1e6
        self.ic0_ap2p_ua = ic0_unit / self.eta_ap2p * 1e6
        # overdrive at which the thermal rate (1+i)(1-i)^2 exp(-Delta(1-i)^2) peaks: with u = 1-i,
        # d ln r / du = 0  <=>  2 Delta u^3 - 4 Delta u^2 - 3u + 4 = 0 (root in (0, 1))
        lo, hi = 1e-9, 1.0
        f = lambda u: 2 * self.delta * u ** 3 - 4 * self.delta * u ** 2 - 3 * u + 4  # noqa: E731
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
        self.i_thermal_peak = 1.0 - 0.5 * (lo + hi)
        self.r_p_ohm = p.resistance_p_ohm
        self.r_ap_ohm = p.resistance_ap_ohm
        self.r_series_ohm = p.series_resistance_ohm

    # ------------------------------------------------------------------------------------------------- basics
    @property
    def min_pulse_ns(self) -> float:
        return max(MIN_PULSE_NS, self.precession_period_ns)

    def summary(self) -> dict:
        """Derived device constants (SI-ish units in the key names)."""
        return {
            "delta": self.delta, "hk_a_per_m": self.hk_a_per_m, "mu0_hk_t": MU0_H_PER_M * self.hk_a_per_m,
            "t_d_ns": self.t_d_ns, "tau0_ns": self.tau0_ns, "eta_p2ap": self.eta_p2ap, "eta_ap2p": self.eta_ap2p,
            "ic0_p2ap_ua": self.ic0_p2ap_ua, "ic0_ap2p_ua": self.ic0_ap2p_ua, "r_p_ohm": self.r_p_ohm,
            "r_ap_ohm": self.r_ap_ohm, "r_series_ohm": self.r_series_ohm, "volume_m3": self.volume_m3,
            "min_pulse_ns": self.min_pulse_ns, "i_thermal_peak": self.i_thermal_peak,
        }

    def currents_ua(self, voltage_v):
        """Write current (uA) for P->AP and AP->P: V / (R_start + R_series)."""
        v = np.asarray(voltage_v, dtype=float)
        return (v / (self.r_p_ohm + self.r_series_ohm) * 1e6, v / (self.r_ap_ohm + self.r_series_ohm) * 1e6)

    # ------------------------------------------------------------------------------------------ WER channels
    def _prec_strength(self, i, t_ns):
        """-ln WER of the precessional channel (0 where i <= 1). Vectorised."""
        i = np.asarray(i, dtype=float)
        tau = np.asarray(t_ns, dtype=float) / self.t_d_ns
        i, tau = np.broadcast_arrays(i, tau)
        out = np.zeros(i.shape)
        above = i > 1.0
        if np.any(above):
            ia, ta = i[above], tau[above]
            d = ia - 1.0
            two_d_tau = 2.0 * d * ta
            decay = np.exp(-two_d_tau)
            small = d < 1e-9
            ds = np.where(small, 1.0, d)
            # (i-1)/(i e^{2(i-1)tau} - 1) = (i-1) e^{-2(i-1)tau} / (i - e^{-2(i-1)tau}); limit 1/(1+2 tau) at i -> 1
            log_frac = np.where(small, -np.log1p(2.0 * ta),
                                np.log(ds) - two_d_tau - np.log(np.where(small, 1.0, ia - decay)))
            # thermal noise during the pulse [derived, archsim; checked against the macrospin Monte-Carlo]:
            # linearised about the start pole, theta(t) = e^{(i-1)t/t_D} (theta0 + noise integral) and the integral
            # adds a variance (1 - e^{-2(i-1)tau}) / (2 Delta (i-1)) per component to the equilibrium 1/(2 Delta),
            # so the initial spread acts with Delta_eff = Delta / (1 + (1 - e^{-2(i-1)tau})/(i-1)).
            grow = np.where(small, 2.0 * ta, -np.expm1(-two_d_tau) / ds)
            log_x = np.log(math.pi ** 2 * self.delta / 4.0) - np.log1p(grow) + log_frac
            x = np.exp(np.minimum(log_x, 700.0))
            # WER = 1 - exp(-x); strength = -ln(WER); for tiny x, -ln(x) - ln(1 - x/2) ~ -log_x + x/2
            with np.errstate(divide="ignore", over="ignore"):
                out[above] = np.where(log_x < -20.0, -log_x + 0.5 * x, -np.log(-np.expm1(-x)))
        return out

    def _thermal_strength(self, i, t_ns):
        """-ln WER of the thermal (Neel-Brown) channel: t / tau_th. Vectorised."""
        i = np.asarray(i, dtype=float)
        t = np.asarray(t_ns, dtype=float)
        ic = np.clip(i, 0.0, self.i_thermal_peak)
        u = 1.0 - ic
        rate = (1.0 + ic) * u * u * np.exp(-self.delta * u * u) / self.tau0_ns
        return t * rate

    def wer_from_overdrive(self, i, t_ns):
        """WER and regime label for overdrive i = I/Ic0 and pulse t_ns (arrays broadcast)."""
        sp = self._prec_strength(i, t_ns)
        st = self._thermal_strength(i, t_ns)
        sp, st = np.broadcast_arrays(sp, st)
        wer = np.exp(-(sp + st))
        share = np.divide(sp, sp + st, out=np.zeros(sp.shape), where=(sp + st) > 0)
        ib = np.broadcast_to(np.asarray(i, dtype=float), sp.shape)
        # label: "thermal" below the thermal-rate peak (a barrier of >~1 kB T remains); "precessional" where the
        # precessional channel gives >= 90 % of -ln WER; "intermediate" in between
        regime = np.where(ib <= self.i_thermal_peak, "thermal",
                          np.where(share >= 0.9, "precessional", "intermediate"))
        return wer, regime

    def wer_grid(self, voltages_v, pulses_ns):
        """WER on a voltage x pulse grid: returns ``(wer_p2ap, wer_ap2p)``, each shape (len(V), len(t)).

        No validation and no "never switches" error: points that do not switch give WER = 1.
        """
        v = np.atleast_1d(np.asarray(voltages_v, dtype=float))[:, None]
        t = np.atleast_1d(np.asarray(pulses_ns, dtype=float))[None, :]
        i_p, i_a = self.currents_ua(v)
        w_p, _ = self.wer_from_overdrive(i_p / self.ic0_p2ap_ua, t)
        w_a, _ = self.wer_from_overdrive(i_a / self.ic0_ap2p_ua, t)
        return np.broadcast_to(w_p, (v.shape[0], t.shape[1])).copy(), np.broadcast_to(
            w_a, (v.shape[0], t.shape[1])).copy()

    # ------------------------------------------------------------------------------------------------ checks
    def _check_pulse(self, pulse_ns: float, what: str = "pulse_ns"):
        if not math.isfinite(pulse_ns) or pulse_ns <= 0:
            raise DeviceError(f"{what} must be > 0 ns, got {pulse_ns}")
        if pulse_ns < self.min_pulse_ns:
            raise DeviceError(f"{what}={pulse_ns} ns is shorter than the model's validity bound "
                              f"{self.min_pulse_ns:.3g} ns (one free-layer precession period)")
        if pulse_ns > MAX_PULSE_NS:
            raise DeviceError(f"{what}={pulse_ns} ns exceeds {MAX_PULSE_NS:g} ns")

    # ------------------------------------------------------------------------------------------ public ops
    def evaluate_write(self, op: WriteOperatingPoint) -> WriteResult:
        """Like :meth:`write` but returns WER ~ 1 instead of raising for a point that never switches."""
        lo, hi = VOLTAGE_RANGE_V
        if not (lo <= op.voltage_v <= hi):
            raise DeviceError(f"write voltage_v={op.voltage_v} V outside the model's range [{lo}, {hi}] V")
        self._check_pulse(op.pulse_ns)
        i_p, i_a = (float(x) for x in self.currents_ua(op.voltage_v))
        od_p, od_a = i_p / self.ic0_p2ap_ua, i_a / self.ic0_ap2p_ua
        w_p, r_p = self.wer_from_overdrive(od_p, op.pulse_ns)
        w_a, r_a = self.wer_from_overdrive(od_a, op.pulse_ns)
        e_p = op.voltage_v * i_p * 1e-6 * op.pulse_ns * 1e-9 * 1e12
        e_a = op.voltage_v * i_a * 1e-6 * op.pulse_ns * 1e-9 * 1e12
        return WriteResult(
            voltage_v=op.voltage_v, pulse_ns=op.pulse_ns, current_p2ap_ua=i_p, current_ap2p_ua=i_a,
            overdrive_p2ap=od_p, overdrive_ap2p=od_a, energy_p2ap_pj=e_p, energy_ap2p_pj=e_a,
            energy_mean_pj=0.5 * (e_p + e_a), latency_ns=op.pulse_ns, wer_p2ap=float(w_p), wer_ap2p=float(w_a),
            regime_p2ap=str(r_p), regime_ap2p=str(r_a))

    def write(self, op: WriteOperatingPoint) -> WriteResult:
        """Per-bit write current, energy, latency and WER for both directions at operating point ``op``.

        Raises :class:`DeviceError` for a voltage or pulse outside the model's range, or a point that never
        switches (WER > NEVER_SWITCHES_WER in either direction).
        """
        res = self.evaluate_write(op)
        worst = max(res.wer_p2ap, res.wer_ap2p)
        if worst > NEVER_SWITCHES_WER:
            d = "P->AP" if res.wer_p2ap >= res.wer_ap2p else "AP->P"
            raise DeviceError(f"write at {op.voltage_v} V, {op.pulse_ns} ns never switches {d} "
                              f"(WER {worst:.4g}; I/Ic0 = {min(res.overdrive_p2ap, res.overdrive_ap2p):.3g})")
        return res

    def read(self, read_voltage_v: float = 0.1, read_pulse_ns: float = 1.0) -> ReadResult:
        """Read energy per bit and read-disturb probability per read.

        Defaults: 0.1 V across the series path [assumption: keeps I_read <~ 0.3 Ic0 of AP->P with the default
        cell; NVSim's sample cell reads at 0.25 V]; 1 ns sensing pulse [assumption], cf. the ~1 ns STT read
        latency NVMExplorer reports for 1 MB (22 nm). The read current flows through the same
        series path as a write; a stored P bit is disturbed by a current in the P->AP sense, a stored AP bit by
        one in the AP->P sense; ``disturb_prob`` reports the worse state.
        """
        lo, hi = READ_VOLTAGE_RANGE_V
        if not (lo <= read_voltage_v <= hi):
            raise DeviceError(f"read_voltage_v={read_voltage_v} V outside the model's range [{lo}, {hi}] V")
        self._check_pulse(read_pulse_ns, "read_pulse_ns")
        i_p, i_a = (float(x) for x in self.currents_ua(read_voltage_v))
        e_p = read_voltage_v * i_p * read_pulse_ns * 1e-3  # V * uA * ns = 1e-15 J = 1e-3 pJ
        e_a = read_voltage_v * i_a * read_pulse_ns * 1e-3
        # probability that the bit switches = 1 - "write error rate" of this (unintended) write
        stay_p, _ = self.wer_from_overdrive(i_p / self.ic0_p2ap_ua, read_pulse_ns)
        stay_a, _ = self.wer_from_overdrive(i_a / self.ic0_ap2p_ua, read_pulse_ns)
        d_p = max(0.0, float(-np.expm1(np.log(stay_p))))
        d_a = max(0.0, float(-np.expm1(np.log(stay_a))))
        return ReadResult(voltage_v=read_voltage_v, pulse_ns=read_pulse_ns, current_p_ua=i_p, current_ap_ua=i_a,
                          energy_p_pj=e_p, energy_ap_pj=e_a, energy_mean_pj=0.5 * (e_p + e_a),
                          disturb_prob_p=d_p, disturb_prob_ap=d_a, disturb_prob=max(d_p, d_a))

    def retention_s(self, failure_prob: float = 1e-9) -> float:
        """Time (s) for which the per-bit retention failure 1 - exp(-t/(tau0 e^Delta)) stays <= failure_prob."""
        if not (0.0 < failure_prob < 1.0):
            raise DeviceError(f"failure_prob must be in (0, 1), got {failure_prob}")
        tau_s = self.tau0_ns * 1e-9 * math.exp(self.delta)
        return -tau_s * math.log1p(-failure_prob)
