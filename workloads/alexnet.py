"""AlexNet (Krizhevsky et al., NIPS 2012): 5 convs with the original widths 96-256-384-384-256, 3 FC layers.

ImageNet variant: 224x224 input with torchvision's padding (conv1 11x11/4 pad 2 -> 55x55), no channel groups,
max-pools 3x3/2, FC 9216-4096-4096-1000.
CIFAR variant: 32x32; conv1 becomes 3x3/1 (an 11x11/4 stem would leave 7x7 maps) and pools 2x2/2, FC hidden 1024
-- archsim's own adaptation, in the spirit of the common CIFAR AlexNets.
"""
from archsim.workload.graph import NetworkBuilder
from archsim.workload.registry import register

from ._common import ch


def build(input_size: int = 224, num_classes: int = 1000, in_channels: int = 3, width: float = 1.0):
    b = NetworkBuilder("alexnet", (in_channels, input_size, input_size), num_classes, "AlexNet, 5 conv + 3 FC")
    big = input_size >= 64
    w = [ch(c, width) for c in (96, 256, 384, 384, 256)]
    if big:
        x = b.relu(b.conv(b.input, w[0], 11, 4, 2, bias=True, name="conv1"), name="relu1")
        x = b.maxpool(x, 3, 2, name="pool1")
        x = b.relu(b.conv(x, w[1], 5, 1, 2, bias=True, name="conv2"), name="relu2")
        x = b.maxpool(x, 3, 2, name="pool2")
    else:
        x = b.relu(b.conv(b.input, w[0], 3, 1, 1, bias=True, name="conv1"), name="relu1")
        x = b.maxpool(x, 2, 2, name="pool1")
        x = b.relu(b.conv(x, w[1], 3, 1, 1, bias=True, name="conv2"), name="relu2")
        x = b.maxpool(x, 2, 2, name="pool2")
    x = b.relu(b.conv(x, w[2], 3, 1, 1, bias=True, name="conv3"), name="relu3")
    x = b.relu(b.conv(x, w[3], 3, 1, 1, bias=True, name="conv4"), name="relu4")
    x = b.relu(b.conv(x, w[4], 3, 1, 1, bias=True, name="conv5"), name="relu5")
    x = b.maxpool(x, 3 if big else 2, 2, name="pool5")
    x = b.flatten(x, name="flatten")
    hidden = ch(4096 if big else 1024, width)
    x = b.relu(b.linear(x, hidden, name="fc6"), name="relu6")
    x = b.relu(b.linear(x, hidden, name="fc7"), name="relu7")
    b.linear(x, num_classes, name="fc8")
    return b.build()


register("alexnet", build, "AlexNet, ImageNet 224x224")
register("alexnet-cifar", build, "AlexNet, CIFAR 32x32 (3x3 stem, 2x2 pools)", input_size=32, num_classes=10)

# Small variant for the accuracy harness: 1/8 width on the 8x8 digits (the CIFAR-style 3x3 stem and 2x2 pools).
register("alexnet-mini", build, "AlexNet at 1/8 width, 8x8 grayscale, 10 classes (accuracy harness)",
         input_size=8, in_channels=1, num_classes=10, width=0.125)
