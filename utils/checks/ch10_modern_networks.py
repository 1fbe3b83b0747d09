"""Checks for chapter 10 (NiN, GoogLeNet, ResNet).

Module answers (the inception block, the residual block) are inspected only through ``utils.checks.modules``,
so the same checks run under the grader's judge: parameter shapes in ``parameters()`` order, the output shape
of a zero input, then runs with weights the check chooses. First weights whose outputs are derived by hand
(each branch of the inception block outputs its own constant; the residual block with its main path or its
shortcut switched off), compared branch by branch so that a failure names the branch; then random weights,
compared with a reference computed here from the same weights with ``torch.nn.functional`` in float64 (the
inception block once in eval and once in train mode, after a look at ``modules.layers`` for BN or dropout
layers it must not have; the residual block in eval mode, where BN uses its running statistics, and in train mode, where it uses the
batch's). Counts (sizes, parameters, multiply-adds, receptive-field layers) are closed forms written here.

Hints for known mistakes (branches concatenated in another order, a missing ReLU, average pooling in the pool
branch, the residual added before the last BN or after a ReLU, BN with the batch's statistics in eval mode,
counts without BN parameters or without the shortcut, ...) are computed only once an answer is found wrong.
The ``@reference`` functions at the end are the workbook's answers, which demonstrations use meanwhile.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F

import utils.nets.summary  # noqa: F401  (loaded, so that the names declared below resolve)
from utils.nets.googlenet import Inception as _Inception
from utils.nets.resnet import Residual as _Residual

from .compare import assert_array_matches, assert_equal, call, require_callable
from .core import CheckFailed, implemented_by, reference, register
from .modules import is_module, output_shapes, parameter_shapes, run_module, training_layers

BN_EPS = 1e-5


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def _fail(case: str, text: str, hint: str) -> CheckFailed:
    return CheckFailed(f"failed on case {case}:\n  {text}\n  hint: {hint}")


def _require_module(block, case: str, what: str):
    if not is_module(block):
        raise _fail(case, f"expected a torch nn.Module, got {type(block).__name__}.", f"return {what}.")


def _final_shape(block, input_shape, case: str, hint: str):
    try:
        return output_shapes(block, input_shape, case=case)[1]
    except CheckFailed as error:
        raise CheckFailed(f"{error}\n  hint: {hint}") from None


# ================================================================================================ NiN sizes
def _nin_sizes(n: int) -> tuple:
    a = (n - 11) // 4 + 1                     # 11x11 convolution, stride 4, no padding
    b = (a - 3) // 2 + 1                      # 3x3 max pooling, stride 2
    c = (b - 3) // 2 + 1                      # the 5x5 (padding 2) and 3x3 (padding 1) blocks keep the size
    d = (c - 3) // 2 + 1
    return (a, b, b, c, c, d, d)


NIN_SIZES = (224, 227, 256, 231, 96, 160, 67, 300)


@register("modern.nin_sizes")
def check_nin_sizes(answer) -> str:
    fn = require_callable(answer, "nin_sizes(n)")
    for n in NIN_SIZES:
        case = f"nin_sizes({n})"
        got = call(fn, n, case=case)
        expected = _nin_sizes(n)
        if isinstance(got, list):
            got = tuple(got)
        hint = ("after each of the 7 layers (block 1, pool, block 2, pool, block 3, pool, block 4): "
                "n' = (n + 2P - F) // S + 1; blocks 2-4 are padded to keep the size, the pools are 3x3 with "
                "stride 2 and no padding.")
        if isinstance(got, tuple) and len(got) == 7 and all(isinstance(g, (int, np.integer)) for g in got):
            a = (n - 11) // 4 + 1
            if got[0] != a:
                hint = "the first block's 11x11 convolution has stride 4 and no padding: (n - 11) // 4 + 1."
            elif got[1] == a // 2 or got[1] == -(-a // 2):
                hint = "the pools are 3x3 with stride 2 (overlapping windows): (n - 3) // 2 + 1, not n / 2."
            elif got[2] != got[1] or got[4] != got[3] or got[6] != got[5]:
                hint = "blocks 2, 3 and 4 keep the size (5x5 with padding 2, 3x3 with padding 1, and 1x1 layers)."
        assert_equal(got, expected, case=case, hint=hint, what="the tuple of sizes")
    return f"{len(NIN_SIZES)} input sizes"


# ================================================================================================ NiN cost
def _nin_cost(num_classes, *, biases=True, one_by_one=2, last_block=True):
    """(parameters, multiply-adds) of the ImageNet NiN on 224 x 224 images; the arguments plant mistakes."""
    sizes = _nin_sizes(224)
    params = macs = 0
    blocks = [(3, 96, 11), (96, 256, 5), (256, 384, 3), (384, num_classes, 3)]
    for index, ((c, k, f), n) in enumerate(zip(blocks, sizes[::2])):
        layers = [c * k * f * f] + [k * k] * (one_by_one if last_block or index < 3 else 0)   # weights
        params += sum(layers) + (k * len(layers) if biases else 0)
        macs += n * n * sum(layers)
    return params, macs


NIN_CLASSES = (1000, 10, 100, 21)


@register("modern.nin_cost")
def check_nin_cost(answer) -> str:
    fn = require_callable(answer, "nin_cost(num_classes)")
    for classes in NIN_CLASSES:
        case = f"nin_cost({classes})"
        got = call(fn, classes, case=case)
        mistakes = {
            "count the biases: every convolution has one per output channel.": _nin_cost(classes, biases=False),
            "a NiN block has two 1x1 convolutions after its spatial one.": _nin_cost(classes, one_by_one=1),
            "the last block is a full NiN block too: a 3x3 convolution to the classes, then two 1x1 layers of "
            "num_classes channels.": _nin_cost(classes, last_block=False),
        }
        _pair_check(got, _nin_cost(classes), case, mistakes, what="(parameters, multiply_adds)",
                    hint="per block K*C*F*F + K + 2 (K*K + K) parameters and n'*n'*(K*C*F*F + 2*K*K) multiply-adds, "
                         "n' the block's output size (54, 26, 12, 5); pooling and dropout count nothing. "
                         "Return a tuple of two ints.")
    return f"{len(NIN_CLASSES)} class counts"


# ================================================================================================ inception
def _inception_shapes(C, c1, c2, c3, c4):
    return [(c1, C, 1, 1), (c1,), (c2[0], C, 1, 1), (c2[0],), (c2[1], c2[0], 3, 3), (c2[1],),
            (c3[0], C, 1, 1), (c3[0],), (c3[1], c3[0], 5, 5), (c3[1],), (c4, C, 1, 1), (c4,)]


def _inception_branches(x, p, *, relu=None, pool="max", project_first=False):
    """The four branch outputs of the block from its 12 parameter arrays; ``relu[i]`` switches the i-th of its
    six ReLUs (in parameter order: branch 1, reduction 2, 3x3, reduction 3, 5x5, pool projection);
    ``project_first``: branch 4 projects (1x1 conv, ReLU) before it pools."""
    relu = (True,) * 6 if relu is None else relu
    x, p = _t(x), [_t(q) for q in p]
    act = lambda y, i: F.relu(y) if relu[i] else y
    b1 = act(F.conv2d(x, p[0], p[1]), 0)
    b2 = act(F.conv2d(act(F.conv2d(x, p[2], p[3]), 1), p[4], p[5], padding=1), 2)
    b3 = act(F.conv2d(act(F.conv2d(x, p[6], p[7]), 3), p[8], p[9], padding=2), 4)
    pooling = (lambda y: F.max_pool2d(y, 3, 1, 1)) if pool == "max" else (lambda y: F.avg_pool2d(y, 3, 1, 1))
    b4 = pooling(act(F.conv2d(x, p[10], p[11]), 5)) if project_first else act(F.conv2d(pooling(x), p[10], p[11]), 5)
    return [b.numpy() for b in (b1, b2, b3, b4)]


def _inception_forward(x, p, **kwargs):
    return np.concatenate(_inception_branches(x, p, **kwargs), axis=1)


def _taps(n: int, kernel: int) -> np.ndarray:
    """How many taps of a centred kernel (zero padding kernel // 2) fall inside an axis of length n."""
    half = kernel // 2
    return np.array([min(i + half, n - 1) - max(i - half, 0) + 1 for i in range(n)], dtype=float)


BRANCHES = ("branch 1 (1x1 conv)", "branch 2 (1x1 reduction, 3x3 conv)", "branch 3 (1x1 reduction, 5x5 conv)",
            "branch 4 (3x3 max pooling, 1x1 conv)")


def _constant_settings(C, c1, c2, c3, c4, H, W):
    """Three settings of weights on an input of ones, each with the output of every branch derived by hand.

    Yields (name, parameters, [expected output of each branch], {hint: wrong output of one branch}).
    Mean filters (every weight 1 / fan-in) turn a map of ones into ones, except where a 3x3 or 5x5 window
    hangs over the zero padding: there the output is (taps inside) / (taps in the window).
    """
    border3 = np.outer(_taps(H, 3), _taps(W, 3)) / 9
    border5 = np.outer(_taps(H, 5), _taps(W, 5)) / 25
    full = lambda k, v: np.full((k, H, W), v, dtype=float)
    mean = lambda k, c, f: np.full((k, c, f, f), 1.0 / (c * f * f))
    fill = lambda k, v: np.full(k, float(v))
    # 1. positive: branch b outputs b + 1 in the interior
    params = [mean(c1, C, 1), fill(c1, 1), mean(c2[0], C, 1), fill(c2[0], 0), mean(c2[1], c2[0], 3), fill(c2[1], 2),
              mean(c3[0], C, 1), fill(c3[0], 0), mean(c3[1], c3[0], 5), fill(c3[1], 3), mean(c4, C, 1), fill(c4, 4)]
    expected = [full(c1, 2), np.broadcast_to(border3 + 2, (c2[1], H, W)),
                np.broadcast_to(border5 + 3, (c3[1], H, W)), full(c4, 5)]
    wrong = {3: {"branch 4 max-pools: the maximum of a window of ones is 1 even where it hangs over the border "
                 "(padding never wins a max); average pooling counts the zero padding.":
                 np.broadcast_to(border3 + 4, (c4, H, W))},
             1: {"the 3x3 convolution of branch 2 is zero-padded (padding=1, padding_mode 'zeros'), so a window "
                 "at the border sees fewer ones.": full(c2[1], 3)},
             2: {"the 5x5 convolution of branch 3 is zero-padded (padding=2, padding_mode 'zeros').":
                 full(c3[1], 4)}}
    yield "mean filters: branch b outputs b + 1 inside the map", params, expected, wrong
    # 2. the last convolution of every branch outputs negative numbers: its ReLU must clip them to 0
    params = [-mean(c1, C, 1), fill(c1, 0), mean(c2[0], C, 1), fill(c2[0], 0), -mean(c2[1], c2[0], 3), fill(c2[1], 0),
              mean(c3[0], C, 1), fill(c3[0], 0), -mean(c3[1], c3[0], 5), fill(c3[1], 0), -mean(c4, C, 1), fill(c4, 0)]
    expected = [full(c1, 0), full(c2[1], 0), full(c3[1], 0), full(c4, 0)]
    missing = "the last convolution of this branch is followed by a ReLU (its negative outputs become 0)."
    wrong = {0: {missing: full(c1, -1)}, 1: {missing: np.broadcast_to(-border3, (c2[1], H, W))},
             2: {missing: np.broadcast_to(-border5, (c3[1], H, W))}, 3: {missing: full(c4, -1)}}
    yield "negative filters: every branch's last ReLU outputs 0", params, expected, wrong
    # 3. the reductions output -1: their ReLU makes it 0, so the next convolution outputs its bias alone
    params = [mean(c1, C, 1), fill(c1, 1), -mean(c2[0], C, 1), fill(c2[0], 0), mean(c2[1], c2[0], 3), fill(c2[1], 1),
              -mean(c3[0], C, 1), fill(c3[0], 0), mean(c3[1], c3[0], 5), fill(c3[1], 1), mean(c4, C, 1), fill(c4, 1)]
    expected = [full(c1, 2), full(c2[1], 1), full(c3[1], 1), full(c4, 2)]
    missing = ("the 1x1 reduction of this branch is followed by a ReLU: without it the reduction and the next "
               "convolution are one linear map.")
    wrong = {1: {missing: np.broadcast_to(1 - border3, (c2[1], H, W))},
             2: {missing: np.broadcast_to(1 - border5, (c3[1], H, W))}}
    yield "negative reductions: their ReLU outputs 0, the next conv its bias", params, expected, wrong


INCEPTION_CONFIGS = [  # (C, c1, c2, c3, c4, x shape): non-square maps, small and GoogLeNet-sized channels
    (3, 2, (3, 4), (2, 3), 2, (2, 3, 7, 9)),
    (5, 4, (2, 6), (1, 2), 3, (1, 5, 6, 5)),
    (8, 1, (4, 5), (2, 4), 6, (3, 8, 5, 8)),
    (4, 3, (3, 3), (3, 3), 3, (2, 4, 4, 6)),
    (192, 64, (96, 128), (16, 32), 32, (1, 192, 6, 7)),
]
PROJECT_FIRST_HINT = ("branch 4 pools first, then its 1x1 projection: ReLU(conv1x1(maxpool(x))), not "
                      "maxpool(ReLU(conv1x1(x))).")
ORDER_HINT = ("concatenate the branches in the order 1 (1x1), 2 (3x3), 3 (5x5), 4 (pool): "
              "torch.cat([b1, b2, b3, b4], dim=1).")


def _inception_shape_hint(got, C, c1, c2, c3, c4):
    expected = _inception_shapes(C, c1, c2, c3, c4)
    if got == expected[:10]:
        return ("branch 4 has a 1x1 convolution after the pooling (c4 channels): pooling alone would keep all "
                f"{C} input channels.")
    if len(got) == 6 and all(len(s) == 4 for s in got):
        return "every convolution has a bias (nn.Conv2d's default)."
    if sorted(got) == sorted(expected):
        return ("the parameters come in the order branch 1, 2 (reduction, 3x3), 3 (reduction, 5x5), 4: create "
                "the layers in that order in __init__.")
    if (c2[1], C, 3, 3) in got or (c3[1], C, 5, 5) in got:
        return "the 3x3 and 5x5 convolutions read the c2[0] and c3[0] channels of their 1x1 reductions, not the input."
    if not got:
        return ("your module has no parameters: layers kept in a plain list are invisible to nn.Module; use "
                "nn.Sequential attributes (or nn.ModuleList).")
    return "branch b's layers, in order: see the exercise's list of parameter shapes."


@register("modern.inception")
def check_inception(answer) -> str:
    fn = require_callable(answer, "Inception(in_channels, c1, c2, c3, c4)")
    rng = np.random.default_rng(100)
    runs = 0
    for C, c1, c2, c3, c4, x_shape in INCEPTION_CONFIGS:
        case = f"Inception({C}, {c1}, {c2}, {c3}, {c4})"
        block = call(fn, C, c1, c2, c3, c4, case=case)
        _require_module(block, case, "an nn.Module whose forward concatenates the four branches")
        extra = training_layers(block)
        if extra:
            listed = ", ".join(f"{name} ({kind})" for name, kind in extra)
            raise _fail(case, f"your block has layers the inception block does not have: {listed}",
                        f"remove {listed}: the block is convolutions, ReLUs and one max pooling, with no batch "
                        "normalization and no dropout (they change how it trains, even where eval mode hides them).")
        expected_shapes = _inception_shapes(C, c1, c2, c3, c4)
        got_shapes = [s for _, s in parameter_shapes(block)]
        if got_shapes != expected_shapes:
            raise _fail(case, f"expected parameter shapes {expected_shapes},\n  got {got_shapes}",
                        _inception_shape_hint(got_shapes, C, c1, c2, c3, c4))
        N, _, H, W = x_shape
        out_channels = c1 + c2[1] + c3[1] + c4
        final = _final_shape(block, x_shape, f"{case} on x of shape {x_shape}",
                             "every branch keeps H x W, so that torch.cat can join them: padding 1 for the 3x3 "
                             "convolution, padding 2 for the 5x5, and stride 1, padding 1 for the 3x3 pooling.")
        if final != (N, out_channels, H, W):
            raise _fail(f"{case} on x of shape {x_shape}", f"expected output shape {(N, out_channels, H, W)}, "
                        f"got {final}", "the branches are joined along the channel axis (dim=1) and keep H x W "
                        "(padding 1 for 3x3, 2 for 5x5, stride 1 and padding 1 for the pooling).")
        # weights whose outputs are known: each branch compared on its own slice of channels
        edges = np.cumsum([0, c1, c2[1], c3[1], c4])
        for name, params, expected, wrong in _constant_settings(C, c1, c2, c3, c4, H, W):
            got = run_module(block, np.ones((N, C, H, W)), parameters=params, case=f"{case}, {name}")
            for b, branch in enumerate(BRANCHES):
                got_slice = got[:, edges[b]:edges[b + 1]]
                mistakes = dict(wrong.get(b, {}))
                hint = f"{branch} in the order given, each convolution followed by a ReLU; " + ORDER_HINT
                for other in range(4):   # another branch's output here: the order of the concatenation
                    if other == b:
                        continue
                    if expected[other].shape[0] == expected[b].shape[0]:
                        mistakes.setdefault(ORDER_HINT, np.broadcast_to(expected[other], got_slice.shape))
                    centre, value = got_slice[..., H // 2, W // 2], expected[other][0, H // 2, W // 2]
                    if value != expected[b][0, H // 2, W // 2] and np.allclose(centre, value):
                        hint = (f"these channels hold what {BRANCHES[other]} outputs ({value:g} at the centre): "
                                + ORDER_HINT)
                assert_array_matches(
                    got_slice, np.broadcast_to(expected[b], got_slice.shape),
                    case=f"{case}, {name}: channels {edges[b]}-{edges[b + 1] - 1} = {branch}, input of ones "
                         f"{(N, C, H, W)}", what=f"the output of {branch}",
                    known_mistakes={k: np.broadcast_to(v, got_slice.shape) for k, v in mistakes.items()}, hint=hint)
            runs += 1
        # random weights, against the reference computed here from the same weights
        for trial in range(2):
            params = [rng.normal(size=s) * (np.sqrt(2 / np.prod(s[1:])) if len(s) == 4 else 0.3)
                      for s in expected_shapes]
            x = rng.normal(size=x_shape)
            # the second draw runs in train mode: the block has no BN and no dropout, so it computes the same
            trial_case = f"{case}, random weights, x of shape {x_shape}" + (
                " (a second draw, in train mode: block.train())" if trial else "")
            got = run_module(block, x, parameters=params, case=trial_case, train=trial == 1)

            def mistakes(x=x, params=params):
                found = {}
                for index, label in enumerate(("branch 1's ReLU", "the ReLU after branch 2's reduction",
                                               "the ReLU after the 3x3 convolution", "the ReLU after branch 3's "
                                               "reduction", "the ReLU after the 5x5 convolution",
                                               "the ReLU after the pool projection")):
                    relu = [True] * 6
                    relu[index] = False
                    found[f"{label} is missing: every convolution of the block is followed by a ReLU."] = \
                        _inception_forward(x, params, relu=relu)
                found["branch 4 uses max pooling (3x3, stride 1, padding 1), not average pooling."] = \
                    _inception_forward(x, params, pool="avg")
                found[PROJECT_FIRST_HINT] = _inception_forward(x, params, project_first=True)
                return found

            branches = _inception_branches(x, params)
            expected_out = np.concatenate(branches, axis=1)
            hint = f"the four branches as listed, each convolution followed by a ReLU; {ORDER_HINT}"
            for order in itertools.permutations(range(4)):       # any other order of the four branches
                wrong = np.concatenate([branches[i] for i in order], axis=1)
                if order != (0, 1, 2, 3) and got.shape == wrong.shape and np.allclose(got, wrong, rtol=1e-4,
                                                                                        atol=1e-6):
                    hint = ORDER_HINT
            if trial == 1 and hint != ORDER_HINT:
                hint = ("the block has no batch normalization and no dropout, so train mode computes what eval "
                        "mode does (F.dropout or F.batch_norm with training=self.training would differ); " + hint)
            assert_array_matches(got, expected_out, case=trial_case, known_mistakes=mistakes, hint=hint)
            runs += 1
    return (f"{len(INCEPTION_CONFIGS)} blocks: parameter shapes, output shapes, {runs} runs (constant weights "
            "branch by branch, random weights against F.conv2d)")


# =========================================================================================== inception cost
def _inception_cost(C, c1, c2, c3, c4, h, w, *, biases=True, reductions=True, projection=True):
    weights = [C * c1, C * c2[0], 9 * c2[0] * c2[1], C * c3[0], 25 * c3[0] * c3[1], C * c4]
    bias = [c1, c2[0], c2[1], c3[0], c3[1], c4]
    if not reductions:
        weights[1:5], bias[1:5] = [0, 9 * C * c2[1], 0, 25 * C * c3[1]], [0, c2[1], 0, c3[1]]
    if not projection:
        weights[5], bias[5] = 0, 0
    return sum(weights) + (sum(bias) if biases else 0), h * w * sum(weights)


COST_CONFIGS = [(192, 64, (96, 128), (16, 32), 32, 28, 28), (256, 128, (128, 192), (32, 96), 64, 28, 28),
                (480, 192, (96, 208), (16, 48), 64, 14, 14), (832, 384, (192, 384), (48, 128), 128, 7, 7),
                (3, 2, (3, 4), (2, 3), 2, 7, 9), (10, 1, (2, 5), (4, 3), 7, 5, 3)]


def _pair_check(got, expected, case, mistakes: dict, hint: str, what: str):
    """``got`` must be the pair ``expected`` of ints; a pair equal to one of ``mistakes`` gets that hint."""
    if isinstance(got, list):
        got = tuple(got)
    mistakes = {**mistakes, "return the pair in the order (parameters, multiply_adds).": expected[::-1]}
    for mistake, wrong in mistakes.items():
        if wrong != expected and got == wrong:
            hint = mistake
            break
    else:
        if isinstance(got, tuple) and len(got) == 2 and got[0] == expected[0] and got[1] != expected[1]:
            hint = "the parameters are right; " + hint
    assert_equal(got, expected, case=case, hint=hint, what=what)


@register("modern.inception_cost")
def check_inception_cost(answer) -> str:
    fn = require_callable(answer, "inception_cost(in_channels, c1, c2, c3, c4, h, w)")
    for C, c1, c2, c3, c4, h, w in COST_CONFIGS:
        case = f"inception_cost({C}, {c1}, {c2}, {c3}, {c4}, h={h}, w={w})"
        got = call(fn, C, c1, c2, c3, c4, h, w, case=case)
        expected = _inception_cost(C, c1, c2, c3, c4, h, w)
        params, macs = expected
        mistakes = {
            "count each convolution's biases (one per output channel) among the parameters.":
                (_inception_cost(C, c1, c2, c3, c4, h, w, biases=False)[0], macs),
            "the 3x3 and 5x5 convolutions read the c2[0] and c3[0] channels of the 1x1 reductions (which cost "
            "parameters and multiply-adds too), not the input's C.":
                _inception_cost(C, c1, c2, c3, c4, h, w, reductions=False),
            "the pool branch has a 1x1 convolution from C to c4 channels after the pooling.":
                _inception_cost(C, c1, c2, c3, c4, h, w, projection=False),
            "multiply-adds count only products with weights: h * w * (weights), without biases.":
                (params, h * w * params),
            "every convolution of the block works on all h * w positions: multiply-adds h * w * K * C * F * F.":
                (params, params - sum([c1, *c2, *c3, c4])),
        }
        _pair_check(got, expected, case, mistakes, what="(parameters, multiply_adds)",
                    hint="parameters: K*C*F*F + K per convolution; multiply-adds: h*w*K*C*F*F per convolution "
                         "(the pooling has none). Return a tuple of two ints.")
    return f"{len(COST_CONFIGS)} blocks, GoogLeNet's 3a, 3b, 4a and 5b among them"


# ============================================================================================ residual block
def _residual_shapes(C, K, projection):
    shapes = [(K, C, 3, 3), (K,), (K,), (K, K, 3, 3), (K,), (K,)]
    return shapes + ([(K, C, 1, 1), (K,), (K,)] if projection else [])


def _bn(y, gamma, beta, train):
    if train:
        return F.batch_norm(y, None, None, gamma, beta, training=True, eps=BN_EPS)
    zeros, ones = torch.zeros(y.shape[1], dtype=y.dtype), torch.ones(y.shape[1], dtype=y.dtype)
    return F.batch_norm(y, zeros, ones, gamma, beta, training=False, eps=BN_EPS)   # a fresh BN's statistics


def _residual_forward(x, p, stride, train, *, add="after_bn", shortcut_stride=None, final_relu=True,
                      bn_train=None):
    """The block from its parameter arrays; ``add``: "after_bn" (right), "before_bn" (before the last BN),
    "after_relu" (ReLU(BN(conv2)) + shortcut, no ReLU after). ``bn_train``: BN mode if not ``train``'s."""
    x, p = _t(x), [_t(q) for q in p]
    mode = train if bn_train is None else bn_train
    h = F.relu(_bn(F.conv2d(x, p[0], stride=stride, padding=1), p[1], p[2], mode))
    h = F.conv2d(h, p[3], padding=1)
    if len(p) == 9:
        s = _bn(F.conv2d(x, p[6], stride=stride if shortcut_stride is None else shortcut_stride), p[7], p[8], mode)
    else:
        s = x
    if add == "before_bn":
        return F.relu(_bn(h + s, p[4], p[5], mode)).numpy()
    h = _bn(h, p[4], p[5], mode)
    if add == "after_relu":
        return (F.relu(h) + s).numpy()
    return (F.relu(h + s) if final_relu else h + s).numpy()


RESIDUAL_CONFIGS = [  # (C, K, stride, x shape)
    (4, 4, 1, (2, 4, 6, 7)),      # identity shortcut
    (3, 5, 1, (2, 3, 5, 6)),      # more channels: 1x1 shortcut, stride 1
    (4, 4, 2, (2, 4, 7, 6)),      # same channels, stride 2: the shapes differ, 1x1 shortcut
    (3, 6, 2, (3, 3, 9, 8)),
    (2, 2, 1, (4, 2, 5, 5)),
]


def _residual_shape_hint(got, C, K, projection):
    if projection and got == _residual_shapes(C, K, False):
        return ("the shapes differ (channels or stride), so the shortcut needs a 1x1 convolution with the "
                "block's stride and a BN: the input cannot be added as it is.")
    if not projection and got == _residual_shapes(C, K, True):
        return ("this block keeps the shape (same channels, stride 1): its shortcut is the identity, no 1x1 "
                "convolution (use one only when stride != 1 or in_channels != out_channels).")
    if projection and got == _residual_shapes(C, K, True)[:7]:
        return "the 1x1 convolution on the shortcut is followed by its own BN (nn.BatchNorm2d(out_channels))."
    expected = _residual_shapes(C, K, projection)
    convs = sum(len(s) == 4 for s in expected)
    if sum(len(s) == 4 for s in got) == convs and len(got) == len(expected) + convs:
        return "the convolutions have no bias (bias=False): the BN after each one has its own shift beta."
    if (K, C, 3, 3) in got and len(got) in (4, 6):
        return "each 3x3 convolution is followed by an nn.BatchNorm2d (weight gamma and bias beta)."
    if not got:
        return "your module has no parameters: keep the layers as attributes (not in a plain list)."
    return "parameters in the order conv1, bn1, conv2, bn2, then (with a 1x1 shortcut) its conv and BN."


@register("modern.residual")
def check_residual(answer) -> str:
    fn = require_callable(answer, "Residual(in_channels, out_channels, stride=1)")
    rng = np.random.default_rng(101)
    runs = 0
    for C, K, S, x_shape in RESIDUAL_CONFIGS:
        projection = S != 1 or C != K
        case = f"Residual({C}, {K}, stride={S})"
        block = call(fn, C, K, S, case=case) if S != 1 else call(fn, C, K, case=case)
        _require_module(block, case, "an nn.Module (a subclass of nn.Module with __init__ and forward)")
        shapes = _residual_shapes(C, K, projection)
        got_shapes = [s for _, s in parameter_shapes(block)]
        if got_shapes != shapes:
            raise _fail(case, f"expected parameter shapes {shapes},\n  got {got_shapes}",
                        _residual_shape_hint(got_shapes, C, K, projection))
        N, _, H, W = x_shape
        out = (N, K, (H - 1) // S + 1, (W - 1) // S + 1)
        final = _final_shape(block, x_shape, f"{case} on x of shape {x_shape}",
                             "the main path and the shortcut must have the same shape to be added: the 1x1 "
                             "shortcut takes the block's stride, and conv1 (stride S) and conv2 are padded by 1.")
        if final != out:
            raise _fail(f"{case} on x of shape {x_shape}", f"expected output shape {out}, got {final}",
                        "conv1 has the stride and padding 1, conv2 stride 1 and padding 1.")
        x = rng.normal(size=x_shape)
        zeros_w = [np.zeros(shapes[0]), np.ones(K), np.zeros(K), np.zeros(shapes[3]), np.ones(K), np.zeros(K)]
        w_short = rng.normal(size=(K, C, 1, 1))
        short = [w_short, np.ones(K), np.zeros(K)] if projection else []
        if projection:
            shortcut = np.einsum("kc,nchw->nkhw", w_short[:, :, 0, 0], x[:, :, ::S, ::S])
        else:
            shortcut = x
        beta = rng.normal(size=K)
        settings = [
            ("main path switched off (conv weights 0): out = ReLU(shortcut(x))", zeros_w + short, 0.0,
             {"ReLU after the addition: out = ReLU(main + shortcut); here main = 0 and out = ReLU(shortcut(x)), "
              "but you returned the shortcut without the ReLU.": lambda sc: sc}),
            ("main path outputs bn2's shift (gamma2 = 0, beta2 = b): out = ReLU(shortcut(x) + b)",
             zeros_w[:4] + [np.zeros(K), beta] + short, beta,
             {"add the shortcut after bn2: with gamma2 = 0 the main path is the constant beta2, and BN applied to "
              "main + shortcut would remove the shortcut.": lambda sc: np.maximum(0 * sc + beta[None, :, None, None], 0),
              "ReLU after the addition, not on the main path before it.":
                  lambda sc: np.maximum(beta, 0)[None, :, None, None] + sc}),
        ]
        for train in (False, True):
            mode = "train mode" if train else "eval mode"
            for name, params, shift, wrong in settings:
                sc = shortcut
                if projection:     # the shortcut's BN: batch statistics in train mode, a fresh BN's in eval
                    sc = _bn(_t(shortcut), _t(np.ones(K)), _t(np.zeros(K)), train).numpy()
                b = np.asarray(shift, dtype=float) * np.ones(K)
                expected = np.maximum(sc + b[None, :, None, None], 0)
                got = run_module(block, x, parameters=params, case=f"{case}, {name}", train=train)
                part = "the shortcut (1x1 conv with stride, BN)" if projection else "the shortcut (identity)"
                assert_array_matches(got, expected, case=f"{case}, {mode}, {name}", what="the block's output",
                                     known_mistakes=lambda wrong=wrong, sc=sc: {k: f(sc) for k, f in wrong.items()},
                                     hint=f"check {part}: out = ReLU(bn2(conv2(...)) + shortcut(x)).")
                runs += 1
        # random weights against the reference, in eval mode (running statistics) and train mode (the batch's)
        params = [rng.normal(size=s) * np.sqrt(2 / np.prod(s[1:])) if len(s) == 4 else rng.normal(size=s) * 0.3 + (
            1.0 if i in (1, 4, 7) else 0.0) for i, s in enumerate(shapes)]
        for train in (False, True):
            mode = "train mode" if train else "eval mode"
            trial_case = f"{case}, random weights, {mode}, x of shape {x_shape}"
            got = run_module(block, x, parameters=params, case=trial_case, train=train)

            def mistakes(train=train, x=x, params=params):
                other = "eval" if train else "train"
                m = {
                    "add the shortcut after bn2 and before the last ReLU: ReLU(bn2(conv2(h)) + shortcut(x)), "
                    "not ReLU(bn2(conv2(h) + shortcut(x))).": _residual_forward(x, params, S, train, add="before_bn"),
                    "the ReLU comes after the addition: ReLU(main + shortcut), not ReLU(main) + shortcut.":
                        _residual_forward(x, params, S, train, add="after_relu"),
                    "the block ends with a ReLU after the addition.":
                        _residual_forward(x, params, S, train, final_relu=False),
                    f"in {mode} BN normalises with {'the batch' if train else 'its running'} statistics; yours "
                    f"behaves as in {other} mode. Use nn.BatchNorm2d (it follows model.train()/model.eval()); "
                    "F.batch_norm(..., training=True) or track_running_stats=False always uses the batch's.":
                        _residual_forward(x, params, S, train, bn_train=not train),
                }
                return m

            assert_array_matches(got, _residual_forward(x, params, S, train), case=trial_case,
                                 known_mistakes=mistakes,
                                 hint="conv1 (3x3, stride S, padding 1) -> bn1 -> ReLU -> conv2 (3x3, padding 1) -> "
                                      "bn2, plus the shortcut, then a ReLU.")
            runs += 1
    return (f"{len(RESIDUAL_CONFIGS)} blocks (identity and 1x1 shortcuts): parameter shapes, output shapes, "
            f"{runs} runs in eval and train mode (main path or shortcut switched off, random weights against "
            "F.conv2d and F.batch_norm)")


# ============================================================================================ residual cost
def _residual_cost(C, K, S, h, w, *, bn=True, projection=None, out_size=None, bias=False, shortcut_bn=True):
    projection = (S != 1 or C != K) if projection is None else projection
    h2, w2 = out_size or ((h - 1) // S + 1, (w - 1) // S + 1)
    weights = 9 * C * K + 9 * K * K + (C * K if projection else 0)
    norms = 2 * K * (3 if projection and shortcut_bn else 2)
    biases = K * (3 if projection else 2)
    return weights + (norms if bn else 0) + (biases if bias else 0), h2 * w2 * weights


RESIDUAL_COST_CASES = [(64, 64, 1, 56, 56), (64, 128, 2, 56, 56), (128, 256, 2, 28, 28), (256, 512, 2, 14, 14),
                       (512, 512, 1, 7, 7), (3, 5, 1, 9, 7), (4, 4, 2, 7, 6), (6, 3, 3, 11, 10)]


@register("modern.residual_cost")
def check_residual_cost(answer) -> str:
    fn = require_callable(answer, "residual_cost(in_channels, out_channels, stride, h, w)")
    for C, K, S, h, w in RESIDUAL_COST_CASES:
        case = f"residual_cost({C}, {K}, stride={S}, h={h}, w={w})"
        got = call(fn, C, K, S, h, w, case=case)
        expected = _residual_cost(C, K, S, h, w)
        projection = S != 1 or C != K
        mistakes = {
            "count the BN parameters too: each BN has gamma and beta, 2 per channel (its running mean and "
            "variance are buffers, not parameters).": _residual_cost(C, K, S, h, w, bn=False),
            ("this block keeps the shape, so its shortcut is the identity (no parameters, no multiply-adds)."
             if not projection else "the shapes differ here: the shortcut's 1x1 convolution and its BN count too."):
                _residual_cost(C, K, S, h, w, projection=not projection),
            "the block's convolutions have no bias (BN follows each one).": _residual_cost(C, K, S, h, w, bias=True),
            "the 1x1 shortcut has its own BN: 2K parameters more.": _residual_cost(C, K, S, h, w, shortcut_bn=False),
            "the output is floor((h - 1) / S) + 1 by floor((w - 1) / S) + 1 (3x3 with padding 1, or 1x1, at stride S), "
            "and all three convolutions produce maps of that size.":
                _residual_cost(C, K, S, h, w, out_size=(h // S, w // S)),
        }
        _pair_check(got, expected, case, mistakes, what="(parameters, multiply_adds)",
                    hint="parameters: 9CK + 9KK (+ CK) weights and 2K per BN; multiply-adds: H'W' times the "
                         "weights of the three convolutions. Return a tuple of two ints.")
    return f"{len(RESIDUAL_COST_CASES)} blocks, ResNet-18's among them"


# ================================================================================================ ResNet-18
def _resnet18_cost(size, num_classes, *, bn=True, projection=True, fc_bias=True, fc=True, halving=False):
    """``halving``: every stride-2 layer takes n to n // 2 (the planted mistake; right for even n only)."""
    half = (lambda n, S: n // S) if halving else (lambda n, S: (n - 1) // S + 1)
    params, macs = 0, 0
    s = half(size, 2)                                        # conv 7x7/2, padding 3
    params += 3 * 64 * 49 + (2 * 64 if bn else 0)
    macs += s * s * 3 * 64 * 49
    s = half(s, 2)                                           # max pool 3x3/2, padding 1
    c = 64
    for k, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        for block in range(2):
            S = stride if block == 0 else 1
            p, m = _residual_cost(c, k, S, s, s, bn=bn, projection=(S != 1 or c != k) and projection)
            params, macs, c, s = params + p, macs + m, k, half(s, S)
    if fc:
        params += 512 * num_classes + (num_classes if fc_bias else 0)
        macs += 512 * num_classes
    return params, macs


RESNET_CASES = [(224, 1000), (225, 10), (97, 10), (33, 100), (150, 200)]   # odd sizes too: n // 2 is wrong there


@register("modern.resnet18_cost")
def check_resnet18_cost(answer) -> str:
    fn = require_callable(answer, "resnet18_cost(size, num_classes)")
    for size, classes in RESNET_CASES:
        case = f"resnet18_cost(size={size}, num_classes={classes})"
        got = call(fn, size, classes, case=case)
        without_bn = _resnet18_cost(size, classes, bn=False)
        bn_hint = ("count the BN parameters: gamma and beta per channel, in the stem, in every block and on the "
                   "three 1x1 shortcuts.")
        mistakes = {
            bn_hint: without_bn,
            bn_hint + " (Yours has the stem's BN but not the blocks'.)": (without_bn[0] + 2 * 64, without_bn[1]),
            "stages 2, 3 and 4 start with a block whose shortcut is a 1x1 convolution (stride 2) with its BN.":
                _resnet18_cost(size, classes, projection=False),
            "the dense layer has a bias per class.": _resnet18_cost(size, classes, fc_bias=False),
            "the dense layer (512 inputs) counts too.": _resnet18_cost(size, classes, fc=False),
            "the stem convolution has no bias (bias=False: BN follows it), so no 64 extra parameters.":
                (_resnet18_cost(size, classes)[0] + 64, _resnet18_cost(size, classes)[1]),
            "a stride-2 layer takes n to floor((n + 2P - F) / 2) + 1: n // 2 is right for even n only (the stem "
            "convolution 7x7 with padding 3, the pooling 3x3 with padding 1 and the stride-2 blocks all give "
            "floor((n - 1) / 2) + 1).": _resnet18_cost(size, classes, halving=True),
        }
        _pair_check(got, _resnet18_cost(size, classes), case, mistakes, what="(parameters, multiply_adds)",
                    hint="stem conv 7x7/2 (64) and BN, max pool 3x3/2 (padding 1), stages of 2 blocks with 64, "
                         "128, 256, 512 channels (stride 2 in the first block of stages 2-4), global average "
                         "pooling, a dense layer. Return a tuple of two ints.")
    return f"{len(RESNET_CASES)} input sizes and class counts"


# ============================================================================================ receptive field
def _resnet18_layers():
    layers = [(7, 2), (3, 2)]
    for stride in (1, 2, 2, 2):
        layers += [(3, stride), (3, 1), (3, 1), (3, 1)]
    return layers


@register("modern.resnet18_layers")
def check_resnet18_layers(answer) -> str:
    from utils.receptive_field import receptive_field

    fn = require_callable(answer, "resnet18_layers()")
    case = "resnet18_layers()"
    got = call(fn, case=case)
    expected = _resnet18_layers()
    if isinstance(got, tuple):
        got = list(got)
    if isinstance(got, list):
        got = [tuple(g) if isinstance(g, list) else g for g in got]
    hint = "(kernel, stride) of the 18 layers on the longest path: stem conv, max pool, then 16 3x3 convolutions."
    if isinstance(got, list):
        if len(got) == 17 and got == expected[:1] + expected[2:]:
            hint = "the 3x3 max pooling (stride 2) after the stem convolution is on the path too."
        elif any(g == (1, 2) for g in got):
            hint = ("the 1x1 shortcuts are a parallel path that sees less than the main path: the receptive field "
                    "is set by the longest path, the two 3x3 convolutions of every block.")
        elif len(got) == 18 and got[:2] == expected[:2] and sorted(got) == sorted(expected):
            hint = ("the stride 2 of a downsampling block belongs to its first convolution (and to its shortcut); "
                    "the other three convolutions of the stage have stride 1.")
        elif len(got) == 10:
            hint = "a block has two 3x3 convolutions: list each convolution, not each block."
        elif len(got) == 19:
            hint = "the global average pooling and the dense layer are not convolutions with a (kernel, stride)."
    assert_equal(got, expected, case=case, hint=hint, what="the list of (kernel, stride) pairs")
    return f"18 layers, receptive field {receptive_field(expected)} pixels"


# ============================================================================================ choice
@register("modern.q_nested")
def check_q_nested(answer) -> str:
    fn = require_callable(answer, "q_nested()")
    got = call(fn, case="q_nested()")
    hints = {
        "a": "a larger function class contains a better function, but training need not find it, and lower "
             "training loss says nothing certain about test error.",
        "c": "a layer from C to C/2 channels cannot pass all C channels on, so functions that need all of them are "
             "lost: only an insertion that can be the identity (a residual block) keeps the classes nested.",
        "d": "the shortcut helps gradients reach early layers, but nothing guarantees they never vanish or explode.",
    }
    if isinstance(got, str):
        got = got.strip().lower()
    hint = hints.get(got) if isinstance(got, str) else None
    assert_equal(got, "b", case="q_nested()", what="your choice", hint=hint or "answer 'a', 'b', 'c' or 'd'.")
    return "the function classes are nested"


# ============================================================================================ declarations
# what computes each answer in utils besides the @reference (the spec lines say: nothing beyond numpy/torch)
SUMMARY = ("utils.nets.summary.summary", "utils.nets.summary.print_summary", "utils.nets.summary.multiply_adds")
implemented_by("modern.nin_sizes", "utils.nets.nin.nin", *SUMMARY, "utils.shapes.conv_output_size")
implemented_by("modern.nin_cost", "utils.nets.nin.nin", *SUMMARY)
implemented_by("modern.inception_cost", "utils.nets.googlenet.Inception", *SUMMARY)
implemented_by("modern.residual", "utils.nets.resnet.resnet_stage")
implemented_by("modern.residual_cost", "utils.nets.resnet.Residual", "utils.nets.resnet.resnet_stage", *SUMMARY)
implemented_by("modern.resnet18_cost", "utils.nets.resnet.resnet18", builds_on=("modern.residual_cost",))  # "use your residual_cost"


# ============================================================================================ references
@reference("modern.nin_sizes")
def _nin_sizes_reference(n):
    return _nin_sizes(n)


@reference("modern.nin_cost")
def _nin_cost_reference(num_classes):
    return _nin_cost(num_classes)


reference("modern.inception")(_Inception)
reference("modern.residual")(_Residual)


@reference("modern.inception_cost")
def _inception_cost_reference(in_channels, c1, c2, c3, c4, h, w):
    return _inception_cost(in_channels, c1, c2, c3, c4, h, w)


@reference("modern.residual_cost")
def _residual_cost_reference(in_channels, out_channels, stride, h, w):
    return _residual_cost(in_channels, out_channels, stride, h, w)


@reference("modern.resnet18_cost")
def _resnet18_cost_reference(size, num_classes):
    return _resnet18_cost(size, num_classes)


@reference("modern.resnet18_layers")
def _resnet18_layers_reference():
    return _resnet18_layers()
