"""GoogLeNet (Szegedy et al., 2015): the inception block, the published network and a small one for Fashion-MNIST.

An inception block runs four branches side by side on the same input and concatenates their outputs along the
channel axis. Every branch keeps the height and width, so the maps line up:

1. 1x1 conv (c1);
2. 1x1 conv (c2[0], a reduction) -> 3x3 conv, padding 1 (c2[1]);
3. 1x1 conv (c3[0], a reduction) -> 5x5 conv, padding 2 (c3[1]);
4. 3x3 max pooling, stride 1, padding 1 -> 1x1 conv (c4, the pool projection).

Each convolution is followed by a ReLU. The block outputs c1 + c2[1] + c3[1] + c4 channels.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv(in_channels: int, out_channels: int, kernel_size: int, **kwargs) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, kernel_size, **kwargs), nn.ReLU()]


class Inception(nn.Module):
    """(N, C, H, W) -> (N, c1 + c2[1] + c3[1] + c4, H, W). ``parameters()`` order: branch 1's conv, branch 2's
    reduction and 3x3 conv, branch 3's reduction and 5x5 conv, branch 4's 1x1 conv (weight, then bias, each)."""

    def __init__(self, in_channels: int, c1: int, c2: tuple[int, int], c3: tuple[int, int], c4: int):
        super().__init__()
        self.branch1 = nn.Sequential(*_conv(in_channels, c1, 1))
        self.branch2 = nn.Sequential(*_conv(in_channels, c2[0], 1), *_conv(c2[0], c2[1], 3, padding=1))
        self.branch3 = nn.Sequential(*_conv(in_channels, c3[0], 1), *_conv(c3[0], c3[1], 5, padding=2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), *_conv(in_channels, c4, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


# (in_channels, c1, c2, c3, c4) of the nine blocks in the paper's Table 1; None marks a 3x3/2 max pooling
GOOGLENET_BLOCKS = [
    ("3a", 192, 64, (96, 128), (16, 32), 32), ("3b", 256, 128, (128, 192), (32, 96), 64), None,
    ("4a", 480, 192, (96, 208), (16, 48), 64), ("4b", 512, 160, (112, 224), (24, 64), 64),
    ("4c", 512, 128, (128, 256), (24, 64), 64), ("4d", 512, 112, (144, 288), (32, 64), 64),
    ("4e", 528, 256, (160, 320), (32, 128), 128), None,
    ("5a", 832, 256, (160, 320), (32, 128), 128), ("5b", 832, 384, (192, 384), (48, 128), 128),
]


def googlenet(num_classes: int = 1000, in_channels: int = 3) -> nn.Sequential:
    """GoogLeNet for 3 x 224 x 224 images as in the paper's Table 1, without the two auxiliary classifiers
    (used only in training) and the local response normalisation (no parameters): 6,998,552 parameters.

    conv 7x7/2 (64) -> max pool 3x3/2 -> conv 1x1 (64) -> conv 3x3 (192) -> max pool 3x3/2 (224 -> 112 -> 56
    -> 28), inception 3a, 3b, max pool (14), 4a-4e, max pool (7), 5a, 5b (1024 channels), global average
    pooling, dropout 0.4, a dense layer.
    """
    layers = [*_conv(in_channels, 64, 7, stride=2, padding=3), nn.MaxPool2d(3, stride=2, padding=1),
              *_conv(64, 64, 1), *_conv(64, 192, 3, padding=1), nn.MaxPool2d(3, stride=2, padding=1)]
    for spec in GOOGLENET_BLOCKS:
        layers.append(nn.MaxPool2d(3, stride=2, padding=1) if spec is None else Inception(*spec[1:]))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.4), nn.Linear(1024, num_classes)]
    return nn.Sequential(*layers)


def googlenet_fashion(width: int = 16, num_classes: int = 10, in_channels: int = 1) -> nn.Sequential:
    """A GoogLeNet for 1 x 28 x 28 images: conv 3x3 (2 * width) at 28 x 28, max pool to 14, two inception
    blocks, max pool to 7, two more, global average pooling, a dense layer. The blocks keep the paper's
    proportions (3a, 3b, 4a, 4b) scaled by ``width`` / 64.
    """
    def block(c_in, c1, c2, c3, c4):                        # the paper's numbers scaled, at least 1 channel
        s = lambda n: max(1, round(n * width / 64))
        return Inception(c_in, s(c1), (s(c2[0]), s(c2[1])), (s(c3[0]), s(c3[1])), s(c4)), \
            s(c1) + s(c2[1]) + s(c3[1]) + s(c4)

    stem = 2 * width
    a, c = block(stem, 64, (96, 128), (16, 32), 32)
    b, c = block(c, 128, (128, 192), (32, 96), 64)
    d, c = block(c, 192, (96, 208), (16, 48), 64)
    e, c = block(c, 160, (112, 224), (24, 64), 64)
    model = nn.Sequential(*_conv(in_channels, stem, 3, padding=1), nn.MaxPool2d(3, stride=2, padding=1),
                          a, b, nn.MaxPool2d(3, stride=2, padding=1), d, e,
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes))
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.zeros_(module.bias)
    return model
