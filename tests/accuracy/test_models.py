"""Graph -> torch module: the same layers (shapes, parameter counts) as the simulator's graph."""
import pytest
import torch

from archsim.accuracy.models import build_model
from archsim.workload import registry


@pytest.mark.parametrize("name,kw", [("resnet18-mini", {}), ("mobilenetv2-mini", {}), ("vgg16-mini", {}),
                                     ("resnet50-cifar", {"width": 0.125}), ("alexnet-cifar", {"width": 0.125}),
                                     ("vgg16-cifar", {"width": 0.125, "batch_norm": True})])
def test_module_matches_graph(name, kw):
    net = registry.get(name, **kw)
    model = build_model(net, 0)  # checks every layer's torch output shape against the graph
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == net.param_count()
    out = model(torch.zeros(2, *net.input_shape))
    assert out.shape == (2, net.num_classes)


def test_same_seed_same_init():
    net = registry.get("resnet18-mini")
    a, b = build_model(net, 5), build_model(net, 5)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    c = build_model(net, 6)
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_topological_execution_with_residual_adds():
    """A ResNet's add nodes see both branches: zeroing the residual branch's last BN leaves the identity path."""
    net = registry.get("resnet18-mini")
    model = build_model(net, 0).eval()
    x = torch.randn(3, *net.input_shape)
    y1 = model(x)
    with torch.no_grad():
        model.mods["layer1_0_bn2"].weight.zero_()
        model.mods["layer1_0_bn2"].bias.zero_()
    assert not torch.equal(model(x), y1)
