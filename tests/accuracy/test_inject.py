"""The injection mechanism: the compiled core (``archsim.accuracy._bitflip``: :class:`Stream`, :class:`Slot`,
``encode`` / ``decode``) and its thin Python layer (``archsim.accuracy.inject``).

What is checked:

* every-bit errors: flip rate, which words change and by how much, rates 0 and 1, uniform and independent bit
  positions, in-place operation;
* directional (STT-MRAM) writes on both stream kinds (sparse candidates, dense comparison): only switching bits
  fail, a failed bit keeps its old value, per-direction rates and counts, the old contents (cleared, random, kept
  in a slot over successive writes, captured before an in-place update);
* the core's stream protocol: determinism, ``-1`` without a destination (nothing consumed), the geometric gap
  carried from call to call and across the segments of one call, per-segment int8 scales;
* the core's codec against the torch :class:`Codec`;
* tiny and astronomically small rates, and the per-stream seeds.

Statistical checks use :func:`_within` (5 standard deviations plus one count), so a correct core fails one of
them with a negligible probability; every random input is seeded, so a run is reproducible.
"""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from archsim.accuracy import _bitflip
from archsim.accuracy.formats import FORMATS, codec
from archsim.accuracy.inject import (DENSE_CANDIDATES, FMT_CODE, Slot, Stream, as_words, every_bit_stream,
                                     flip_every_bit, popcount, sample_bits, stream_seed, write_directional,
                                     write_stream)


def _within(k: int, n: int, p: float, z: float = 5.0) -> bool:
    """k successes of n Bernoulli(p) trials lie within z standard deviations (plus one count) of n p."""
    mu = n * p
    return abs(k - mu) <= z * math.sqrt(max(n * p * (1 - p), 1e-12)) + 1


# -- helpers ---------------------------------------------------------------------------------------------------
def _u32(x: torch.Tensor) -> torch.Tensor:
    """The float32 bit patterns of ``x`` as non-negative int64 (bit-exact comparisons, NaNs included)."""
    return x.contiguous().view(torch.int32).to(torch.int64) & 0xFFFFFFFF


def _ones(w: torch.Tensor) -> int:
    """Set bits in all of ``w`` (non-negative int64 words below 2**32)."""
    return int(popcount(w).sum()) if w.numel() else 0


def _randn(n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, generator=torch.Generator().manual_seed(seed))


def _write(s: Stream, slot: Slot, x: torch.Tensor, old: int, keep: bool, scale=None) -> tuple[torch.Tensor, int]:
    """A directional write of ``x`` through the core, by the calling protocol of the hooks: without a destination
    first, into a fresh copy only when the core asks for one (-1). Returns what storage holds and the return value."""
    k = s.write(slot, x.data_ptr(), None, x.numel(), scale, old, keep)
    if k >= 0:
        return x, k
    y = torch.empty_like(x)
    k = s.write(slot, x.data_ptr(), y.data_ptr(), x.numel(), scale, old, keep)
    assert k >= 0, "the core asked for a destination a second time"
    return y, k


def _directional(c, scale, old: torch.Tensor, new: torch.Tensor, stored: torch.Tensor):
    """Checks the structure of a directional write of ``new`` over ``old`` that left ``stored``, and returns the
    failed and the switching bits per direction ``(f01, f10, n01, n10, all_decodable)``.

    Asserted: no bit that the write does not switch failed; a failed bit holds the old bit; a word in which no bit
    failed holds exactly ``new``'s float32 pattern (unchanged words untouched). Words that read back as NaN in
    bf16/fp16 are left out (their payload does not survive re-encoding); ``all_decodable`` says whether there were
    none."""
    ok = ~torch.isnan(stored) if c.name in ("bf16", "fp16") else torch.ones(stored.numel(), dtype=torch.bool)
    old, new, stored = old[ok], new[ok], stored[ok]
    ow, nw, sw = c.encode(old, scale), c.encode(new, scale), c.encode(stored, scale)
    switched = ow ^ nw
    fail = sw ^ nw
    assert int((fail & ~switched).ne(0).sum()) == 0, "a bit that the write does not switch failed"
    assert torch.equal(sw & fail, ow & fail), "a failed bit does not hold the old bit"
    clean = fail == 0
    assert torch.equal(_u32(stored[clean]), _u32(new[clean])), "a word without a failed bit was disturbed"
    up, down = switched & nw, switched & ow
    return _ones(fail & up), _ones(fail & down), _ones(up), _ones(down), bool(ok.all())


def _rates(kind: str, bits: int, u: float, ratio: float) -> tuple[float, float]:
    """Directional rates ``(p01, p10)`` whose larger one ``p_max`` makes a ``kind`` stream for words of ``bits``
    bits (``u`` in [0, 1] places it log-uniformly in the kind's range), the smaller one ``p_max / ratio`` or
    ``p_max * ratio``."""
    edge = DENSE_CANDIDATES / bits
    lo, hi = (1e-3, 0.9 * edge) if kind == "sparse" else (edge, 0.4)
    pm = lo * (hi / lo) ** u
    return (pm, pm * ratio) if ratio <= 1.0 else (pm / ratio, pm)


def _layout(sizes: list[int], guard: int = 3) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
    """One zero float32 buffer holding tensors of ``sizes`` with ``guard`` words before, between and after them:
    ``(buffer, the tensors (views), a mask of the guard words)``."""
    buf = torch.zeros(sum(sizes) + guard * (len(sizes) + 1))
    guards = torch.ones(buf.numel(), dtype=torch.bool)
    views, at = [], guard
    for n in sizes:
        views.append(buf[at:at + n])
        guards[at:at + n] = False
        at += n + guard
    return buf, views, guards


# -- codec (torch) ---------------------------------------------------------------------------------------------
def test_popcount_matches_python():
    """inject.popcount counts the set bits of 32-bit words like Python's bin(...).count("1")."""
    w = torch.randint(0, 1 << 32, (4000,), generator=torch.Generator().manual_seed(3), dtype=torch.int64)
    assert popcount(w).tolist() == [bin(int(v)).count("1") for v in w]


@pytest.mark.parametrize("fmt", FORMATS)
def test_codec_round_trip(fmt):
    """Values representable in a format decode back from their words; words lie in [0, 2**bits)."""
    c = codec(fmt)
    x = c.round_trip(torch.randn(1000) * 3)
    ctx = c.context(x)
    assert torch.allclose(c.decode(c.encode(x, ctx), ctx), x, rtol=0, atol=(1e-6 if fmt != "int8" else ctx / 2))
    w = c.encode(x, ctx)
    assert int(w.min()) >= 0 and int(w.max()) < (1 << c.bits)


