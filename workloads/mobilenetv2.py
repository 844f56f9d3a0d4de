"""MobileNetV2 (Sandler et al., CVPR 2018): inverted residual blocks (1x1 expand, 3x3 depthwise, 1x1 project).

ImageNet variant: torchvision ``mobilenet_v2`` shapes (stem 3x3/2 to 32, 17 blocks, 1x1 conv to 1280, FC).
CIFAR variant: stem stride 1 and the second stage's stride 1 (``kuangliu/pytorch-cifar``'s adaptation).
"""
from archsim.workload.graph import NetworkBuilder
from archsim.workload.registry import register

from ._common import ch

# (expansion t, output channels c, repeats n, first stride s) -- Sandler et al. Table 2
CFG = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def _block(b, x, cout, stride, t, name):
    cin = b.shape(x)[0]
    hidden = cin * t
    y = x
    if t != 1:
        y = b.relu6(b.bn(b.conv(y, hidden, 1, name=f"{name}.expand"), name=f"{name}.bn0"), name=f"{name}.relu0")
    y = b.relu6(b.bn(b.dwconv(y, 3, stride, 1, name=f"{name}.dw"), name=f"{name}.bn1"), name=f"{name}.relu1")
    y = b.bn(b.conv(y, cout, 1, name=f"{name}.project"), name=f"{name}.bn2")
    if stride == 1 and cin == cout:
        y = b.add(y, x, name=f"{name}.add")
    return y


def build(input_size: int = 224, num_classes: int = 1000, in_channels: int = 3, width: float = 1.0):
    cifar = input_size < 64
    b = NetworkBuilder("mobilenetv2", (in_channels, input_size, input_size), num_classes,
                       "MobileNetV2, inverted residuals with depthwise convs")
    x = b.relu6(b.bn(b.conv(b.input, ch(32, width, 8), 3, 1 if cifar else 2, 1, name="stem"), name="stem_bn"),
                name="stem_relu")
    for si, (t, c, n, s) in enumerate(CFG):
        if cifar and si == 1:
            s = 1
        for i in range(n):
            x = _block(b, x, ch(c, width, 8), s if i == 0 else 1, t, f"block{si + 1}.{i}")
    x = b.relu6(b.bn(b.conv(x, ch(1280, max(width, 1.0), 8), 1, name="head"), name="head_bn"), name="head_relu")
    x = b.flatten(b.gap(x, name="avgpool"), name="flatten")
    b.linear(x, num_classes, name="classifier")
    return b.build()


register("mobilenetv2", build, "MobileNetV2 1.0, ImageNet 224x224")
register("mobilenetv2-cifar", build, "MobileNetV2 1.0, CIFAR 32x32", input_size=32, num_classes=10)

# Small variant for the accuracy harness: 1/4 width (the 1280-channel head keeps its width, as in the paper).
register("mobilenetv2-mini", build, "MobileNetV2 at 1/4 width, 8x8 grayscale, 10 classes (accuracy harness)",
         input_size=8, in_channels=1, num_classes=10, width=0.25)
