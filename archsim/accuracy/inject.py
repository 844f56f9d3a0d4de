"""The injection mechanism: sample which stored bits fail, and XOR them into tensors. No policy lives here.

Two ways a bit can fail (probabilities per bit, see docs/accuracy.md):

* **every bit** (read errors, and the symmetric write model): each of the ``n * bits`` stored bits flips
  independently with probability ``p``;
* **directional write errors** (STT-MRAM): a write only switches the bits where the new word differs from the old
  one; a bit that should switch 0 -> 1 keeps its 0 with probability ``p01``, one that should switch 1 -> 0 keeps
  its 1 with ``p10``. Bits that do not change are never disturbed.

Cost grows with the number of flips, not with the number of bits:

* failing bits are positions of a Bernoulli(p) process (:class:`BitStream` and :func:`geometric_positions`:
  geometric gaps; or a Binomial count and uniform positions at low rates in :func:`sample_bits`) -- the same
  distribution as an independent Bernoulli(p) per bit;
* directional errors *thin* those candidates: bit positions are drawn at ``p_max = max(p01, p10)`` among all bits,
  and a candidate is kept if the write switches it 0 -> 1 (with probability ``p01 / p_max``) or 1 -> 0 (``p10 /
  p_max``); unchanged bits are dropped (:func:`directional_keep`). Each changing bit then fails with exactly its
  direction's probability, and only the candidate words' old and new values are ever encoded.

The affected words are read and written through a numpy view of the tensor's memory (:func:`words_view`), encoded
and decoded by :meth:`Codec.encode_bits` / :meth:`Codec.decode_bits`: a numpy call on a few words costs about a
microsecond, a torch call several, and an injection event (a tensor in which some bit fails) is a handful of calls.
Above ``DENSE_FRACTION`` a dense path draws one Bernoulli vector per chunk of bits (a loop over chunks, never over
elements). All randomness comes from a caller's CPU ``torch.Generator``, so masks are reproducible for a seed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .formats import Codec
from .uniforms import UniformSource, source_of

#: above this rate, draw dense Bernoulli vectors (one uniform per bit). Below it geometric gaps cost one uniform per
#: *failing* bit: measured here on 4 Mbit at p = 0.08, 4.9 ms for the gaps vs 32 ms for the dense vector (6.5x); the
#: two meet near p = 0.5
DENSE_FRACTION = 0.5
#: below this rate :func:`sample_bits` draws a Binomial count and uniform positions (few duplicates to redraw), above
#: it geometric gaps (at high rates the duplicates of uniform positions make redraws costly)
SPARSE_FRACTION = 1.0 / 16.0
#: bits per chunk of the dense path (bounds its memory to ~16 MiB of random numbers)
DENSE_CHUNK = 1 << 22

_I64 = torch.int64
_EMPTY = torch.empty(0, dtype=_I64)
#: the empty position array (never written to)
NO_BITS = np.empty(0, dtype=np.int64)
NO_BITS.flags.writeable = False
#: the smallest batch of geometric gaps a :class:`BitStream` draws at once
SMALL = 64
#: below this rate a :class:`BitStream` draws gaps one by one as Python integers (a gap may exceed int64)
TINY = 1e-12
#: a directional write over at most this many candidates (fp32 / bf16) draws its thinning uniforms whether or not a
#: candidate switches (:func:`directional_fail`), above it only if one does -- part of the seeded random stream
FEW = 16
#: up to this many bits or words of a tensor, fp32 / bf16 work is a Python loop over them instead of numpy calls
#: (bf16 flips and old words, directional candidates). Speed only: both paths give the same words and draw the same
#: uniforms. 48 instead of 16 made no measurable difference in training (docs/performance.md)
SCALAR = 16
#: up to this many flipped bits, fp32 words are XORed one by one in Python; above, one ``np.bitwise_xor.at``
#: (measured here: 0.6 us for 1 bit, 1.3 us for 3 and 5 us for 8 in the loop, 4-5 us for 1-50 bits with
#: ``at``)
LOOP32 = 6
#: up to this many, one ``np.bitwise_xor.at`` call (fewer numpy calls than splitting off the shared words)
SHORT32 = 64
#: the 32 one-bit masks of a 32-bit word
BIT32 = np.left_shift(np.uint32(1), np.arange(32, dtype=np.uint32))
BIT32.flags.writeable = False


def popcount(w: torch.Tensor) -> torch.Tensor:
    """Number of set bits of each non-negative int64 word below 2**32 (SWAR, vectorised)."""
    w = w - ((w >> 1) & 0x55555555)
    w = (w & 0x33333333) + ((w >> 2) & 0x33333333)
    w = (w + (w >> 4)) & 0x0F0F0F0F
    return ((w * 0x01010101) & 0xFFFFFFFF) >> 24


def uniforms(k: int, gen: torch.Generator | UniformSource) -> np.ndarray:
    """``k`` float64 uniforms in [0, 1) from ``gen`` (the same numbers whether ``gen`` is a generator or a
    :class:`~archsim.accuracy.uniforms.UniformSource` of it)."""
    if isinstance(gen, UniformSource):
        return gen.take(k)
    return torch.rand(k, generator=gen, dtype=torch.float64).numpy()


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
    if p > SPARSE_FRACTION:
        return torch.from_numpy(geometric_positions(total, p, gen))
    k = int(torch.binomial(torch.tensor([float(total)], dtype=torch.float64),
                           torch.tensor([p], dtype=torch.float64), generator=gen).item())
    k = min(k, total)
    if k == 0:
        return torch.empty(0, dtype=_I64)
    r = torch.unique(torch.randint(total, (k,), generator=gen, dtype=_I64))
    while r.numel() < k:  # replace duplicates by fresh draws: a uniform k-subset by symmetry
        r = torch.unique(torch.cat([r, torch.randint(total, (k - r.numel(),), generator=gen, dtype=_I64)]))
    return r


def _next_positions(last: int, k: int, log_q: float, gen: torch.Generator | UniformSource) -> np.ndarray:
    """The ``k`` failing positions after ``last`` of a Bernoulli process with ``log_q = log(1 - p)``: geometric gaps
    ``floor(log U / log(1 - p))`` from ``k`` uniforms of ``gen`` (the quotient is >= 0, so the integer conversion
    is the floor)."""
    if isinstance(gen, UniformSource):
        return gen.take_positions(log_q, k, last)
    gaps = (np.log(np.maximum(uniforms(k, gen), 1e-300)) / log_q).astype(np.int64)
    gaps += 1
    return np.cumsum(gaps, out=gaps) + last


def geometric_positions(total: int, p: float, gen: torch.Generator) -> np.ndarray:
    """Sorted positions in ``[0, total)`` of a Bernoulli(p) process, by geometric gaps ``floor(log U / log(1-p))``
    drawn in vectorised batches of at most ``DENSE_CHUNK`` (a loop over batches, never over bits)."""
    log_q = math.log1p(-p)
    parts, last = [], -1
    while True:
        k = min(DENSE_CHUNK, max(SMALL, int((total - last) * p * 1.1) + 64))
        pos = _next_positions(last, k, log_q, gen)
        inside = int(np.searchsorted(pos, total))
        parts.append(pos[:inside])
        if inside < k:
            return np.concatenate(parts) if len(parts) > 1 else parts[0]
        last = int(pos[-1])


class BitStream:
    """A Bernoulli(p) process over the bits of every tensor a data type stores, consumed tensor by tensor.

    Geometric skipping: the gap to the next failing bit is ``floor(log U / log(1 - p))``. The stream keeps a buffer
    of upcoming failing positions (absolute bit indices in the stream), drawn in numpy batches of at least
    ``SMALL`` gaps; taking ``n`` bits is a comparison with the next failing position (no flip: no array work at
    all) or one ``searchsorted`` and a slice of the buffer. Across tensors this is one Bernoulli process, so each
    bit fails independently with probability ``p`` -- whether the caller takes a tensor's bits alone or the bits of
    several tensors as one concatenated range. Rates below ``TINY`` draw their (astronomically rare) gaps one by one
    as Python integers, since a gap may then exceed the int64 range. Above ``DENSE_FRACTION`` every call draws a
    dense Bernoulli vector instead (:func:`sample_bits`).
    """

    def __init__(self, p: float, gen: torch.Generator | UniformSource):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"bit error rate must be in [0, 1], got {p}")
        self.p = float(p)
        self.src = source_of(gen)  # streams of one data type share the source of its generator
        self.dense = self.p > DENSE_FRACTION
        self._log_q = math.log1p(-self.p) if 0.0 < self.p < 1.0 else 0.0
        self._at = 0                    # bits taken so far
        self._buf = NO_BITS             # absolute positions of upcoming failing bits (sorted), from _buf[_i] on
        self._i = 0
        self._last = -1                 # the last failing position drawn so far
        self._next = 0                  # the next failing position (a Python int)
        if 0.0 < self.p <= DENSE_FRACTION:
            self._refill(0)
            self._next = self._peek()

    def _peek(self) -> int:
        return int(self._buf[self._i])

    def _refill(self, end: int) -> None:
        """Extend the buffer with freshly drawn failing positions until it holds one at or past ``end``."""
        parts = [self._buf[self._i:]]
        while self._last < end:
            if self.p < TINY:  # one gap as a Python integer (no int64 bound)
                u = max(float(self.src.take(1)[0]), 1e-300)
                self._last += 1 + int(math.floor(math.log(u) / self._log_q))
                parts.append(np.array([self._last], dtype=object if self._last >= 1 << 62 else np.int64))
                continue
            # at most DENSE_CHUNK uniforms at a time (bounds the temporaries at high rates over large ranges)
            k = min(DENSE_CHUNK, max(SMALL, int((end - self._last) * self.p * 1.25) + 16))
            new = _next_positions(self._last, k, self._log_q, self.src)
            self._last = int(new[-1])
            parts.append(new)
        self._buf = np.concatenate(parts) if len(parts) > 1 else parts[0]
        self._i = 0

    def positions(self, n: int) -> np.ndarray:
        """Sorted positions (int64 numpy array) in ``[0, n)`` of the failing bits among the next ``n`` bits."""
        if n <= 0 or self.p <= 0.0:
            return NO_BITS
        if self.dense or self.p >= 1.0:
            return sample_bits(n, self.p, self.src.generator()).numpy()
        start, end = self._at, self._at + n
        self._at = end
        if self._next >= end:  # the fast path: no flip in these bits
            return NO_BITS
        if self._last < end:
            self._refill(end)
        buf, i = self._buf, self._i
        j = int(buf.searchsorted(end))  # >= i: everything before i lies before start
        out = buf[i:j] - start
        self._i = j
        self._next = int(buf[j])
        return out if out.dtype == np.int64 else out.astype(np.int64)

    def take(self, n: int) -> torch.Tensor:
        """:meth:`positions` as a torch tensor."""
        pos = self.positions(n)
        return torch.from_numpy(pos) if pos.size else _EMPTY


def group_bits(pos: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct flat bit positions (``word * bits + bit``) as (word index, XOR mask) per distinct word."""
    word = pos >> (bits.bit_length() - 1)  # word widths are powers of two
    one = np.left_shift(1, pos & (bits - 1))
    if word.size < 2:
        return word, one
    start = np.flatnonzero(np.concatenate(([True], word[1:] != word[:-1])))
    return word[start], np.bitwise_or.reduceat(one, start)


