"""Mutation tests of the chapter 10 checks: the solutions pass, "not implemented" is recognised, a partly written
answer fails, and every planted bug is rejected with the hint written for it (inception branches in the wrong
order, a missing ReLU, the pool branch without its 1x1 convolution, a 3x3 branch without padding, the residual
added before the last BN, a ReLU before the addition, a shortcut without the stride, a 1x1 shortcut where the
shapes match or none where they differ, BN with the batch's statistics in eval mode, counts without BN, ...)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from utils.checks import NOT_ATTEMPTED, PASSED, get_reference, run_check
from utils.checks.ch10_modern_networks import _nin_sizes, _resnet18_cost, _resnet18_layers
from utils.nets.googlenet import Inception as NetInception, googlenet, googlenet_fashion
from utils.nets.nin import count_parameters, nin, nin_fashion
from utils.nets.resnet import Residual as NetResidual, plain_stack, resnet18, resnet_fashion
from tests.checks.mutants import assert_rejected, partly_written

EXERCISES = ["modern.nin_sizes", "modern.nin_cost", "modern.inception", "modern.inception_cost", "modern.residual",
             "modern.residual_cost", "modern.resnet18_cost", "modern.resnet18_layers", "modern.q_nested"]


def _not_implemented(*args, **kwargs):
    raise NotImplementedError()


# ------------------------------------------------------------------------------- solutions as a student writes them
def nin_sizes(n, pool=lambda a: (a - 3) // 2 + 1, first=lambda n: (n - 11) // 4 + 1):
    a = first(n)
    b = pool(a)
    c = pool(b)
    d = pool(c)
    return (a, b, b, c, c, d, d)


def nin_cost(num_classes, *, bias=True, one_by_one=2, last_1x1=True):
    params = macs = 0
    for i, (c, k, f, n) in enumerate([(3, 96, 11, 54), (96, 256, 5, 26), (256, 384, 3, 12), (384, num_classes, 3, 5)]):
        extra = one_by_one if (i < 3 or last_1x1) else 0
        weights = k * c * f * f + extra * k * k
        params += weights + (k * (1 + extra) if bias else 0)
        macs += n * n * weights
    return params, macs


class Inception(nn.Module):
    """The block as a student writes it, with switches for the planted bugs."""

    def __init__(self, in_channels, c1, c2, c3, c4, *, order=(0, 1, 2, 3), relu_off=None, projection=True,
                 pad3=1, pool="max", bias=True, project_first=False, extra=False, functional_dropout=False):
        super().__init__()
        self.order, self.relu_off, self.projection, self.pool = order, relu_off, projection, pool
        self.project_first, self.functional_dropout = project_first, functional_dropout
        # the planted extra layers of the findings: a BN that eval mode makes x / sqrt(1 + eps), a dropout
        self.b1_bn = nn.BatchNorm2d(c1, affine=False) if extra else nn.Identity()
        self.b2_drop = nn.Dropout(0.5) if extra else nn.Identity()
        self.b1 = nn.Conv2d(in_channels, c1, 1, bias=bias)
        self.b2_1 = nn.Conv2d(in_channels, c2[0], 1, bias=bias)
        self.b2_2 = nn.Conv2d(c2[0], c2[1], 3, padding=pad3, bias=bias)
        self.b3_1 = nn.Conv2d(in_channels, c3[0], 1, bias=bias)
        self.b3_2 = nn.Conv2d(c3[0], c3[1], 5, padding=2, bias=bias)
        self.b4_2 = nn.Conv2d(in_channels, c4, 1, bias=bias) if projection else None

    def act(self, y, index):
        return y if index == self.relu_off else F.relu(y)

    def forward(self, x):
        b1 = self.act(self.b1_bn(self.b1(x)), 0)
        b2 = self.b2_drop(self.act(self.b2_2(self.act(self.b2_1(x), 1)), 2))
        if self.functional_dropout:
            b2 = F.dropout(b2, 0.5, training=self.training)
        b3 = self.act(self.b3_2(self.act(self.b3_1(x), 3)), 4)
        pool = (lambda y: F.max_pool2d(y, 3, 1, 1)) if self.pool == "max" else (lambda y: F.avg_pool2d(y, 3, 1, 1))
        if self.project_first:
            b4 = pool(self.act(self.b4_2(x), 5))
        else:
            b4 = self.act(self.b4_2(pool(x)), 5) if self.projection else pool(x)
        branches = [b1, b2, b3, b4]
        return torch.cat([branches[i] for i in self.order], dim=1)


def inception(**bug):
    return lambda C, c1, c2, c3, c4: Inception(C, c1, c2, c3, c4, **bug)


class Residual(nn.Module):
    """The residual block as a student writes it, with switches for the planted bugs."""

    def __init__(self, in_channels, out_channels, stride=1, *, add="after_bn", projection=None, shortcut_stride=None,
                 shortcut_bn=True, bias=False, final_relu=True, bn=nn.BatchNorm2d):
        super().__init__()
        if projection is None:
            projection = stride != 1 or in_channels != out_channels
        self.add, self.final_relu = add, final_relu
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=bias)
        self.bn1 = bn(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=bias)
        self.bn2 = bn(out_channels)
        self.shortcut = nn.Identity()
        if projection:
            conv = nn.Conv2d(in_channels, out_channels, 1, stride=stride if shortcut_stride is None else shortcut_stride,
                             bias=False)
            self.shortcut = nn.Sequential(conv, bn(out_channels)) if shortcut_bn else conv

    def forward(self, x):
        h = self.conv2(F.relu(self.bn1(self.conv1(x))))
        if self.add == "before_bn":
            return F.relu(self.bn2(h + self.shortcut(x)))
        h = self.bn2(h)
        if self.add == "after_relu":
            return F.relu(h) + self.shortcut(x)
        return F.relu(h + self.shortcut(x)) if self.final_relu else h + self.shortcut(x)


def residual(**bug):
    return lambda C, K, stride=1: Residual(C, K, stride, **bug)


class BatchStatsAlways(nn.BatchNorm2d):
    """BN that normalises with the batch's statistics in eval mode too (F.batch_norm(training=True))."""

    def forward(self, x):
        return F.batch_norm(x, None, None, self.weight, self.bias, training=True, eps=self.eps)


