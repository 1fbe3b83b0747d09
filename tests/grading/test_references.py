"""Answers that call the workbook's own implementation: declarations, static detection, the runtime tripwire,
and the "From `utils` you may use" line of every exercise spec (issue 15, item 7)."""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path

import nbformat
import numpy as np
import pytest

from utils.checks.core import (REFERENCE_LOOKUPS, _BUILDS_ON, _IMPLEMENTED_BY, _MAY_USE, get_reference,
                               implemented_by, may_use, registered_ids, run_check)
from utils.grading.references import (TAMPERED, Tripwire, allowed_helpers, forbidden_references, not_yours,
                                      not_yours_message, resolve, static_uses)

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted([*(ROOT / "solutions").glob("0[0-9]_*.ipynb"), *(ROOT / "solutions").glob("10_*.ipynb")])
MARK = "*From `utils` you may use:*"

CH02 = "utils.checks.ch02_convolution_and_channels"
CH04 = "utils.checks.ch04_pooling"
CH08 = "utils.checks.ch08_batch_normalization"
MAX_FAST = "utils.layers.pooling.max_pool_forward_fast"
GET_REFERENCE, YOURS_OR_REFERENCE, REGISTRY = REFERENCE_LOOKUPS
CH06_SETUP = ("from utils.checks import check, yours_or_reference\n"
              "from utils.layers import conv_forward_fast, max_pool_forward_fast\n")


def _exercise_cells(path: Path):
    """(exercise id, spec markdown, exercise source, setup sources) of a solution notebook's code exercises."""
    nb = nbformat.read(path, as_version=4)
    setup = [c.source for c in nb.cells if c.cell_type == "code" and c.metadata.get("workbook", {}).get("setup")]
    for index, cell in enumerate(nb.cells):
        exercise_id = cell.metadata.get("workbook", {}).get("id")
        if cell.cell_type == "code" and exercise_id:
            yield exercise_id, nb.cells[index - 1].source, cell.source, setup


SOLUTION_CELLS = [pytest.param(*cell, id=cell[0]) for path in SOLUTIONS for cell in _exercise_cells(path)]
CHAPTER_IDS = sorted(cell.values[0] for cell in SOLUTION_CELLS)


# ------------------------------------------------------------------------------------------------- declarations
def test_every_exercise_of_chapters_00_to_10_is_declared_and_checked():
    assert set(CHAPTER_IDS) <= set(registered_ids())
    assert len(CHAPTER_IDS) == 79


@pytest.mark.parametrize("exercise_id", CHAPTER_IDS)
def test_forbidden_references_name_the_reference_and_resolve(exercise_id):
    names = forbidden_references(exercise_id)
    try:
        reference = get_reference(exercise_id)
    except KeyError:
        reference = None
    if reference is not None:
        assert names[0] == f"{reference.__module__}.{reference.__qualname__}"
        assert resolve(names[0]) is reference
    assert set(REFERENCE_LOOKUPS) <= set(names)
    assert len(names) == len(set(names))
    unresolved = [name for name in names + allowed_helpers(exercise_id) if resolve(name) is None]
    assert unresolved == []


@pytest.mark.parametrize("exercise_id", CHAPTER_IDS)
def test_no_allowed_helper_is_also_forbidden(exercise_id):
    forbidden = {id(resolve(name)) for name in forbidden_references(exercise_id)}
    assert [name for name in allowed_helpers(exercise_id) if id(resolve(name)) in forbidden] == []


def test_builds_on_forbids_what_the_spec_asks_you_to_reuse():
    # "use your corr2d": the workbook's corr2d (and the layers that compute it) are not yours in convolve2d
    convolve = set(forbidden_references("conv.convolve2d"))
    assert {f"{CH02}.corr2d", "utils.layers.convolution.conv_forward_fast"} <= convolve
    # conv2d reuses multi_in, which reuses corr2d
    assert f"{CH02}.ref_corr2d" in forbidden_references("conv.conv2d")
    sgd = forbidden_references("backprop.sgd_step")
    assert {"utils.numpy_cnn.sgd_step", "utils.layers.convolution.conv_backward_fast",
            "utils.layers.losses.softmax_cross_entropy"} <= set(sgd)
    assert allowed_helpers("backprop.sgd_step") == ("utils.layers.conv_forward_fast",
                                                    "utils.layers.max_pool_forward_fast")


