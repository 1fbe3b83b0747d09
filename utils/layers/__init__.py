"""NumPy reference layers (forward and backward), CS231n style: ``layer_forward(...) -> (out, cache)`` and
``layer_backward(dout, cache) -> gradients``. All arrays are float64 NCHW unless a docstring says otherwise.
"""

from .convolution import (conv_backward_fast, conv_backward_naive, conv_forward_fast, conv_forward_naive,
                          im2col)
from .pooling import (avg_pool_forward_fast, avg_pool_forward_naive, max_pool_forward_fast, max_pool_forward_naive,
                      pool_geometry)
from .pooling import avg_pool_backward_fast, avg_pool_backward_naive, max_pool_backward_fast, max_pool_backward_naive
from .activations import relu_backward, relu_forward
from .dense import dense_backward, dense_forward
from .losses import softmax, softmax_cross_entropy
from .dropout import (dropconnect_dense_forward, dropout_backward, dropout_forward, spatial_dropout_backward,
                      spatial_dropout_forward)
from .batchnorm import (batchnorm_axes, batchnorm_backward, batchnorm_eval, batchnorm_forward, fold_into_conv,
                        update_running_stats)

__all__ = ["conv_forward_naive", "conv_forward_fast", "conv_backward_naive", "conv_backward_fast", "im2col",
           "max_pool_forward_naive", "max_pool_forward_fast", "avg_pool_forward_naive", "avg_pool_forward_fast",
           "pool_geometry", "max_pool_backward_naive", "max_pool_backward_fast", "avg_pool_backward_naive",
           "avg_pool_backward_fast", "relu_forward", "relu_backward", "dense_forward", "dense_backward", "softmax",
           "softmax_cross_entropy", "batchnorm_forward", "batchnorm_backward", "batchnorm_eval",
           "update_running_stats", "fold_into_conv", "batchnorm_axes", "dropout_forward",
           "dropout_backward", "spatial_dropout_forward", "spatial_dropout_backward", "dropconnect_dense_forward"]
