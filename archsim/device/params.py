"""Parameters of the perpendicular MTJ model and of a write operating point.

Every default carries its source. Tags: *[read]* a value read in the cited file/paper, *[derived]* arithmetic on
read values, *[assumption]* archsim's own choice (explained). See docs/device.md for the full table.
"""
from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, model_validator

# -- physical constants (CODATA 2018, exact or recommended values) -------------------------------------------
E_CHARGE_C = 1.602176634e-19  # elementary charge, C (exact, SI 2019)
HBAR_JS = 1.054571817e-34  # reduced Planck constant, J s (exact-derived, SI 2019)
KB_J_PER_K = 1.380649e-23  # Boltzmann constant, J/K (exact, SI 2019)
MU0_H_PER_M = 1.25663706212e-6  # vacuum permeability, H/m (CODATA 2018)
GAMMA_RAD_PER_S_T = 1.760859630e11  # electron gyromagnetic ratio, rad/(s T) (CODATA 2018; Arm uses 1.76e11)


class MTJParams(BaseModel):
    """A perpendicular (PMA) CoFeB/MgO MTJ in a 1T-1MTJ cell, macrospin description.

    Derived quantities (anisotropy field, critical currents, characteristic time) live on
    :class:`archsim.device.mtj.MTJ`; only inputs are stored here.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- geometry ---------------------------------------------------------------------------------------------
    diameter_nm: float = Field(
        25.0, gt=0.0, le=500.0,
        description="free-layer diameter (circular pillar), nm. [assumption] archsim's choice: small enough that "
        "the NVSim default drive (~80 uA, 10 ns) writes with a low error rate at Delta=60; published PMA "
        "pillars span ~20-80 nm (Intel 22FFL CD 60-80 nm, ISSCC 2019).")
    thickness_nm: float = Field(
        1.3, gt=0.0, le=10.0,
        description="free-layer thickness, nm. [read] 1.3 nm CoFeB in Zhang et al., IEEE TED 59(3):819, 2012 "
        "(PMA compact model); Arm mram_simulation_framework uses 1.0 nm.")
    # --- magnetics --------------------------------------------------------------------------------------------
    thermal_stability: float = Field(
        60.0, ge=5.0, le=200.0,
        description="thermal stability factor Delta = E_b/(kB T) at temperature_k. [assumption] 60, the usual "
        "10-year-retention target (retention: P = 1-exp(-t/tau0 e^-Delta), Neel 1949 / Brown 1963).")
    saturation_magnetization_a_per_m: float = Field(
        1.0e6, gt=0.0, le=3.0e6,
        description="free-layer Ms, A/m. [read] 0.97e6 A/m in ARM-software/mram_simulation_framework "
        "(src/python_compact_model/sllgs_solver.py), rounded.")
    damping: float = Field(
        0.005, gt=0.0, le=0.5,
        description="Gilbert damping alpha. [read] 0.005, Arm mram_simulation_framework sllgs_solver.py default.")
    temperature_k: float = Field(300.0, gt=0.0, le=600.0, description="operating temperature, K. [assumption]")
    spin_polarization: float | None = Field(
        None, gt=0.0, lt=1.0,
        description="tunnelling spin polarisation P. None: from TMR by Julliere, TMR = 2P^2/(1-P^2) "
        "(Julliere, Phys. Lett. A 54:225, 1975). Spin-torque efficiency eta(theta) = P/(2(1+P^2 cos theta)) "
        "(Slonczewski, PRB 71:024411, 2005), so eta_P->AP = P/(2(1+P^2)) < eta_AP->P = P/(2(1-P^2)).")
    critical_current_p2ap_ua: float | None = Field(
        None, gt=0.0, le=5000.0,
        description="zero-temperature critical current Ic0 for P->AP, uA. None: macrospin formula "
        "Ic0 = 4 alpha e kB T Delta/(hbar eta) (Sun, PRB 62:570, 2000). If given, eta is derived from it.")
    attempt_time_ns: float | None = Field(
        None, gt=0.0, le=100.0,
        description="Neel-Brown attempt time tau0, ns. None: Brown's high-barrier uniaxial result "
        "tau0 = t_D sqrt(pi/Delta) (Brown, Phys. Rev. 130:1677, 1963), so the analytic model and the macrospin "
        "agree; ~0.4 ns with the defaults (the usual recalled value is ~1 ns).")
    # --- electrical -------------------------------------------------------------------------------------------
    r_p_ohm: float | None = Field(
        None, gt=0.0, le=1.0e7,
        description="parallel-state resistance, ohm. None and no RA: 3000 ohm [read] NVSim sample_STTRAM.cell "
        "(ResistanceOn). Give either this or ra_ohm_um2.")
    ra_ohm_um2: float | None = Field(
        None, gt=0.0, le=1.0e4,
        description="resistance-area product of the P state, ohm um^2; R_P = RA / pillar area.")
    tmr: float = Field(
        1.0, gt=0.0, le=10.0,
        description="tunnel magnetoresistance (R_AP-R_P)/R_P as a fraction. [read] 1.0 (3k/6k ohm) NVSim "
        "sample_STTRAM.cell and NVMExplorer data/cell_cfgs/STT_default.cell.")
    series_resistance_ohm: float = Field(
        12625.0, ge=0.0, le=1.0e7,
        description="access transistor on-resistance plus driver/bit-line series resistance, ohm. [derived] from "
        "the NVSim default cell: 1 pJ at 80 uA for 10 ns implies V = 1.25 V, and 1.25 V/80 uA - 3000 ohm "
        "= 12625 ohm; the cell then draws 80 uA P->AP at 1.25 V.")

    @model_validator(mode="after")
    def _check(self):
        if self.r_p_ohm is not None and self.ra_ohm_um2 is not None:
            raise ValueError("give either r_p_ohm or ra_ohm_um2, not both "
                             f"(got r_p_ohm={self.r_p_ohm}, ra_ohm_um2={self.ra_ohm_um2})")
        return self

    # convenience accessors for inputs with derived defaults --------------------------------------------------
    @property
    def area_m2(self) -> float:
        return math.pi * (0.5 * self.diameter_nm * 1e-9) ** 2

    @property
    def volume_m3(self) -> float:
        return self.area_m2 * self.thickness_nm * 1e-9

    @property
    def resistance_p_ohm(self) -> float:
        if self.r_p_ohm is not None:
            return self.r_p_ohm
        if self.ra_ohm_um2 is not None:
            return self.ra_ohm_um2 / (self.area_m2 * 1e12)
        return 3000.0  # [read] NVSim sample_STTRAM.cell ResistanceOn

    @property
    def resistance_ap_ohm(self) -> float:
        return self.resistance_p_ohm * (1.0 + self.tmr)

    @property
    def polarization(self) -> float:
        if self.spin_polarization is not None:
            return self.spin_polarization
        return math.sqrt(self.tmr / (self.tmr + 2.0))  # Julliere inverted


class WriteOperatingPoint(BaseModel):
    """A write pulse: voltage across the series (access transistor + MTJ) path and pulse width."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    voltage_v: float = Field(1.25, gt=0.0, le=10.0,
                             description="write voltage across access device + MTJ, V "
                             "([derived] 1.25 V: NVSim default cell, E/(I t) = 1 pJ/(80 uA 10 ns))")
    pulse_ns: float = Field(10.0, gt=0.0, le=1.0e12,
                            description="write pulse width, ns ([read] 10 ns NVSim sample_STTRAM.cell)")