def test_a_reference_registered_twice_over_builds_on_is_listed_once():
    # pad.conv2d and pad.conv_fast compute the same layer: each forbids the other's reference, once
    names = forbidden_references("pad.conv_fast")
    assert names.count("utils.layers.convolution.im2col") == 1
    assert "utils.checks.ch03_padding_stride_dilation._conv2d_reference" in names


# ----------------------------------------------------------------------------------------------------- spec lines
def _spec_names(spec: str) -> list[str] | None:
    lines = [line for line in spec.splitlines() if line.startswith(MARK)]
    if len(lines) != 1:
        return None
    rest = lines[0][len(MARK):]
    return re.findall(r"`([^`]+)`", rest)


@pytest.mark.parametrize("exercise_id, spec, source, setup", SOLUTION_CELLS)
def test_every_spec_says_what_it_may_use_from_utils(exercise_id, spec, source, setup):
    names = _spec_names(spec)
    assert names is not None, f"{exercise_id}: the spec needs exactly one line starting with {MARK!r}"
    assert tuple(names) == allowed_helpers(exercise_id)
    line = next(line for line in spec.splitlines() if line.startswith(MARK))
    assert ("nothing beyond numpy/torch" in line) == (not names)


def test_the_student_version_keeps_the_spec_lines():
    for path in SOLUTIONS:
        student = nbformat.read(ROOT / "chapters" / path.name, as_version=4)
        count = sum(cell.source.count(MARK) for cell in student.cells if cell.cell_type == "markdown")
        assert count == sum(1 for _ in _exercise_cells(path)), path.name


