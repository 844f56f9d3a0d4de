"""Number formats of stored words: how a float tensor becomes the bit patterns a scratchpad holds, and back.

A :class:`Codec` maps values to unsigned integer words of ``bits`` bits (held in ``int64`` tensors so that XOR
masks never overflow a signed type) and back to ``float32``. Floating formats are IEEE-754 binary32/binary16 and
bfloat16 (the upper half of a binary32); ``int8`` is two's-complement fixed point with a scale: ``q = clamp(round(
x / s), -128, 127)``, ``x = q * s``. The scale is per tensor, ``s = max|x| / 127`` unless a fixed scale is given
(symmetric max-abs quantisation, as in Jacob et al., CVPR 2018, arXiv:1712.05877, with a per-tensor scale).

Only the words that receive a flip are encoded and decoded, by the compiled core (``_bitflip.c``, see
:mod:`archsim.accuracy.inject`), whose codecs give this module's words for every finite value (bf16 and fp16 round
to nearest even like ``torch.bfloat16`` / ``torch.float16``, fp16 overflows to infinity, int8 rounds half to even
like ``torch.round``; only NaN payloads may be encoded differently; tests/accuracy/test_inject.py checks them word
for word). The torch codec here is the reference and does the optional rounding of every stored value to the
format (``emulate_storage`` in the error model).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

FormatName = Literal["fp32", "bf16", "fp16", "int8"]
FORMATS: tuple[str, ...] = ("fp32", "bf16", "fp16", "int8")


@dataclass(frozen=True)
class Codec:
    """Encoder/decoder of one number format. ``context(x)`` is the per-tensor side information (int8's scale)."""

    name: str
    bits: int
    fixed_scale: float | None = None

    # -- per-tensor context ----------------------------------------------------------------------------------
    def context(self, x: torch.Tensor) -> float | None:
        if self.name != "int8":
            return None
        if self.fixed_scale is not None:
            return float(self.fixed_scale)
        a = x.detach().abs()
        a = a[torch.isfinite(a)] if not bool(torch.isfinite(a).all()) else a
        amax = float(a.max()) if a.numel() else 0.0
        return amax / 127.0 if amax > 0.0 else 1.0 / 127.0  # an all-zero tensor: any scale stores it exactly

    # -- values <-> unsigned words ----------------------------------------------------------------------------
    def encode(self, x: torch.Tensor, ctx: float | None = None) -> torch.Tensor:
        """Unsigned words (int64, values in ``[0, 2**bits)``) of ``x`` stored in this format."""
        if self.name == "fp32":
            w = x.to(torch.float32).view(torch.int32).to(torch.int64)
        elif self.name == "bf16":
            w = x.to(torch.bfloat16).view(torch.int16).to(torch.int64)
        elif self.name == "fp16":
            w = x.to(torch.float16).view(torch.int16).to(torch.int64)
        else:  # int8
            s = ctx if ctx is not None else self.context(x)
            w = torch.clamp(torch.round(x.to(torch.float32) / s), -128, 127).to(torch.int64)
        return w & ((1 << self.bits) - 1)

    def decode(self, words: torch.Tensor, ctx: float | None = None) -> torch.Tensor:
        """``float32`` values of unsigned words."""
        half = 1 << (self.bits - 1)
        signed = words - ((words >= half).to(torch.int64) << self.bits)
        if self.name == "fp32":
            return signed.to(torch.int32).view(torch.float32)
        if self.name == "bf16":
            return signed.to(torch.int16).view(torch.bfloat16).to(torch.float32)
        if self.name == "fp16":
            return signed.to(torch.int16).view(torch.float16).to(torch.float32)
        s = ctx if ctx is not None else 1.0
        return signed.to(torch.float32) * s

    def round_trip(self, x: torch.Tensor, ctx: float | None = None) -> torch.Tensor:
        """``x`` as it reads back from storage without errors (rounding/saturation of the format)."""
        if self.name == "fp32":
            return x
        if self.name in ("bf16", "fp16"):
            dt = torch.bfloat16 if self.name == "bf16" else torch.float16
            return x.to(dt).to(x.dtype)
        s = ctx if ctx is not None else self.context(x)
        return (torch.clamp(torch.round(x / s), -128, 127) * s).to(x.dtype)


_BITS = {"fp32": 32, "bf16": 16, "fp16": 16, "int8": 8}


def codec(name: str, int8_scale: float | None = None) -> Codec:
    """The codec of a format name (``fp32``, ``bf16``, ``fp16``, ``int8``)."""
    if name not in _BITS:
        raise ValueError(f"unknown number format {name!r}; allowed: {', '.join(FORMATS)}")
    if int8_scale is not None and not int8_scale > 0:
        raise ValueError(f"int8_scale must be > 0, got {int8_scale}")
    return Codec(name, _BITS[name], int8_scale if name == "int8" else None)
