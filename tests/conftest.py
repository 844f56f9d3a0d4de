import pytest

from archsim.config import load_config


@pytest.fixture
def small_cfg():
    """A small accelerator: 16x16 array, small partitions, so small networks exercise spills and stalls."""
    part = dict(capacity_kib=64, n_banks=8, word_bits=128, write_buffer_entries=8)
    return load_config(overrides={
        "array": {"rows": 16, "cols": 16},
        "training": {"batch": 4},
        "scratchpad": {"partitions": {k: dict(part) for k in
                                      ("activation", "weight", "error", "weight_gradient", "optimizer_state")}},
    })
