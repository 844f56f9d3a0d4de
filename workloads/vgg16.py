"""VGG16 (Simonyan & Zisserman, ICLR 2015, configuration D): 13 3x3 convs in 5 stages + 3 FC layers.

ImageNet variant: 224x224, FC 25088-4096-4096-1000 (torchvision ``vgg16``, no batch-norm).
CIFAR variant: 32x32, FC 512-512-classes, the common CIFAR adaptation (e.g. ``chengyangfu/pytorch-vgg-cifar10``);
SCALE-Sim topology ``shared/peers/scalesim/topologies/vgg16_32.csv`` has the same shapes.
"""
from archsim.workload.graph import NetworkBuilder
from archsim.workload.registry import register

from ._common import ch

CFG_D = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def build(input_size: int = 224, num_classes: int = 1000, in_channels: int = 3, width: float = 1.0,
          fc_width: int | None = None, batch_norm: bool = False):
    b = NetworkBuilder("vgg16", (in_channels, input_size, input_size), num_classes,
                       "VGG16 (configuration D), 13 conv + 3 FC")
    x = b.input
    stage, idx = 1, 1
    for v in CFG_D:
        if v == "M":
            x = b.maxpool(x, 2, name=f"pool{stage}")
            stage, idx = stage + 1, 1
            continue
        x = b.conv(x, ch(v, width), 3, padding=1, bias=not batch_norm, name=f"conv{stage}_{idx}")
        if batch_norm:
            x = b.bn(x, name=f"bn{stage}_{idx}")
        x = b.relu(x, name=f"relu{stage}_{idx}")
        idx += 1
    x = b.flatten(x, name="flatten")
    hidden = fc_width or (4096 if input_size >= 64 else 512)
    hidden = ch(hidden, width)
    x = b.relu(b.linear(x, hidden, name="fc1"), name="relu_fc1")
    if input_size >= 64:
        x = b.relu(b.linear(x, hidden, name="fc2"), name="relu_fc2")
        b.linear(x, num_classes, name="fc3")
    else:
        b.linear(x, num_classes, name="fc2")
    return b.build()


register("vgg16", build, "VGG16, ImageNet 224x224, 1000 classes")
register("vgg16-cifar", build, "VGG16, CIFAR 32x32, 10 classes", input_size=32, num_classes=10)

# Small variant for the accuracy harness: 1/8 width (five 2x2 pools need inputs of at least 32x32).
register("vgg16-mini", build, "VGG16 at 1/8 width, 32x32 grayscale, 10 classes (accuracy harness)",
         input_size=32, in_channels=1, num_classes=10, width=0.125)