def split_ranges(pos: np.ndarray, starts: np.ndarray):
    """Yield ``(i, lo, hi)`` for each range ``i`` (ranges begin at sorted ``starts``, the first at 0) that sorted
    ``pos`` falls in, ``pos[lo:hi]`` being its positions: how one draw over several tensors' concatenated bits is
    dealt back to the tensors. The loop runs over the ranges that hold a position, not over positions."""
    if pos.size == 0:
        return
    idx = np.searchsorted(starts, pos, side="right") - 1
    cut = np.flatnonzero(idx[1:] != idx[:-1]) + 1
    lo = 0
    for hi in [*cut.tolist(), pos.size]:
        yield int(idx[lo]), lo, hi
        lo = hi


# -- words of a tensor ----------------------------------------------------------------------------------------
def words_view(x: torch.Tensor) -> np.ndarray | None:
    """The float32 bit patterns of contiguous CPU float32 ``x`` as a flat, writable uint32 numpy view of its memory
    (None for other tensors, which take the torch path). Writes through it bypass autograd, like ``.data``."""
    if x.dtype is torch.float32 and x.is_cpu and x.is_contiguous():
        return (x.detach() if x.requires_grad else x).numpy().ravel().view(np.uint32)
    return None


def private_copy(x: torch.Tensor) -> tuple[torch.Tensor, np.ndarray | None]:
    """A contiguous copy of ``x`` outside autograd, and its :func:`words_view`. A contiguous CPU float32 tensor is
    copied by numpy and wrapped (``torch.from_numpy``): one copy and no second view call (~4.5 us against ~6.5 us
    for ``clone`` and ``words_view`` on 16 k words, measured here)."""
    if x.requires_grad:
        x = x.detach()
    if x.dtype is torch.float32 and x.is_cpu and x.is_contiguous():
        a = x.numpy().copy()
        return torch.from_numpy(a), a.reshape(-1).view(np.uint32)
    y = x.clone(memory_format=torch.contiguous_format)
    return y, words_view(y)


