"""FlatBlock (the optimizer step's tensors as views of one buffer): the injector's flat path changes nothing but
speed -- the same weights, bit for bit, as one call per tensor."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.accuracy import inject
from archsim.accuracy.flat import ALIGN, FlatBlock
from archsim.accuracy.hooks import Injector
from archsim.accuracy.policy import DataTypeErrors, ErrorPolicy
from archsim.datatypes import ALL_DATATYPES

from .conftest import tiny_net
from .test_hooks import _batches, _run, _same_params


def test_block_views_hold_the_tensors_and_locate_their_words():
    ts = [torch.randn(3, 5), torch.randn(0), torch.randn(17), torch.randn(2, 2, 2)]
    b = FlatBlock(ts)
    assert all(torch.equal(v, t) and v.shape == t.shape for v, t in zip(b.views, ts))
    assert all(v.data_ptr() % (4 * ALIGN) == b.buffer.data_ptr() % (4 * ALIGN) for v in b.views)
    assert b.holds(b.views) and not b.holds(ts) and b.same_layout(ts)
    flat = torch.cat([t.reshape(-1) for t in ts])
    word = np.arange(flat.numel(), dtype=np.int64)
    assert np.array_equal(b.words[b.locate(word)], flat.numpy().view(np.uint32))
    mem, first = b.segments(word)
    assert np.array_equal(mem, b.locate(word)) and first.tolist() == [0, 15, 32]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=6), st.floats(0.01, 0.6), st.integers(0, 2**31),
       st.sampled_from([(0.3, 0.3), (0.3, 0.1), (0.02, 0.4)]))
def test_directional_keep_runs_over_several_tensors_equals_one_call_each(sizes, frac, seed, rates):
    """One segmented call keeps the same candidates and draws the same uniforms as one call per tensor (the rule
    that keeps seeded results independent of the flat path)."""
    rng = np.random.default_rng(seed)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])) * 32
    cand = np.flatnonzero(rng.random(sum(sizes) * 32) < frac).astype(np.int64)
    new = rng.integers(0, 1 << 32, cand.size, dtype=np.int64).astype(np.uint32)
    old = np.where(rng.random(cand.size) < 0.3, new, rng.integers(0, 1 << 32, cand.size)).astype(np.int64)
    seg = np.searchsorted(starts, cand, side="right") - 1
    first = np.flatnonzero(np.concatenate(([True], seg[1:] != seg[:-1]))) if cand.size else seg
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    keep, n01, n10 = inject.directional_keep_runs(new, cand & 31, old, *rates, lambda k: inject.uniforms(k, g1),
                                                  first)
    parts, m01, m10 = [], 0, 0
    for lo, hi in zip(first.tolist(), [*first[1:].tolist(), cand.size]):
        k, a, b = inject.directional_keep_runs(new[lo:hi], cand[lo:hi] & 31, old[lo:hi], *rates,
                                               lambda k: inject.uniforms(k, g2))
        parts.append(k)
        m01, m10 = m01 + a, m10 + b
    assert np.array_equal(keep, np.concatenate(parts) if parts else keep) and (n01, n10) == (m01, m10)
    assert torch.equal(torch.rand(3, generator=g1), torch.rand(3, generator=g2))


@pytest.mark.parametrize("optimizer,model,fmt", [("sgd", "directional", "fp32"), ("sgd", "symmetric", "fp32"),
                                                ("adam", "directional", "fp32"), ("adam", "symmetric", "fp32"),
                                                ("sgd", "directional", "bf16"), ("adam", "symmetric", "fp16"),
                                                ("sgd", "directional", "int8")])
def test_flat_path_trains_bit_identically_to_per_tensor_path(digits, optimizer, model, fmt, monkeypatch):
    """The injector with FlatBlocks (its default for formats without a per-tensor context) and with one call per
    tensor (blocks switched off) produce the same weights and the same counts."""
    net, batches = tiny_net(), _batches(digits, n=4)
    rates = dict(read_ber=3e-3, write_ber_0to1=4e-3, write_ber_1to0=1e-3, write_model=model, format=fmt,
                 int8_scale=0.01 if fmt == "int8" else None)
    policy = ErrorPolicy(datatypes={dt: DataTypeErrors(**rates) for dt in ALL_DATATYPES})
    if optimizer == "adam":
        monkeypatch.setattr(torch.optim, "SGD", lambda params, lr, momentum: torch.optim.Adam(params, lr=1e-3))
    flat = Injector(policy, seed=5)
    a, _ = _run(net, batches, flat)
    per_tensor = Injector(policy, seed=5)
    per_tensor._flat = dict.fromkeys(per_tensor._flat, False)
    b, _ = _run(net, batches, per_tensor)
    assert flat._blocks and not per_tensor._blocks
    assert _same_params(a, b)
    assert flat.summary() == per_tensor.summary() and sum(s.flips for s in flat.stats.values()) > 0