# ----------------------------------------------------------------------------------------------- static detection
POOL_SIGNATURE = "def max_pool2d(x, kernel_size, stride=None, padding=0):\n"
STATIC_FORMS = {
    "direct": ("pool.max_pool2d",
               "from utils.layers.pooling import max_pool_forward_fast\n" + POOL_SIGNATURE
               + "    return max_pool_forward_fast(x, kernel_size, stride, padding)[0]\n", [MAX_FAST]),
    "alias": ("pool.max_pool2d",
              "from utils.layers.pooling import max_pool_forward_fast as mp\n" + POOL_SIGNATURE
              + "    return mp(x, kernel_size, stride, padding)[0]\n", [MAX_FAST]),
    "module alias, package re-export": ("pool.max_pool2d",
                                        "import utils.layers as L\n" + POOL_SIGNATURE
                                        + "    return L.max_pool_forward_fast(x, kernel_size)[0]\n", [MAX_FAST]),
    "module alias, submodule": ("pool.max_pool2d",
                                "import utils.layers as L\n" + POOL_SIGNATURE
                                + "    return L.pooling.max_pool_forward_naive(x, kernel_size)[0]\n",
                                ["utils.layers.pooling.max_pool_forward_naive"]),
    "plain import": ("pool.max_pool2d",
                     "import utils.layers.pooling\n" + POOL_SIGNATURE
                     + "    return utils.layers.pooling.max_pool_forward_fast(x, kernel_size)[0]\n", [MAX_FAST]),
    "get_reference": ("pool.max_pool2d",
                      "from utils.checks.core import get_reference\n" + POOL_SIGNATURE
                      + "    return get_reference('pool.max_pool2d')(x, kernel_size, stride, padding)\n",
                      sorted([GET_REFERENCE, f"{CH04}.max_pool2d"])),
    "check module": ("pool.max_pool2d",
                     "from utils.checks import ch04_pooling\n" + POOL_SIGNATURE
                     + "    return ch04_pooling.max_pool2d(x, kernel_size, stride, padding)\n", [f"{CH04}.max_pool2d"]),
    "check module's private reference": ("pool.max_pool2d",
                                         "from utils.checks import ch04_pooling as c\n" + POOL_SIGNATURE
                                         + "    return c._torch_max(x, kernel_size, stride, padding)\n",
                                         [f"{CH04}._torch_max"]),
    "the registry of references": ("pool.avg_pool2d",
                                   "from utils.checks.core import _REFERENCES as refs\n"
                                   "def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad=True):\n"
                                   "    return refs.get('pool.avg_pool2d')(x, kernel_size, stride, padding)\n",
                                   sorted([REGISTRY, f"{CH04}.avg_pool2d"])),
    "a module's __dict__": ("pool.avg_pool2d",
                            "import utils.layers.pooling as P\n"
                            "def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad=True):\n"
                            "    return P.__dict__['avg_pool_forward_naive'](x, kernel_size, stride, padding)[0]\n",
                            ["utils.layers.pooling.avg_pool_forward_naive"]),
    "wrapper": ("bn.forward",
                "from utils.layers import batchnorm as layers\n\n"
                "def _normalise(x, gamma, beta, eps):\n"
                "    return layers.batchnorm_forward(x, gamma, beta, eps)[0]\n\n"
                "def batchnorm_forward(x, gamma, beta, eps=1e-5):\n"
                "    return _normalise(x, gamma, beta, eps)\n", ["utils.layers.batchnorm.batchnorm_forward"]),
    "yours_or_reference from the setup cell": ("conv.corr2d",
                                               "def corr2d(x, k):\n"
                                               "    return yours_or_reference('conv.corr2d', None)(x, k)\n",
                                               sorted([YOURS_OR_REFERENCE, f"{CH02}.corr2d"])),
    "getattr and importlib with literal names": ("bn.eval",
                                                 "import importlib\n"
                                                 "def batchnorm_eval(x, mean, var, gamma, beta, eps=1e-5):\n"
                                                 "    module = importlib.import_module('utils.layers.batchnorm')\n"
                                                 "    return getattr(module, 'batchnorm_eval')(x, mean, var, gamma,"
                                                 " beta)\n",
                                                 ["utils.layers.batchnorm.batchnorm_eval"]),
    "sys.modules": ("bn.fold",
                    "import sys\n"
                    "def fold_into_conv(w, b, gamma, beta, mean, var, eps=1e-5):\n"
                    "    return sys.modules['utils.layers.batchnorm'].fold_into_conv(w, b, gamma, beta, mean, var)\n",
                    ["utils.layers.batchnorm.fold_into_conv"]),
    "star import": ("backprop.conv_backward",
                    "from utils.layers import *\n"
                    "def conv_backward(dout, x, w, stride=1, pad=0, dilation=1):\n"
                    "    _, cache = conv_forward_fast(x, w, np.zeros(len(w)), stride, pad, dilation)\n"
                    "    return conv_backward_fast(dout, cache)\n", ["utils.layers.convolution.conv_backward_fast"]),
    "an alias of an alias": ("reg.max_norm",
                             "import utils\n"
                             "layers = utils\n"
                             "regular = layers.regularization\n"
                             "def max_norm(w, c):\n"
                             "    return regular.max_norm(w, c)\n", ["utils.regularization.max_norm"]),
    "a class whose method does it": ("backprop.sgd_step",
                                     "from utils.numpy_cnn import NumpyCNN\n"
                                     "def sgd_step(params, x, y, lr):\n"
                                     "    return NumpyCNN.step(params, x, y, lr)\n", ["utils.numpy_cnn.NumpyCNN"]),
    "the reference of an exercise it builds on": ("conv.convolve2d",
                                                  "from utils.checks import get_reference\n"
                                                  "def convolve2d(x, k):\n"
                                                  "    return get_reference('conv.corr2d')(x, k[::-1, ::-1])\n",
                                                  sorted([GET_REFERENCE, f"{CH02}.corr2d"])),
    "an IPython magic does not hide it": ("pool.max_pool2d",
                                          "%load_ext autoreload\n!echo hi\n"
                                          "from utils.checks.ch04_pooling import max_pool2d\n",
                                          [f"{CH04}.max_pool2d"]),
    "sgd_step computing the backward pass with the workbook's layers": (
        "backprop.sgd_step",
        "from utils.layers import conv_backward_fast\n"
        "def sgd_step(params, x, y, lr):\n"
        "    a1, cache = conv_forward_fast(x, params['w1'], params['b1'], stride=1, pad=1)\n"
        "    return conv_backward_fast(a1, cache)\n", ["utils.layers.convolution.conv_backward_fast"]),
}


@pytest.mark.parametrize("exercise_id, source, expected", STATIC_FORMS.values(), ids=list(STATIC_FORMS))
def test_static_uses_finds_every_form(exercise_id, source, expected):
    setup = CH06_SETUP if exercise_id.startswith("backprop") else "from utils.checks import check, yours_or_reference"
    assert static_uses(exercise_id, source, setup) == expected


