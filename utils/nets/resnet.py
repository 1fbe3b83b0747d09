"""Residual networks (He, Zhang, Ren and Sun, 2016): ResNet-18 as published and a small one for Fashion-MNIST.

A residual block computes ``relu(main(x) + shortcut(x))``. The main path is conv 3x3 (stride S) -> BN -> ReLU ->
conv 3x3 -> BN; the shortcut is the identity when the shapes agree, else a 1x1 convolution with stride S and
its own BN (the paper's "option B"). The convolutions have no bias: the BN after each one has a shift.
If the main path outputs zero, the block is the identity (after the ReLU), so a network with one more block can
represent every function the smaller one could: the function classes are nested.

``plain_stack`` builds the 20-layer networks of chapter 10's gradient-flow figure.
"""

from __future__ import annotations

import torch
from torch import nn


class Residual(nn.Module):
    """The basic block of ResNet-18/34: (N, C, H, W) -> (N, K, H', W'), H' = floor((H - 1) / S) + 1.

    ``projection`` (default: only when ``stride != 1`` or ``in_channels != out_channels``) puts a 1x1
    convolution with the stride, followed by BN, on the shortcut. ``parameters()`` order: conv1, bn1, conv2,
    bn2, then (with a projection) the shortcut's conv and BN.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, projection: bool | None = None):
        super().__init__()
        if projection is None:
            projection = stride != 1 or in_channels != out_channels
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()                                   # the identity
        if projection:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        main = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(main + self.shortcut(x))                         # add first, then the ReLU


def resnet_stage(in_channels: int, out_channels: int, blocks: int, stride: int) -> nn.Sequential:
    """``blocks`` residual blocks; only the first one changes channels and resolution."""
    layers = [Residual(in_channels, out_channels, stride)]
    layers += [Residual(out_channels, out_channels) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def _init(model: nn.Module) -> nn.Module:
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
    return model


def resnet18(num_classes: int = 1000, in_channels: int = 3) -> nn.Sequential:
    """ResNet-18 for 3 x 224 x 224 images (11,689,512 parameters, 1.81 billion multiply-adds).

    stem: conv 7x7/2 (64) -> BN -> ReLU -> max pool 3x3/2 (224 -> 112 -> 56); four stages of two blocks with
    64, 128, 256, 512 channels (56, 28, 14, 7); global average pooling; a dense layer to the classes.
    """
    return _init(nn.Sequential(
        nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1),
        resnet_stage(64, 64, 2, 1), resnet_stage(64, 128, 2, 2),
        resnet_stage(128, 256, 2, 2), resnet_stage(256, 512, 2, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes),
    ))


def resnet_fashion(channels=(16, 32, 64), blocks: int = 1, num_classes: int = 10,
                   in_channels: int = 1) -> nn.Sequential:
    """A ResNet for 1 x 28 x 28 images: conv 3x3 (channels[0]) -> BN -> ReLU at 28 x 28, then one stage per
    entry of ``channels`` (``blocks`` blocks each; every stage after the first halves the size: 28, 14, 7),
    global average pooling and a dense layer. No stem pooling: the images are small already.
    """
    stages, previous = [], channels[0]
    for index, width in enumerate(channels):
        stages.append(resnet_stage(previous, width, blocks, 1 if index == 0 else 2))
        previous = width
    return _init(nn.Sequential(
        nn.Conv2d(in_channels, channels[0], 3, padding=1, bias=False), nn.BatchNorm2d(channels[0]), nn.ReLU(),
        *stages, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(previous, num_classes),
    ))


class _Layer(nn.Module):
    """conv 3x3 -> (BN) -> ReLU, optionally with its input added before the ReLU (same shape throughout)."""

    def __init__(self, channels: int, residual: bool, batch_norm: bool):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=not batch_norm)
        self.bn = nn.BatchNorm2d(channels) if batch_norm else nn.Identity()
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn(self.conv(x))
        return torch.relu(y + x if self.residual else y)


def plain_stack(depth: int = 20, channels: int = 16, residual: bool = False, batch_norm: bool = False,
                num_classes: int = 10, in_channels: int = 1) -> nn.Sequential:
    """``depth`` layers for 1 x 28 x 28 images: a conv 3x3 to ``channels``, ``depth - 2`` conv 3x3 layers of
    ``channels`` (each with a shortcut around it if ``residual``, BN if ``batch_norm``), global average pooling
    and a dense layer. PyTorch's default initialisation, as a first attempt would use.
    ``model[1 + i].conv`` is hidden layer i, for reading its gradient.
    """
    return nn.Sequential(
        nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1), nn.ReLU()),
        *[_Layer(channels, residual, batch_norm) for _ in range(depth - 2)],
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes),
    )
