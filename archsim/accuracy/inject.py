"""The injection mechanism: which stored bits fail, XOR-ed into float32 tensors. No policy lives here.

Two ways a bit can fail (probabilities per bit, see docs/accuracy.md):

* **every bit** (read errors, and the symmetric write model): each of the ``n * bits`` stored bits flips
  independently with probability ``p``;
* **directional write errors** (STT-MRAM): a write only switches the bits where the new word differs from the old
  one; a bit that should switch 0 -> 1 keeps its 0 with probability ``p01``, one that should switch 1 -> 0 keeps
  its 1 with ``p10``. Bits that do not change are never disturbed.

The work is done by the compiled core :mod:`archsim.accuracy._bitflip` (``_bitflip.c``): a :class:`Stream` is a
seeded Bernoulli process over the bits of the tensors that one data type reads or writes, drawn by geometric gaps
(a tensor without a failing bit costs one comparison), applied to the stored words through the format (fp32, bf16,
fp16, int8 with a scale) of only the words that fail. A :class:`Slot` keeps what a buffer held before its next
write. Tensors are handed over as data pointers of contiguous CPU float32 memory (:func:`as_words`), one tensor or
several laid end to end.

Directional streams come in two kinds, with the same statistics: *sparse* ones (fewer than ``DENSE_CANDIDATES``
candidate bits per word) draw candidate bits at ``p_max = max(p01, p10)`` before the write and keep the ones the
write switches with ``p_dir / p_max``; *dense* ones compare every word with the old contents and run one
Bernoulli process per direction over the bits that switch in that direction: by geometric gaps, or from 1/64 per
switching bit on bit-parallel (each switching bit takes one bit of 64-bit Bernoulli words; archsim 0.4.0).

The core also has a worker thread (``_bitflip_worker.h``): ``Stream.write_later`` / ``flip_later`` queue a call
and return a ``Ticket``, and ``Stream.prefetch`` has the worker draw an every-bit stream's failing positions ahead;
either way each stream makes the same draws in the same order (:mod:`.hooks` decides what goes there).

This module also gives the mechanism on whole tensors (:func:`flip_every_bit`, :func:`write_directional`,
:func:`sample_bits`), which the tests use to check its statistics.
"""
from __future__ import annotations

import numpy as np
import torch

from ._bitflip import Slot, Stream
from .formats import Codec

__all__ = ["Slot", "Stream", "DENSE_CANDIDATES", "FMT_CODE", "OLD_MODE", "KEEP_RESTORED", "as_words", "stream_seed",
           "every_bit_stream", "write_stream", "scale_of", "through_core", "flip_every_bit", "write_directional",
           "sample_bits", "popcount"]

#: format name -> the core's format code
FMT_CODE = {"fp32": 0, "bf16": 1, "fp16": 2, "int8": 3}
#: what a fresh write overwrites (``ErrorPolicy.fresh_old_contents``) -> the core's ``old`` argument: 0 the
#: buffer's previous contents (kept in its slot; cleared before the first write), 1 cleared, 2 random bits
OLD_MODE = {"previous": 0, "zeros": 1, "random": 2}
#: the core's ``keep`` for the write of an in-place update: the slot then holds what ``capture`` of the result would
#: keep (1 keeps the raw stored words, the old contents of a buffer's next fresh write)
KEEP_RESTORED = 2
#: expected candidate bits per stored word from which a directional stream compares every word instead of drawing
#: candidates. Measured in training (bench_injection.py --restart, mini, the study's write points): with 0.2.0's
#: dense pass 0.25 beat 0.08 (1.0 V / 7 ns: 1.54 against 1.74x a clean step) and 0.6 (1.1 V / 5 ns: 1.81 against
#: 1.90x); with 0.3.0's block pass 0.25 and 0.08 are within noise (1.25 V / 5 ns and 1.0 V / 7 ns, core time and step)
#: With 0.4.0's dense pass the core alone pays for dense from 0.05-0.09 candidates (one direction negligible), 0.125
#: (equal rates), 0.02-0.04 (the optimizer step's data types), but whole steps of the study's proxies move within
#: noise (docs/performance.md, "the dense/sparse threshold measured in training"); moving it changes the bits.
DENSE_CANDIDATES = 0.25
_MASK64 = (1 << 64) - 1


def stream_seed(seed: int, *keys: int) -> int:
    """A 64-bit seed for one stream from a run's seed and small integer keys (data type, access kind); the core
    scrambles it with splitmix64, so neighbouring seeds give unrelated streams."""
    s = int(seed) & _MASK64
    for k in keys:
        s = (s * 1_000_003 + 7_919 * (int(k) + 1)) & _MASK64
    return s


def every_bit_stream(seed: int, p: float, codec: Codec) -> Stream:
    """Each stored bit fails with ``p`` (reads, symmetric writes)."""
    return Stream(seed, float(p), FMT_CODE[codec.name])


