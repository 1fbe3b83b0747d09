"""AlexNet (Krizhevsky, Sutskever and Hinton, 2012) as published, and a small version for 1 x 28 x 28 images.

Five convolutions (96 11x11 stride 4; 256 5x5; 384, 384 and 256 3x3), overlapping 3x3 stride-2 max pooling
after the first, second and fifth, then fully connected layers of 4096, 4096 and 1000 units with dropout,
ReLU everywhere. The paper states an input of 3 x 224 x 224, but its 55 x 55 first maps need
(n - 11)/4 + 1 = 55, that is n = 227: on 224 pixels without padding the sizes come out 54, 26, 12, 5 and the
last volume is 256 x 5 x 5 instead of 256 x 6 x 6. ``alexnet()`` takes 227 x 227 inputs (torchvision instead
pads the first convolution by 2 on 224 pixels, which gives the same sizes).
"""

from __future__ import annotations

from torch import nn

# ("conv", K, F, S, P), ("pool", F, S), ("flatten",), ("fc", units), for a 3 x 227 x 227 input
ALEXNET_LAYERS = [("conv", 96, 11, 4, 0), ("pool", 3, 2), ("conv", 256, 5, 1, 2), ("pool", 3, 2),
                  ("conv", 384, 3, 1, 1), ("conv", 384, 3, 1, 1), ("conv", 256, 3, 1, 1), ("pool", 3, 2),
                  ("flatten",), ("fc", 4096), ("fc", 4096), ("fc", 1000)]


def _alexnet(in_channels, channels, kernels, strides, paddings, flat, hidden, num_classes, dropout):
    c1, c2, c3, c4, c5 = channels
    (f1, f2), (s1,), (p1, p2) = kernels, strides, paddings
    return nn.Sequential(
        nn.Conv2d(in_channels, c1, f1, stride=s1, padding=p1), nn.ReLU(), nn.MaxPool2d(3, stride=2),
        nn.Conv2d(c1, c2, f2, padding=p2), nn.ReLU(), nn.MaxPool2d(3, stride=2),
        nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
        nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(),
        nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, stride=2),
        nn.Flatten(),
        nn.Dropout(dropout), nn.Linear(c5 * flat * flat, hidden), nn.ReLU(),
        nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, num_classes),
    )


def alexnet(num_classes: int = 1000, in_channels: int = 3, conv5_channels: int = 256,
            dropout: float = 0.5) -> nn.Sequential:
    """The published AlexNet on (N, in_channels, 227, 227) -> (N, num_classes) scores (one tower, without the
    paper's two-GPU split and local response normalisation). ``conv5_channels=384`` gives the variant whose
    last three convolutions all have 384 filters."""
    return _alexnet(in_channels, (96, 256, 384, 384, conv5_channels), (11, 5), (4,), (0, 2), 6, 4096,
                    num_classes, dropout)


def alexnet_fashion(num_classes: int = 10, in_channels: int = 1, channels=(32, 64, 96, 96, 64),
                    hidden: int = 256, dropout: float = 0.5) -> nn.Sequential:
    """AlexNet's layout for (N, in_channels, 28, 28): a 5x5 first convolution with stride 1 and padding 2
    (an 11x11 stride-4 layer would leave 5 x 5 maps after one layer), the same three overlapping poolings
    (28 -> 13 -> 6 -> 2), ``channels`` filters in the five convolutions and ``hidden`` units in the two
    hidden fully connected layers."""
    return _alexnet(in_channels, channels, (5, 3), (1,), (2, 1), 2, hidden, num_classes, dropout)
