"""VGG (Simonyan and Zisserman, 2015): blocks of 3x3 convolutions, each block followed by 2x2 max pooling.

A block keeps the spatial size through its convolutions (3x3, padding 1) and halves it in its pooling; its
first convolution changes the number of channels, the others keep it. VGG-11 has five blocks with 1, 1, 2, 2
and 2 convolutions and 64, 128, 256, 512, 512 channels, then AlexNet's head (4096, 4096, 1000 with dropout):
on 3 x 224 x 224 the blocks give 112, 56, 28, 14 and 7 pixels, and the head reads 512 x 7 x 7 = 25,088 numbers.
"""

from __future__ import annotations

from torch import nn

VGG11_ARCH = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))     # (convolutions, channels) per block

# ("conv", K, F, S, P), ("pool", F, S), ("flatten",), ("fc", units), for a 3 x 224 x 224 input
VGG11_LAYERS = [layer for convs, channels in VGG11_ARCH
                for layer in [("conv", channels, 3, 1, 1)] * convs + [("pool", 2, 2)]] + \
               [("flatten",), ("fc", 4096), ("fc", 4096), ("fc", 1000)]


def vgg_block(num_convs: int, in_channels: int, out_channels: int) -> nn.Sequential:
    """``num_convs`` times (3x3 convolution with padding 1, ReLU), then 2x2 max pooling with stride 2:
    (N, in_channels, H, W) -> (N, out_channels, H // 2, W // 2)."""
    layers = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU()]
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def vgg(arch=VGG11_ARCH, num_classes: int = 1000, in_channels: int = 3, input_size: int = 224,
        hidden: int = 4096, dropout: float = 0.5, block=vgg_block) -> nn.Sequential:
    """A VGG network: one ``block(convs, in, out)`` per entry of ``arch``, then the fully connected head on
    the flattened (channels, input_size / 2^blocks, same) volume."""
    blocks = []
    for convs, channels in arch:
        blocks.append(block(convs, in_channels, channels))
        in_channels = channels
    side = input_size // 2 ** len(arch)
    return nn.Sequential(
        *blocks, nn.Flatten(),
        nn.Linear(in_channels * side * side, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden, num_classes),
    )


def vgg11(num_classes: int = 1000, in_channels: int = 3) -> nn.Sequential:
    """VGG-11 ("configuration A") on (N, in_channels, 224, 224)."""
    return vgg(VGG11_ARCH, num_classes, in_channels)


def vgg_fashion(arch=((1, 32), (1, 64), (1, 128)), num_classes: int = 10, in_channels: int = 1,
                hidden: int = 256, dropout: float = 0.5) -> nn.Sequential:
    """VGG for (N, in_channels, 28, 28): three blocks (28 -> 14 -> 7 -> 3; a fourth would leave one pixel)
    with ``arch``'s (convolutions, channels) and ``hidden`` units in the head.

    The default, one convolution per block with 32, 64 and 128 channels, is the layout the classic-nets
    benchmark trains within VGG's time on two CPU cores: a second 128-channel convolution at 7 x 7 (VGG-11's
    (1, 1, 2)) would make each epoch about 60% longer."""
    return vgg(arch, num_classes, in_channels, input_size=28, hidden=hidden, dropout=dropout)