CLEAN_FORMS = {
    "the allowed helpers of sgd_step, from the setup cell": (
        "backprop.sgd_step",
        "def sgd_step(params, x, y, lr):\n"
        "    a1, _ = conv_forward_fast(x, params['w1'], params['b1'], stride=1, pad=1)\n"
        "    m1, _ = max_pool_forward_fast(np.maximum(a1, 0), 2)\n"
        "    return m1\n"),
    "the allowed helper of conv_transpose, imported in the cell": (
        "backprop.conv_transpose",
        "import utils.layers as L\n"
        "def dx_by_transposed_conv(dout, w, x_shape, stride=1, pad=0, dilation=1):\n"
        "    return L.conv_forward_fast(dout, w, np.zeros(x_shape[1]))[0]\n"),
    "data and plotting helpers": (
        "pool.shift_invariance",
        "from utils.data import load_fashion_mnist\nfrom utils.plotting import show_signed\n"
        "def fraction_unchanged(images, kernel_size):\n"
        "    return float(F.max_pool2d(torch.tensor(load_fashion_mnist('test')[0][:2]), kernel_size).mean())\n"),
    "another exercise's helper: the workbook's max pooling in the shift-invariance experiment": (
        "pool.shift_invariance",
        "from utils.layers import max_pool_forward_fast\n"
        "def fraction_unchanged(images, kernel_size):\n"
        "    return float(max_pool_forward_fast(images[:, None], kernel_size)[0].mean())\n"),
    "an own function named like the workbook's, shadowing the setup import": (
        "pool.max_pool2d",
        "def max_pool_forward_fast(x, k):\n"
        "    return x\n"
        + POOL_SIGNATURE + "    return max_pool_forward_fast(x, kernel_size)\n"),
    "a star import whose forbidden name the cell defines itself": (
        "backprop.relu_backward",
        "from utils.layers import *\n"
        "def relu_backward(dout, x):\n"
        "    return dout * (x > 0)\n"),
    "a syntax error": ("pool.max_pool2d", "def max_pool2d(x:\n"),
    "an empty cell": ("pool.max_pool2d", ""),
    "names that lead nowhere": ("pool.max_pool2d",
                                "import utils\n" + POOL_SIGNATURE
                                + "    return utils.no_such_module.max_pool(x), getattr(x, name)\n"),
}


@pytest.mark.parametrize("exercise_id, source", CLEAN_FORMS.values(), ids=list(CLEAN_FORMS))
def test_static_uses_has_no_false_positives(exercise_id, source):
    setup = CH06_SETUP + "from utils.layers import max_pool_forward_fast\n"
    assert static_uses(exercise_id, source, setup) == []


def test_an_alias_made_in_an_earlier_cell_is_seen_in_the_cell_that_uses_it():
    earlier = "import utils.layers as L\npool = L.max_pool_forward_fast\n"
    cell = POOL_SIGNATURE + "    return pool(x, kernel_size)[0]\n"
    assert static_uses("pool.max_pool2d", cell, [CH06_SETUP, earlier]) == [MAX_FAST]
    assert static_uses("pool.output_shape", earlier) == []  # the earlier cell's own exercise may hold it
    assert static_uses("pool.max_pool2d", "pool = 3\n" + cell, [earlier]) == []


def test_a_reference_of_an_unrelated_exercise_names_the_lookup_only():
    source = ("from utils.checks import get_reference\n" + POOL_SIGNATURE
              + "    count = get_reference('conv.param_count')\n    return x\n")
    assert static_uses("pool.max_pool2d", source) == [GET_REFERENCE]


def test_a_student_source_never_makes_the_judge_import_a_module():
    before = set(sys.modules)
    source = ("import utils.cli\nimport utils.__main__\nfrom utils.grading import runner\n"
              "from utils.data import make_subset\n"
              "from utils.jupyter_kernel import *\nimport utils.no_such_module as m\nutils.cli.main()\n")
    assert static_uses("pool.max_pool2d", source) == []
    assert sorted(name for name in set(sys.modules) - before if name.startswith("utils")) == []


@pytest.mark.parametrize("exercise_id, spec, source, setup", SOLUTION_CELLS)
def test_the_solutions_own_exercise_cells_are_clean(exercise_id, spec, source, setup):
    assert static_uses(exercise_id, source, setup) == []


# ------------------------------------------------------------------------------------------------- runtime tripwire
@pytest.fixture(scope="module")
def tripwire():
    wire = Tripwire()
    wire.install(["pool.max_pool2d", "backprop.sgd_step", "bn.forward"])
    return wire


X = np.arange(2 * 3 * 6 * 4, dtype=float).reshape(2, 3, 6, 4) % 7