def words_at(x: torch.Tensor, index: np.ndarray, codec: Codec, ctx: float | None = None,
             u: np.ndarray | None = None) -> np.ndarray:
    """Stored words (int64 numpy) of the flat elements ``index`` of ``x`` (``u``: ``words_view(x)`` if the caller
    has it)."""
    if index.size == 0:
        return NO_BITS
    if u is None:
        u = words_view(x)
    if u is None:
        return codec.encode(x.detach().reshape(-1)[torch.from_numpy(index)], ctx).numpy()
    if codec.name == "bf16" and index.size <= SCALAR:  # a few words: the scalar rounding beats ~10 numpy calls
        return np.array([_bf16_word(int(u[i])) for i in index.tolist()], dtype=np.int64)
    return codec.encode_bits(u[index], ctx)


def flip_words_(x: torch.Tensor, index: np.ndarray, mask: np.ndarray, codec: Codec, ctx: float | None = None
                ) -> torch.Tensor:
    """XOR ``mask`` into the stored words at distinct flat ``index`` of contiguous ``x``, in place."""
    if index.size == 0:
        return x
    u = words_view(x)
    if u is None:
        return apply_flips_(x, FlipSet(torch.from_numpy(index), torch.from_numpy(mask)), codec, ctx)
    if codec.name == "fp32":
        u[index] ^= mask.astype(np.uint32)
    else:
        u[index] = codec.decode_bits(codec.encode_bits(u[index], ctx) ^ mask, ctx)
    return x


