"""Network in Network (Lin, Chen and Yan, 2014): the block, the ImageNet network (``nin``), a Fashion-MNIST
version of it (``nin_fashion``) and the small NiN of chapter 05 (``SmallNiN``), which trains in seconds.

A NiN block is a spatial convolution followed by two 1x1 convolutions, each followed by a ReLU: a small
multilayer perceptron applied to every receptive field. The network ends without fully connected layers: its
last block has one channel per class, and global average pooling turns each channel into that class's score.
"""

from __future__ import annotations

import torch
from torch import nn


def nin_block(in_channels: int, out_channels: int, kernel_size, stride=1, padding=0) -> nn.Sequential:
    """conv(kernel_size, stride, padding) -> ReLU -> 1x1 conv -> ReLU -> 1x1 conv -> ReLU.

    Only the first convolution has a stride and padding: the 1x1 layers keep the size of its output.
    Layer order (and so ``parameters()`` order): ``[0]`` the spatial convolution, ``[2]`` and ``[4]`` the 1x1 ones.
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
    )


class SmallNiN(nn.Module):
    """NiN for 1 x 28 x 28 images: a NiN block with stride 2 and 2x2 max pooling (28 -> 14 -> 7), a second
    NiN block, a 1x1 convolution to one map per class, and global average pooling. No fully connected layer.
    ``class_maps(x)`` returns the (N, classes, 7, 7) maps before pooling.

    ``block`` builds each NiN block (default: :func:`nin_block`), so a chapter can plug in its own. The
    convolutions start from He initialisation: with PyTorch's default, whose variance is a third of He's, the
    signal shrinks through the seven convolutions and training starts slowly.
    """

    def __init__(self, channels=(16, 32), num_classes: int = 10, in_channels: int = 1, block=nin_block):
        super().__init__()
        c1, c2 = channels
        self.features = nn.Sequential(
            block(in_channels, c1, 5, 2, 2), nn.MaxPool2d(2),          # 28 -> 14 -> 7
            block(c1, c2, 3, 1, 1),                                    # 7 -> 7
            nn.Conv2d(c2, num_classes, kernel_size=1),                 # one map per class (no ReLU: scores)
        )
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def class_maps(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.class_maps(x).mean(dim=(2, 3))                     # global average pooling: (N, classes)


def nin(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5) -> nn.Sequential:
    """NiN for 3 x 224 x 224 images (the ImageNet layout): NiN blocks with 11x11/4 (96), 5x5 (256) and 3x3 (384)
    spatial convolutions, each followed by 3x3/2 max pooling (224 -> 54 -> 26 -> 12 -> 5), dropout, a last NiN
    block with one channel per class, and global average pooling. No fully connected layer.
    """
    return nn.Sequential(
        nin_block(in_channels, 96, 11, 4, 0), nn.MaxPool2d(3, stride=2),
        nin_block(96, 256, 5, 1, 2), nn.MaxPool2d(3, stride=2),
        nin_block(256, 384, 3, 1, 1), nn.MaxPool2d(3, stride=2),
        nn.Dropout(dropout),
        nin_block(384, num_classes, 3, 1, 1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    )


def nin_fashion(channels=(32, 64, 128), num_classes: int = 10, in_channels: int = 1,
                dropout: float = 0.3) -> nn.Sequential:
    """NiN for 1 x 28 x 28 images with the ImageNet layout's pattern: NiN blocks with 5x5, 3x3 and 3x3 spatial
    convolutions (padding keeps the size), 3x3/2 max pooling after the first two (28 -> 14 -> 7, padding 1),
    dropout, a NiN block whose spatial layer is 3x3 with one channel per class, global average pooling.
    He initialisation (see :class:`SmallNiN`). Unlike ``nin()``, the last block ends without its ReLU, as in
    :class:`SmallNiN`: a class map that starts negative everywhere would otherwise give no gradient at all.
    """
    c1, c2, c3 = channels
    model = nn.Sequential(
        nin_block(in_channels, c1, 5, 1, 2), nn.MaxPool2d(3, stride=2, padding=1),
        nin_block(c1, c2, 3, 1, 1), nn.MaxPool2d(3, stride=2, padding=1),
        nin_block(c2, c3, 3, 1, 1), nn.Dropout(dropout),
        *list(nin_block(c3, num_classes, 3, 1, 1))[:-1],               # no last ReLU: the maps are scores
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    )
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.zeros_(module.bias)
    return model


def count_parameters(module: nn.Module) -> int:
    """The number of trainable numbers in ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
