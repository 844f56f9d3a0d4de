"""Device layer: analytic perpendicular-MTJ model (:mod:`.mtj`) and a stochastic macrospin check (:mod:`.llg`).

Pure numpy cost models; no simpy, no torch. Bit 0 = P state, bit 1 = AP state (a 0->1 write is P->AP).
"""
from .mtj import MTJ, DeviceError, ReadResult, WriteResult
from .params import MTJParams, WriteOperatingPoint

__all__ = ["MTJ", "MTJParams", "WriteOperatingPoint", "WriteResult", "ReadResult", "DeviceError"]