class RunningStatsAlways(nn.BatchNorm2d):
    """BN that uses the running statistics in train mode too."""

    def forward(self, x):
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, training=False,
                            eps=self.eps)


def inception_cost(C, c1, c2, c3, c4, h, w, *, bias=True, reductions=True, projection=True, mac_bias=False):
    convs = [(C, c1, 1), (C, c2[0], 1), (c2[0], c2[1], 3), (C, c3[0], 1), (c3[0], c3[1], 5), (C, c4, 1)]
    if not reductions:
        convs = [convs[0], (C, c2[1], 3), (C, c3[1], 5), convs[5]]
    if not projection:
        convs = convs[:-1]
    weights = sum(k * c * f * f for c, k, f in convs)
    biases = sum(k for _, k, _ in convs)
    params = weights + (biases if bias else 0)
    return params, h * w * (params if mac_bias else weights)


def residual_cost(C, K, stride, h, w, *, bn=True, projection=None, out=None):
    if projection is None:
        projection = stride != 1 or C != K
    h2, w2 = out(h, w, stride) if out else ((h - 1) // stride + 1, (w - 1) // stride + 1)
    weights = 9 * C * K + 9 * K * K + (C * K if projection else 0)
    return weights + (2 * K * (3 if projection else 2) if bn else 0), h2 * w2 * weights


def resnet18_cost(size, num_classes, *, block=residual_cost, fc_bias=True):
    s = (size - 1) // 2 + 1
    params, macs = 3 * 64 * 49 + 128, s * s * 3 * 64 * 49
    s = (s - 1) // 2 + 1
    c = 64
    for k, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        for b in range(2):
            S = stride if b == 0 else 1
            p, m = block(c, k, S, s, s)
            params, macs, c, s = params + p, macs + m, k, (s - 1) // S + 1
    return params + 512 * num_classes + (num_classes if fc_bias else 0), macs + 512 * num_classes


def resnet18_layers():
    layers = [(7, 2), (3, 2)]
    for stride in (1, 2, 2, 2):
        layers += [(3, stride), (3, 1), (3, 1), (3, 1)]
    return layers


SOLUTIONS = {
    "modern.nin_sizes": nin_sizes, "modern.nin_cost": nin_cost, "modern.inception": inception(), "modern.inception_cost": inception_cost,
    "modern.residual": residual(), "modern.residual_cost": residual_cost, "modern.resnet18_cost": resnet18_cost,
    "modern.resnet18_layers": resnet18_layers, "modern.q_nested": lambda: "b",
}


@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_solution_and_reference_pass(exercise_id):
    answers = [SOLUTIONS[exercise_id]] + ([] if exercise_id == "modern.q_nested" else [get_reference(exercise_id)])
    for answer in answers:
        result = run_check(exercise_id, answer)
        assert result.status == PASSED, result.message


@pytest.mark.parametrize("exercise_id", EXERCISES)
def test_not_implemented_is_recognised(exercise_id):
    assert run_check(exercise_id, _not_implemented).status == NOT_ATTEMPTED


@pytest.mark.parametrize("exercise_id, solution, unfinished", [
    ("modern.nin_sizes", nin_sizes, lambda n: n == 227),
    ("modern.inception_cost", inception_cost, lambda C, *rest: C == 3),
    ("modern.nin_cost", nin_cost, lambda k: k == 100),
    ("modern.residual_cost", residual_cost, lambda C, K, stride, h, w: stride == 2),
    ("modern.resnet18_cost", resnet18_cost, lambda size, classes: size == 97),
    ("modern.inception", inception(), lambda C, *rest: C == 192),
    ("modern.residual", residual(), lambda C, K, stride=1: stride == 2),
])
def test_partly_written_answer_fails(exercise_id, solution, unfinished):
    assert_rejected(exercise_id, partly_written(solution, unfinished), "only partly written")


# ------------------------------------------------------------------------------------------------ the references
def test_closed_forms_match_the_published_networks():
    """The check's closed forms agree with utils.nets (whose counts the chapter prints)."""
    assert count_parameters(resnet18()) == _resnet18_cost(224, 1000)[0] == 11_689_512
    assert count_parameters(googlenet()) == 6_998_552
    model = nin().eval()
    sizes, h = [], torch.zeros(1, 3, 224, 224)
    for layer in list(model)[:8]:
        h = layer(h)
        if not isinstance(layer, nn.Dropout):
            sizes.append(h.shape[-1])
    assert tuple(sizes) == _nin_sizes(224) == (54, 26, 26, 12, 12, 5, 5)
    from utils.receptive_field import receptive_field
    assert receptive_field(_resnet18_layers()) == 435


def test_resnet18_multiply_adds_match_a_hook_count():
    model, total = resnet18().eval(), []

    def count(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            total.append(output[0].numel() * module.in_channels * module.kernel_size[0] * module.kernel_size[1])
        elif isinstance(module, nn.Linear):
            total.append(module.in_features * module.out_features)

    for module in model.modules():
        module.register_forward_hook(count)
    with torch.no_grad():
        model(torch.zeros(1, 3, 96, 96))
    assert sum(total) == _resnet18_cost(96, 1000)[1]


# ------------------------------------------------------------------------------------------------ planted bugs
@pytest.mark.parametrize("mutant, hint", [
    (lambda n: nin_sizes(n, pool=lambda a: a // 2), "(n - 3) // 2 + 1"),
    (lambda n: nin_sizes(n, first=lambda n: (n + 4 - 11) // 4 + 1), "stride 4 and no padding"),
    (lambda n: list(nin_sizes(n)[::2]), "after each of the 7 layers"),
])
def test_nin_sizes_mutants(mutant, hint):
    assert_rejected("modern.nin_sizes", mutant, hint)


@pytest.mark.parametrize("mutant, hint", [
    (lambda k: nin_cost(k, bias=False), "count the biases"),
    (lambda k: nin_cost(k, one_by_one=1), "two 1x1 convolutions"),
    (lambda k: nin_cost(k, last_1x1=False), "the last block is a full NiN block"),
    (lambda k: nin_cost(k)[::-1], "in the order (parameters, multiply_adds)"),
])
def test_nin_cost_mutants(mutant, hint):
    assert_rejected("modern.nin_cost", mutant, hint)


def test_nin_cost_matches_the_summary_of_nin():
    from utils.nets.summary import summary

    table = summary(nin(num_classes=10), (1, 3, 224, 224))
    assert nin_cost(10) == (table.total_parameters, table.total_multiply_adds)


@pytest.mark.parametrize("mutant, hint", [
    (inception(order=(1, 0, 2, 3)), "torch.cat([b1, b2, b3, b4], dim=1)"),
    (inception(order=(0, 1, 3, 2)), "torch.cat([b1, b2, b3, b4], dim=1)"),
    (inception(relu_off=0), "followed by a ReLU (its negative outputs become 0)"),
    (inception(relu_off=2), "followed by a ReLU (its negative outputs become 0)"),
    (inception(relu_off=5), "followed by a ReLU (its negative outputs become 0)"),
    (inception(relu_off=1), "the 1x1 reduction of this branch is followed by a ReLU"),
    (inception(relu_off=3), "the 1x1 reduction of this branch is followed by a ReLU"),
    (inception(projection=False), "branch 4 has a 1x1 convolution after the pooling"),
    (inception(pad3=0), "padding 1 for the 3x3 convolution"),
    (inception(pool="avg"), "branch 4 max-pools"),
    (inception(bias=False), "every convolution has a bias"),
    (inception(project_first=True), "branch 4 pools first, then its 1x1 projection"),
    (inception(functional_dropout=True), "the block has no batch normalization and no dropout, so train mode"),
    (lambda C, c1, c2, c3, c4: (lambda x: x), "expected a torch nn.Module"),
])
def test_inception_mutants(mutant, hint):
    message = assert_rejected("modern.inception", mutant, hint)
    assert "Inception(" in message


def test_inception_with_extra_bn_and_dropout_is_rejected_naming_the_layers():
    # eval mode alone accepts them: BatchNorm2d(affine=False) is x / sqrt(1 + 1e-5) there, Dropout the identity
    message = assert_rejected("modern.inception", inception(extra=True), "no batch normalization and no dropout")
    assert "b1_bn (BatchNorm2d)" in message and "b2_drop (Dropout)" in message


def test_inception_order_names_the_branch_found_in_place_of_another():
    message = assert_rejected("modern.inception", inception(order=(1, 0, 2, 3)), "torch.cat([b1, b2, b3, b4]")
    assert "channels 0-1 = branch 1" in message and "hold what branch 2" in message


def test_inception_failure_names_the_branch():
    message = assert_rejected("modern.inception", inception(relu_off=4), "followed by a ReLU")
    assert "branch 3 (1x1 reduction, 5x5 conv)" in message
    message = assert_rejected("modern.inception", inception(pool="avg"), "max-pools")
    assert "branch 4 (3x3 max pooling, 1x1 conv)" in message


class InceptionSequentialSwap(nn.Module):
    """Layers created in the right order, branches 3 and 4 swapped only in forward: caught on random weights."""

    def __init__(self, C, c1, c2, c3, c4):
        super().__init__()
        self.inner = Inception(C, c1, c2, c3, c4)

    def forward(self, x):
        y = self.inner(x)
        return torch.flip(y, dims=[1])


def test_inception_reversed_channels_is_rejected():
    assert_rejected("modern.inception", InceptionSequentialSwap, "")


@pytest.mark.parametrize("mutant, hint", [
    (residual(add="before_bn"), "add the shortcut after bn2"),
    (residual(add="after_relu"), "ReLU after the addition"),
    (residual(final_relu=False), "ReLU after the addition"),
    (residual(shortcut_stride=1), "the 1x1 shortcut takes the block's stride"),
    (residual(projection=True), "its shortcut is the identity, no 1x1"),
    (lambda C, K, stride=1: Residual(C, K, stride, projection=C != K), "the shapes differ (channels or stride)"),
    (residual(bn=BatchStatsAlways), "behaves as in train mode"),
    (residual(bn=RunningStatsAlways), "behaves as in eval mode"),
    (residual(bias=True), "the convolutions have no bias"),
    (residual(shortcut_bn=False), "followed by its own BN"),
    (lambda C, K, stride=1: nn.Conv2d(C, K, 3, stride, 1), "expected parameter shapes"),
])
def test_residual_mutants(mutant, hint):
    message = assert_rejected("modern.residual", mutant, hint)
    assert "Residual(" in message


def test_residual_eval_mode_confusion_with_track_running_stats_false():
    bn = lambda k: nn.BatchNorm2d(k, track_running_stats=False)
    assert_rejected("modern.residual", residual(bn=bn), "behaves as in train mode")


@pytest.mark.parametrize("mutant, hint", [
    (lambda *a: inception_cost(*a, bias=False), "count each convolution's biases"),
    (lambda *a: inception_cost(*a, reductions=False), "read the c2[0] and c3[0] channels"),
    (lambda *a: inception_cost(*a, projection=False), "the pool branch has a 1x1 convolution"),
    (lambda *a: inception_cost(*a, mac_bias=True), "multiply-adds count only products with weights"),
    (lambda *a: list(inception_cost(*a)[::-1]), "in the order (parameters, multiply_adds)"),
    (lambda *a: tuple(float(v) for v in inception_cost(*a)), "should be an int"),
])
def test_inception_cost_mutants(mutant, hint):
    assert_rejected("modern.inception_cost", mutant, hint)


@pytest.mark.parametrize("mutant, hint", [
    (lambda *a: residual_cost(*a, bn=False), "count the BN parameters too"),
    (lambda C, K, s, h, w: residual_cost(C, K, s, h, w, projection=True), "its shortcut is the identity"),
    (lambda C, K, s, h, w: residual_cost(C, K, s, h, w, projection=C != K), "the shortcut's 1x1 convolution and its BN"),
    (lambda *a: residual_cost(*a, out=lambda h, w, s: (h // s, w // s)), "floor((h - 1) / S) + 1"),
])
def test_residual_cost_mutants(mutant, hint):
    assert_rejected("modern.residual_cost", mutant, hint)


def residual_cost_without_shortcut_bn(C, K, stride, h, w):
    params, macs = residual_cost(C, K, stride, h, w)
    return params - (2 * K if stride != 1 or C != K else 0), macs


@pytest.mark.parametrize("mutant, hint", [
    (residual_cost_without_shortcut_bn, "the 1x1 shortcut has its own BN"),
])
def test_residual_cost_shortcut_bn_mutant(mutant, hint):
    assert_rejected("modern.residual_cost", mutant, hint)


@pytest.mark.parametrize("mutant, hint", [
    (lambda size, k: resnet18_cost(size, k, block=lambda *a: residual_cost(*a, bn=False)), "count the BN parameters"),
    (lambda size, k: resnet18_cost(size, k, block=lambda C, K, s, h, w: residual_cost(C, K, s, h, w, projection=False)),
     "whose shortcut is a 1x1 convolution"),
    (lambda size, k: resnet18_cost(size, k, fc_bias=False), "the dense layer has a bias"),
])
def test_resnet18_cost_mutants(mutant, hint):
    assert_rejected("modern.resnet18_cost", mutant, hint)


def resnet18_cost_floor_halving(size, num_classes):
    """The answer of the cold read (1.1): n // 2 at every stride 2, right only for sizes that are multiples of 32."""
    s = size // 2
    params, macs = 64*3*49 + 128, s*s*64*3*49
    s = s // 2
    c = 64
    for width, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        for first in (True, False):
            st = stride if first else 1
            p, m = residual_cost(c, width, st, s, s)
            params += p
            macs += m
            c, s = width, s // st
    return params + 513 * num_classes, macs + 512 * num_classes


def test_resnet18_cost_floor_halving_is_rejected_on_an_odd_size():
    assert resnet18_cost_floor_halving(225, 10)[1] == 1_813_566_464
    assert resnet18_cost(225, 10)[1] == 2_048_876_736
    message = assert_rejected("modern.resnet18_cost", resnet18_cost_floor_halving, "n // 2 is right for even n only")
    assert "size=225" in message


def test_resnet18_cost_stem_bias_is_rejected():
    with_bias = lambda size, k: (resnet18_cost(size, k)[0] + 64, resnet18_cost(size, k)[1])
    assert_rejected("modern.resnet18_cost", with_bias, "the stem convolution has no bias")


@pytest.mark.parametrize("exercise_id, source", [
    ("modern.nin_cost", "def nin_cost(k):\n    t = summary(nin(k), (1, 3, 224, 224))\n"
                        "    return t.total_parameters, t.total_multiply_adds\n"),
    ("modern.resnet18_cost", "def resnet18_cost(size, k):\n    t = summary(resnet18(k), (1, 3, size, size))\n"
                             "    return t.total_parameters, t.total_multiply_adds\n"),
    ("modern.residual_cost", "import utils.nets.resnet as R\ndef residual_cost(C, K, S, h, w):\n"
                             "    return summary(R.Residual(C, K, S), (1, C, h, w))\n"),
    ("modern.inception_cost", "from utils.nets import Inception\ndef inception_cost(C, c1, c2, c3, c4, h, w):\n"
                              "    return summary(Inception(C, c1, c2, c3, c4), (1, C, h, w))\n"),
])
def test_answers_that_call_the_workbooks_networks_are_flagged(exercise_id, source):
    from utils.grading.references import static_uses

    setup = ("from utils.nets.nin import count_parameters, nin, nin_fashion\n"
             "from utils.nets.resnet import plain_stack, resnet18, resnet_fashion\n"
             "from utils.nets.summary import summary\n")
    assert "utils.nets.summary.summary" in static_uses(exercise_id, source, setup)


@pytest.mark.parametrize("mutant, hint", [
    (lambda: resnet18_layers()[:1] + resnet18_layers()[2:], "the 3x3 max pooling"),
    (lambda: resnet18_layers() + [(1, 2)], "the 1x1 shortcuts are a parallel path"),
    (lambda: [(7, 2), (3, 2)] + [p for s in (1, 2, 2, 2) for p in [(3, 1), (3, s), (3, 1), (3, 1)]],
     "belongs to its first convolution"),
    (lambda: [(7, 2), (3, 2)] + [(3, s) for s in (1, 1, 2, 1, 2, 1, 2, 1)], "list each convolution"),
])
def test_resnet18_layers_mutants(mutant, hint):
    assert_rejected("modern.resnet18_layers", mutant, hint, names_case=False)


@pytest.mark.parametrize("mutant, hint", [
    (lambda: "a", "training need not find it"),
    (lambda: "c", "cannot pass all C channels on"),
    (lambda: "d", "nothing guarantees"),
    (lambda: 2, "answer 'a', 'b', 'c' or 'd'"),
])
def test_q_nested_mutants(mutant, hint):
    assert_rejected("modern.q_nested", mutant, hint, names_case=False)


# ------------------------------------------------------------------------------------------- utils.nets (chapter 10)
@pytest.mark.parametrize("make", [nin_fashion, googlenet_fashion, resnet_fashion])
def test_fashion_variants_score_28x28_images_without_upsampling(make):
    model = make().eval()
    with torch.no_grad():
        assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_the_blocks_of_utils_nets_pass_their_checks_and_keep_their_shapes():
    assert run_check("modern.inception", NetInception).status == PASSED
    assert run_check("modern.residual", lambda C, K, stride=1: NetResidual(C, K, stride)).status == PASSED
    for options in ({}, {"residual": True}, {"batch_norm": True}):
        model = plain_stack(depth=20, **options)
        weights = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        assert len(weights) == 20 and model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
