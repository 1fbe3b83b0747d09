"""LeNet-5 (LeCun, Bottou, Bengio and Haffner, 1998) for 1 x 28 x 28 images, as chapter 09 describes it.

Two convolution + pooling stages turn the image into a 16 x 5 x 5 volume, which three fully connected layers
turn into ten class scores:

    (N, 1, 28, 28) -conv 6 5x5, P=2-> (N, 6, 28, 28) -pool 2x2 s2-> (N, 6, 14, 14)
                   -conv 16 5x5-> (N, 16, 10, 10) -pool 2x2 s2-> (N, 16, 5, 5) -flatten-> (N, 400)
                   -> 120 -> 84 -> 10

``lenet5()`` uses the original choices (sigmoid activations, average pooling); ``lenet_fashion()`` is the same
layout with the choices that train faster on a CPU (ReLU, max pooling) and optional widths.
"""

from __future__ import annotations

from torch import nn

# the layout as plain data (kind, settings...), read by chapter 09's shape and cost exercises:
# ("conv", K, F, S, P), ("pool", F, S), ("flatten",), ("fc", units); activations change no shape
LENET5_LAYERS = [("conv", 6, 5, 1, 2), ("pool", 2, 2), ("conv", 16, 5, 1, 0), ("pool", 2, 2),
                 ("flatten",), ("fc", 120), ("fc", 84), ("fc", 10)]


def lenet5(num_classes: int = 10, in_channels: int = 1) -> nn.Sequential:
    """LeNet-5 with sigmoid activations and 2x2 average pooling; input (N, in_channels, 28, 28).

    Layer order (and so ``parameters()`` order): conv1, conv2, fc1, fc2, fc3, each weight then bias.
    The last layer returns raw scores (the softmax belongs to the loss).
    """
    return lenet_fashion(num_classes, in_channels, activation=nn.Sigmoid, pooling=nn.AvgPool2d)


def lenet_fashion(num_classes: int = 10, in_channels: int = 1, channels=(6, 16), hidden=(120, 84),
                  activation=nn.ReLU, pooling=nn.MaxPool2d) -> nn.Sequential:
    """LeNet-5's layout for (N, in_channels, 28, 28) with ``channels`` filters in its two convolutions,
    ``hidden`` units in its two hidden fully connected layers, and the given activation and pooling classes
    (ReLU and max pooling by default)."""
    c1, c2 = channels
    h1, h2 = hidden
    return nn.Sequential(
        nn.Conv2d(in_channels, c1, kernel_size=5, padding=2), activation(), pooling(kernel_size=2, stride=2),
        nn.Conv2d(c1, c2, kernel_size=5), activation(), pooling(kernel_size=2, stride=2),
        nn.Flatten(),                                                   # (N, c2, 5, 5) -> (N, 25 c2)
        nn.Linear(c2 * 5 * 5, h1), activation(),
        nn.Linear(h1, h2), activation(),
        nn.Linear(h2, num_classes),
    )
