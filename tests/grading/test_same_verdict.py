"""A check gives the same verdict in a student's notebook and under the grader's trusted judge.

Each case is a planted mistake that exercises one way the judge's stand-in must behave like the answer
itself: an argument changed in place, an activation function (or a layer) of the check's that the student's
code calls back, a random generator whose draws the check predicts, a module the student builds, an answer
that is only partly written, a right answer on strided and Fortran-ordered inputs. For every case the chapter's
exercise cells and that exercise's check cell run in a fresh Jupyter kernel, as in the student's notebook,
and the same notebook is graded; the verdicts (status and message) must be the same.
"""

from __future__ import annotations

import copy

import nbformat
import pytest

from tests.grading import fixtures
from tests.notebook_outputs import errors, execute, stream_text
from utils.grading.discover import Submission
from utils.grading.grade import Limits, grade_submission

CASES = {
    "changes its input": ("00_getting_started", "warmup.slide",
                          "def slide_filter(x, w):\n    k = len(w)\n"
                          "    out = np.array([np.dot(w, x[i:i + k]) for i in range(len(x) - k + 1)])\n"
                          "    x[0] = 99\n    return out\n"),
    "ignores the callback": ("00_getting_started", "warmup.layer",
                             "def conv1d_layer(x, w, b, f):\n"
                             "    return np.stack([slide_filter(sequence, w) for sequence in x]) + b\n"),
    "calls the layer back, wrong shift": ("01_why_convolutions", "why.equivariance_error",
                                          "def equivariance_error(layer, x, dy, dx):\n"
                                          "    def shift(z):\n        return np.roll(z, (dx, dy), axis=(0, 1))\n"
                                          "    return layer(shift(x)) - shift(layer(x))\n"),
    "draws from the generator the other way": ("07_dropout_and_regularization", "dropout.forward",
                                               "def dropout_forward(x, keep_prob, train, rng):\n"
                                               "    x = np.asarray(x, dtype=float)\n    if not train:\n"
                                               "        return x, None\n"
                                               "    mask = rng.random(x.shape) >= 1 - keep_prob\n"
                                               "    return x * mask / keep_prob, mask\n"),
    "builds a module without its last ReLU": ("05_one_by_one_convolutions", "onebyone.nin_block",
                                              "def nin_block(in_channels, out_channels, kernel_size, stride=1, "
                                              "padding=0):\n    return nn.Sequential(\n"
                                              "        nn.Conv2d(in_channels, out_channels, kernel_size, stride, "
                                              "padding), nn.ReLU(),\n"
                                              "        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),\n"
                                              "        nn.Conv2d(out_channels, out_channels, kernel_size=1))\n"),
    "partly written": ("04_pooling", "pool.max_pool2d",
                       "def max_pool2d(x, kernel_size, stride=None, padding=0):\n"
                       "    if padding:\n        raise NotImplementedError()\n"
                       "    def pair(v):\n        return tuple(v) if isinstance(v, (tuple, list)) else (v, v)\n"
                       "    F_h, F_w = pair(kernel_size)\n    S_h, S_w = (F_h, F_w) if stride is None else pair(stride)\n"
                       "    x = np.asarray(x, dtype=float)\n"
                       "    return sliding_window_view(x, (F_h, F_w), axis=(2, 3))[:, :, ::S_h, ::S_w].max(axis=(4, 5))\n"),
    "right, on every layout": ("04_pooling", "pool.max_pool2d", None),
}


def _exercise_notebook(stem: str, exercise_id: str, source: str | None):
    """The chapter's setup and exercise cells (solved), one exercise replaced, and that exercise's check."""
    solved = nbformat.read(str(fixtures.REPO_ROOT / "solutions" / f"{stem}.ipynb"), as_version=4)
    student = nbformat.read(str(fixtures.REPO_ROOT / "chapters" / f"{stem}.ipynb"), as_version=4)
    nb = copy.deepcopy(solved)
    nb.metadata = student.metadata
    kept = []
    for cell in nb.cells:
        meta = cell.metadata.get("workbook", {})
        if meta.get("id") == exercise_id and source is not None:
            cell.source = source
        if meta.get("setup") or (cell.cell_type == "code" and meta.get("id")) or meta.get("check") == exercise_id:
            kept.append(cell)
    nb.cells = kept
    return nb


def _notebook_verdict(nb, exercise_id: str, cwd) -> tuple[str, str]:
    ran = execute(copy.deepcopy(nb), cwd)
    check = next(c for c in ran.cells if c.metadata.get("workbook", {}).get("check") == exercise_id)
    found = errors(check)
    if found:
        text = found[0]["evalue"]
        status = "failed" if found[0]["ename"] == "CheckFailed" else "error"
    else:
        text = stream_text(check).strip()
        status = "passed" if text.startswith("\u2714") else "not attempted" if "not implemented yet" in text else "?"
    return status, text


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("same")
    found = {}
    for name, (stem, exercise_id, source) in CASES.items():
        nb = _exercise_notebook(stem, exercise_id, source)
        local = _notebook_verdict(nb, exercise_id, folder)
        path = folder / f"{name.replace(' ', '_').replace(',', '')}_{stem}.ipynb"
        path.write_text(nbformat.writes(nb))
        result = grade_submission(Submission(path, "s", path.name), Limits(cell_timeout=fixtures.CELL_TIMEOUT_S))
        row = next(r for r in result.rows if r.exercise == exercise_id)
        found[name] = local, (row.status, row.message), exercise_id
    return found


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_judge_and_the_notebook_agree(verdicts, name):
    (local_status, local_text), (status, message), exercise_id = verdicts[name]
    assert status == local_status, (local_text, message)
    if status == "passed":
        assert local_text == f"\u2714 {exercise_id} {message}"
    elif status == "not attempted":  # the notebook says how to go on, the report says what it found
        assert "not implemented yet" in local_text and "not implemented yet" in message
    else:  # the notebook shows "<id> <message>"; a hint naming an object's address would differ by process
        assert local_text == f"{exercise_id} {message}", (local_text, message)
    expected = {"right, on every layout": "passed", "partly written": "failed"}.get(name, "failed")
    assert status == expected, message
