"""The injection mechanism: flip statistics, directional semantics, formats, determinism."""
import math

import pytest
import torch
from hypothesis import given, settings, strategies as st

from archsim.accuracy.formats import FORMATS, codec
from archsim.accuracy.inject import (DENSE_FRACTION, SPARSE_FRACTION, FlipSet, popcount, sample_bits, sample_every_bit,
                                     flip_every_bit, write_directional)


def _within(k: int, n: int, p: float, z: float = 5.0) -> bool:
    """k successes of n Bernoulli(p) trials lie within z standard deviations (plus one count) of n p."""
    mu = n * p
    return abs(k - mu) <= z * math.sqrt(max(n * p * (1 - p), 1e-12)) + 1


def test_popcount_matches_python():
    w = torch.randint(0, 1 << 32, (4000,), generator=torch.Generator().manual_seed(3), dtype=torch.int64)
    assert popcount(w).tolist() == [bin(int(v)).count("1") for v in w]


@settings(max_examples=25, deadline=None)
@given(log_p=st.floats(-4.0, math.log10(0.3)), fmt=st.sampled_from(FORMATS), seed=st.integers(0, 2**31))
def test_every_bit_rate_matches(log_p, fmt, seed):
    p = 10 ** log_p
    c = codec(fmt)
    n = max(2000, int(100 / (p * c.bits)))  # at least ~100 expected flips
    n = min(n, 400_000)
    x = torch.randn(n, generator=torch.Generator().manual_seed(seed))
    y, fs = flip_every_bit(x, p, c, torch.Generator().manual_seed(seed + 1))
    assert _within(fs.n_bits, n * c.bits, p)
    # the tensor changed in exactly the flipped words, and the stored bits differ by the mask there
    changed = torch.nonzero(~((y == x) | (torch.isnan(y) & torch.isnan(x)))).flatten()
    assert set(changed.tolist()) <= set(fs.index.tolist())
    if fmt in ("fp32", "int8"):  # every pattern of these formats decodes and re-encodes exactly
        ctx = c.context(x)
        diff = c.encode(y, ctx) ^ c.encode(x, ctx)
        assert int(popcount(diff).sum()) == fs.n_bits
        assert torch.equal(diff[fs.index], fs.mask)


@settings(max_examples=20, deadline=None)
@given(p01=st.floats(1e-3, 0.3), ratio=st.floats(0.05, 20.0), fmt=st.sampled_from(FORMATS),
       seed=st.integers(0, 2**31))
def test_directional_only_changed_bits_at_their_rate(p01, ratio, fmt, seed):
    p10 = min(0.5, p01 * ratio)
    c = codec(fmt, int8_scale=0.05)
    g = torch.Generator().manual_seed(seed)
    n = 30_000
    old = torch.randn(n, generator=g)
    new = old.clone()
    sel = torch.rand(n, generator=g) < 0.5  # half the words change, half are rewritten with the same value
    new[sel] = torch.randn(int(sel.sum()), generator=g)
    stored, out = write_directional(old, new, p01, p10, c, torch.Generator().manual_seed(seed + 7))
    ok = ~torch.isnan(stored)  # a NaN's payload does not survive float32 -> bf16/fp16 re-encoding; skip those
    old, new, stored, sel = old[ok], new[ok], stored[ok], sel[ok]
    ow, nw, sw = c.encode(old, 0.05), c.encode(new, 0.05), c.encode(stored, 0.05)
    changed = ow ^ nw
    up, down = changed & nw, changed & ow
    fail = sw ^ nw
    assert int((fail & ~changed).ne(0).sum()) == 0, "a bit that did not change was disturbed"
    assert torch.equal(stored[~sel], new[~sel]), "an unchanged word was disturbed"
    f_up, f_down = int(popcount(fail & up).sum()), int(popcount(fail & down).sum())
    if bool(ok.all()):
        assert (f_up, f_down) == (out.flips_0to1, out.flips_1to0)
    n_up, n_down = int(popcount(up).sum()), int(popcount(down).sum())
    assert _within(f_up, n_up, p01) and _within(f_down, n_down, p10)
    # failed bits keep the old value: a failed 0->1 reads 0, a failed 1->0 reads 1
    assert int(((sw & fail & up)).ne(0).sum()) == 0
    assert torch.equal(sw & fail & down, fail & down)


