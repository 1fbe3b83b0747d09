"""Mutation tests of the chapter 05 checks: the solutions pass, "not implemented" is recognised, and every
planted bug is rejected, with the hint written for it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from utils.checks import FAILED, NOT_ATTEMPTED, PASSED, run_check
from utils.checks.core import get_reference
from tests.checks.mutants import assert_rejected, partly_written


def _not_implemented(*args, **kwargs):
    raise NotImplementedError()


# ----------------------------------------------------------------------------- solutions (as in the notebook)
def conv1x1(x, w, b):
    return np.einsum("kc,nchw->nkhw", w, np.asarray(x, dtype=float)) + b[:, None, None]


def pixel_rows(x):
    N, C, H, W = x.shape
    return x.transpose(0, 2, 3, 1).reshape(N * H * W, C)


def dense_per_pixel(x, linear):
    N, C, H, W = x.shape
    out = linear(x.permute(0, 2, 3, 1).reshape(-1, C))
    return out.reshape(N, H, W, -1).permute(0, 3, 1, 2)


def collapse(weights, biases):
    w_total, b_total = np.asarray(weights[0], dtype=float), np.asarray(biases[0], dtype=float)
    for w, b in zip(weights[1:], biases[1:]):
        w_total, b_total = w @ w_total, w @ b_total + b
    return w_total, b_total


def _pair(kernel):
    return tuple(kernel) if isinstance(kernel, (tuple, list)) else (kernel, kernel)


def conv_cost(h, w, c_in, c_out, kernel):
    fh, fw = _pair(kernel)
    return h * w * c_out * c_in * fh * fw, c_out * c_in * fh * fw + c_out


def bottleneck_cost(h, w, c_in, c_mid, c_out, kernel):
    (m1, p1), (m2, p2) = conv_cost(h, w, c_in, c_mid, 1), conv_cost(h, w, c_mid, c_out, kernel)
    return m1 + m2, p1 + p2


def shortcut(x, w, b, stride):
    return conv1x1(x[:, :, ::stride, ::stride], w, b)


def nin_block(in_channels, out_channels, kernel_size, stride=1, padding=0):
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, 1), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, 1), nn.ReLU())


SOLUTIONS = {
    "onebyone.conv1x1": conv1x1, "onebyone.pixel_rows": pixel_rows, "onebyone.dense_per_pixel": dense_per_pixel,
    "onebyone.collapse": collapse, "onebyone.conv_cost": conv_cost, "onebyone.bottleneck_cost": bottleneck_cost,
    "onebyone.shortcut": shortcut, "onebyone.nin_block": nin_block,
}


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_solution_passes(exercise_id):
    result = run_check(exercise_id, SOLUTIONS[exercise_id])
    assert result.status == PASSED, result.message


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_reference_passes(exercise_id):
    result = run_check(exercise_id, get_reference(exercise_id))
    assert result.status == PASSED, result.message


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_not_implemented_is_not_attempted(exercise_id):
    assert run_check(exercise_id, _not_implemented).status == NOT_ATTEMPTED
    assert run_check(exercise_id, ...).status == NOT_ATTEMPTED


# ----------------------------------------------------------------------------- conv1x1
def _conv1x1_transposed(x, w, b):
    return np.einsum("ck,nchw->nkhw", w, np.asarray(x, dtype=float)) + b[:, None, None]


def _conv1x1_mixed_rows(x, w, b):
    N, C, H, W = x.shape
    rows = np.asarray(x, dtype=float).reshape(-1, C)           # C numbers of one channel's row, not one pixel
    return (rows @ w.T + b).reshape(N, H, W, -1).transpose(0, 3, 1, 2)


CONV1X1_MUTANTS = {
    "transposed weight matrix": (_conv1x1_transposed, "transposed matrix"),
    "a bias per position (b along W)": (
        lambda x, w, b: np.einsum("kc,nchw->nkhw", w, np.asarray(x, dtype=float)) + b, "a bias per position"),
    "bias forgotten": (lambda x, w, b: np.einsum("kc,nchw->nkhw", w, np.asarray(x, dtype=float)), "bias is missing"),
    "bias once per input channel": (lambda x, w, b: conv1x1(x, w, b) + (x.shape[1] - 1) * b[:, None, None],
                                    "once per input channel"),
    "channels last": (lambda x, w, b: conv1x1(x, w, b).transpose(0, 2, 3, 1), "channels-last"),
    "integer result": (lambda x, w, b: conv1x1(x, w, b).astype(x.dtype) if x.dtype.kind == "i"
                       else conv1x1(x, w, b), "floating-point"),
    "returns a list": (lambda x, w, b: conv1x1(x, w, b).tolist(), "Python list"),
    "partly written (only one image)": (partly_written(conv1x1, lambda x, w, b: x.shape[0] > 1),
                                        "only partly written"),
    "pixel rows without moving the channels": (_conv1x1_mixed_rows, "channels mixed with positions"),
    "ReLU after the layer": (lambda x, w, b: np.maximum(conv1x1(x, w, b), 0), "failed on case"),
}


@pytest.mark.parametrize("name", sorted(CONV1X1_MUTANTS))
def test_conv1x1_mutants_rejected(name):
    assert_rejected("onebyone.conv1x1", *CONV1X1_MUTANTS[name])


# ----------------------------------------------------------------------------- pixel rows
PIXEL_ROW_MUTANTS = {
    "channels mixed with positions": (lambda x: x.reshape(-1, x.shape[1]), "channels mixed with positions"),
    "rows in (n, j, i) order": (lambda x: x.transpose(0, 3, 2, 1).reshape(-1, x.shape[1]), "(n, j, i) order"),
    "images mixed": (lambda x: x.transpose(2, 3, 0, 1).reshape(-1, x.shape[1]), "images are mixed up"),
    "transposed": (lambda x: pixel_rows(x).T, "that is the transpose"),
    "one image only": (lambda x: pixel_rows(x[:1]), "expected shape"),
}


@pytest.mark.parametrize("name", sorted(PIXEL_ROW_MUTANTS))
def test_pixel_rows_mutants_rejected(name):
    assert_rejected("onebyone.pixel_rows", *PIXEL_ROW_MUTANTS[name])


# ----------------------------------------------------------------------------- dense per pixel
def _dense_mixed_out(x, linear):
    N, C, H, W = x.shape
    return linear(x.permute(0, 2, 3, 1).reshape(-1, C)).reshape(N, -1, H, W)


def _dense_mixed_in(x, linear):
    N, C, H, W = x.shape
    return linear(x.reshape(-1, C)).reshape(N, H, W, -1).permute(0, 3, 1, 2)


def _dense_view(x, linear):
    N, C, H, W = x.shape
    return linear(x.permute(0, 2, 3, 1).view(-1, C)).reshape(N, H, W, -1).permute(0, 3, 1, 2)


def _dense_untransposed(x, linear):
    N, C, H, W = x.shape
    rows = x.permute(0, 2, 3, 1).reshape(-1, C)
    return (rows @ linear.weight + linear.bias).reshape(N, H, W, -1).permute(0, 3, 1, 2)


def _dense_changes_linear(x, linear):
    with torch.no_grad():
        linear.weight.mul_(2.0)                                  # a "fix" written into the given layer
    return dense_per_pixel(x, linear)


DENSE_MUTANTS = {
    "channels mixed with positions on the way back": (_dense_mixed_out, "on the way back"),
    "channels mixed with positions on the way in": (_dense_mixed_in, "on the way in"),
    "channels last": (lambda x, linear: dense_per_pixel(x, linear).permute(0, 2, 3, 1), "channels-last"),
    ".view on a non-contiguous tensor": (_dense_view, "not .view"),
    "weight untransposed": (_dense_untransposed, "untransposed"),
    "returns numpy": (lambda x, linear: dense_per_pixel(x, linear).detach().numpy(), "torch tensor"),
    "changes linear's weights in place": (_dense_changes_linear, "changed linear's weight or bias in place"),
    "ignores the given layer": (lambda x, linear: dense_per_pixel(x, nn.Linear(linear.in_features,
                                                                             linear.out_features).double()),
                                "failed on case"),
    "partly written (contiguous inputs only)": (
        partly_written(dense_per_pixel, lambda x, linear: not x.is_contiguous()), "only partly written"),
}


@pytest.mark.parametrize("name", sorted(DENSE_MUTANTS))
def test_dense_per_pixel_mutants_rejected(name):
    assert_rejected("onebyone.dense_per_pixel", *DENSE_MUTANTS[name])


# ----------------------------------------------------------------------------- collapse
def _collapse_reversed(weights, biases):
    w_total, b_total = collapse(weights, biases)
    w_rev = np.asarray(weights[0], dtype=float)
    for w in weights[1:]:
        w_rev = w_rev @ w
    return w_rev, b_total


def _collapse_keeps_ints(weights, biases):
    w_total, b_total = np.asarray(weights[0]), np.asarray(biases[0])    # int64 stays int64: the spec says float
    for w, b in zip(weights[1:], biases[1:]):
        w_total, b_total = w @ w_total, w @ b_total + b
    return w_total, b_total


COLLAPSE_MUTANTS = {
    "matrices multiplied in the wrong order": (_collapse_reversed, "stands on the right"),
    "biases summed": (lambda weights, biases: (collapse(weights, biases)[0], sum(np.asarray(b, float) for b in biases)),
                      "multiplies an earlier bias"),
    "last bias only": (lambda weights, biases: (collapse(weights, biases)[0], np.asarray(biases[-1], float)),
                       "earlier biases are missing"),
    "transposed result": (lambda weights, biases: (collapse(weights, biases)[0].T, collapse(weights, biases)[1]),
                          "not its transpose"),
    "only the first layer": (lambda weights, biases: (np.asarray(weights[0], float), np.asarray(biases[0], float)),
                             "failed on case"),
    "returns the matrix only": (lambda weights, biases: collapse(weights, biases)[0], "expected a pair"),
    "integer arrays for integer inputs": (_collapse_keeps_ints, "floating-point"),
    "ReLU on the collapsed bias": (lambda weights, biases: (collapse(weights, biases)[0],
                                                            np.maximum(collapse(weights, biases)[1], 0)),
                                   "run the stack on x = 0"),
}


@pytest.mark.parametrize("name", sorted(COLLAPSE_MUTANTS))
def test_collapse_mutants_rejected(name):
    assert_rejected("onebyone.collapse", *COLLAPSE_MUTANTS[name])


# ----------------------------------------------------------------------------- costs
def _cost_valid_padding(h, w, c_in, c_out, kernel):
    fh, fw = _pair(kernel)
    return (h - fh + 1) * (w - fw + 1) * c_out * c_in * fh * fw, conv_cost(h, w, c_in, c_out, kernel)[1]


COST_MUTANTS = {
    "channels forgotten": (lambda h, w, c_in, c_out, k: (h * w * c_out * np.prod(_pair(k)),
                                                         conv_cost(h, w, c_in, c_out, k)[1]), "multiply by C too"),
    "one position only": (lambda h, w, c_in, c_out, k: (conv_cost(h, w, c_in, c_out, k)[0] // (h * w),
                                                        conv_cost(h, w, c_in, c_out, k)[1]), "for one position"),
    "bias counted as multiplies": (
        lambda h, w, c_in, c_out, k: (conv_cost(h, w, c_in, c_out, k)[0] + c_out * h * w,
                                      conv_cost(h, w, c_in, c_out, k)[1]), "multiplications only"),
    "biases forgotten": (lambda h, w, c_in, c_out, k: (conv_cost(h, w, c_in, c_out, k)[0],
                                                       conv_cost(h, w, c_in, c_out, k)[1] - c_out), "add the K biases"),
    "weights per position": (
        lambda h, w, c_in, c_out, k: (conv_cost(h, w, c_in, c_out, k)[0],
                                      (conv_cost(h, w, c_in, c_out, k)[1] - c_out) * h * w + c_out), "shared"),
    "square kernel assumed": (lambda h, w, c_in, c_out, k: conv_cost(h, w, c_in, c_out, _pair(k)[0]), "failed on case"),
    "floats": (lambda h, w, c_in, c_out, k: tuple(float(v) for v in conv_cost(h, w, c_in, c_out, k)), "should be an int"),
    "a single number": (lambda h, w, c_in, c_out, k: conv_cost(h, w, c_in, c_out, k)[0], "expected a pair"),
    "multiplies and additions (FLOPs)": (lambda h, w, c_in, c_out, k: (2 * conv_cost(h, w, c_in, c_out, k)[0],
                                                                       conv_cost(h, w, c_in, c_out, k)[1]),
                                         "twice the count"),
    "valid instead of same padding": (_cost_valid_padding, "same padding keeps the output h x w"),
    "the pair swapped": (lambda *args: conv_cost(*args)[::-1], "(multiplies, parameters), in that order"),
    "a Python float with the right value": (lambda *args: (float(conv_cost(*args)[0]), conv_cost(*args)[1]),
                                            "the value is right but it is a float"),
    "numpy float64 parameters": (lambda *args: (conv_cost(*args)[0], np.float64(conv_cost(*args)[1])),
                                 "the value is right but it is a float"),
}


@pytest.mark.parametrize("name", sorted(COST_MUTANTS))
def test_conv_cost_mutants_rejected(name):
    assert_rejected("onebyone.conv_cost", *COST_MUTANTS[name])


BOTTLENECK_MUTANTS = {
    "1x1 layer free": (lambda h, w, c_in, c_mid, c_out, k: conv_cost(h, w, c_mid, c_out, k), "is not free"),
    "spatial layer forgotten": (lambda h, w, c_in, c_mid, c_out, k: conv_cost(h, w, c_in, c_mid, 1),
                                "add the cost of the F_h x F_w layer"),
    "spatial layer reads c_in": (
        lambda h, w, c_in, c_mid, c_out, k: tuple(a + b for a, b in zip(conv_cost(h, w, c_in, c_mid, 1),
                                                                         conv_cost(h, w, c_in, c_out, k))),
        "reads the c_mid channels"),
    "no bottleneck": (lambda h, w, c_in, c_mid, c_out, k: conv_cost(h, w, c_in, c_out, k), "without the bottleneck"),
    "floats": (lambda *args: tuple(float(v) for v in bottleneck_cost(*args)), "should be an int"),
    "spatial layer first, then the 1x1 layer": (
        lambda h, w, c_in, c_mid, c_out, k: tuple(a + b for a, b in zip(conv_cost(h, w, c_in, c_mid, k),
                                                                         conv_cost(h, w, c_mid, c_out, 1))),
        "the 1x1 layer comes first"),
}


@pytest.mark.parametrize("name", sorted(BOTTLENECK_MUTANTS))
def test_bottleneck_cost_mutants_rejected(name):
    assert_rejected("onebyone.bottleneck_cost", *BOTTLENECK_MUTANTS[name])


# ----------------------------------------------------------------------------- shortcut
def _shortcut_cropped(x, w, b, stride):
    H, W = x.shape[2:]
    return shortcut(x, w, b, stride)[:, :, :H // stride, :W // stride]


def _shortcut_avg(x, w, b, stride):
    pooled = torch.nn.functional.avg_pool2d(torch.tensor(np.asarray(x, dtype=float)), stride, ceil_mode=True,
                                            count_include_pad=False).numpy()
    return conv1x1(pooled, w, b)


SHORTCUT_MUTANTS = {
    "stride applied when it should not be (always 2)": (lambda x, w, b, s: shortcut(x, w, b, 2), "you applied"),
    "stride ignored": (lambda x, w, b, s: conv1x1(x, w, b), "stride is missing"),
    "starts at S - 1": (lambda x, w, b, s: conv1x1(x[:, :, s - 1::s, s - 1::s], w, b), "start at row and column 0"),
    "averages S x S blocks": (_shortcut_avg, "does not average"),
    "crops to H // S": (_shortcut_cropped, "(H - 1)//S + 1 rows"),
    "transposed weight matrix": (lambda x, w, b, s: _conv1x1_transposed(x[:, :, ::s, ::s], w, b) if w.shape[0] ==
                                 w.shape[1] else shortcut(x, w, b, s), "transposed matrix"),
    "bias forgotten": (lambda x, w, b, s: shortcut(x, w, 0 * b, s), "bias is missing"),
    "integer result": (lambda x, w, b, s: shortcut(x, w, b, s).astype(x.dtype), "floating-point"),
    "transposed weight matrix on non-square images only": (
        lambda x, w, b, s: _conv1x1_transposed(x[:, :, ::s, ::s], w, b) if w.shape[0] == w.shape[1] and
        x.shape[2] != x.shape[3] else shortcut(x, w, b, s), "transposed matrix"),
    "ReLU on the shortcut": (lambda x, w, b, s: np.maximum(shortcut(x, w, b, s), 0), "failed on case"),
}


@pytest.mark.parametrize("name", sorted(SHORTCUT_MUTANTS))
def test_shortcut_mutants_rejected(name):
    assert_rejected("onebyone.shortcut", *SHORTCUT_MUTANTS[name])


# ----------------------------------------------------------------------------- NiN block
def _nin(relus=(True, True, True), one_by_one_stride=False, one_by_one_padding=False, one_by_one_kernel=None,
         bias=True, second_1x1=True):
    def block(in_channels, out_channels, kernel_size, stride=1, padding=0):
        k1 = one_by_one_kernel or 1
        p1 = padding if one_by_one_padding else (k1 // 2 if one_by_one_kernel else 0)
        s1 = stride if one_by_one_stride else 1
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=bias)]
        layers += [nn.ReLU()] if relus[0] else []
        layers += [nn.Conv2d(out_channels, out_channels, k1, s1, p1, bias=bias)]
        layers += [nn.ReLU()] if relus[1] else []
        if second_1x1:
            layers += [nn.Conv2d(out_channels, out_channels, k1, s1, p1, bias=bias)]
            layers += [nn.ReLU()] if relus[2] else []
        return nn.Sequential(*layers)
    return block



def _nin_layers(layers):
    return lambda c, k, f, s=1, p=0: nn.Sequential(*layers(c, k, f, s, p))


class _ListBlock(nn.Module):
    """Layers in a Python list: nn.Module does not see them, so the block has no parameters."""

    def __init__(self, c, k, f, s, p):
        super().__init__()
        self.layers = [nn.Conv2d(c, k, f, s, p), nn.Conv2d(k, k, 1), nn.Conv2d(k, k, 1)]

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x


class _FreshWeightsBlock(nn.Module):
    """The right parameters, but forward builds new layers and never uses them."""

    def __init__(self, c, k, f, s, p):
        super().__init__()
        self.args = (c, k, f, s, p)
        self.spatial, self.mix1, self.mix2 = nn.Conv2d(c, k, f, s, p), nn.Conv2d(k, k, 1), nn.Conv2d(k, k, 1)

    def forward(self, x):
        torch.manual_seed(0)
        return nin_block(*self.args).to(x.dtype)(x)


NIN_MUTANTS = {
    "missing last ReLU": (_nin(relus=(True, True, False)), "last ReLU is missing"),
    "missing middle ReLU": (_nin(relus=(True, False, True)), "after the first 1x1"),
    "missing first ReLU": (_nin(relus=(False, True, True)), "after the spatial convolution"),
    "no ReLU at all": (_nin(relus=(False, False, False)), "no ReLU at all"),
    "stride applied to the 1x1 layers too": (_nin(one_by_one_stride=True), "only the spatial convolution has the stride"),
    "padding applied to the 1x1 layers too": (_nin(one_by_one_padding=True), "only the spatial convolution is padded"),
    "F x F instead of 1x1": (_nin(one_by_one_kernel=3), "not F x F"),
    "no biases": (_nin(bias=False), "has a bias"),
    "one 1x1 layer only": (_nin(second_1x1=False), "expected"),
    "returns a list of layers": (lambda *args: list(nin_block(*args)), "nn.Module"),
    "partly written (stride 1 only)": (partly_written(nin_block, lambda c, k, f, s=1, p=0: s > 1),
                                       "only partly written"),
    "stride on the last 1x1 layer instead (the same numbers)": (
        _nin_layers(lambda c, k, f, s, p: [nn.Conv2d(c, k, f, 1, p), nn.ReLU(), nn.Conv2d(k, k, 1), nn.ReLU(),
                                           nn.Conv2d(k, k, 1, stride=s), nn.ReLU()]),
        "only the spatial convolution has the stride"),
    "stride and padding swapped": (
        _nin_layers(lambda c, k, f, s, p: [nn.Conv2d(c, k, f, p, s), nn.ReLU(), nn.Conv2d(k, k, 1), nn.ReLU(),
                                           nn.Conv2d(k, k, 1), nn.ReLU()]),
        "stride and padding are swapped"),
    "stride ignored": (
        _nin_layers(lambda c, k, f, s, p: [nn.Conv2d(c, k, f, padding=p), nn.ReLU(), nn.Conv2d(k, k, 1), nn.ReLU(),
                                           nn.Conv2d(k, k, 1), nn.ReLU()]),
        "takes the stride and padding it is given"),
    "layers in a plain list": (lambda c, k, f, s=1, p=0: _ListBlock(c, k, f, s, p), "no parameters"),
    "ignores its own weights": (lambda c, k, f, s=1, p=0: _FreshWeightsBlock(c, k, f, s, p), "failed on case"),
}


@pytest.mark.parametrize("name", sorted(NIN_MUTANTS))
def test_nin_block_mutants_rejected(name):
    assert_rejected("onebyone.nin_block", *NIN_MUTANTS[name])


def test_nin_block_accepts_in_place_relus():
    block = _nin_layers(lambda c, k, f, s, p: [nn.Conv2d(c, k, f, s, p), nn.ReLU(inplace=True), nn.Conv2d(k, k, 1),
                                               nn.ReLU(inplace=True), nn.Conv2d(k, k, 1), nn.ReLU(inplace=True)])
    result = run_check("onebyone.nin_block", block)
    assert result.status == PASSED, result.message


def test_nin_block_accepts_a_module_of_its_own():
    """Attribute names do not matter, only the parameter order and the computation."""

    class Block(nn.Module):
        def __init__(self, c, k, f, s, p):
            super().__init__()
            self.spatial = nn.Conv2d(c, k, f, s, p)
            self.mix1 = nn.Conv2d(k, k, 1)
            self.mix2 = nn.Conv2d(k, k, 1)

        def forward(self, x):
            return torch.relu(self.mix2(torch.relu(self.mix1(torch.relu(self.spatial(x))))))

    result = run_check("onebyone.nin_block", lambda c, k, f, s=1, p=0: Block(c, k, f, s, p))
    assert result.status == PASSED, result.message


# ----------------------------------------------------------------------------- utils.nets (the network the notebook trains)
def test_small_nin_shapes_and_parameters():
    from utils.nets import SmallNiN, count_parameters

    model = SmallNiN(channels=(16, 32))
    x = torch.zeros(2, 1, 28, 28)
    assert tuple(model.class_maps(x).shape) == (2, 10, 7, 7)
    assert tuple(model(x).shape) == (2, 10)
    assert count_parameters(model) == (16 * 25 + 16 + 2 * (16 * 16 + 16)) + (32 * 16 * 9 + 32 + 2 * (32 * 32 + 32)) + 330
    assert not any(isinstance(m, nn.Linear) for m in model.modules())      # no fully connected layer


def test_small_nin_uses_the_block_it_is_given():
    from utils.nets import SmallNiN

    calls = []

    def block(*args):
        calls.append(args)
        return nin_block(*args)

    SmallNiN(channels=(8, 12), block=block)
    assert calls == [(1, 8, 5, 2, 2), (8, 12, 3, 1, 1)]


# ----------------------------------------------------------------------------- correct answers the checks must accept
CORRECT_VARIANTS = {
    "onebyone.conv1x1": [
        lambda x, w, b: np.tensordot(w, np.asarray(x, dtype=float), axes=([1], [1])).transpose(1, 0, 2, 3)
        + b[:, None, None],
        lambda x, w, b: torch.nn.functional.conv2d(torch.as_tensor(np.asarray(x, dtype=float)),
                                                   torch.as_tensor(w)[:, :, None, None], torch.as_tensor(b)).numpy(),
    ],
    "onebyone.pixel_rows": [lambda x: np.moveaxis(x, 1, -1).reshape(-1, x.shape[1]),
                            lambda x: x.transpose(1, 0, 2, 3).reshape(x.shape[1], -1).T],
    "onebyone.dense_per_pixel": [
        lambda x, linear: linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2),
        lambda x, linear: torch.nn.functional.conv2d(x, linear.weight[:, :, None, None], linear.bias),
    ],
    "onebyone.conv_cost": [lambda *args: list(conv_cost(*args)),
                           lambda *args: tuple(np.int64(v) for v in conv_cost(*args))],
    "onebyone.shortcut": [lambda x, w, b, s: conv1x1(x, w, b)[:, :, ::s, ::s]],
}


@pytest.mark.parametrize("exercise_id, index", [(e, i) for e, fns in CORRECT_VARIANTS.items() for i in range(len(fns))])
def test_other_correct_answers_pass(exercise_id, index):
    result = run_check(exercise_id, CORRECT_VARIANTS[exercise_id][index])
    assert result.status == PASSED, result.message
