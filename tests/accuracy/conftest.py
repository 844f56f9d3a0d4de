import pytest
import torch

from archsim.workload.graph import NetworkBuilder


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def tiny_net(in_channels=1, size=8, classes=10, residual=True):
    """conv-bn-relu, (residual block), pool, gap, linear: a few thousand weights, trains in about a second."""
    b = NetworkBuilder("tiny", (in_channels, size, size), classes)
    x = b.relu(b.bn(b.conv(b.input, 8, 3, padding=1, name="c1")))
    if residual:
        y = b.relu(b.bn(b.conv(x, 8, 3, padding=1, name="c2")))
        x = b.add(b.bn(b.conv(y, 8, 3, padding=1, name="c3")), x)
    x = b.maxpool(b.relu(x), 2)
    x = b.relu(b.conv(x, 16, 3, padding=1, bias=True, name="c4"))
    x = b.flatten(b.gap(x))
    b.linear(x, classes, name="fc")
    return b.build()


@pytest.fixture(scope="session")
def digits():
    from archsim.accuracy.data import load_digits

    return load_digits()