def test_known_bit_patterns():
    """Known words of each format, and known results of flipping them through the core: the sign bit of fp32 1.0
    gives -1.0, int8's MSB of +1 gives -127, flipping every bit of int8 +1 (0x01 -> 0xFE) gives -2."""
    assert codec("fp32").encode(torch.tensor([1.0])).item() == 0x3F800000
    assert codec("bf16").encode(torch.tensor([-2.0])).item() == 0xC000
    assert codec("fp16").encode(torch.tensor([1.0])).item() == 0x3C00
    c = codec("int8", int8_scale=0.5)
    assert c.encode(torch.tensor([-1.0]), 0.5).item() == 0xFE  # -2 in two's complement

    def core(fn, words, fmt, scale=1.0):
        a = np.asarray(words, dtype=np.uint32)
        out = np.empty_like(a)
        fn(a, out, FMT_CODE[fmt], scale)
        return out

    one = core(_bitflip.encode, np.array([1.0], dtype=np.float32).view(np.uint32), "fp32")
    assert core(_bitflip.decode, one ^ np.uint32(1 << 31), "fp32").view(np.float32)[0] == -1.0
    q = core(_bitflip.encode, np.array([0.5], dtype=np.float32).view(np.uint32), "int8", 0.5)
    assert q[0] == 1
    assert core(_bitflip.decode, q ^ np.uint32(0x80), "int8", 0.5).view(np.float32)[0] == -127 * 0.5
    y, k = flip_every_bit(torch.tensor([0.5]), 1.0, c)
    assert k == 8 and y.item() == -1.0
    y, k = flip_every_bit(torch.tensor([1.0]), 1.0, codec("fp32"))
    assert k == 32 and _u32(y).item() == 0xC07FFFFF


def test_unknown_format_rejected():
    """Unknown format names, format codes, rates outside [0, 1] and bad core arguments raise ValueError."""
    with pytest.raises(ValueError, match="unknown number format"):
        codec("fp8")
    with pytest.raises(ValueError, match="unknown format code"):
        Stream(0, 0.1, 4)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="rates"):
            Stream(0, bad, 0)
        with pytest.raises(ValueError, match="rates"):
            Stream(0, 0.1, 0, bad, 0.1)
    x = torch.zeros(4)
    s = Stream(0, 0.1, 0)
    with pytest.raises(ValueError):
        s.flip([x.data_ptr()], None, [4, 4])  # lists of different lengths
    with pytest.raises(ValueError):
        s.flip(x.data_ptr(), None, -1)
    with pytest.raises(ValueError, match="old"):
        s.write(Slot(), x.data_ptr(), None, 4, None, 3)
    with pytest.raises(TypeError):
        s.write(object(), x.data_ptr(), None, 4)
    with pytest.raises(ValueError, match="elements"):
        write_directional(torch.zeros(3), torch.zeros(4), 0.1, 0.1, codec("fp32"))