def xor_bits32_(u: np.ndarray, pos: np.ndarray, word: np.ndarray | None = None) -> None:
    """Flip, in place, the bits at sorted distinct flat positions ``pos`` (``word * 32 + bit``) of the uint32 words
    ``u``; ``word``: the index in ``u`` of each position's word where it is not ``pos >> 5`` (a padded block; it
    must keep the order of ``pos``).

    Few bits: a Python loop. More: positions of one word are adjacent (sorted), so the first bit of each word is
    XORed by one fancy-indexed ``^=`` (about 5 ns a bit) and only the further bits of words that hold several go
    through the unbuffered ``np.bitwise_xor.at`` (about 50 ns a bit)."""
    if word is None and pos.size <= LOOP32:
        for p in pos.tolist():
            u[p >> 5] ^= BIT32[p & 31]
        return
    if not pos.size:
        return
    w = pos >> 5 if word is None else word
    m = BIT32[pos & 31]
    if pos.size <= SHORT32:
        np.bitwise_xor.at(u, w, m)
        return
    more = w[1:] == w[:-1]  # position i + 1 shares its word with position i
    n_more = int(np.count_nonzero(more))
    if not n_more:
        u[w] ^= m
        return
    if 4 * n_more > pos.size:  # dense: most words hold several flips
        np.bitwise_xor.at(u, w, m)
        return
    first = np.concatenate(([True], ~more))
    u[w[first]] ^= m[first]
    np.bitwise_xor.at(u, w[1:][more], m[1:][more])


