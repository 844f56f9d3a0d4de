"""The injection mechanism: sample which stored bits fail, and XOR them into tensors. No policy lives here.

Two ways a bit can fail (probabilities per bit, see docs/accuracy.md):

* **every bit** (read errors, and the symmetric write model): each of the ``n * bits`` stored bits flips
  independently with probability ``p``;
* **directional write errors** (STT-MRAM): a write only switches the bits where the new word differs from the old
  one; a bit that should switch 0 -> 1 keeps its 0 with probability ``p01``, one that should switch 1 -> 0 keeps
  its 1 with ``p10``. Bits that do not change are never disturbed.

Cost grows with the number of flips, not with the number of bits:

* the number of failing bits among ``N`` is drawn from ``Binomial(N, p)`` and that many distinct positions are
  drawn uniformly -- the same distribution as an independent Bernoulli(p) per bit;
* directional errors *thin* those candidates: bit positions are drawn at ``p_max = max(p01, p10)`` among all bits,
  and a candidate is kept if the write switches it 0 -> 1 (with probability ``p01 / p_max``) or 1 -> 0 (``p10 /
  p_max``); unchanged bits are dropped. Each changing bit then fails with exactly its direction's probability, and
  only the candidate words' old and new values are ever encoded -- no pass over the whole tensor.

Above ``DENSE_FRACTION`` a dense path draws one Bernoulli vector per chunk of bits (a loop over chunks, never over
elements). All randomness comes from a caller's CPU ``torch.Generator``, so masks are reproducible for a seed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .formats import Codec

#: above this rate, draw dense Bernoulli vectors instead of a count and positions
DENSE_FRACTION = 1.0 / 16.0
#: bits per chunk of the dense path (bounds its memory to ~16 MiB of random numbers)
DENSE_CHUNK = 1 << 22

_I64 = torch.int64
_EMPTY = torch.empty(0, dtype=_I64)
#: below this many expected flips / candidates, scalar Python beats a chain of tiny torch calls
SMALL = 64


def popcount(w: torch.Tensor) -> torch.Tensor:
    """Number of set bits of each non-negative int64 word below 2**32 (SWAR, vectorised)."""
    w = w - ((w >> 1) & 0x55555555)
    w = (w & 0x33333333) + ((w >> 2) & 0x33333333)
    w = (w + (w >> 4)) & 0x0F0F0F0F
    return ((w * 0x01010101) & 0xFFFFFFFF) >> 24


def sample_bits(total: int, p: float, gen: torch.Generator) -> torch.Tensor:
    """Sorted distinct positions in ``[0, total)``, each present independently with probability ``p``."""
    if total <= 0 or p <= 0.0:
        return torch.empty(0, dtype=_I64)
    if p >= 1.0:
        return torch.arange(total, dtype=_I64)
    if p > DENSE_FRACTION:
        parts = []
        for start in range(0, total, DENSE_CHUNK):  # loop over chunks of bits, not elements
            n = min(DENSE_CHUNK, total - start)
            parts.append(torch.nonzero(torch.rand(n, generator=gen) < p).flatten() + start)
        return torch.cat(parts)
    k = int(torch.binomial(torch.tensor([float(total)], dtype=torch.float64),
                           torch.tensor([p], dtype=torch.float64), generator=gen).item())
    k = min(k, total)
    if k == 0:
        return torch.empty(0, dtype=_I64)
    r = torch.unique(torch.randint(total, (k,), generator=gen, dtype=_I64))
    while r.numel() < k:  # replace duplicates by fresh draws: a uniform k-subset by symmetry
        r = torch.unique(torch.cat([r, torch.randint(total, (k - r.numel(),), generator=gen, dtype=_I64)]))
    return r


class BitStream:
    """A Bernoulli(p) process over the bits of every tensor a data type stores, consumed tensor by tensor.

    Geometric skipping: the gap to the next failing bit is drawn as ``floor(log U / log(1 - p))``; a tensor whose
    ``n`` bits all lie before the next failing bit costs one subtraction and no torch call. Where flips do fall in
    the tensor, further gaps are drawn in vectorised batches. Across tensors this is one Bernoulli process, so each
    bit fails independently with probability ``p``. Above ``DENSE_FRACTION`` every tensor draws a dense Bernoulli
    vector instead (:func:`sample_bits`).
    """

    def __init__(self, p: float, gen: torch.Generator):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"bit error rate must be in [0, 1], got {p}")
        self.p = float(p)
        self.gen = gen
        self.dense = self.p > DENSE_FRACTION
        self._log_q = math.log1p(-self.p) if 0.0 < self.p < 1.0 else 0.0
        self._u: list[float] = []
        self._next = self._gap() if 0.0 < self.p <= DENSE_FRACTION else 0

    def _uniform(self) -> float:
        if not self._u:  # uniforms come from the generator in blocks, consumed in order (deterministic)
            self._u = torch.rand(SMALL, generator=self.gen, dtype=torch.float64).tolist()[::-1]
        return max(self._u.pop(), 1e-300)

    def _gaps(self, k: int) -> torch.Tensor:
        u = torch.rand(k, generator=self.gen, dtype=torch.float64).clamp_min_(1e-300)
        return torch.floor(torch.log(u) / self._log_q).to(_I64)

    def _gap(self) -> int:
        return int(math.floor(math.log(self._uniform()) / self._log_q))

    def take(self, n: int) -> torch.Tensor:
        """Sorted positions in ``[0, n)`` of the failing bits among the next ``n`` bits of the stream."""
        if n <= 0 or self.p <= 0.0:
            return _EMPTY
        if self.dense or self.p >= 1.0:
            return sample_bits(n, self.p, self.gen)
        if self._next >= n:  # the fast path: no flip in this tensor
            self._next -= n
            return _EMPTY
        if n * self.p < SMALL:  # few flips expected: scalar gaps (no per-call torch overhead)
            out = [self._next]
            while True:
                nxt = out[-1] + 1 + self._gap()
                if nxt >= n:
                    self._next = nxt - n
                    return torch.tensor(out, dtype=_I64)
                out.append(nxt)
        found = [torch.tensor([self._next], dtype=_I64)]
        last = self._next
        while True:
            k = int((n - last) * self.p * 1.25) + 16
            pos = last + torch.cumsum(self._gaps(k) + 1, 0)
            inside = pos[pos < n]
            found.append(inside)
            if inside.numel() < k:  # the first position past the tensor starts the next tensor's count
                self._next = int(pos[inside.numel()]) - n
                return torch.cat(found)
            last = int(pos[-1])


@dataclass
class FlipSet:
    """Failing bits of one tensor: flat word indices (unique, ascending) and each word's XOR mask (unsigned)."""

    index: torch.Tensor  # int64 (k,)
    mask: torch.Tensor   # int64 (k,)

    @property
    def n_words(self) -> int:
        return int(self.index.numel())

    @property
    def n_bits(self) -> int:
        if self.mask.numel() <= SMALL:
            return sum(bin(m).count("1") for m in self.mask.tolist())
        return int(popcount(self.mask).sum())

    @staticmethod
    def empty() -> "FlipSet":
        return FlipSet(_EMPTY, _EMPTY)

    @staticmethod
    def from_bits(word: torch.Tensor, bit: torch.Tensor) -> "FlipSet":
        """Group distinct (word, bit) pairs into one mask per word."""
        if word.numel() == 0:
            return FlipSet.empty()
        if word.numel() <= SMALL:
            masks: dict[int, int] = {}
            for w, b in zip(word.tolist(), bit.tolist()):
                masks[w] = masks.get(w, 0) | (1 << b)
            ws = sorted(masks)
            return FlipSet(torch.tensor(ws, dtype=_I64), torch.tensor([masks[w] for w in ws], dtype=_I64))
        idx, inv = torch.unique(word, return_inverse=True)
        mask = torch.zeros(idx.numel(), dtype=_I64).index_add_(0, inv, torch.ones_like(bit) << bit)
        return FlipSet(idx, mask)