# -- codec (core) against the torch codec ----------------------------------------------------------------------
def _float_samples(seed: int) -> torch.Tensor:
    """float32 values of every magnitude, the specials of the formats, int8 ties at scale 0.05, and the exact
    rounding ties (and their float32 neighbours) between consecutive bf16 and fp16 words."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(50_000, generator=g) * 10.0 ** torch.randint(-9, 9, (50_000,), generator=g).float()
    special = [0.0, -0.0, float("inf"), -float("inf"), 65504.0, 65520.0, 65519.99, -7e4, 6e-8, 3e-8, 1e-40, -1e-45,
               2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -26, 2.0 ** -14, 3.4e38, -3.4028235e38]
    halves = (torch.arange(-130, 130).float() + 0.5) * 0.05  # int8 ties at scale 0.05
    # bf16: the midpoint between two consecutive words is the float32 pattern (w << 16) + 0x8000
    w = np.arange(0, 1 << 16, 7, dtype=np.uint32)
    w = w[((w >> 7) & 0xFF) != 0xFF]  # finite words
    mid = (w << 16) + 0x8000
    bf = np.concatenate([mid - 1, mid, mid + 1]).view(np.float32)
    # fp16: the midpoint between consecutive finite halves, exact in float32
    h = np.arange(0, 0x7BFF, 5, dtype=np.uint16)
    lo, hi = h.view(np.float16).astype(np.float64), (h + 1).view(np.float16).astype(np.float64)
    m = ((lo + hi) / 2).astype(np.float32)
    fp = np.concatenate([m, -m, np.nextafter(m, np.float32(np.inf)), np.nextafter(m, np.float32(0))])
    return torch.cat([x, torch.tensor(special), halves, torch.from_numpy(bf.copy()), torch.from_numpy(fp)])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scale", [None, 0.05])
def test_core_codec_matches_torch_codec(fmt, scale):
    """The core's encode of float32 patterns gives the torch codec's words (specials, ties and denormals
    included); its decode of every 8/16-bit word (and 100 k random fp32 words) gives the torch codec's float32
    bit patterns exactly. NaN inputs: the word is a NaN word in bf16/fp16 (payloads may differ), 0 in int8."""
    c = codec(fmt, int8_scale=scale)
    x = _float_samples(1)
    ctx = c.context(x)
    s = 1.0 if ctx is None else ctx
    u = x.numpy().view(np.uint32)
    got = np.empty_like(u)
    _bitflip.encode(u, got, FMT_CODE[fmt], s)
    want = c.encode(x, ctx).numpy()
    bad = np.flatnonzero(got.astype(np.int64) != want)
    assert bad.size == 0, [(hex(u[i]), hex(got[i]), hex(want[i])) for i in bad[:5]]

    if c.bits < 32:  # every word
        w = torch.arange(1 << c.bits, dtype=torch.int64)
    else:
        w = torch.randint(0, 1 << 32, (100_000,), generator=torch.Generator().manual_seed(2), dtype=torch.int64)
    wu = w.numpy().astype(np.uint32)
    got = np.empty_like(wu)
    _bitflip.decode(wu, got, FMT_CODE[fmt], s)
    want = c.decode(w, ctx).numpy().view(np.uint32)
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, [(hex(wu[i]), hex(got[i]), hex(want[i])) for i in bad[:5]]

    nans = np.array([0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFFFFFFF, 0x7FBFFFFF, 0xFF800001], dtype=np.uint32)
    got = np.empty_like(nans)
    _bitflip.encode(nans, got, FMT_CODE[fmt], s)
    if fmt == "fp32":
        assert np.array_equal(got, nans)
    elif fmt == "int8":
        assert np.all(got == 0)
    else:
        back = np.empty_like(got)
        _bitflip.decode(got, back, FMT_CODE[fmt], s)
        assert np.all(np.isnan(back.view(np.float32))), [hex(v) for v in got]
    with pytest.raises(ValueError):
        _bitflip.encode(u[:4], np.empty(3, dtype=np.uint32), FMT_CODE[fmt], s)


# -- every-bit errors --------------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(log_p=st.floats(-4.0, math.log10(0.3)), fmt=st.sampled_from(FORMATS), seed=st.integers(0, 2**31))
def test_every_bit_rate_and_changed_words(log_p, fmt, seed):
    """flip_every_bit flips n_bits * p bits (statistically); the result is a copy (x itself iff nothing flipped);
    a word's float32 pattern changed exactly where its stored word changed; for fp32 and int8 the XOR of the
    stored words has exactly the returned number of bits set (bf16/fp16: exactly, outside words that became NaN,
    whose payload re-encodes differently -- each of those holds at least one and at most `bits` flips)."""
    p = 10 ** log_p
    c = codec(fmt)
    n = min(400_000, max(2000, int(1000 / (p * c.bits))))  # at least ~1000 expected flips
    x = _randn(n, seed)
    x0 = x.clone()
    y, k = flip_every_bit(x, p, c, seed + 1)
    assert torch.equal(_u32(x), _u32(x0)), "the input was modified"
    assert _within(k, n * c.bits, p)
    assert (y is x) == (k == 0)
    ctx = c.context(x)
    diff = c.encode(y, ctx) ^ c.encode(x, ctx)
    changed = _u32(y) != _u32(x)
    assert torch.equal(changed, diff != 0), "a float32 word changed without a change of its stored word (or back)"
    nan = torch.isnan(y)
    if fmt in ("fp32", "int8"):
        assert _ones(diff) == k
    else:
        exact, n_nan = _ones(diff[~nan]), int(nan.sum())
        assert exact + n_nan <= k <= exact + c.bits * n_nan
        if n_nan == 0:
            assert exact == k


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_bit_zero_and_one_rates(fmt):
    """Rate 0 returns x itself and 0 flips; rate 1 flips every stored bit of every word (n * bits flips; words
    that become NaN in bf16/fp16 are compared only for being NaN)."""
    c = codec(fmt, int8_scale=0.05)
    x = c.round_trip(_randn(1000, 4), 0.05 if fmt == "int8" else None)
    y, k = flip_every_bit(x, 0.0, c, 0)
    assert y is x and k == 0
    y, k = flip_every_bit(x, 1.0, c, 0)
    assert k == x.numel() * c.bits
    ctx = c.context(x)
    want = (~c.encode(x, ctx)) & ((1 << c.bits) - 1)
    nan = torch.isnan(y)
    assert torch.equal(c.encode(y, ctx)[~nan], want[~nan])
    assert torch.isnan(c.decode(want[nan], ctx)).all()
    assert int(nan.sum()) < x.numel() // 10


def test_every_bit_inplace():
    """inplace=True flips x itself (same object, same memory) and gives the same result as a copy with the same
    seed; without it x is untouched."""
    c = codec("bf16")
    x = _randn(20_000, 5)
    x0 = x.clone()
    y, k = flip_every_bit(x, 1e-3, c, 11)
    assert k > 0 and torch.equal(_u32(x), _u32(x0))
    z, k2 = flip_every_bit(x, 1e-3, c, 11, inplace=True)
    assert z is x and k2 == k
    assert torch.equal(_u32(x), _u32(y)) and not torch.equal(_u32(x), _u32(x0))


def test_any_tensor_layout():
    """flip_every_bit and write_directional take tensors that are not contiguous float32 (a transposed float64
    tensor that requires grad): they work on a contiguous float32 copy and leave the input alone."""
    x = torch.randn(300, 40, dtype=torch.float64).t().requires_grad_()
    x0 = x.detach().clone()
    y, k = flip_every_bit(x, 1e-2, codec("fp32"), 3)
    assert k > 0 and y.dtype == torch.float32 and y.is_contiguous() and y.shape == x.shape
    assert torch.equal(x.detach(), x0)
    xf = x0.float()
    assert _ones(_u32(y) ^ _u32(xf)) == k
    z, n01, n10 = write_directional(torch.zeros(40, 300).t(), x, 0.05, 0.05, codec("fp32"), 3)
    assert n01 > 0 and n10 == 0 and torch.equal(x.detach(), x0)
    assert _ones(_u32(z) ^ _u32(xf)) == n01 and int((_u32(z) & ~_u32(xf)).ne(0).sum()) == 0


@pytest.mark.parametrize("p", [1e-4, 1e-3, 0.05, 0.3])
def test_sample_bits_rate_uniform_and_independent(p):
    """sample_bits gives sorted distinct positions in [0, total) at rate p, uniform (each half of the range holds
    half of them) and independent (neighbouring bits both fail at rate p**2)."""
    total = 2_000_000
    pos = sample_bits(total, p, seed=5)
    assert pos.dtype == np.int64
    assert np.all(np.diff(pos) > 0) and int(pos.min()) >= 0 and int(pos.max()) < total
    assert _within(pos.size, total, p)
    assert _within(int((pos < total // 2).sum()), pos.size, 0.5)
    hit = np.zeros(total, dtype=bool)
    hit[pos] = True
    assert _within(int((hit[1:] & hit[:-1]).sum()), total - 1, p * p)
    assert np.array_equal(sample_bits(total, p, seed=5), pos)  # a function of the seed


@pytest.mark.parametrize("p", [1e-3, 5e-3, 6e-3, 0.05, 0.3, 0.9])
def test_gap_law_is_geometric(p):
    """The gaps between failing bits (good bits before each failing one) follow P(G = k) = p (1 - p)^k: the count
    of gaps in each of a set of ranges -- single small gaps, ranges of a tenth of the mass each, and the edges
    around multiples of 255, where a table of gaps, if the core uses one, hands over to its tail -- lies within
    bounds of its expectation. Rates on both sides of where such a table may take over (~5.4e-3) are drawn."""
    q = 1.0 - p
    n_gaps = 100_000
    pos = sample_bits(int(n_gaps / p), p, seed=int(p * 1e6))
    gaps = np.diff(np.concatenate([[-1], pos])) - 1
    n = gaps.size
    cap = int(math.log(1e-7) / math.log(q)) + 2 if p < 1 else 2
    edges = set(range(0, min(12, cap))) | {254, 255, 256, 257, 509, 510, 511, 512}
    edges |= {int(math.log(1 - f) / math.log(q)) for f in np.arange(0.1, 1.0, 0.1)}
    edges = sorted(e for e in edges if e < cap)
    for a, b in zip(edges, edges[1:] + [None]):  # [a, b), the last one [a, infinity)
        m = int(((gaps >= a) & (gaps < b)).sum()) if b is not None else int((gaps >= a).sum())
        prob = q ** a - (q ** b if b is not None else 0.0)
        assert _within(m, n, prob), (p, a, b, m, n * prob)


@pytest.mark.parametrize("fmt", FORMATS)
def test_flipped_bit_positions_uniform_across_the_word(fmt):
    """Flipping zero words: every bit of a word fails equally often (a count per bit position within bounds of
    total / bits); for fp32 and int8 (where every word re-encodes exactly) the set bits, read as flat positions
    word * bits + bit, are exactly sample_bits(n * bits, p, seed): bit b of a stored word is position b."""
    c = codec(fmt, int8_scale=0.05)
    n, p = 50_000, 2e-3 * 32 / c.bits
    y, k = flip_every_bit(torch.zeros(n), p, c, seed=9)
    nan = torch.isnan(y)
    w = c.encode(y, c.context(y))[~nan]
    per_bit = [int(((w >> b) & 1).sum()) for b in range(c.bits)]
    total = sum(per_bit)
    assert total <= k and total >= k - c.bits * int(nan.sum())
    for b, m in enumerate(per_bit):
        assert _within(m, total, 1 / c.bits), (b, per_bit)
    if fmt in ("fp32", "int8"):
        w = c.encode(y, 0.05)
        idx = torch.nonzero(w).flatten()
        flat = sorted(int(i) * c.bits + b for i in idx.tolist() for b in range(c.bits) if (int(w[i]) >> b) & 1)
        assert flat == sample_bits(n * c.bits, p, seed=9).tolist()


# -- directional writes ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["sparse", "dense"])
@settings(max_examples=25, deadline=None)
@given(u=st.floats(0.0, 1.0), ratio=st.floats(0.05, 20.0), fmt=st.sampled_from(FORMATS),
       seed=st.integers(0, 2**31))
def test_directional_only_switching_bits_at_their_rate(kind, u, ratio, fmt, seed):
    """write_directional on a sparse or a dense stream (rates drawn in the kind's range, unequal by up to 20x):
    only bits that the write switches fail, a failed bit keeps the old bit, words rewritten with their value are
    untouched, the returned n01 / n10 equal the failed 0->1 / 1->0 switches, and each direction fails at its own
    rate. int8 uses a fixed scale of 0.05."""
    c = codec(fmt, int8_scale=0.05)
    p01, p10 = _rates(kind, c.bits, u, ratio)
    assert write_stream(0, p01, p10, c).dense == (kind == "dense")
    g = torch.Generator().manual_seed(seed)
    n = 60_000 if kind == "sparse" else 20_000
    old = torch.randn(n, generator=g)
    new = old.clone()
    sel = torch.rand(n, generator=g) < 0.5  # half the words change, half are rewritten with the same value
    new[sel] = torch.randn(int(sel.sum()), generator=g)
    new0 = new.clone()
    stored, n01, n10 = write_directional(old, new, p01, p10, c, seed + 7)
    assert torch.equal(_u32(new), _u32(new0)), "the input was modified"
    assert torch.equal(_u32(stored[~sel]), _u32(new[~sel])), "a word rewritten with its own value was disturbed"
    f01, f10, s01, s10, exact = _directional(c, 0.05, old, new, stored)
    if exact:
        assert (f01, f10) == (n01, n10)
    assert _within(f01, s01, p01) and _within(f10, s10, p10), (f01, s01 * p01, f10, s10 * p10)


@pytest.mark.parametrize("dense", [False, True])
def test_directional_certain_failures(dense):
    """p01 = 1 on a write of ones over zeros: every switch fails, storage keeps the zeros (n01 = the set bits of
    1.0). p10 = 1, p01 = 0 on the same write: no 1->0 switch exists, storage holds the ones. On both kinds (a
    sparse stream with p_max = 1 draws every bit as a candidate)."""
    c = codec("fp32")
    old, new = torch.zeros(100), torch.ones(100)
    y, n01, n10 = write_directional(old, new, 1.0, 0.0, c, stream=Stream(0, 1.0, 0, 1.0, 0.0, dense))
    assert torch.equal(_u32(y), _u32(old)) and (n01, n10) == (100 * 7, 0)  # 1.0 = 0x3F800000: 7 set bits
    y, n01, n10 = write_directional(old, new, 0.0, 1.0, c, stream=Stream(0, 1.0, 0, 0.0, 1.0, dense))
    assert torch.equal(_u32(y), _u32(new)) and (n01, n10) == (0, 0)
    y, n01, n10 = write_directional(new, old, 0.0, 1.0, c, stream=Stream(0, 1.0, 0, 0.0, 1.0, dense))
    assert torch.equal(_u32(y), _u32(new)) and (n01, n10) == (0, 700)  # ones over zeros back: all 1->0 fail


def test_write_stream_kind_threshold():
    """write_stream makes a dense stream exactly from p_max * bits >= DENSE_CANDIDATES, for either direction."""
    for fmt in FORMATS:
        c = codec(fmt)
        edge = DENSE_CANDIDATES / c.bits
        assert not write_stream(0, edge * 0.99, 0.0, c).dense
        assert write_stream(0, edge, 0.0, c).dense
        assert write_stream(0, 0.0, edge * 1.01, c).dense
        assert write_stream(0, 1e-4, edge * 1.01, c).p == edge * 1.01


# -- the core's streams: determinism and the calling protocol -----------------------------------------------------
def test_deterministic_for_a_seed():
    """Same seed -> bit-identical results (uniforms, every-bit flips, directional writes on both kinds); another
    seed -> different ones."""
    assert Stream(42, 0.1, 0).uniforms(100) == Stream(42, 0.1, 0).uniforms(100)
    assert Stream(42, 0.1, 0).uniforms(100) != Stream(43, 0.1, 0).uniforms(100)
    un = np.frombuffer(Stream(1, 0.1, 0).uniforms(10_000), dtype=np.float64)
    assert un.min() >= 0.0 and un.max() < 1.0 and abs(un.mean() - 0.5) < 0.02
    c = codec("bf16")
    x = _randn(50_000, 0)
    a = flip_every_bit(x, 1e-3, c, 42)[0]
    b = flip_every_bit(x, 1e-3, c, 42)[0]
    d = flip_every_bit(x, 1e-3, c, 43)[0]
    assert torch.equal(_u32(a), _u32(b)) and not torch.equal(_u32(a), _u32(d))
    new = _randn(50_000, 1)
    for p in (1e-3, 0.05):  # sparse, dense
        a = write_directional(x, new, p, p / 2, c, 42)
        b = write_directional(x, new, p, p / 2, c, 42)
        d = write_directional(x, new, p, p / 2, c, 43)
        assert torch.equal(_u32(a[0]), _u32(b[0])) and a[1:] == b[1:]
        assert not torch.equal(_u32(a[0]), _u32(d[0]))


def test_flip_without_destination_consumes_nothing():
    """flip(src, None, n) returns -1 when some bit would fail, touches nothing and consumes nothing: the next call
    with a destination gives what a fresh stream gives (same words, same count), and so do the calls after it."""
    x = _randn(1000, 2)
    x0 = x.clone()
    s, fresh = Stream(7, 1e-3, 0), Stream(7, 1e-3, 0)
    assert s.flip(x.data_ptr(), None, x.numel()) == -1
    assert s.flip(x.data_ptr(), None, x.numel()) == -1  # asking again is still free
    assert torch.equal(_u32(x), _u32(x0))
    a, b = torch.empty_like(x), torch.empty_like(x)
    k = s.flip(x.data_ptr(), a.data_ptr(), x.numel())
    assert k > 0 and k == fresh.flip(x.data_ptr(), b.data_ptr(), x.numel())
    assert torch.equal(_u32(a), _u32(b)) and torch.equal(_u32(x), _u32(x0))
    assert _ones(_u32(a) ^ _u32(x)) == k
    assert s.positions(100_000) == fresh.positions(100_000)


def test_flip_without_failure_touches_nothing_and_skips_the_bits():
    """flip(src, None, n) over bits without a failure returns 0 and leaves src alone; the stream has moved past
    those bits: what follows equals the positions a fresh stream of the same seed has after them."""
    p = 1e-7
    x = _randn(100, 3)
    x0 = x.clone()
    for seed in range(10):
        s, fresh = Stream(seed, p, 0), Stream(seed, p, 0)
        if len(Stream(seed, p, 0).positions(3200)):
            continue  # (a failure among the first 3200 bits: probability 3e-4)
        assert s.flip(x.data_ptr(), None, 100) == 0
        assert torch.equal(_u32(x), _u32(x0))
        assert fresh.positions(3200) == b""
        assert s.positions(10**8) == fresh.positions(10**8)


@settings(max_examples=30, deadline=None)
@given(log_p=st.floats(-4.0, -0.7), sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=20),
       fmt=st.sampled_from(["fp32", "int8"]), seed=st.integers(0, 2**31))
def test_gap_carries_across_calls_and_segments(log_p, sizes, fmt, seed):
    """The every-bit process over a sequence of tensors is one process over their bits laid end to end: flipping
    zero tensors one call each, or all in one multi-segment call (lists of pointers and sizes, destinations in a
    buffer with guard words between them), sets exactly the bits that positions(total) of a fresh stream of the
    same seed names, and the returned counts add up to them. fp32 and int8: zeros re-encode exactly."""
    p = 10 ** log_p
    c = codec(fmt, int8_scale=0.05)
    scale = 0.05 if fmt == "int8" else None
    want = np.frombuffer(Stream(seed, p, FMT_CODE[fmt]).positions(sum(sizes) * c.bits), dtype=np.int64)

    def flat(views):
        out, base = [], 0
        for v in views:
            w = c.encode(v, scale).numpy()
            i = np.flatnonzero(w)
            for b in range(c.bits):
                out.append((base + i[((w[i] >> b) & 1) == 1]) * c.bits + b)
            base += v.numel()
        return np.sort(np.concatenate(out)) if out else np.zeros(0, dtype=np.int64)

    src = torch.zeros(max(sizes))
    s = Stream(seed, p, FMT_CODE[fmt])
    buf, views, guards = _layout(sizes)
    k = 0
    for v in views:  # one call per tensor
        r = s.flip(src.data_ptr(), v.data_ptr(), v.numel(), scale)
        if r == 0:
            continue  # no failure: the destination is not written (it is still zero here)
        k += r
    assert not buf[guards].any(), "a flip left its tensor"
    assert k == want.size and np.array_equal(flat(views), want)

    s = Stream(seed, p, FMT_CODE[fmt])
    buf, views, guards = _layout(sizes)
    srcs = [src.data_ptr()] * len(sizes)
    r = s.flip(srcs, [v.data_ptr() for v in views], list(sizes), None if scale is None else [scale] * len(sizes))
    assert not buf[guards].any(), "a flip left its tensor"
    assert r == want.size and np.array_equal(flat(views), want)


@settings(max_examples=20, deadline=None)
@given(log_p=st.floats(-5.0, math.log10(0.2)), sizes=st.lists(st.integers(1, 20_000), min_size=1, max_size=30),
       seed=st.integers(0, 2**31))
def test_stream_rate_across_tensors(log_p, sizes, seed):
    """A stream run over a sequence of tensors of any sizes, again and again (the gap carried over the calls),
    flips each bit with probability p overall; each call's flips stay in its tensor and number what it returns."""
    p = 10 ** log_p
    s = Stream(seed, p, 0)
    reps = min(2000, max(1, int(200 / (p * 32 * sum(sizes)))))  # ~200 expected flips
    src = torch.zeros(max(sizes))
    buf, views, guards = _layout([max(sizes)])
    dst = views[0]
    k = n = 0
    for _ in range(reps):
        for size in sizes:
            r = s.flip(src.data_ptr(), None, size)
            if r == -1:
                r = s.flip(src.data_ptr(), dst.data_ptr(), size)
                assert r > 0 and _ones(_u32(dst[:size])) == r
                assert not buf[guards].any() and not dst[size:].any(), "a flip left its tensor"
                dst.zero_()
            k += r
            n += size * 32
    assert _within(k, n, p)


def test_segments_fail_at_rate_p_each():
    """One multi-segment call per step over tensors of very different sizes (1 to 40 000 words): over many steps
    every segment -- the smallest and the largest -- has its bits fail at rate p; the sets bits of the zero
    destinations are the flipped bits and add up to the returned count; guards stay zero."""
    sizes = [1, 3, 17, 250, 4000, 40_000]
    p = 2e-4
    steps = 60
    s = Stream(17, p, 0)
    src = torch.zeros(max(sizes))
    buf, views, guards = _layout(sizes)
    hits = [0] * len(sizes)
    total = 0
    for _ in range(steps):
        r = s.flip([src.data_ptr()] * len(sizes), [v.data_ptr() for v in views], sizes)
        counts = [_ones(_u32(v)) for v in views]
        assert r == sum(counts) and not buf[guards].any()
        hits = [h + m for h, m in zip(hits, counts)]
        total += r
        buf.zero_()
    for i, size in enumerate(sizes):
        assert _within(hits[i], steps * size * 32, p), (size, hits[i], steps * size * 32 * p)
    assert _within(total, steps * sum(sizes) * 32, p)


def test_int8_scale_per_segment():
    """int8 segments with their own scales (a list of floats): each segment's flipped words are multiples of its
    own scale in [-128, 127] * scale, their stored words (at that scale) hold the returned number of set bits, and
    those are exactly the bits positions() names. Every-bit flips in place, and a directional write over cleared
    contents (only 0 -> 1 switches of the written ones)."""
    sizes, scales = [500, 3000, 1200, 7], [0.05, 1.0, 3.0, 0.001]
    c = codec("int8")
    p = 0.02
    want = np.frombuffer(Stream(5, p, 3).positions(sum(sizes) * 8), dtype=np.int64)
    buf, views, guards = _layout(sizes)
    ptrs = [v.data_ptr() for v in views]
    k = Stream(5, p, 3).flip(ptrs, ptrs, sizes, scales)
    assert k == want.size and not buf[guards].any()
    got, base = [], 0
    for v, sc in zip(views, scales):
        q = (v / sc).round()
        assert torch.equal(v, q * sc) and int(q.abs().max()) <= 128, sc
        w = c.encode(v, sc)
        got += [(base + i) * 8 + b for i in torch.nonzero(w).flatten().tolist() for b in range(8)
                if (int(w[i]) >> b) & 1]
        base += v.numel()
    assert got == want.tolist()

    # directional: write q = 1 (word 0x01 at each segment's scale) over cleared storage; only bit 0 switches
    buf, views, guards = _layout(sizes)
    for v, sc in zip(views, scales):
        v.fill_(sc)
    ptrs = [v.data_ptr() for v in views]
    s = Stream(6, 0.3, 3, 0.3, 0.3, True)
    k = s.write(Slot(), ptrs, ptrs, sizes, scales, 1, False)
    assert (s.n01, s.n10) == (k, 0) and not buf[guards].any()
    failed = 0
    for v, sc in zip(views, scales):
        assert bool(((v == sc) | (v == 0)).all()), sc  # failed words read back as 0 * scale
        failed += int((v == 0).sum())
    assert failed == k and _within(k, sum(sizes), 0.3)


# -- the core's directional writes ---------------------------------------------------------------------------------
_KINDS = {"sparse": (3e-3, 100_000), "dense": (0.05, 20_000)}  # fp32: p * 32 below / above DENSE_CANDIDATES


def _kind_stream(kind: str, seed: int, p01: float | None = None, p10: float | None = None) -> Stream:
    p, _ = _KINDS[kind]
    s = write_stream(seed, p if p01 is None else p01, p if p10 is None else p10, codec("fp32"))
    assert s.dense == (kind == "dense")
    return s


def _dense_script(isa: str, fmt: str) -> list:
    """A script of dense writes run on the build ``isa`` of the dense pass: segments that end inside, on and past
    the pass's 1024-word blocks, every kind of old contents, in place and into copies, a slot kept and used up,
    words that switch every bit, rates from a few failing bits a block to half of them (by gaps: walks that end in
    the first round of a build's walk, in the second half of an AVX-512 round, and several rounds on); returns
    everything observable (stored words, counts)."""
    prev = _bitflip.isa()
    _bitflip.isa(isa)
    try:
        c = codec(fmt, int8_scale=0.05)
        out, scale = [], 0.05 if fmt == "int8" else None
        for p01, p10 in ((0.5, 0.02), (0.03, 0.03), (1e-4, 0.3), (0.02, 0.0), (1e-2, 5e-3), (3e-3, 2e-3)):
            s, slot = Stream(11, max(p01, p10), FMT_CODE[fmt], p01, p10, True), Slot()
            for step, sizes in enumerate(([1023], [1024, 1], [5000, 3, 1025], [1023], [2048, 7])):
                _, views, _ = _layout(sizes)
                for i, v in enumerate(views):
                    v.copy_(_randn(v.numel(), 100 * step + i) * (10.0 ** (step - 2)))
                if step == 4:  # all-ones words over cleared storage: every bit switches, 64 in each 64-bit chunk
                    views[0].view(torch.int32).fill_(-1)
                ptrs, ns = [v.data_ptr() for v in views], [v.numel() for v in views]
                scales = [scale] * len(views) if scale else None
                dst = [torch.empty_like(v) for v in views]
                old, keep = (0, True) if step in (1, 2) else (step % 3, step == 0)
                if step == 3:  # in place over the kept words
                    k = s.write(slot, ptrs, ptrs, ns, scales, 0, True)
                    res = views
                else:
                    k = s.write(slot, ptrs, [d.data_ptr() for d in dst], ns, scales, old, keep)
                    res = dst
                out.append((k, s.n01, s.n10, [_u32(r).tolist() for r in res]))
        return out
    finally:
        _bitflip.isa(prev)


@pytest.mark.parametrize("fmt", FORMATS)
def test_dense_builds_give_the_same_bits(fmt):
    """The dense pass comes in builds for the instruction sets a CPU has (portable, AVX2, AVX2 with pdep, AVX-512;
    the best one runs, the statistical tests see only that one): all of them store the same words and count the
    same failures, call after call."""
    isas = _bitflip.isas()
    assert isas[0] == "base" and _bitflip.isa() == isas[-1]
    ref = _dense_script(isas[0], fmt)
    assert sum(k for k, *_ in ref) > 100
    for isa in isas[1:]:
        assert _dense_script(isa, fmt) == ref, isa
    with pytest.raises(ValueError, match="this CPU runs up to"):
        _bitflip.isa("sve")  # no such build


@pytest.mark.parametrize("kind", ["sparse", "dense"])
def test_write_over_cleared_contents_fails_only_rising_bits(kind):
    """old=1 (cleared storage): only 0 -> 1 switches exist, so only they fail: storage never holds a 1 that the
    new word lacks, n10 = 0, n01 = the set bits missing from the stored words = the returned count, at rate p01
    over the set bits of the new words."""
    p, n = _KINDS[kind]
    s = _kind_stream(kind, 1, p01=p / 2, p10=p)
    new = _randn(n, 1)
    y, k = _write(s, Slot(), new, 1, False)
    nw, sw = _u32(new), _u32(y)
    assert int((sw & ~nw).ne(0).sum()) == 0, "a failed 0->1 switch did not keep its 0"
    assert s.n10 == 0 and s.n01 == k == _ones(nw ^ sw)
    assert _within(k, _ones(nw), p / 2)


@pytest.mark.parametrize("kind", ["sparse", "dense"])
@pytest.mark.parametrize("fmt", ["fp32", "int8"])
def test_directional_failures_uniform_across_the_word(kind, fmt):
    """Writing all-ones words (fp32 pattern 0xFFFFFFFF; int8 -1 at scale 0.05, word 0xFF) over cleared storage
    switches every bit 0 -> 1: each bit position of a word fails equally often (the dense kind picks the failing
    bits among the switching ones of a word by its geometric gaps; any bias toward low or high bits shows here)."""
    c = codec(fmt, int8_scale=0.05)
    p, n = _KINDS[kind]
    p = p * 32 / c.bits
    s = write_stream(8, p, p, c)
    assert s.dense == (kind == "dense")
    if fmt == "fp32":
        new = torch.full((n,), -1, dtype=torch.int32).view(torch.float32)
    else:
        new = torch.full((n,), -0.05)
    y, k = _write(s, Slot(), new, 1, False, 0.05 if fmt == "int8" else None)
    w = _u32(y) if fmt == "fp32" else c.encode(y, 0.05)
    failed = [int(((w >> b) & 1).eq(0).sum()) for b in range(c.bits)]
    assert sum(failed) == k == s.n01 and _within(k, n * c.bits, p)
    for b, m in enumerate(failed):
        assert _within(m, k, 1 / c.bits), (b, failed)


@pytest.mark.parametrize("fmt, p", [("fp32", 0.0155), ("fp32", 0.015625), ("fp32", 0.08), ("fp32", 0.5),
                                    ("bf16", 0.015625), ("bf16", 0.08), ("bf16", 0.5)])
def test_dense_failing_bits_are_independent_on_both_sides_of_the_bit_parallel_rate(fmt, p):
    """A dense direction draws its failing bits by geometric gaps below 1/64 per switching bit and bit-parallel
    from there (64 Bernoulli bits a word, compared with the rate's binary digits, placed at the switching bits; a
    bf16 stream is dense from 1/64 on). Writing words over cleared storage (fp32 0xFFFFFFFF, bf16 -1.0 = 0xBF80:
    only 0 -> 1 switches), in the switch space (the switching bits in order) the failing bits come at p, pairs of
    them 1, 64 and 256 apart (neighbours; the next word of Bernoulli bits; the next draw of four) at p^2, and the
    gaps between failing bits follow the geometric law."""
    c = codec(fmt)
    n = 40_000
    s = write_stream(12, p, p / 7, c)
    assert s.dense
    new = torch.full((n,), -1, dtype=torch.int32).view(torch.float32) if fmt == "fp32" else -torch.ones(n)
    y, k = _write(s, Slot(), new, 1, False)
    shift = 32 - c.bits
    want, got = _u32(new) >> shift, _u32(y) >> shift
    sw = torch.stack([(want >> b) & 1 for b in range(c.bits)], dim=1).flatten().bool().numpy()
    kept = torch.stack([(got >> b) & 1 for b in range(c.bits)], dim=1).flatten().bool().numpy()
    assert not (kept & ~sw).any(), "a bit that does not switch fails"
    bits = (sw & ~kept)[sw]  # failures in the switch space
    total = bits.size
    assert int(bits.sum()) == k == s.n01 and s.n10 == 0 and _within(k, total, p)
    for d in (1, 64, 256):
        assert _within(int((bits[d:] & bits[:-d]).sum()), total - d, p * p), d
    gaps = np.diff(np.flatnonzero(bits)) - 1
    q = 1.0 - p
    for a, b in ((0, 1), (1, 2), (2, 4), (4, 8), (8, 16), (16, 10**9)):
        assert _within(int(((gaps >= a) & (gaps < b)).sum()), gaps.size, q ** a - q ** b), (a, b)


@pytest.mark.parametrize("kind", ["sparse", "dense"])
def test_write_over_random_contents_fails_both_ways(kind):
    """old=2 (random old bits): a bit switches with probability 1/2, so 0 -> 1 failures (stored 0 where the new
    word has 1) come at p01 / 2 per set bit and 1 -> 0 failures (stored 1 where it has 0) at p10 / 2 per clear
    bit; n01 / n10 count them exactly."""
    p, n = _KINDS[kind]
    s = _kind_stream(kind, 2, p01=p, p10=p / 3)
    new = _randn(n, 2)
    y, k = _write(s, Slot(), new, 2, False)
    nw, sw = _u32(new), _u32(y)
    f01, f10 = _ones(nw & ~sw), _ones(sw & ~nw & 0xFFFFFFFF)
    assert (s.n01, s.n10) == (f01, f10) and k == f01 + f10 and f01 > 0 and f10 > 0
    ones = _ones(nw)
    assert _within(f01, ones, p / 2) and _within(f10, 32 * n - ones, p / 6)


@pytest.mark.parametrize("kind", ["sparse", "dense"])
def test_write_without_destination(kind):
    """write(slot, src, None, ...): a dense stream always answers -1 (it writes every destination word); a sparse
    one answers -1 only where some bit fails, 0 otherwise. Either way nothing is touched or consumed: the call
    with a destination then equals a fresh stream's."""
    p, n = _KINDS[kind]
    new = _randn(n, 3)
    new0 = new.clone()
    s, fresh = _kind_stream(kind, 3), _kind_stream(kind, 3)
    assert s.write(Slot(), new.data_ptr(), None, n, None, 1, False) == -1
    assert torch.equal(_u32(new), _u32(new0))
    a, b = torch.empty_like(new), torch.empty_like(new)
    k = s.write(Slot(), new.data_ptr(), a.data_ptr(), n, None, 1, False)
    assert k > 0 and k == fresh.write(Slot(), new.data_ptr(), b.data_ptr(), n, None, 1, False)
    assert torch.equal(_u32(a), _u32(b)) and (s.n01, s.n10) == (fresh.n01, fresh.n10)
    small = new[:3]
    if kind == "dense":
        assert s.write(Slot(), small.data_ptr(), None, 3, None, 1, False) == -1
    else:
        quiet = write_stream(0, 1e-9, 1e-9, codec("fp32"))
        assert quiet.write(Slot(), small.data_ptr(), None, 3, None, 1, False) == 0
        assert torch.equal(_u32(new), _u32(new0))


@pytest.mark.parametrize("kind", ["sparse", "dense"])
def test_successive_writes_keep_the_stored_words(kind):
    """old=0 with keep=True: each write's old contents are what the previous write stored (cleared before the
    first). Writing the stored tensor again, in place, switches nothing and so flips nothing (for both kinds);
    over a sequence of writes of fresh tensors every failure is a switch against the previous stored words, holds
    its old bit, and each direction fails at its rate."""
    p, n = _KINDS[kind]
    p01, p10 = p, p / 4
    s, slot = _kind_stream(kind, 4, p01, p10), Slot()
    buf = _randn(n, 40)
    k = s.write(slot, buf.data_ptr(), buf.data_ptr(), n, None, 0, True)
    assert k > 0
    assert slot.size > 0
    before = buf.clone()
    assert s.write(slot, buf.data_ptr(), buf.data_ptr(), n, None, 0, True) == 0, "an unchanged rewrite flipped bits"
    assert (s.n01, s.n10) == (0, 0) and torch.equal(_u32(buf), _u32(before))
    assert s.write(slot, buf.data_ptr(), buf.data_ptr(), n, None, 0, True) == 0

    c = codec("fp32")
    prev = buf.clone()
    f01 = f10 = s01 = s10 = 0
    for i in range(4):
        new = _randn(n, 41 + i)
        y, k = _write(s, slot, new, 0, True)
        a, b, m01, m10, _ = _directional(c, None, prev, new, y)
        assert (a, b) == (s.n01, s.n10) and k == a + b
        f01, f10, s01, s10 = f01 + a, f10 + b, s01 + m01, s10 + m10
        prev = y.clone()
    assert _within(f01, s01, p01) and _within(f10, s10, p10), (f01, s01 * p01, f10, s10 * p10)


@pytest.mark.parametrize("kind", ["sparse", "dense"])
@pytest.mark.parametrize("fmt", ["fp32", "int8"])
def test_capture_then_inplace_update(kind, fmt):
    """capture(slot, ptrs, ns, scales) keeps the stored words of several tensors (int8: each with its own scale);
    after they are updated in place, write(slot, p, p, n, scales, old=0, keep=False) gives directional errors
    against the captured contents: only bits the update switched fail, failed bits hold the captured bits, n01 /
    n10 count them, per-direction rates hold, and nothing outside the tensors changes."""
    c = codec(fmt)
    p, n = _KINDS[kind]
    if fmt == "int8":  # the same kind of stream for 8-bit words
        p = p * 4
    sizes = [n // 2, 7, n // 3]
    scales = [0.05, 0.5, 0.02] if fmt == "int8" else None
    s = write_stream(5, p, p / 2, c)
    assert s.dense == (kind == "dense")
    buf, views, guards = _layout(sizes)
    g = torch.Generator().manual_seed(5)
    for v in views:
        v.copy_(torch.randn(v.numel(), generator=g))
    ptrs = [v.data_ptr() for v in views]
    slot = Slot()
    s.capture(slot, ptrs, sizes, scales)
    olds = [v.clone() for v in views]
    news = []
    for v in views:  # an in-place update of half the words of each tensor
        sel = torch.rand(v.numel(), generator=g) < 0.5
        v[sel] += torch.randn(int(sel.sum()), generator=g)
        news.append(v.clone())
    k = s.write(slot, ptrs, ptrs, sizes, scales, 0, False)
    assert not buf[guards].any(), "a failure left its tensor"
    f01 = f10 = s01 = s10 = 0
    for i, v in enumerate(views):
        sc = scales[i] if scales else None
        a, b, m01, m10, _ = _directional(c, sc, olds[i], news[i], v)
        f01, f10, s01, s10 = f01 + a, f10 + b, s01 + m01, s10 + m10
    assert (f01, f10) == (s.n01, s.n10) and k == f01 + f10 > 0
    assert _within(f01, s01, p) and _within(f10, s10, p / 2), (f01, s01 * p, f10, s10 * p / 2)


#: float32 patterns that stress a stored format's round trip: infinities, NaNs with payloads and signs, the largest
#: finite values, zeros, a value that rounds to fp16's infinity
_SPECIAL_WORDS = [0x7F800000, 0xFF800000, 0x7FC00000, 0x7F810000, 0xFFC12345, 0x7F800001, 0xFF812345, 0x00000000,
                  0x80000000, 0x3F800000, 0x477FF000, 0x7F7FFFFF, 0x00000001, 0x387FFFFF]


def _words(ws: list[int]) -> torch.Tensor:
    return torch.from_numpy(np.array(ws, dtype=np.uint32).view(np.float32).copy())


@pytest.mark.parametrize("kind", ["sparse", "dense"])
@pytest.mark.parametrize("fmt", ["fp32", "bf16", "fp16", "int8"])
@settings(max_examples=25, deadline=None)
@given(words=st.lists(st.one_of(st.integers(0, 2**32 - 1), st.sampled_from(_SPECIAL_WORDS)), min_size=3, max_size=3),
       seed=st.integers(0, 2**31))
def test_update_write_keeps_what_a_capture_would(kind, fmt, words, seed):
    """write(..., old=0, keep=2) leaves in the slot what capture() of the written tensor would keep right after, so
    that the next in-place update's write gives the same bits with no capture between (the harness's optimizer step
    skips that pass over every word, hooks.Injector._before_update). Two runs from one seed, three in-place updates
    of words that mix random patterns with infinities and NaNs (whose payloads the formats' encoders make canonical,
    so a slot that kept the raw stored words would differ): one keeps with keep=2, the other captures before each
    update; every result and every count is equal."""
    c = codec(fmt)
    p = 0.3 if kind == "dense" else 2e-3
    n = 3000 if kind == "dense" else 60_000
    scale = 0.05 if fmt == "int8" else None
    g = np.random.default_rng(seed)
    pool = np.array(words + _SPECIAL_WORDS, dtype=np.uint32)
    steps = [_words(list(np.where(g.random(n) < 0.3, g.choice(pool, n), g.integers(0, 2**32, n, dtype=np.uint64))))
             for _ in range(4)]
    results = []
    for restored in (True, False):
        s, slot = write_stream(seed, p, p / 3, c), Slot()
        x = steps[0].clone()
        s.capture(slot, x.data_ptr(), n, scale)
        out = []
        for new in steps[1:]:
            x.copy_(new)  # the update
            k = s.write(slot, x.data_ptr(), x.data_ptr(), n, scale, 0, 2 if restored else False)
            out.append((k, s.n01, s.n10, _u32(x)))
            if not restored:
                s.capture(slot, x.data_ptr(), n, scale)
        results.append(out)
    assert s.dense == (kind == "dense")
    for (ka, a01, a10, xa), (kb, b01, b10, xb) in zip(*results):
        assert (ka, a01, a10) == (kb, b01, b10) and torch.equal(xa, xb)


def test_update_write_keep_restored_is_not_the_stored_words():
    """The test above has the power to tell keep=2 from keep=1 (the raw stored words): a bf16 write of infinity over
    a word whose low mantissa bit is set, with that bit's 1 -> 0 switch failing for sure, stores a NaN with a
    payload (0x7F81); capture() keeps it as the canonical 0x7FC0, so the next write over it switches other bits."""
    c = codec("bf16")
    n = 64
    ends = []
    for keep in (1, 2):
        s, slot = write_stream(0, 1e-12, 1.0 - 1e-12, c), Slot()
        assert s.dense
        x = _words([0x3F810000] * n)  # 1.0078125: low mantissa bit set
        s.capture(slot, x.data_ptr(), n)
        x.copy_(_words([0x7F800000] * n))  # infinity: the 1 -> 0 switch of that bit fails
        s.write(slot, x.data_ptr(), x.data_ptr(), n, None, 0, keep)
        assert torch.isnan(x).all()
        x.copy_(_words([0x00000000] * n))  # zeros: every set bit of the old word switches 1 -> 0 and fails
        s.write(slot, x.data_ptr(), x.data_ptr(), n, None, 0, 0)
        ends.append(_u32(x))
    assert int(ends[0][0]) == 0x7F810000 and int(ends[1][0]) == 0x7FC00000


@pytest.mark.parametrize("kind", ["sparse", "dense"])
def test_used_slot_is_cleared(kind):
    """A write with keep=False uses up the slot's old contents (Slot.size drops to 0): a later old=0 write over
    the same slot sees cleared storage, like a fresh slot, on both kinds. Writing zeros over it then switches
    nothing, so nothing may fail.

    The dense kind does this (resolve_dense: "the slot's words were these old contents: used up"). The sparse
    kind fails it: resolve_sparse leaves slot->bits set, so the next old=0 write reuses the candidates and old
    words captured before the previous write -- stale contents two writes old, and the same candidate positions
    again (the two writes' failures are not independent)."""
    p, n = _KINDS[kind]
    s, slot = _kind_stream(kind, 6), Slot()
    x = torch.full((n,), -1.0)  # 0xBF800000: many set bits
    s.capture(slot, x.data_ptr(), n)
    x.fill_(2.0)
    assert s.write(slot, x.data_ptr(), x.data_ptr(), n, None, 0, False) > 0
    z = torch.zeros(n)
    k = s.write(slot, z.data_ptr(), z.data_ptr(), n, None, 0, False)
    assert (slot.size, k) == (0, 0), (
        f"{kind}: after a keep=False write the slot still holds {slot.size} entries, and writing zeros over it "
        f"failed {k} bits (n10={s.n10}) against the contents captured before the previous write")


# -- tiny rates ------------------------------------------------------------------------------------------------------
def test_tiny_rates():
    """A rate of 1e-13 over 1e15 bits (50 calls of 2e13) gives the right count (~100) of sorted int64 positions
    inside each call's range; a rate of 1e-20 over 3e18 bits (gaps near the int64 range) flips at most one bit
    (expected 0.03) and overflows nothing."""
    p, bits = 1e-13, 2 * 10**13
    s = Stream(1, p, 0)
    k = 0
    for _ in range(50):
        pos = np.frombuffer(s.positions(bits), dtype=np.int64)
        assert pos.size == 0 or (np.all(np.diff(pos) > 0) and 0 <= int(pos.min()) and int(pos.max()) < bits)
        k += pos.size
    assert _within(k, 50 * bits, p)
    for seed in range(3):
        s = Stream(seed, 1e-20, 0)
        pos = [np.frombuffer(s.positions(10**18), dtype=np.int64) for _ in range(3)]
        assert sum(q.size for q in pos) <= 1
        assert all(q.size == 0 or 0 <= int(q[0]) < 10**18 for q in pos)


def test_zero_rate_never_fails_however_many_bits():
    """A stream of rate 0 never fails a bit, however many bits it runs over (here 2**62 in one call, and 5e18 in
    five calls).

    The core fails this: draw_gap returns NEVER = 4e18 for p = 0 (and for any draw beyond 4e18 at tiny rates),
    and that gap counts down like any other, so bit 4e18 of the stream fails at rate 0 (and at p = 1e-20 a failure
    within the first 4e18 + 1 bits is certain instead of ~4 % likely). Past 8e18 bits in one call the next
    position overflows int64 and positions() returns negative positions."""
    for seed in range(3):
        s = Stream(seed, 0.0, 0)
        one = np.frombuffer(s.positions(2**62), dtype=np.int64)
        assert one.size == 0, f"rate 0 failed bit(s) {one.tolist()} of 2**62"
    s = Stream(0, 0.0, 0)
    several = [np.frombuffer(s.positions(10**18), dtype=np.int64).tolist() for _ in range(5)]
    assert several == [[]] * 5, f"rate 0 failed bits in 5 calls of 1e18 bits: {several}"


# -- seeds ------------------------------------------------------------------------------------------------------------
def test_stream_seed_distinct_keys():
    """stream_seed is a deterministic 64-bit function of the run's seed and the keys, different for different
    keys, key orders and run seeds (no two of 50 x 8 x 4 combinations collide), and the streams it seeds differ."""
    seen = {}
    for seed in range(50):
        for a in range(8):
            for b in range(4):
                v = stream_seed(seed, a, b)
                assert 0 <= v < 2**64 and v == stream_seed(seed, a, b)
                assert v not in seen, (seen.get(v), (seed, a, b))
                seen[v] = (seed, a, b)
    assert stream_seed(3, 1, 2) != stream_seed(3, 2, 1)
    assert stream_seed(3) != stream_seed(3, 0) != stream_seed(3, 0, 0)
    assert stream_seed(-1, 5) == stream_seed(2**64 - 1, 5)
    a = every_bit_stream(stream_seed(0, 1), 0.01, codec("fp32")).positions(100_000)
    b = every_bit_stream(stream_seed(0, 2), 0.01, codec("fp32")).positions(100_000)
    assert a != b


def test_strided_float32_goes_through_a_contiguous_copy():
    """A float32 tensor with other strides reaches the core as its words in logical order (torch's .to() returns
    such a tensor itself, strides and all), and the flipped copy keeps its values in place."""
    x = torch.randn(24, 40, generator=torch.Generator().manual_seed(3))
    s = x.t().contiguous().t()
    m = as_words(s)
    assert m.is_contiguous() and torch.equal(m, x)
    y, k = flip_every_bit(s, 1e-3, codec("fp32"), seed=2)
    z, k2 = flip_every_bit(x, 1e-3, codec("fp32"), seed=2)
    assert k == k2 > 0 and torch.equal(y.view(torch.int32), z.view(torch.int32))
