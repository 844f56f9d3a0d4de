"""UniformSource hands out exactly the stream of torch.rand on its generator, whatever the block size."""
import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.accuracy.uniforms import UniformSource


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["take", "randint", "pos-a", "pos-b"]), st.integers(0, 300)),
                min_size=1, max_size=25),
       st.sampled_from([1, 7, 64, 4096]), st.integers(0, 2**31))
def test_source_equals_sequential_draws(ops, block, seed):
    """Any sequence of take / take_positions (two streams) / other draws (randint through generator())
    gives the numbers that calling torch.rand / torch.randint on the generator one by one gives."""
    import math
    src = UniformSource(torch.Generator().manual_seed(seed), block=block)
    ref = torch.Generator().manual_seed(seed)
    for op, k in ops:
        if op == "randint":
            got = torch.randint(0, 1 << 16, (k,), generator=src.generator())
            assert torch.equal(got, torch.randint(0, 1 << 16, (k,), generator=ref))
            continue
        want = torch.rand(k, generator=ref, dtype=torch.float64).numpy()
        if op.startswith("pos"):
            log_q = math.log1p(-(0.3 if op == "pos-a" else 1e-7))
            gaps = np.floor(np.log(np.maximum(want, 1e-300)) / log_q).astype(np.int64)
            assert np.array_equal(src.take_positions(log_q, k, 1234), 1234 + np.cumsum(gaps + 1))
        else:
            assert np.array_equal(src.take(k), want)
    assert torch.equal(torch.rand(5, generator=src.generator()), torch.rand(5, generator=ref))


def test_long_runs_bypass_the_block():
    src, ref = UniformSource(torch.Generator().manual_seed(3), block=16), torch.Generator().manual_seed(3)
    for k in (5, 100, 3, 16, 17, 40_000):
        assert np.array_equal(src.take(k), torch.rand(k, generator=ref, dtype=torch.float64).numpy())


def test_empty_requests_consume_nothing():
    src, ref = UniformSource(torch.Generator().manual_seed(4), block=7), torch.Generator().manual_seed(4)
    assert np.array_equal(src.take(1), torch.rand(1, generator=ref, dtype=torch.float64).numpy())
    assert src.take(0).size == 0 and src.take_positions(-0.1, 0, 5).size == 0
    assert np.array_equal(src.take(3), torch.rand(3, generator=ref, dtype=torch.float64).numpy())