def _watched(tripwire, exercise_id, fn, *args):
    with tripwire.watch(exercise_id) as hits:
        result = fn(*args)
    return result, hits


def test_tripwire_catches_a_direct_call_and_an_alias(tripwire):
    from utils.layers.pooling import max_pool_forward_fast as pool

    _, hits = _watched(tripwire, "pool.max_pool2d", lambda x: pool(x, 2)[0], X)
    assert hits == {MAX_FAST}
    _, hits = _watched(tripwire, "pool.max_pool2d", lambda x: get_reference("pool.max_pool2d")(x, 2), X)
    assert hits == {GET_REFERENCE, f"{CH04}.max_pool2d", MAX_FAST}


def test_tripwire_catches_names_built_at_run_time(tripwire):
    def cheat(x):
        import importlib

        module = importlib.import_module("utils.layers." + "pool" + "ing")
        return getattr(module, "_".join(["max", "pool", "forward", "naive"]))(x, 2)[0]

    result, hits = _watched(tripwire, "pool.max_pool2d", cheat, X)
    assert hits == {"utils.layers.pooling.max_pool_forward_naive"}
    assert result.shape == (2, 3, 3, 2)


def test_tripwire_catches_a_wrapper_and_a_class(tripwire):
    from utils.numpy_cnn import NumpyCNN

    def helper(x, gamma, beta):
        from utils.layers import batchnorm

        return batchnorm.batchnorm_forward(x, gamma, beta)[0]

    def batchnorm_forward(x, gamma, beta, eps=1e-5):
        return helper(x, gamma, beta)

    _, hits = _watched(tripwire, "bn.forward", batchnorm_forward, X[0, 0], np.ones(4), np.zeros(4))
    assert hits == {"utils.layers.batchnorm.batchnorm_forward"}

    _, hits = _watched(tripwire, "backprop.sgd_step", NumpyCNN, (1, 8, 8), (2, 2), 3)
    assert hits == {"utils.numpy_cnn.NumpyCNN"}  # its __init__ ran: a class's methods are watched


def test_tripwire_catches_a_call_in_a_thread_the_answer_started(tripwire):
    from utils.layers import max_pool_forward_fast

    def threaded(x):
        worker = threading.Thread(target=max_pool_forward_fast, args=(x, 2))
        worker.start()
        worker.join()
        return x

    _, hits = _watched(tripwire, "pool.max_pool2d", threaded, X)
    assert hits == {MAX_FAST}


def test_tripwire_does_not_fire_for_allowed_helpers_or_own_code(tripwire):
    from utils.layers import conv_forward_fast, max_pool_forward_fast

    def forward(x):
        a, _ = conv_forward_fast(x, np.ones((2, 3, 3, 3)), np.zeros(2), stride=1, pad=1)
        return max_pool_forward_fast(np.maximum(a, 0), 2)[0]

    _, hits = _watched(tripwire, "backprop.sgd_step", forward, X)
    assert hits == set()

    def own_loop(x):
        out = np.zeros(x.shape[:2])
        for n in range(x.shape[0]):
            for c in range(x.shape[1]):
                out[n, c] = max(float(v) for v in x[n, c].ravel())
        return out

    _, hits = _watched(tripwire, "pool.max_pool2d", own_loop, X)
    assert hits == set()


@pytest.fixture
def scratch_declarations():
    """A made-up exercise whose allowed helper calls one of its forbidden functions internally."""
    exercise_id = "test.allowed_calls_forbidden"
    implemented_by(exercise_id, "utils.layers.convolution.im2col")
    may_use(exercise_id, "utils.layers.conv_forward_fast")
    yield exercise_id
    for table in (_IMPLEMENTED_BY, _BUILDS_ON, _MAY_USE):
        table.pop(exercise_id, None)


def test_tripwire_ignores_forbidden_calls_made_inside_an_allowed_helper(scratch_declarations):
    from utils.layers import conv_forward_fast, im2col

    wire = Tripwire()
    w, b = np.ones((2, 3, 3, 3)), np.zeros(2)
    _, hits = _watched(wire, scratch_declarations, lambda x: conv_forward_fast(x, w, b)[0], X)
    assert hits == set()
    _, hits = _watched(wire, scratch_declarations, lambda x: im2col(x, (3, 3)), X)
    assert hits == {"utils.layers.convolution.im2col"}


