"""A longer MRAM write pulse slows bank writes; the engine shows it as write-buffer stalls, and deeper write
buffers absorb part of them."""
from archsim.config import load_config
from archsim.config.scenarios import apply_memory
from archsim.sim import simulate
from archsim.workload import registry


def _stalls(pulse_ns: float, wb_entries: int = 4):
    part = dict(capacity_kib=256, n_banks=8, word_bits=256, write_buffer_entries=wb_entries)
    cfg = load_config(overrides={"array": {"rows": 16, "cols": 16}, "training": {"batch": 4},
                                 "scratchpad": {"partitions": {k: dict(part) for k in (
                                     "activation", "weight", "error", "weight_gradient", "optimizer_state")}}})
    cfg = apply_memory(cfg, "mram", "iso-capacity", options={"write_voltage_v": 1.25, "write_pulse_ns": pulse_ns})
    rep = simulate(registry.get("vgg16-cifar", width=0.25), cfg)
    wb = sum(r["stalls"]["write_buffer"] for r in rep.records)
    return rep.totals["stall_cycles"], wb


def test_longer_pulse_more_write_stalls():
    s10, wb10 = _stalls(10)
    s40, wb40 = _stalls(40)
    assert wb40 > wb10 > 0
    assert s40 > s10


def test_deeper_write_buffer_absorbs_stalls():
    _, shallow = _stalls(20, wb_entries=1)
    _, deep = _stalls(20, wb_entries=256)
    assert deep < shallow
