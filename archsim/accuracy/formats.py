"""Number formats of stored words: how a float tensor becomes the bit patterns a scratchpad holds, and back.

A :class:`Codec` maps values to unsigned integer words of ``bits`` bits (held in ``int64`` tensors so that XOR
masks never overflow a signed type) and back to ``float32``. Floating formats are IEEE-754 binary32/binary16 and
bfloat16 (the upper half of a binary32); ``int8`` is two's-complement fixed point with a scale: ``q = clamp(round(
x / s), -128, 127)``, ``x = q * s``. The scale is per tensor, ``s = max|x| / 127`` unless a fixed scale is given
(symmetric max-abs quantisation, as in Jacob et al., CVPR 2018, arXiv:1712.05877, with a per-tensor scale).

Only the words that receive a flip are encoded and decoded (see :mod:`archsim.accuracy.inject`); the rounding to
the storage format of the other words is a separate, optional effect (``emulate_storage`` in the error model).
The few affected words are handled as numpy arrays (:meth:`Codec.encode_bits` / :meth:`Codec.decode_bits`, on the
``float32`` bit patterns of a tensor's memory): a numpy call on a handful of words costs about a microsecond, a
torch call several. Both paths give the same words (tests/accuracy/test_inject.py checks them against each other);
bf16 rounds to nearest even like ``torch.bfloat16``, fp16 uses numpy's IEEE conversion (round to nearest even,
overflow to infinity), int8 rounds half to even like ``torch.round``. Only NaN payloads may be encoded differently.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

FormatName = Literal["fp32", "bf16", "fp16", "int8"]
FORMATS: tuple[str, ...] = ("fp32", "bf16", "fp16", "int8")


@dataclass(frozen=True)
class Codec:
    """Encoder/decoder of one number format. ``context(x)`` is the per-tensor side information (int8's scale)."""

    name: str
    bits: int
    fixed_scale: float | None = None

    @property
    def shift(self) -> int:
        """log2 of the word width: flat bit position ``p`` is bit ``p & (bits - 1)`` of element ``p >> shift``."""
        return self.bits.bit_length() - 1

    @property
    def has_context(self) -> bool:
        """Whether :meth:`context` depends on the tensor (int8 without a fixed scale: a pass over the tensor)."""
        return self.name == "int8" and self.fixed_scale is None

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

    # -- the same on numpy arrays of float32 bit patterns (few words, no torch dispatch) --------------------------
    def encode_bits(self, u: np.ndarray, ctx: float | None = None) -> np.ndarray:
        """Unsigned words (int64) of the float32 values whose bit patterns are ``u`` (uint32), like :meth:`encode`."""
        if self.name == "fp32":
            return u.astype(np.int64)
        if self.name == "bf16":  # round to nearest even on the upper half; NaN -> canonical quiet NaN
            # in uint32, in place: a finite or infinite pattern plus the rounding bias stays below 2**32 (at most
            # 0xFF800000 + 0x8000); only NaN patterns wrap, and those are replaced (2.5x faster than int64 at 100 k)
            r = u >> 16
            r &= 1
            r += u
            r += 0x7FFF
            r >>= 16
            r[(u & 0x7FFFFFFF) > 0x7F800000] = 0x7FC0
            return r.astype(np.int64)
        f = u.view(np.float32)
        if self.name == "fp16":
            with np.errstate(over="ignore", invalid="ignore"):
                return f.astype(np.float16).view(np.uint16).astype(np.int64)
        s = ctx if ctx is not None else 1.0
        with np.errstate(invalid="ignore"):
            q = np.clip(np.rint(f / np.float32(s)), -128, 127)
        return np.nan_to_num(q, nan=0.0).astype(np.int64) & 0xFF

    def decode_bits(self, words: np.ndarray, ctx: float | None = None) -> np.ndarray:
        """float32 bit patterns (uint32) of unsigned ``words`` (int64), like :meth:`decode`."""
        if self.name == "fp32":
            return words.astype(np.uint32)
        if self.name == "bf16":
            return (words << 16).astype(np.uint32)
        if self.name == "fp16":  # torch quiets signalling NaNs (numpy keeps them): set the quiet bit like torch
            f = words.astype(np.uint16).view(np.float16).astype(np.float32).view(np.uint32)
            nan = ((words & 0x7C00) == 0x7C00) & ((words & 0x3FF) != 0)
            return f | np.where(nan, 0x00400000, 0).astype(np.uint32) if nan.any() else f
        signed = words - ((words >= 128).astype(np.int64) << 8)
        s = ctx if ctx is not None else 1.0
        return (signed.astype(np.float32) * np.float32(s)).view(np.uint32)

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