def directional_keep_runs(new_words: np.ndarray, bit: np.ndarray, old: np.ndarray, p01: float, p10: float, draw,
                          first: np.ndarray | None = None, few: int = FEW) -> tuple[np.ndarray, int, int]:
    """:func:`directional_keep` for the candidates of one or several tensors at once.

    ``new_words`` / ``old``: each candidate's stored word after / before the write; ``bit``: its bit in the word;
    ``first``: where each tensor's run of candidates begins (None: one tensor). With unequal rates each tensor's
    candidates draw one thinning uniform each, in order -- always when the tensor has at most ``few`` candidates
    (the scalar path of :func:`directional_fail`: ``FEW`` for fp32 / bf16, 0 for the other formats), otherwise
    only if one of them switches -- so one call over several tensors consumes the random stream exactly as one
    call per tensor does. Returns (keep mask, #0->1, #1->0)."""
    nb = (new_words >> bit) & 1
    keep = nb != ((old >> bit) & 1)
    k = keep.size
    if p01 != p10 and k:
        pm = max(p01, p10)
        if first is None:
            sel = slice(None) if k <= few or keep.any() else None
        else:
            size = np.diff(np.append(first, k))
            seg = (size <= few) | np.logical_or.reduceat(keep, first)
            sel = slice(None) if seg.all() else np.repeat(seg, size) if seg.any() else None
        if sel is not None:
            # the direction with the larger rate keeps all its switching candidates (ratio 1, and u < 1): only the
            # other direction's are compared, with the same uniforms as one comparison per candidate
            us = draw(k) if type(sel) is slice else draw(int(np.count_nonzero(sel)))
            if type(sel) is not slice:
                full = np.ones(k)
                full[sel] = us
                us = full
            minor = keep & (nb == (0 if p01 > p10 else 1))
            keep[minor] = us[minor] < min(p01, p10) / pm
    n01 = int(np.count_nonzero(keep & (nb == 1)))
    return keep, n01, int(np.count_nonzero(keep)) - n01


def _bf16_word(u: int) -> int:
    """The bf16 word of one float32 bit pattern, as :meth:`Codec.encode_bits` computes it."""
    if (u & 0x7FFFFFFF) > 0x7F800000:
        return 0x7FC0
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF


def flip_bits_(x: torch.Tensor, pos: np.ndarray, codec: Codec, ctx: float | None = None,
               u: np.ndarray | None = None) -> torch.Tensor:
    """Flip the stored bits at sorted distinct flat bit positions ``pos`` of contiguous ``x``, in place (``u``:
    ``words_view(x)`` if the caller has it).

    fp32 words are XORed in place (:func:`xor_bits32_`); at most ``SCALAR`` positions in bf16 take a scalar path (a
    Python loop over the flipped bits, never over the tensor), faster than the numpy calls of :func:`flip_words_`.
    """
    if not pos.size:
        return x
    if codec.name == "fp32":
        if u is None:
            u = words_view(x)
        if u is not None:
            xor_bits32_(u, pos)
            return x
    if pos.size > SCALAR or codec.name != "bf16" or (u is None and (u := words_view(x)) is None):
        return flip_words_(x, *group_bits(pos, codec.bits), codec, ctx)
    masks: dict[int, int] = {}
    for p in pos.tolist():
        w, b = divmod(p, codec.bits)
        masks[w] = masks.get(w, 0) | (1 << b)
    for w, m in masks.items():
        u[w] = (_bf16_word(int(u[w])) ^ m) << 16
    return x


def directional_keep(bit: np.ndarray, old: np.ndarray, new: np.ndarray, p01: float, p10: float,
                     draw) -> tuple[np.ndarray, int, int]:
    """Which candidates of a directional write fail: those whose bit the write switches, each kept with its
    direction's probability over ``p_max``. ``old`` / ``new``: the candidate's word before and after the write;
    ``draw(k)``: ``k`` uniforms, called only when the two rates differ and some candidate switches. Returns (keep
    mask, #0->1, #1->0)."""
    return directional_keep_runs(new, bit, old, p01, p10, draw, few=0)


