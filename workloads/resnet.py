"""ResNet18 and ResNet50 (He et al., CVPR 2016), torchvision layer shapes, with batch-norm and residual adds.

ImageNet variants: 7x7/2 stem conv + 3x3/2 max-pool, 4 stages, global average pool, FC.
CIFAR variants: 3x3/1 stem conv without max-pool (the usual CIFAR adaptation, e.g. ``kuangliu/pytorch-cifar``).
Downsampling shortcuts are 1x1 strided convs + BN (torchvision option B); ResNet50's bottleneck strides in the
3x3 conv (torchvision v1.5).
"""
from archsim.workload.graph import NetworkBuilder
from archsim.workload.registry import register

from ._common import ch


def _basic(b, x, planes, stride, name):
    cin = b.shape(x)[0]
    y = b.relu(b.bn(b.conv(x, planes, 3, stride, 1, name=f"{name}.conv1"), name=f"{name}.bn1"), name=f"{name}.relu1")
    y = b.bn(b.conv(y, planes, 3, 1, 1, name=f"{name}.conv2"), name=f"{name}.bn2")
    if stride != 1 or cin != planes:
        x = b.bn(b.conv(x, planes, 1, stride, 0, name=f"{name}.down"), name=f"{name}.down_bn")
    return b.relu(b.add(y, x, name=f"{name}.add"), name=f"{name}.relu2")


def _bottleneck(b, x, planes, stride, name, expansion=4):
    cin = b.shape(x)[0]
    y = b.relu(b.bn(b.conv(x, planes, 1, 1, 0, name=f"{name}.conv1"), name=f"{name}.bn1"), name=f"{name}.relu1")
    y = b.relu(b.bn(b.conv(y, planes, 3, stride, 1, name=f"{name}.conv2"), name=f"{name}.bn2"), name=f"{name}.relu2")
    y = b.bn(b.conv(y, planes * expansion, 1, 1, 0, name=f"{name}.conv3"), name=f"{name}.bn3")
    if stride != 1 or cin != planes * expansion:
        x = b.bn(b.conv(x, planes * expansion, 1, stride, 0, name=f"{name}.down"), name=f"{name}.down_bn")
    return b.relu(b.add(y, x, name=f"{name}.add"), name=f"{name}.relu3")


def build(depth: int = 18, input_size: int = 224, num_classes: int = 1000, in_channels: int = 3,
          width: float = 1.0, blocks: tuple[int, ...] | None = None, stem: str | None = None):
    kind, default_blocks = {18: (_basic, (2, 2, 2, 2)), 34: (_basic, (3, 4, 6, 3)),
                            50: (_bottleneck, (3, 4, 6, 3))}[depth]
    blocks = tuple(blocks or default_blocks)
    stem = stem or ("imagenet" if input_size >= 64 else "cifar")
    b = NetworkBuilder(f"resnet{depth}", (in_channels, input_size, input_size), num_classes,
                       f"ResNet{depth} ({stem} stem)")
    base = ch(64, width)
    if stem == "imagenet":
        x = b.relu(b.bn(b.conv(b.input, base, 7, 2, 3, name="conv1"), name="bn1"), name="relu1")
        x = b.maxpool(x, 3, 2, 1, name="maxpool")
    else:
        x = b.relu(b.bn(b.conv(b.input, base, 3, 1, 1, name="conv1"), name="bn1"), name="relu1")
    for s, n in enumerate(blocks):
        planes = base * (2 ** s)
        for i in range(n):
            x = kind(b, x, planes, 2 if (i == 0 and s > 0) else 1, f"layer{s + 1}.{i}")
    x = b.flatten(b.gap(x, name="avgpool"), name="flatten")
    b.linear(x, num_classes, name="fc")
    return b.build()


register("resnet18", build, "ResNet18, ImageNet 224x224", depth=18)
register("resnet18-cifar", build, "ResNet18, CIFAR 32x32 (3x3 stem, no max-pool)", depth=18, input_size=32,
         num_classes=10)
register("resnet50", build, "ResNet50, ImageNet 224x224", depth=50)
register("resnet50-cifar", build, "ResNet50, CIFAR 32x32 (3x3 stem, no max-pool)", depth=50, input_size=32,
         num_classes=10)

# Small variants for the accuracy harness (train in seconds on a CPU on the embedded 8x8 digits): 1/8 width.
register("resnet18-mini", build, "ResNet18 at 1/8 width, 8x8 grayscale, 10 classes (accuracy harness)", depth=18,
         input_size=8, in_channels=1, num_classes=10, width=0.125)
register("resnet50-mini", build, "ResNet50 at 1/8 width, 8x8 grayscale, 10 classes (accuracy harness)", depth=50,
         input_size=8, in_channels=1, num_classes=10, width=0.125)
