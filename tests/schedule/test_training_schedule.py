"""The training schedule: passes, GEMM shapes, data-type tags, and residency behaviour."""
import pytest

from archsim.config import load_config
from archsim.datatypes import DataType
from archsim.schedule.tiling import plan_step
from archsim.workload import registry
from archsim.workload.training import Pass, build_schedule, conv_gemms


def test_gemm_shapes_and_macs():
    net = registry.get("resnet18")
    conv1 = net.layer("conv1")
    g = conv_gemms(conv1, 32)
    assert (g[Pass.FORWARD].M, g[Pass.FORWARD].N, g[Pass.FORWARD].K) == (32 * 112 * 112, 64, 3 * 49)
    assert g[Pass.BACKWARD_DATA].macs == g[Pass.FORWARD].macs == g[Pass.BACKWARD_WEIGHT].macs
    fc = conv_gemms(net.layer("fc"), 8)
    assert (fc[Pass.FORWARD].M, fc[Pass.FORWARD].N, fc[Pass.FORWARD].K) == (8, 1000, 512)
    assert (fc[Pass.BACKWARD_WEIGHT].M, fc[Pass.BACKWARD_WEIGHT].N, fc[Pass.BACKWARD_WEIGHT].K) == (512, 1000, 8)


def test_schedule_passes_and_tags():
    net = registry.get("resnet18-cifar")
    s = build_schedule(net, batch=8)
    assert s.passes() == list(Pass)
    fwd = [o for o in s.ops if o.pass_ is Pass.FORWARD and o.is_gemm]
    assert len(fwd) == len(net.gemm_layers())
    # 3x MACs of the forward pass, minus the first conv's backward-data (its input needs no gradient)
    first = net.layer("conv1").forward_macs(8)
    assert s.total_macs() == 3 * net.forward_macs(8) - first
    for op in s.ops:
        if op.pass_ is Pass.FORWARD and op.is_gemm:
            assert {o.dtype for o in op.inputs} == {DataType.ACTIVATION, DataType.WEIGHT}
            assert op.outputs[0].dtype is DataType.ACTIVATION
        if op.pass_ is Pass.BACKWARD_WEIGHT:
            assert op.outputs[0].dtype is DataType.WEIGHT_GRADIENT
        if op.pass_ is Pass.UPDATE:
            assert {o.dtype for o in op.inputs} == {DataType.WEIGHT, DataType.WEIGHT_GRADIENT,
                                                   DataType.OPTIMIZER_STATE}
    # residual forks accumulate their errors
    assert any(o.accumulate for op in s.ops for o in op.outputs)


@pytest.mark.parametrize("name", ["vgg16-cifar", "resnet18-cifar"])
def test_dram_traffic_falls_as_capacity_grows(name):
    net = registry.get(name, width=0.5)
    sched = build_schedule(net, batch=8)
    prev = None
    for kib in (64, 256, 1024, 4096, 16384, 65536):
        cfg = load_config(overrides={"scratchpad": {"partitions": {
            k: {"capacity_kib": kib, "n_banks": 8} for k in
            ("activation", "weight", "error", "weight_gradient", "optimizer_state")}}})
        step = plan_step(sched, cfg)
        traffic = sum(sum(p.dram_read_bytes.values()) + sum(p.dram_write_bytes.values()) for p in step.ops)
        if prev is not None:
            assert traffic <= prev * (1 + 1e-12)
        prev = traffic
    # at 64 MiB per partition the half-width networks fit: only the input batch comes from DRAM
    inp = 8 * 3 * 32 * 32 * 2
    assert prev == pytest.approx(inp, rel=1e-9)