def directional_fail(x: torch.Tensor, cand: np.ndarray, old: np.ndarray, codec: Codec, ctx: float | None,
                     p01: float, p10: float, draw, u: np.ndarray | None = None) -> tuple[np.ndarray, int, int]:
    """The candidate positions ``cand`` (sorted flat bit positions of ``x``, holding the newly written values) at
    which a directional write over the words ``old`` (one per candidate) fails, with (#0->1, #1->0): the rule of
    :func:`directional_keep_runs`. At most ``SCALAR`` fp32 / bf16 candidates take a scalar loop over the candidates,
    more take numpy. ``u``: ``words_view(x)`` if the caller has it."""
    scalar_fmt = codec.name in ("fp32", "bf16")
    if u is None and scalar_fmt:
        u = words_view(x)
    if cand.size > SCALAR or u is None or not scalar_fmt:
        new = words_at(x, cand >> codec.shift, codec, ctx, u)
        keep, n01, n10 = directional_keep_runs(new, cand & (codec.bits - 1), old, p01, p10, draw,
                                               few=FEW if scalar_fmt else 0)
        return cand[keep], n01, n10
    bf16, sh, mask = codec.name == "bf16", codec.shift, codec.bits - 1
    cands = cand.tolist()
    nbs, sws = [], []
    for p, o in zip(cands, old.tolist()):
        b = p & mask
        w = int(u[p >> sh])
        nb = ((_bf16_word(w) if bf16 else w) >> b) & 1
        nbs.append(nb)
        sws.append(nb != (o >> b) & 1)
    if p01 != p10 and (len(cands) <= FEW or any(sws)):  # the thinning draw, as directional_keep_runs makes it
        pm = max(p01, p10)
        r01, r10 = p01 / pm, p10 / pm
        us = draw(len(cands)).tolist()
        kept = [(p, nb) for p, nb, sw, v in zip(cands, nbs, sws, us) if sw and v < (r01 if nb else r10)]
    else:
        kept = [(p, nb) for p, nb, sw in zip(cands, nbs, sws) if sw]
    n01 = sum(nb for _, nb in kept)
    return (np.array([p for p, _ in kept], dtype=np.int64) if kept else NO_BITS), n01, len(kept) - n01


# -- tensors of torch indices (the public, tensor-level API) ------------------------------------------------
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
        return int(popcount(self.mask).sum()) if self.mask.numel() else 0

    @staticmethod
    def empty() -> "FlipSet":
        return FlipSet(_EMPTY, _EMPTY)

    @staticmethod
    def from_positions(pos: np.ndarray, bits: int) -> "FlipSet":
        """The flip set of sorted distinct flat bit positions."""
        if pos.size == 0:
            return FlipSet.empty()
        w, m = group_bits(pos, bits)
        return FlipSet(torch.from_numpy(w), torch.from_numpy(m))

    @staticmethod
    def from_bits(word: torch.Tensor, bit: torch.Tensor) -> "FlipSet":
        """Group distinct (word, bit) pairs into one mask per word."""
        if word.numel() == 0:
            return FlipSet.empty()
        idx, inv = torch.unique(word, return_inverse=True)
        mask = torch.zeros(idx.numel(), dtype=_I64).index_add_(0, inv, torch.ones_like(bit) << bit)
        return FlipSet(idx, mask)


def sample_every_bit(n_words: int, bits: int, p: float, gen: torch.Generator) -> FlipSet:
    """Each of ``n_words * bits`` bits fails independently with probability ``p``."""
    return FlipSet.from_positions(sample_bits(n_words * bits, p, gen).numpy(), bits)


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
    keep, n01, n10 = directional_keep(cand.bit.numpy(), old_words.numpy(), new_words.numpy(), cand.p01, cand.p10,
                                      lambda k: uniforms(k, gen))
    keep_t = torch.from_numpy(keep)
    return DirectionalOutcome(FlipSet.from_bits(cand.word[keep_t], cand.bit[keep_t]), n01, n10)


def apply_flips_(x: torch.Tensor, flips: FlipSet, codec: Codec, ctx: float | None = None) -> torch.Tensor:
    """XOR ``flips`` into the stored words of contiguous ``x`` in place; only the flipped words are touched."""
    if flips.n_words == 0:
        return x
    if words_view(x) is not None:
        return flip_words_(x, flips.index.numpy(), flips.mask.numpy(), codec, ctx)
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
    c_old = codec.context(old) if codec.has_context else c_new
    ow = codec.encode(old.detach().reshape(-1)[cand.word], c_old)
    nw = codec.encode(new.detach().reshape(-1)[cand.word], c_new)
    out = resolve_directional(cand, ow, nw, gen)
    if out.flips.n_words == 0:
        return new, out
    y = new if inplace else new.detach().clone(memory_format=torch.contiguous_format)
    return apply_flips_(y, out.flips, codec, c_new), out
