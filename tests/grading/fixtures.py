"""Submissions as students make them, built from chapter 00 (fast to grade) in a temporary folder.

Every fault the instructor grader must survive has one fixture here; ``EXPECTED`` holds the exact
status each exercise must get (and a text its message must contain).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parents[2]
CHAPTER = "00_getting_started"
# The per-cell limit of the fixture batch: the loop fixture must hit it; every other cell must stay far below
# it even on a loaded machine (the slowest check here takes about 3 s on a quiet 2-core machine, 10 s loaded).
CELL_TIMEOUT_S = 45
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"


def student() -> nbformat.NotebookNode:
    """The untouched student notebook."""
    return nbformat.read(str(REPO_ROOT / "chapters" / f"{CHAPTER}.ipynb"), as_version=4)


def completed() -> nbformat.NotebookNode:
    """A student who solved everything: the solution's cells with the student notebook's metadata."""
    nb = nbformat.read(str(REPO_ROOT / "solutions" / f"{CHAPTER}.ipynb"), as_version=4)
    nb.metadata = copy.deepcopy(student().metadata)
    return nb


def cell(nb, exercise_id: str, kind: str = "id"):
    return next(c for c in nb.cells if c.metadata.get("workbook", {}).get(kind) == exercise_id)


def _set(nb, exercise_id: str, source: str):
    cell(nb, exercise_id).source = source
    return nb


def _deleted():
    nb = completed()
    nb.cells.remove(cell(nb, "warmup.slide"))
    return nb


def _duplicated():
    nb = completed()
    good = cell(nb, "warmup.slide")
    wrong = copy.deepcopy(good)
    wrong.id = "duplicate-of-slide"
    wrong.source = "def slide_filter(x, w):\n    return x[: len(x) - len(w) + 1] * 0\n"
    nb.cells.insert(nb.cells.index(good), wrong)  # the earlier copy is wrong, the last one right
    # layer: solved in the first copy, the untouched prompt pasted again below it: the solved copy counts
    layer = cell(nb, "warmup.layer")
    prompt = copy.deepcopy(cell(student(), "warmup.layer"))
    prompt.id = "pasted-prompt"
    nb.cells.insert(nb.cells.index(layer) + 1, prompt)
    return nb


def _reordered():
    nb = completed()
    nb.cells.reverse()
    return nb


def _sysexit():
    nb = completed()
    return _set(nb, "warmup.slide", "import sys\nsys.exit('bye')\n" + cell(nb, "warmup.slide").source)


def _crashes():
    nb = completed()
    _set(nb, "warmup.n_outputs", "import os\nos._exit(1)\n")
    return _set(nb, "warmup.layer", "import ctypes\nctypes.string_at(0)\n")  # a segfault


def _flood():
    nb = completed()
    return _set(nb, "warmup.n_outputs", cell(nb, "warmup.n_outputs").source
                + "\nfor i in range(50_000):\n    print('spam ' * 40)\n")


def _wrong():
    nb = completed()
    _set(nb, "warmup.slide", "def slide_filter(x, w):\n    return 'not an array'\n")
    return _set(nb, "warmup.layer", "def conv1d_layer(x, w, b, f):\n    return x\n")


def _fake_check():
    nb = student()
    for c in nb.cells:
        target = c.metadata.get("workbook", {}).get("check")
        if target:
            c.source = f'print("\\u2714 {target} passed (435 cases)")'
    # a student who also redefines check and patches the checks API from inside an exercise cell
    _set(nb, "warmup.n_outputs", "import utils.checks, utils.checks.core as core\n"
         "def check(*args):\n    print('\\u2714 passed')\n"
         "core.run_check = utils.checks.run_check = lambda i, a: core.CheckResult(i, 'passed', 'passed')\n"
         "def n_outputs(n, k):\n    raise NotImplementedError()\n")
    return nb


def _memory_and_deleted():
    nb = _deleted()
    return _set(nb, "warmup.n_outputs", "big = bytearray(16 * 1024 ** 3)\n")


def _syntax_and_wrong():
    return _set(_wrong(), "warmup.n_outputs", "def n_outputs(n, k)\n    return n - k + 1\n")


def _markdown_and_sysexit():
    nb = _sysexit()
    c = cell(nb, "warmup.n_outputs")
    c.cell_type = "markdown"
    del c["outputs"], c["execution_count"]
    return nb


def _no_ids():
    nb = completed()
    for c in nb.cells:
        c.metadata.pop("workbook", None)
    return nb


def _renamed():
    nb = completed()
    nb.metadata.pop("workbook")
    return nb


def _loop():
    return _set(completed(), "warmup.n_outputs", "while True:\n    pass\n")


def _text(nb) -> bytes:
    return nbformat.writes(nb).encode()


# file name -> (content, {exercise: (status, text in message)}); the student is the name's first part.
def _all(status: str, text: str = ""):
    return {e: (status, text) for e in ("warmup.n_outputs", "warmup.slide", "warmup.layer", "warmup.border")}


PASS3 = {"warmup.n_outputs": ("passed", "passed"), "warmup.slide": ("passed", "passed"),
         "warmup.layer": ("passed", "passed"), "warmup.border": ("answered", "read by the instructor")}

FIXTURES = {
    "correct": (lambda: _text(completed()), PASS3),
    "untouched": (lambda: _text(student()), _all("not attempted")),
    "invalidjson": (lambda: b'{"cells": [', _all("unreadable", "invalid JSON")),
    "empty": (lambda: b"", _all("unreadable", "empty")),
    "png": (lambda: PNG, _all("unreadable", "not text")),
    "jsonnotnb": (lambda: b'{"hello": 1}', _all("unreadable", "not a notebook")),
    "v3": (lambda: nbformat.writes(nbformat.convert(completed(), 3)).encode(), PASS3),
    # a deleted exercise cell (slide; layer then calls an undefined slide_filter) + a memory hog (n_outputs)
    "deleted": (lambda: _text(_memory_and_deleted()), {**PASS3, "warmup.n_outputs": ("error", "MemoryError"),
                                                        "warmup.slide": ("missing", "no cell with exercise id"),
                                                        "warmup.layer": ("failed", "NameError")}),
    "duplicated": (lambda: _text(_duplicated()), {**PASS3, "warmup.slide": ("passed", "the last one (cell"),
                                                  "warmup.layer": ("passed", "the last one you changed")}),
    "reordered": (lambda: _text(_reordered()), PASS3),
    # a syntax error (n_outputs), a wrong type (slide) and a wrong shape (layer)
    "mistakes": (lambda: _text(_syntax_and_wrong()), {**PASS3, "warmup.n_outputs": ("error", "SyntaxError"),
                                                      "warmup.slide": ("failed", "numpy array"),
                                                      "warmup.layer": ("failed", "expected shape")}),
    "loop": (lambda: _text(_loop()), {**PASS3, "warmup.n_outputs": ("timeout", f"longer than the {CELL_TIMEOUT_S} s limit")}),
    # a code exercise turned into markdown (n_outputs) + sys.exit() before the def (slide)
    "sysexit": (lambda: _text(_markdown_and_sysexit()), {**PASS3, "warmup.n_outputs": ("missing", "markdown cell"),
                                                          "warmup.slide": ("error", "SystemExit"),
                                                          "warmup.layer": ("failed", "NameError")}),
    # os._exit(1) (n_outputs) and a segfault (layer): two kernel deaths, grading goes on after each
    "crashes": (lambda: _text(_crashes()), {**PASS3, "warmup.n_outputs": ("error", "kernel died"),
                                             "warmup.layer": ("error", "kernel died")}),
    "flood": (lambda: _text(_flood()), PASS3),
    "fakecheck": (lambda: _text(_fake_check()), _all("not attempted")),
    # cell metadata stripped (another editor): every exercise found by its content, with a note
    "noids": (lambda: _text(_no_ids()), {e: (s, "matched by content") for e, (s, _) in PASS3.items()}),
}


def write_fixtures(folder: Path) -> dict[str, dict]:
    """Write every fixture as ``<name>_00_getting_started.ipynb`` (student ``<name>``); return expectations."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for name, (make, statuses) in FIXTURES.items():
        (folder / f"{name}_{CHAPTER}.ipynb").write_bytes(make())
        expected[name] = statuses
    # a renamed file without chapter metadata, in a student folder: identified by its exercise ids
    (folder / "erin").mkdir(exist_ok=True)
    (folder / "erin" / "my work (1).ipynb").write_bytes(_text(_renamed()))
    expected["erin"] = PASS3
    # a picture called a notebook, no chapter anywhere: one unreadable row
    (folder / "holiday.ipynb").write_bytes(PNG)
    expected["holiday"] = {"-": ("unreadable", "not text")}
    return expected