def write_stream(seed: int, p01: float, p10: float, codec: Codec) -> Stream:
    """Directional write errors at ``p01`` / ``p10`` per switching bit; dense where candidates are many."""
    pm = max(p01, p10)
    return Stream(seed, pm, FMT_CODE[codec.name], p01, p10, pm * codec.bits >= DENSE_CANDIDATES)


def as_words(x: torch.Tensor) -> torch.Tensor:
    """``x`` as contiguous CPU float32 memory outside autograd (``x`` itself where it already is), the memory the
    core reads and writes through data pointers."""
    if x.requires_grad:
        x = x.detach()
    if x.dtype is not torch.float32 or not x.is_cpu:
        x = x.to(device="cpu", dtype=torch.float32)
    # not in the .to() above: given a float32 CPU tensor it returns the tensor itself, strides and all
    return x if x.is_contiguous() else x.contiguous()


def scale_of(codec: Codec, x: torch.Tensor) -> float | None:
    """The int8 scale of ``x`` in ``codec`` (None for the other formats)."""
    return codec.context(x) if codec.name == "int8" else None


def through_core(x: torch.Tensor, codec: Codec, fn, *head, tail: tuple = (), inplace: bool = False,
                 copy_first: bool = False) -> tuple[torch.Tensor, int]:
    """Run ``fn(*head, src, dst, n, scale, *tail)`` -- ``Stream.flip`` or ``Stream.write`` -- on the stored words
    of ``x``: in place, or into a copy made only when some bit fails (``x`` itself otherwise). Returns the result
    and the flipped bits. A tensor that is not contiguous CPU float32 goes through a float32 copy (written back in
    place; a result copy is converted back to ``x``'s dtype). With ``copy_first`` the copy is made before the call:
    a dense stream writes every word of its destination in one pass, and where a directional write expects
    candidates, asking first (the core answers -1 without a destination) would resolve them twice."""
    conv = x.dtype is not torch.float32 or not x.is_contiguous() or not x.is_cpu
    m = as_words(x) if conv else x
    n, ptr = m.numel(), m.data_ptr()
    scale = scale_of(codec, m)
    if inplace:
        k = fn(*head, ptr, ptr, n, scale, *tail)
        if conv and k:
            with torch.no_grad():
                x.copy_(m)
        return x, k
    if not copy_first:
        k = fn(*head, ptr, None, n, scale, *tail)
        if k >= 0:
            return x, k
    y = torch.empty_like(m, memory_format=torch.contiguous_format)
    k = fn(*head, ptr, y.data_ptr(), n, scale, *tail)
    if not k:  # a copy made first, and no bit failed
        return x, 0
    return (y.to(x.dtype) if conv else y), k


def flip_every_bit(x: torch.Tensor, p: float, codec: Codec, seed: int = 0, inplace: bool = False,
                   stream: Stream | None = None) -> tuple[torch.Tensor, int]:
    """``x`` with each stored bit flipped with probability ``p``, and the number of flipped bits: a copy (``x``
    itself when no bit flips, or when ``inplace``)."""
    s = stream or every_bit_stream(seed, p, codec)
    return through_core(as_words(x), codec, s.flip, inplace=inplace)


def write_directional(old: torch.Tensor, new: torch.Tensor, p01: float, p10: float, codec: Codec, seed: int = 0,
                      inplace: bool = False, stream: Stream | None = None) -> tuple[torch.Tensor, int, int]:
    """What storage holds after writing ``new`` over ``old`` (same number of elements) with directional write
    errors -- ``new`` with the failed switches left at ``old``'s bits -- and the failed 0 -> 1 and 1 -> 0 switches."""
    old, new = as_words(old), as_words(new)
    if old.numel() != new.numel():
        raise ValueError(f"old has {old.numel()} elements, new {new.numel()}")
    s = stream or write_stream(seed, p01, p10, codec)
    slot = Slot()
    s.capture(slot, old.data_ptr(), old.numel(), scale_of(codec, old))
    y, _ = through_core(new, codec, s.write, slot, inplace=inplace, copy_first=s.dense)
    return y, s.n01, s.n10


def sample_bits(total: int, p: float, seed: int = 0) -> np.ndarray:
    """Sorted distinct positions in ``[0, total)``, each present independently with probability ``p`` (int64)."""
    return np.frombuffer(Stream(seed, float(p), 0).positions(int(total)), dtype=np.int64)


def popcount(w: torch.Tensor) -> torch.Tensor:
    """Number of set bits of each non-negative int64 word below 2**32 (SWAR, vectorised)."""
    w = w - ((w >> 1) & 0x55555555)
    w = (w & 0x33333333) + ((w >> 2) & 0x33333333)
    w = (w + (w >> 4)) & 0x0F0F0F0F
    return ((w * 0x01010101) & 0xFFFFFFFF) >> 24