def test_tripwire_chains_and_restores_the_previous_profiler(tripwire):
    from utils.layers import max_pool_forward_fast

    events = []

    def outer(frame, event, arg):
        if event == "call" and frame.f_code.co_name == "max_pool_forward_fast":
            events.append(event)

    previous_threads = threading.getprofile()
    sys.setprofile(outer)
    try:
        _, hits = _watched(tripwire, "pool.max_pool2d", lambda x: max_pool_forward_fast(x, 2), X)
        assert sys.getprofile() is outer
    finally:
        sys.setprofile(None)
    assert hits == {MAX_FAST}
    assert events == ["call"]  # the outer profiler kept seeing calls while the tripwire watched
    assert threading.getprofile() is previous_threads


def test_tripwire_reports_an_answer_that_switches_it_off(tripwire):
    from utils.layers import max_pool_forward_fast

    def evasive(x):
        sys.setprofile(None)
        return max_pool_forward_fast(x, 2)[0]

    _, hits = _watched(tripwire, "pool.max_pool2d", evasive, X)
    assert hits == {TAMPERED}
    assert sys.getprofile() is None


def test_tripwire_restores_the_profiler_when_the_answer_raises(tripwire):
    with pytest.raises(ZeroDivisionError):
        with tripwire.watch("pool.max_pool2d"):
            1 / 0
    assert sys.getprofile() is None


@pytest.fixture(scope="module")
def solution_functions():
    """The exercise functions of the solutions of chapters 04 and 06, as a grader's runner defines them."""
    namespace: dict = {"__name__": "__main__"}
    functions = {}
    for name in ("04_pooling.ipynb", "06_backpropagation.ipynb"):
        nb = nbformat.read(ROOT / "solutions" / name, as_version=4)
        for cell in nb.cells:
            workbook = cell.metadata.get("workbook", {})
            if cell.cell_type == "code" and (workbook.get("setup") or workbook.get("id")):
                exec(compile(cell.source, name, "exec"), namespace)
                if workbook.get("id"):
                    functions[workbook["id"]] = namespace[re.search(r"^def (\w+)", cell.source, re.M).group(1)]
    return functions


@pytest.mark.parametrize("exercise_id", ["pool.max_pool2d", "pool.shift_invariance", "backprop.sgd_step"])
def test_the_solutions_pass_their_checks_under_the_tripwire_without_a_hit(tripwire, solution_functions, exercise_id):
    seen: set[str] = set()

    def watched(*args, **kwargs):
        with tripwire.watch(exercise_id) as hits:
            result = solution_functions[exercise_id](*args, **kwargs)
        seen.update(hits)
        return result

    assert run_check(exercise_id, watched).status == "passed"
    assert seen == set()


def test_the_references_pass_their_checks_and_the_tripwire_names_them(tripwire):
    seen: set[str] = set()

    def cheat(*args, **kwargs):
        with tripwire.watch("backprop.sgd_step") as hits:
            result = get_reference("backprop.sgd_step")(*args, **kwargs)
        seen.update(hits)
        return result

    assert run_check("backprop.sgd_step", cheat).status == "passed"
    assert {"utils.numpy_cnn.sgd_step", "utils.numpy_cnn.loss_and_grads",
            "utils.layers.convolution.conv_backward_fast"} <= seen


def test_the_message_names_what_was_called():
    message = not_yours_message([MAX_FAST, GET_REFERENCE, MAX_FAST])
    assert message == ("not credited: the answer uses the workbook's own implementation "
                       f"(`{GET_REFERENCE}`, `{MAX_FAST}`) instead of computing the result itself; "
                       "the exercise's spec says which `utils` helpers you may use.")
    assert not_yours_message([TAMPERED]) == ("not credited: the answer switched off the grader's watch for the "
                                             "workbook's implementations (sys.setprofile) while it ran.")


def test_not_yours_joins_both_detectors_and_keeps_only_names_it_knows():
    cheat = "from utils.layers import max_pool_forward_fast\n" + POOL_SIGNATURE + "    return x\n"
    honest = POOL_SIGNATURE + "    return x\n"
    assert not_yours("pool.max_pool2d", honest) is None
    assert not_yours("pool.max_pool2d", honest, hits=["anything\nthe student's process says", "os.system"]) is None
    assert MAX_FAST in not_yours("pool.max_pool2d", cheat)
    message = not_yours("pool.max_pool2d", honest, hits=[f"{CH04}.max_pool2d", TAMPERED])
    assert f"`{CH04}.max_pool2d`" in message and "sys.setprofile" in message and "\n" not in message