def sample_every_bit(n_words: int, bits: int, p: float, gen: torch.Generator) -> FlipSet:
    """Each of ``n_words * bits`` bits fails independently with probability ``p``."""
    pos = sample_bits(n_words * bits, p, gen)
    return FlipSet.from_bits(pos // bits, pos % bits)


def flip_positions(x: torch.Tensor, pos: torch.Tensor, codec: Codec, inplace: bool = False
                   ) -> tuple[torch.Tensor, FlipSet]:
    """``x`` with the stored bits at flat bit positions ``pos`` (``word * bits + bit``) flipped; ``x`` itself when
    ``pos`` is empty."""
    if pos.numel() == 0:
        return x, FlipSet.empty()
    fs = FlipSet.from_bits(pos // codec.bits, pos % codec.bits)
    y = x if inplace else x.detach().clone(memory_format=torch.contiguous_format)
    return apply_flips_(y, fs, codec, codec.context(x)), fs


@dataclass
class Candidates:
    """Bit positions that may fail in a directional write, drawn before the write at ``p_max``."""

    word: torch.Tensor  # int64 flat word index per candidate bit
    bit: torch.Tensor   # int64 bit position per candidate
    p01: float
    p10: float

    @property
    def p_max(self) -> float:
        return max(self.p01, self.p10)

    @staticmethod
    def draw(n_words: int, bits: int, p01: float, p10: float, gen: torch.Generator) -> "Candidates":
        return Candidates.at(sample_bits(n_words * bits, max(p01, p10), gen), bits, p01, p10)

    @staticmethod
    def at(pos: torch.Tensor, bits: int, p01: float, p10: float) -> "Candidates":
        if pos.numel() == 0:
            return Candidates(_EMPTY, _EMPTY, p01, p10)
        return Candidates(pos // bits, pos % bits, p01, p10)

    def __len__(self) -> int:
        return int(self.word.numel())


@dataclass
class DirectionalOutcome:
    flips: FlipSet
    flips_0to1: int
    flips_1to0: int


def resolve_directional(cand: Candidates, old_words: torch.Tensor, new_words: torch.Tensor,
                        gen: torch.Generator) -> DirectionalOutcome:
    """Keep the candidates whose bit the write switches, each with its direction's probability over ``p_max``.

    ``old_words`` / ``new_words``: unsigned words at ``cand.word`` (one per candidate) before and after the write.
    """
    if len(cand) == 0:
        return DirectionalOutcome(FlipSet.empty(), 0, 0)
    pm = cand.p_max
    if len(cand) <= SMALL:  # scalar path, same distribution
        a01, a10 = cand.p01 / pm, cand.p10 / pm
        us = torch.rand(len(cand), generator=gen, dtype=torch.float64).tolist() if a01 < 1.0 or a10 < 1.0 else None
        masks: dict[int, int] = {}
        n01 = n10 = 0
        for i, (w, b, o, n) in enumerate(zip(cand.word.tolist(), cand.bit.tolist(), old_words.tolist(),
                                             new_words.tolist())):
            ob, nb = (o >> b) & 1, (n >> b) & 1
            if ob == nb:
                continue
            if us is not None and us[i] >= (a01 if nb else a10):
                continue
            masks[w] = masks.get(w, 0) | (1 << b)
            n01 += nb
            n10 += 1 - nb
        if not masks:
            return DirectionalOutcome(FlipSet.empty(), 0, 0)
        ws = sorted(masks)
        return DirectionalOutcome(FlipSet(torch.tensor(ws, dtype=_I64), torch.tensor([masks[w] for w in ws],
                                                                                      dtype=_I64)), n01, n10)
    ob = (old_words >> cand.bit) & 1
    nb = (new_words >> cand.bit) & 1
    up = (ob == 0) & (nb == 1)
    down = (ob == 1) & (nb == 0)
    u = torch.rand(len(cand), generator=gen, dtype=torch.float64)
    keep_up = up & (u < cand.p01 / pm)
    keep_down = down & (u < cand.p10 / pm)
    keep = keep_up | keep_down
    return DirectionalOutcome(FlipSet.from_bits(cand.word[keep], cand.bit[keep]), int(keep_up.sum()),
                              int(keep_down.sum()))


# -- applying flips -------------------------------------------------------------------------------------------
def apply_flips_(x: torch.Tensor, flips: FlipSet, codec: Codec, ctx: float | None = None) -> torch.Tensor:
    """XOR ``flips`` into the stored words of contiguous ``x`` in place; only the flipped words are touched."""
    if flips.n_words == 0:
        return x
    flat = x.view(-1)
    with torch.no_grad():
        words = codec.encode(flat[flips.index], ctx)
        flat[flips.index] = codec.decode(words ^ flips.mask, ctx).to(x.dtype)
    return x


def flip_every_bit(x: torch.Tensor, p: float, codec: Codec, gen: torch.Generator, ctx: float | None = None,
                   inplace: bool = False) -> tuple[torch.Tensor, FlipSet]:
    """``x`` with each stored bit flipped with probability ``p``: a copy (``x`` itself when no bit flips, or when
    ``inplace``)."""
    fs = sample_every_bit(x.numel(), codec.bits, p, gen)
    if fs.n_words == 0:
        return x, fs
    if ctx is None:
        ctx = codec.context(x)
    y = x if inplace else x.detach().clone(memory_format=torch.contiguous_format)
    return apply_flips_(y, fs, codec, ctx), fs


def write_directional(old: torch.Tensor, new: torch.Tensor, p01: float, p10: float, codec: Codec,
                      gen: torch.Generator, inplace: bool = False) -> tuple[torch.Tensor, DirectionalOutcome]:
    """What storage holds after writing ``new`` over ``old`` (same number of elements) with directional write
    errors: ``new`` with the failed switches left at ``old``'s bits."""
    cand = Candidates.draw(new.numel(), codec.bits, p01, p10, gen)
    if len(cand) == 0:
        return new, DirectionalOutcome(FlipSet.empty(), 0, 0)
    c_new = codec.context(new)
    c_old = codec.context(old) if codec.name == "int8" and codec.fixed_scale is None else c_new
    ow = codec.encode(old.detach().reshape(-1)[cand.word], c_old)
    nw = codec.encode(new.detach().reshape(-1)[cand.word], c_new)
    out = resolve_directional(cand, ow, nw, gen)
    if out.flips.n_words == 0:
        return new, out
    y = new if inplace else new.detach().clone(memory_format=torch.contiguous_format)
    return apply_flips_(y, out.flips, codec, c_new), out
