"""Energy of arithmetic, from Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm, 0.9 V), scaled to the
accelerator's node by ``ComputeConfig.energy_scale``.

45 nm figures (pJ): int8 add 0.03, int8 mult 0.2, int32 add 0.1, fp16 add 0.4, fp16 mult 1.1, fp32 add 0.9,
fp32 mult 3.7 (Horowitz ISSCC 2014, Fig. 1.1.9). A MAC multiplies in the operand format and accumulates at higher
precision (fp32 for floating point, int32 for int8); bf16's multiplier is taken as fp16's (its 8-bit mantissa makes
it no larger). Default scale 0.39 = (22/45) x (0.8/0.9)^2: first-order C.V^2 scaling from 45 nm/0.9 V to the
22 nm/0.8 V node of the NVSim/NVMExplorer memory numbers (archsim's assumption; see docs/energy.md).
"""
from __future__ import annotations

HOROWITZ_45NM_PJ = {
    "int8_add": 0.03, "int8_mult": 0.2, "int32_add": 0.1,
    "fp16_add": 0.4, "fp16_mult": 1.1, "fp32_add": 0.9, "fp32_mult": 3.7,
}

MAC_45NM_PJ = {
    "fp32": HOROWITZ_45NM_PJ["fp32_mult"] + HOROWITZ_45NM_PJ["fp32_add"],
    "fp16": HOROWITZ_45NM_PJ["fp16_mult"] + HOROWITZ_45NM_PJ["fp32_add"],
    "bf16": HOROWITZ_45NM_PJ["fp16_mult"] + HOROWITZ_45NM_PJ["fp32_add"],
    "int8": HOROWITZ_45NM_PJ["int8_mult"] + HOROWITZ_45NM_PJ["int32_add"],
}

# A vector-unit elementwise op (add, mul, compare, ...) on fp32: mean of fp32 add and mult.
VECTOR_OP_45NM_PJ = 0.5 * (HOROWITZ_45NM_PJ["fp32_add"] + HOROWITZ_45NM_PJ["fp32_mult"])


def mac_energy_pj(compute_cfg) -> float:
    if compute_cfg.mac_energy_pj is not None:
        return compute_cfg.mac_energy_pj
    return MAC_45NM_PJ[compute_cfg.mac_format] * compute_cfg.energy_scale


def vector_op_energy_pj(compute_cfg) -> float:
    if compute_cfg.vector_op_energy_pj is not None:
        return compute_cfg.vector_op_energy_pj
    return VECTOR_OP_45NM_PJ * compute_cfg.energy_scale