def test_zero_and_one_rates():
    c = codec("fp32")
    x = torch.randn(1000)
    y, fs = flip_every_bit(x, 0.0, c, torch.Generator().manual_seed(0))
    assert y is x and fs.n_words == 0
    y, fs = flip_every_bit(x, 1.0, c, torch.Generator().manual_seed(0))
    assert fs.n_bits == 32_000 and torch.equal(c.encode(y), (~c.encode(x)) & 0xFFFFFFFF)
    old, new = torch.zeros(100), torch.ones(100)
    y, out = write_directional(old, new, 1.0, 0.0, c, torch.Generator().manual_seed(0))
    assert torch.equal(y, old)  # every 0->1 switch failed
    y, out = write_directional(old, new, 0.0, 1.0, c, torch.Generator().manual_seed(0))
    assert torch.equal(y, new)  # 1.0 has no 1->0 switch from 0.0


def test_sparse_geometric_and_dense_paths_agree_statistically():
    g = torch.Generator().manual_seed(5)
    total = 2_000_000
    for p in (SPARSE_FRACTION * 0.9, SPARSE_FRACTION * 1.1, DENSE_FRACTION * 0.9, DENSE_FRACTION * 1.1):
        pos = sample_bits(total, p, g)
        assert pos.unique().numel() == pos.numel() and int(pos.min()) >= 0 and int(pos.max()) < total
        assert _within(pos.numel(), total, p)
        # positions are uniform: each half holds about half
        assert _within(int((pos < total // 2).sum()), pos.numel(), 0.5)
        # and independent: neighbouring bits both fail at rate p**2
        hit = torch.zeros(total, dtype=torch.bool)
        hit[pos] = True
        assert _within(int((hit[1:] & hit[:-1]).sum()), total - 1, p * p)


def test_bit_positions_uniform():
    g = torch.Generator().manual_seed(9)
    fs = sample_every_bit(200_000, 16, 1e-3, g)
    per_bit = torch.stack([(fs.mask >> b) & 1 for b in range(16)]).sum(1)
    total = int(per_bit.sum())
    for k in per_bit.tolist():
        assert _within(k, total, 1 / 16)


def test_deterministic_for_a_seed():
    c = codec("bf16")
    x = torch.randn(50_000)
    a = flip_every_bit(x, 1e-3, c, torch.Generator().manual_seed(42))[0]
    b = flip_every_bit(x, 1e-3, c, torch.Generator().manual_seed(42))[0]
    d = flip_every_bit(x, 1e-3, c, torch.Generator().manual_seed(43))[0]
    assert torch.equal(a.view(torch.int32), b.view(torch.int32))
    assert not torch.equal(a.view(torch.int32), d.view(torch.int32))


@pytest.mark.parametrize("fmt", FORMATS)
def test_codec_round_trip(fmt):
    c = codec(fmt)
    x = c.round_trip(torch.randn(1000) * 3)
    ctx = c.context(x)
    assert torch.allclose(c.decode(c.encode(x, ctx), ctx), x, rtol=0, atol=(1e-6 if fmt != "int8" else ctx / 2))
    w = c.encode(x, ctx)
    assert int(w.min()) >= 0 and int(w.max()) < (1 << c.bits)


def test_known_bit_patterns():
    assert codec("fp32").encode(torch.tensor([1.0])).item() == 0x3F800000
    assert codec("bf16").encode(torch.tensor([-2.0])).item() == 0xC000
    assert codec("fp16").encode(torch.tensor([1.0])).item() == 0x3C00
    c = codec("int8", int8_scale=0.5)
    assert c.encode(torch.tensor([-1.0]), 0.5).item() == 0xFE  # -2 in two's complement
    # flipping the sign bit of fp32 1.0 gives -1.0; flipping int8's MSB of +1 gives -127
    fs = FlipSet(torch.tensor([0]), torch.tensor([1 << 31]))
    from archsim.accuracy.inject import apply_flips_
    assert apply_flips_(torch.tensor([1.0]), fs, codec("fp32")).item() == -1.0
    fs8 = FlipSet(torch.tensor([0]), torch.tensor([1 << 7]))
    assert apply_flips_(torch.tensor([0.5]), fs8, c, 0.5).item() == -127 * 0.5


def test_unknown_format_rejected():
    with pytest.raises(ValueError, match="unknown number format"):
        codec("fp8")


@settings(max_examples=15, deadline=None)
@given(log_p=st.floats(-5.0, math.log10(0.2)), sizes=st.lists(st.integers(1, 50_000), min_size=1, max_size=40),
       seed=st.integers(0, 2**31))
def test_bit_stream_rate_across_tensors(log_p, sizes, seed):
    """Geometric skipping over a sequence of tensors of any sizes flips each bit with probability p."""
    from archsim.accuracy.inject import BitStream

    p = 10 ** log_p
    s = BitStream(p, torch.Generator().manual_seed(seed))
    reps = max(1, int(200 / (p * sum(sizes))))  # enough bits for ~200 expected flips
    reps = min(reps, 2000)
    k = n = 0
    for _ in range(reps):
        for size in sizes:
            pos = s.take(size)
            assert pos.numel() == pos.unique().numel() and (pos.numel() == 0 or (0 <= int(pos.min())
                                                                                  and int(pos.max()) < size))
            k += pos.numel()
            n += size
    assert _within(k, n, p)


def test_directional_small_writes():
    """Writes with few candidate bits each (a scalar flip path); per-direction rates still hold over many writes."""
    from archsim.accuracy.inject import FEW

    c = codec("fp32")
    g = torch.Generator().manual_seed(11)
    p01, p10 = 0.04, 0.01
    fu = fd = nu = nd = 0
    for i in range(400):
        old, new = torch.randn(8, generator=g), torch.randn(8, generator=g)
        stored, out = write_directional(old, new, p01, p10, c, g)
        ow, nw, sw = c.encode(old), c.encode(new), c.encode(stored)
        ch = ow ^ nw
        assert int((sw ^ nw).bitwise_and(~ch).ne(0).sum()) == 0
        fu += out.flips_0to1
        fd += out.flips_1to0
        nu += int(popcount(ch & nw).sum())
        nd += int(popcount(ch & ow).sum())
    assert 8 * 32 * p01 < FEW  # these writes flipped their few bits on the scalar path
    assert _within(fu, nu, p01) and _within(fd, nd, p10)


# -- the numpy word paths and the concatenated-range sampling of the optimizer step ---------------------------
def _float_samples(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(50_000, generator=g) * 10.0 ** torch.randint(-9, 9, (50_000,), generator=g).float()
    special = [0.0, -0.0, float("inf"), -float("inf"), 65504.0, 65520.0, 65519.99, -7e4, 6e-8, 3e-8, 1e-40, -1e-45]
    halves = (torch.arange(-130, 130).float() + 0.5) * 0.05  # int8 ties at scale 0.05
    return torch.cat([x, torch.tensor(special), halves])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scale", [None, 0.05])
def test_numpy_codec_matches_torch_codec(fmt, scale):
    """encode_bits / decode_bits (numpy, on float32 bit patterns) give the torch codec's words and values."""
    import numpy as np

    c = codec(fmt, int8_scale=scale)
    x = _float_samples(1)
    ctx = c.context(x)
    assert np.array_equal(c.encode_bits(x.numpy().view(np.uint32), ctx), c.encode(x, ctx).numpy())
    if c.bits < 32:  # every word
        w = torch.arange(1 << c.bits, dtype=torch.int64)
    else:
        w = torch.randint(0, 1 << 32, (100_000,), generator=torch.Generator().manual_seed(2), dtype=torch.int64)
    assert np.array_equal(c.decode_bits(w.numpy(), ctx), c.decode(w, ctx).numpy().view(np.uint32))


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(1, 300), min_size=1, max_size=12), bits=st.sampled_from([8, 16, 32]),
       frac=st.floats(0.0, 1.0), seed=st.integers(0, 2**31))
def test_split_ranges_deals_positions_to_their_tensors(sizes, bits, frac, seed):
    import numpy as np

    from archsim.accuracy.inject import split_ranges

    starts = np.cumsum([0] + sizes[:-1]) * bits
    total = sum(sizes) * bits
    rng = np.random.default_rng(seed)
    pos = np.flatnonzero(rng.random(total) < frac).astype(np.int64)
    seen = []
    for i, lo, hi in split_ranges(pos, starts):
        local = pos[lo:hi] - starts[i]
        assert local.size and int(local.min()) >= 0 and int(local.max()) < sizes[i] * bits
        seen.append((i, lo, hi))
    assert [lo for _, lo, _ in seen] == sorted(lo for _, lo, _ in seen)
    assert sum(hi - lo for _, lo, hi in seen) == pos.size and len({i for i, _, _ in seen}) == len(seen)


def test_group_bits_matches_flipset_from_bits():
    import numpy as np

    from archsim.accuracy.inject import group_bits

    pos = sample_bits(64 * 1000, 0.02, torch.Generator().manual_seed(4))
    w, m = group_bits(pos.numpy(), 32)
    fs = FlipSet.from_bits(pos // 32, pos % 32)
    assert np.array_equal(w, fs.index.numpy()) and np.array_equal(m, fs.mask.numpy())


@settings(max_examples=10, deadline=None)
@given(log_p=st.floats(-5.0, -1.5), sizes=st.lists(st.integers(1, 20_000), min_size=2, max_size=30),
       seed=st.integers(0, 2**31))
def test_one_draw_over_concatenated_tensors_gives_each_tensor_its_rate(log_p, sizes, seed):
    """The optimizer step draws one range over all tensors of a data type and deals the positions out: each
    tensor's bits fail at rate p, and no tensor's positions leave it."""
    import numpy as np

    from archsim.accuracy.inject import BitStream, split_ranges

    p = 10 ** log_p
    bits = 32
    starts = np.cumsum([0] + sizes[:-1]) * bits
    total = sum(sizes) * bits
    s = BitStream(p, torch.Generator().manual_seed(seed))
    reps = min(2000, max(1, int(400 / (p * total))))
    hits = np.zeros(len(sizes), dtype=np.int64)
    for _ in range(reps):
        pos = s.positions(total)
        assert np.all(np.diff(pos) > 0)
        for i, lo, hi in split_ranges(pos, starts):
            assert int((pos[lo:hi] - starts[i]).max()) < sizes[i] * bits
            hits[i] += hi - lo
    assert _within(int(hits.sum()), reps * total, p)
    # the largest and the smallest tensor each get their share (a per-tensor rate check where it has power)
    for i in (int(np.argmax(sizes)), int(np.argmin(sizes))):
        assert _within(int(hits[i]), reps * sizes[i] * bits, p)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("k", [1, 2, 5, 16, 17, 48, 49, 200])
def test_flip_bits_scalar_and_vector_paths_agree(fmt, k):
    """flip_bits_ (scalar path up to SCALAR positions in bf16, XOR for fp32) stores exactly what the vectorised
    flip_words_ stores, also where several flipped bits share a word and where a flip makes a NaN."""
    import numpy as np

    from archsim.accuracy.inject import flip_bits_, flip_words_, group_bits

    c = codec(fmt, int8_scale=0.05)
    x = c.round_trip(_float_samples(3)[:4000].clone(), 0.05 if fmt == "int8" else None)
    rng = np.random.default_rng(k)
    words = rng.choice(x.numel(), max(1, k // 2), replace=False)
    pos = np.unique(words[rng.integers(0, words.size, k)] * c.bits + rng.integers(0, c.bits, k)).astype(np.int64)
    a, b = x.clone(), x.clone()
    flip_bits_(a, pos, c, 0.05 if fmt == "int8" else None)
    flip_words_(b, *group_bits(pos, c.bits), c, 0.05 if fmt == "int8" else None)
    assert torch.equal(a.view(torch.int32), b.view(torch.int32))
    assert int((a.view(torch.int32) != x.view(torch.int32)).sum()) <= np.unique(pos // c.bits).size


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("k", [1, 4, 16, 17, 40, 48, 49, 300])
@pytest.mark.parametrize("rates", [(0.3, 0.3), (0.3, 0.1), (0.05, 0.4)])
def test_directional_fail_scalar_and_vector_paths_agree(fmt, k, rates):
    """directional_fail's scalar loop (few fp32/bf16 candidates) and its numpy path keep the same candidates:
    only switching bits, and with equal rates (no thinning draw) exactly those; per direction, thinning
    happens with the same uniforms."""
    import numpy as np

    from archsim.accuracy import inject

    c = codec(fmt, int8_scale=0.05)
    g = torch.Generator().manual_seed(k)
    new = c.round_trip(torch.randn(500, generator=g), 0.05 if fmt == "int8" else None)
    rng = np.random.default_rng(k)
    cand = np.unique(rng.choice(500 * c.bits, k, replace=False)).astype(np.int64)
    old = rng.integers(0, 1 << c.bits, cand.size).astype(np.int64)
    ctx = c.context(new)
    out = []
    for scalar in (inject.SCALAR, -1):  # the scalar path where it applies, then the numpy path
        old_scalar, inject.SCALAR = inject.SCALAR, scalar
        try:
            gen = torch.Generator().manual_seed(7)
            out.append(inject.directional_fail(new, cand, old, c, ctx, *rates, lambda n: inject.uniforms(n, gen)))
            out[-1] += (torch.rand(2, generator=gen),)  # the stream after: the same number of uniforms drawn
        finally:
            inject.SCALAR = old_scalar
    (a, a01, a10, ra), (b, b01, b10, rb) = out
    assert np.array_equal(a, b) and (a01, a10) == (b01, b10) and torch.equal(ra, rb)
    nw = c.encode(new, ctx).numpy()[cand // c.bits]
    switched = ((old ^ nw) >> (cand % c.bits)) & 1 == 1
    assert set(a.tolist()) <= set(cand[switched].tolist())
    if rates[0] == rates[1]:
        assert np.array_equal(a, cand[switched])


def test_bit_stream_tiny_rates_use_exact_integer_gaps():
    """Below TINY the gaps are Python integers: rates of 1e-13 over ~1e15 bits come out right, and a rate of 1e-20
    (gaps beyond the int64 range) neither overflows nor flips anything in 1e18 bits but the expected ~0.01."""
    from archsim.accuracy.inject import TINY, BitStream

    p = 0.5 * TINY
    s = BitStream(p, torch.Generator().manual_seed(1))
    k, n = 0, 2 * 10**13
    for _ in range(100):
        pos = s.positions(n)
        assert str(pos.dtype) == "int64"
        assert pos.size == 0 or (0 <= int(pos.min()) and int(pos.max()) < n)
        k += pos.size
    assert _within(k, 100 * n, p)
    s = BitStream(1e-20, torch.Generator().manual_seed(2))
    assert sum(s.positions(10**18).size for _ in range(3)) <= 1


def test_words_at_few_bf16_words_match_the_numpy_codec():
    """words_at's scalar path (few bf16 words) rounds every bit pattern as Codec.encode_bits does: ties, NaNs,
    infinities and denormals included."""
    import numpy as np

    from archsim.accuracy.inject import SCALAR, words_at, words_view

    c = codec("bf16")
    rng = np.random.default_rng(0)
    special = np.array([0x7F800000, 0xFF800000, 0x7FC00001, 0x7F800001, 0xFFFFFFFF, 0x00008000, 0x00018000,
                        0x3F808000, 0x3F818000, 0x00000001, 0x807FFFFF, 0x7F7FFFFF], dtype=np.uint32)
    u = np.concatenate([special, rng.integers(0, 1 << 32, 4000, dtype=np.uint64).astype(np.uint32)])
    x = torch.from_numpy(u.view(np.float32).copy())
    for lo in range(0, u.size, SCALAR):
        index = np.arange(lo, min(lo + SCALAR, u.size), dtype=np.int64)
        assert np.array_equal(words_at(x, index, c), c.encode_bits(words_view(x)[index]))
