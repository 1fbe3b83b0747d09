"""Torch networks of chapters 05, 09 and 10, one module per family.

Each family has its full-size network as published (for the shape, parameter and multiply-add tables) and a
``*_fashion`` variant sized for 1 x 28 x 28 Fashion-MNIST images, which trains on a CPU:

- ``lenet``: LeNet-5 (chapter 09);
- ``alexnet``: AlexNet (chapter 09);
- ``vgg``: the VGG block, VGG-11 and any VGG from a block layout (chapter 09);
- ``nin``: the NiN block, chapter 05's small NiN and the whole NiN (chapters 05 and 10);
- ``googlenet``: the inception block and GoogLeNet (chapter 10);
- ``resnet``: the residual block, ResNet-18 and the 20-layer stacks of the gradient-flow figure (chapter 10);
- ``summary``: the table of layers, output shapes, parameters and multiply-adds.

The names below are importable from ``utils.nets``. The functions named like their module (``vgg``, ``nin``,
``alexnet``, ``googlenet``) and the summary are imported from the module, e.g. ``from utils.nets.vgg import
vgg``, so that ``utils.nets.vgg`` stays the module.
"""

from .alexnet import alexnet_fashion
from .googlenet import Inception, googlenet_fashion
from .lenet import lenet5, lenet_fashion
from .nin import SmallNiN, count_parameters, nin_block, nin_fashion
from .resnet import Residual, plain_stack, resnet18, resnet_fashion, resnet_stage
from .vgg import vgg11, vgg_block, vgg_fashion

__all__ = ["alexnet_fashion", "Inception", "googlenet_fashion", "lenet5", "lenet_fashion", "SmallNiN",
           "count_parameters", "nin_block", "nin_fashion", "Residual", "plain_stack", "resnet18", "resnet_fashion",
           "resnet_stage", "vgg11", "vgg_block", "vgg_fashion"]
