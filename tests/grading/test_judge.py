"""The trusted judge: verdicts are computed outside the student's process, so nothing a submission does to
numpy, ``utils``, ``json`` or builtins over there can change them; and the wire between the two sides
carries data only.

Each forging submission below holds a WRONG ``n_outputs`` (``n - k``) and the untouched prompts for the other
exercises, plus one way of forging a verdict: the honest verdict is "failed" for n_outputs and "not attempted"
for the rest. A second batch holds the same patches next to correct code: there the honest verdict is
"passed", so the patches do not break honest grading either.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time

import numpy as np
import pytest
import torch

from tests.grading import fixtures
from utils.checks.core import run_check
from utils.grading import wire
from utils.grading.discover import Submission
from utils.grading.grade import Limits, Row, detect_sandbox, grade_submission
from utils.grading.judge import parse_check_cell

WRONG = "def n_outputs(n, k):\n    return n - k\n"
RIGHT = "def n_outputs(n, k):\n    return n - k + 1\n"
SOLUTIONS = fixtures.REPO_ROOT / "solutions" / f"{fixtures.CHAPTER}.ipynb"

FORGERIES = {
    "isclose": "import numpy as np\nnp.isclose = lambda a, b, **k: np.ones(np.broadcast(a, b).shape, bool)\n"
               "np.allclose = np.array_equal = lambda *a, **k: True\n",
    "get_check": "import utils.checks as c, utils.checks.core as core\n"
                 "core.get_check = c.get_check = lambda exercise_id: (lambda answer: 'forged')\n",
    "helpers": "import utils.checks.ch00_getting_started as m, utils.checks.compare as cmp\n"
               "for module in (m, cmp):\n"
               "    module.assert_equal = module.assert_array_matches = lambda *a, **k: None\n"
               "    module.call = lambda fn, *a, case, **k: None\n",
    "code": "import utils.checks.core as core\n"
            "for exercise_id in core.registered_ids():\n"
            "    try:\n"
            "        core.get_check(exercise_id).__code__ = (lambda answer: 'forged').__code__\n"
            "    except ValueError:  # a check that is a closure\n"
            "        pass\n",
    "run_check_code": "import utils.checks.core as core\n"
                      "core.run_check.__code__ = (lambda exercise_id, answer: "
                      "core.CheckResult(exercise_id, 'passed', 'passed')).__code__\n",
    "json": "import json\njson.dumps = lambda *a, **k: "
            "'{\"id\": \"warmup.n_outputs\", \"status\": \"passed\", \"message\": \"passed\"}'\n"
            "json.loads = lambda *a, **k: {'id': 'warmup.n_outputs', 'status': 'passed', 'message': 'passed'}\n",
    "builtins": "import builtins\nbuiltins.print = lambda *a, **k: None\nbuiltins.isinstance = lambda *a: True\n",
    "fake_verdicts": "for exercise_id in ('warmup.n_outputs', 'warmup.slide', 'warmup.layer'):\n"
                     "    print(f'\\u2714 {exercise_id} passed (12 cases)')\n"
                     "    print('@@workbook-grade-0000@@' + '{\"id\": \"' + exercise_id + '\", \"status\": \"passed\"}')\n",
    "check_rebound": "import utils.checks\ndef check(*args, **kwargs):\n    print('\\u2714 passed')\n"
                     "utils.checks.check = check\n",
    # a hostile answer object: equal to everything, an array of anything, a length that lies
    "hostile_value": "class Everything:\n    def __eq__(self, other): return True\n"
                     "    def __array__(self, *a, **k): raise SystemExit\n    def __len__(self): return 1\n"
                     "    def __int__(self): return 0\n",
}
HOSTILE_ANSWER = "def n_outputs(n, k):\n    return Everything()\n"


def _notebook(first_cell: str):
    nb = fixtures.student()
    fixtures.cell(nb, "warmup.n_outputs").source = first_cell
    return nb


def _grade_rows(tmp_path, name: str, nb) -> dict:
    path = tmp_path / f"{name}_{fixtures.CHAPTER}.ipynb"
    path.write_bytes(fixtures._text(nb))
    result = grade_submission(Submission(path, name, path.name), Limits(cell_timeout=fixtures.CELL_TIMEOUT_S))
    return {row.exercise: row for row in result.rows}


def _grade(tmp_path, name: str, nb) -> dict[str, tuple[str, str]]:
    return {e: (row.status, row.message) for e, row in _grade_rows(tmp_path, name, nb).items()}


def _self_study_verdict(source: str, exercise_id: str = "warmup.n_outputs"):
    """The verdict the same code gets in a student's notebook: the check run in the same process."""
    namespace: dict = {"__name__": "__main__"}  # as in a notebook's kernel
    exec(source, namespace)
    return run_check(exercise_id, namespace["n_outputs"])


def _tree_digest() -> dict[str, str]:
    """What a submission must not change: the workbook's code and the solutions."""
    paths = sorted((fixtures.REPO_ROOT / "utils").rglob("*.py")) + sorted((fixtures.REPO_ROOT / "solutions").glob("*"))
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@pytest.fixture(scope="module")
def forged(tmp_path_factory):
    folder = tmp_path_factory.mktemp("forged")
    before = _tree_digest()
    results = {"honest": _grade_rows(folder, "honest", _notebook(WRONG))}
    for name, patch in FORGERIES.items():
        answer = HOSTILE_ANSWER if name == "hostile_value" else WRONG
        results[name] = _grade_rows(folder, name, _notebook(patch + answer))
        results[name + "+right"] = _grade(folder, name + "_right", _notebook(patch + RIGHT))
    results["tree changed"] = [p for p, digest in _tree_digest().items() if before.get(p) != digest]
    return results


def _row(row) -> tuple:
    return row.status, row.points, re.sub(r" at 0x[0-9a-f]+", "", row.message)  # addresses differ by process


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_a_forgery_gets_the_verdict_the_wrong_code_deserves(forged, name):
    rows, honest = forged[name], forged["honest"]
    if name == "builtins":  # isinstance() True for everything breaks the student's own process: 0 points
        status, message = rows["warmup.n_outputs"].status, rows["warmup.n_outputs"].message
        assert status == "error" and "kernel died" in message, message
        assert all(r.status in ("error", "not attempted") and r.points == 0 for r in rows.values()), rows
        return
    # every row exactly as for the same wrong code without the forgery, and as in a student's notebook
    answer = FORGERIES[name] + HOSTILE_ANSWER if name == "hostile_value" else WRONG
    local = _self_study_verdict(answer)
    assert _row(rows["warmup.n_outputs"]) == _row(Row("warmup.n_outputs", "code", 0.0, 1.0, "failed", local.message))
    if name == "hostile_value":
        assert "Everything" in local.message  # named as in the notebook, not as the judge's stand-in
    else:
        assert _row(rows["warmup.n_outputs"]) == _row(honest["warmup.n_outputs"])
    for exercise in ("warmup.slide", "warmup.layer", "warmup.border"):
        assert _row(rows[exercise]) == _row(honest[exercise]), exercise
        assert rows[exercise].status == "not attempted"


def test_no_forgery_changed_the_workbook(forged):
    assert forged["tree changed"] == []


@pytest.mark.parametrize("name", sorted(set(FORGERIES) - {"hostile_value", "builtins"}))
def test_the_same_patches_next_to_right_code_still_pass(forged, name):
    status, message = forged[name + "+right"]["warmup.n_outputs"]
    assert status == "passed", (name, status, message)


def test_a_patch_does_not_leak_into_the_next_submission(tmp_path):
    _grade(tmp_path, "first", _notebook(FORGERIES["isclose"] + FORGERIES["code"] + WRONG))
    rows = _grade(tmp_path, "second", fixtures.completed())
    assert rows["warmup.n_outputs"][0] == rows["warmup.slide"][0] == rows["warmup.layer"][0] == "passed"


needs_sandbox = pytest.mark.skipif(detect_sandbox().name == "none",
                                   reason=f"no sandbox here: {detect_sandbox().reason}")


@needs_sandbox
def test_answers_cannot_be_read_from_the_solutions(tmp_path):
    steal = (f"import json\nnb = json.load(open({str(SOLUTIONS)!r}))\n"
             "exec(next(''.join(c['source']) for c in nb['cells'] "
             "if c.get('metadata', {}).get('workbook', {}).get('id') == 'warmup.n_outputs'))\n")
    rows = _grade(tmp_path, "thief", _notebook(steal))
    status, message = rows["warmup.n_outputs"]
    assert status == "error" and "FileNotFoundError" in message, message


@needs_sandbox
def test_the_workbook_cannot_be_rewritten_from_a_submission(tmp_path):
    target = fixtures.REPO_ROOT / "utils" / "checks" / "ch00_getting_started.py"
    before = target.read_bytes()
    rows = _grade(tmp_path, "vandal", _notebook(f"open({str(target)!r}, 'a').write('\\n# x\\n')\n" + RIGHT))
    assert target.read_bytes() == before
    status, message = rows["warmup.n_outputs"]
    assert status == "error" and ("PermissionError" in message or "Read-only" in message), message


def test_every_solution_check_cell_names_its_answer():
    from utils.grading.chapters import load_chapters

    for chapter in load_chapters().values():
        for spec in chapter.exercises:
            if spec.kind == "code":
                calls = parse_check_cell(spec.check_source or "")
                assert [c[0] for c in calls] == [spec.exercise_id], (chapter.stem, spec.exercise_id, calls)
                assert calls[0][1].isidentifier(), calls


# ---------------------------------------------------------------- the wire


def _round_trip(value, handle=None):
    encoder = wire.Encoder(handle)
    tree = json.loads(json.dumps(encoder.encode(value)))
    return wire.Decoder(encoder.blobs).decode(tree)


def test_data_keeps_its_type_dtype_and_layout():
    base = np.arange(24, dtype=np.int32).reshape(4, 6)
    values = {
        "float64": np.linspace(0, 1, 6).reshape(2, 3), "int32": base, "bool": base > 3,
        "strided": base[:, ::2], "fortran": np.asfortranarray(base), "scalar": np.float32(2.5),
        "int64 scalar": np.int64(7), "tensor": torch.arange(6.0).reshape(2, 3),
        "tensor strided": torch.arange(12.0).reshape(3, 4)[:, 1::2], "grad": torch.ones(2, requires_grad=True),
        "parameter": torch.nn.Parameter(torch.zeros(3)), "tuple": (1, 2.5, "x", None, True),
        "set": {"-inf", "0"}, "nested": {"a": [np.zeros(2), (torch.ones(1),)], 3: Ellipsis},
        "nan": float("nan"), "dtype": torch.float64, "np dtype": np.dtype("float32"),
    }
    for label, value in values.items():
        back = _round_trip(value)
        assert type(back) is type(value), label
        if isinstance(value, np.ndarray):
            assert back.dtype == value.dtype and np.array_equal(back, value), label
            assert back.flags.c_contiguous == value.flags.c_contiguous, label
            assert back.flags.f_contiguous == value.flags.f_contiguous, label
        elif isinstance(value, torch.Tensor):
            assert back.dtype == value.dtype and torch.equal(back.detach(), value.detach()), label
            assert back.is_contiguous() == value.is_contiguous() and back.requires_grad == value.requires_grad
        elif label == "nan":
            assert np.isnan(back)
        elif label == "nested":
            assert np.array_equal(back["a"][0], np.zeros(2)) and back[3] is Ellipsis
        else:
            assert back == value, label


def test_a_generator_travels_as_its_state():
    rng = np.random.default_rng(5)
    rng.random(3)
    back = _round_trip(rng)
    assert np.array_equal(back.random(4), rng.random(4))


def test_objects_that_are_not_data_are_refused_without_a_handle_table():
    for value in (lambda x: x, object(), np.dtype(object)):
        with pytest.raises(wire.WireError):
            wire.Encoder().encode(value)


@pytest.mark.parametrize("node, blobs, text", [
    ({"$": "ndarray", "dtype": "|O", "shape": [1], "b": 0}, [b"\0" * 8], "not a plain numeric dtype"),
    ({"$": "ndarray", "dtype": "[('a', '<f8')]", "shape": [1], "b": 0}, [b"\0" * 8], "dtype"),
    ({"$": "ndarray", "dtype": "<f8", "shape": [4], "b": 0}, [b"\0" * 8], "header says"),
    ({"$": "ndarray", "dtype": "<f8", "shape": [2, 2], "strides": [1, 100], "b": 0}, [b"\0" * 16], "header says"),
    ({"$": "ndarray", "dtype": "<f8", "shape": [-1], "b": 0}, [b""], "bad shape"),
    ({"$": "ndarray", "dtype": "<f8", "shape": [1], "b": 3}, [b"\0" * 8], "blob index"),
    ({"$": "tensor", "dtype": "object", "shape": [1], "b": 0}, [b"\0" * 8], "unknown torch dtype"),
    ({"$": "np_generator", "state": {"$": "dict", "k": ["bit_generator"], "v": ["os.system"]}}, [], "bit generator"),
    ({"$": "pickle", "v": "cos\nsystem\n"}, [], "unknown tag"),
    ({"$": "handle", "side": "runner", "id": 1}, [], "unexpected handle"),
    ([1, 2], [], "unexpected list"),
])
def test_hostile_frames_are_refused(node, blobs, text):
    with pytest.raises(wire.WireError, match=text):
        wire.Decoder(blobs).decode(node)


def test_control_messages_are_framed_and_limited():
    frame = wire.control_frame({"op": "fork", "memory_mb": 512})
    assert wire.control_size(frame[:4]) == len(frame) - 4
    assert wire.json_loads(frame[4:]) == {"op": "fork", "memory_mb": 512}
    with pytest.raises(wire.WireError, match="larger than the limit"):
        wire.control_size((wire.MAX_CONTROL + 1).to_bytes(4, "big"))


def test_the_zygote_reads_a_control_message_split_anywhere():
    import socket
    import threading

    from utils.grading import runner

    frame = wire.control_frame({"op": "end", "id": 7})
    mine, theirs = socket.socketpair()
    with mine, theirs:
        def dribble():                       # one byte at a time: the prefix itself arrives in pieces
            for i in range(len(frame)):
                mine.send(frame[i:i + 1])
        sender = threading.Thread(target=dribble)
        sender.start()
        message, fds = runner._receive(theirs)
        sender.join()
    assert message == {"op": "end", "id": 7} and fds == []


def test_exceptions_travel_as_name_and_message_only():
    error = _round_trip(SystemExit("bye"))
    assert type(error).__name__ == "SystemExit" and isinstance(error, Exception)  # never the real SystemExit
    assert str(error) == "bye"
    assert type(_round_trip(ValueError("v"))) is ValueError


# ---------------------------------------------------------------- answers that are the workbook's own

BORROWED = {
    # seen in the source by the judge
    "direct": "from utils.shapes import conv_output_size\ndef n_outputs(n, k):\n    return conv_output_size(n, k)\n",
    "alias": "import utils.shapes as s\nn_outputs = s.conv_output_size\n",
    "wrapper": "def helper(n, k):\n    from utils import shapes\n    return shapes.conv_output_size(n, k)\n\n"
               "def n_outputs(n, k):\n    return helper(n, k)\n",
    # only the runner's tripwire sees it: the name is built at run time
    "dynamic": "import importlib\ndef n_outputs(n, k):\n"
               "    module = importlib.import_module('utils.' + 'sha' + 'pes')\n"
               "    return getattr(module, 'conv_' + 'output_size')(n, k)\n",
    # called at the top of the cell, with a name built at run time: the tripwire watches the cell too
    "toplevel": "import importlib\nsize = getattr(importlib.import_module('utils.' + 'shapes'), 'conv_' + 'output_size')\n"
                "table = {(n, k): size(n, k) for n in range(1, 40) for k in range(1, n + 1)}\n"
                "def n_outputs(n, k):\n    return table[n, k]\n",
    # the tripwire switched off from inside the answer: that is reported too
    "tamper": "import sys\ndef n_outputs(n, k):\n    sys.setprofile(None)\n    return n - k + 1\n",
}


@pytest.fixture(scope="module")
def borrowed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("borrowed")
    return {name: _grade(folder, name, _notebook(source))["warmup.n_outputs"] for name, source in BORROWED.items()}


@pytest.mark.parametrize("name", sorted(BORROWED))
def test_an_answer_that_calls_the_reference_is_not_credited(borrowed, name):
    status, message = borrowed[name]
    assert status == "failed" and message.startswith("not credited"), message
    named = "sys.setprofile" if name == "tamper" else "utils.shapes.conv_output_size"
    assert named in message, message


def test_allowed_helpers_and_own_code_are_credited(tmp_path):
    own = "import numpy as np\nfrom utils.plotting import frame\ndef n_outputs(n, k):\n    return int(np.subtract(n, k)) + 1\n"
    assert _grade(tmp_path, "own", _notebook(own))["warmup.n_outputs"][0] == "passed"


@needs_sandbox
def test_a_submission_leaves_nothing_for_the_next_one(tmp_path):
    # A leaves a module that would shadow the standard library and a marker file in every scratch folder
    leave = ("import os, tempfile\nfor folder in ('.', '/tmp', '/dev/shm', tempfile.gettempdir()):\n"
             "    try:\n        open(os.path.join(folder, 'statistics.py'), 'w').write('def mean(v): return 0\\n')\n"
             "        open(os.path.join(folder, 'left_behind'), 'w').write('A')\n"
             "    except OSError:\n        pass\n")
    _grade(tmp_path, "leaver", _notebook(leave + RIGHT))
    look = ("import os, statistics, tempfile\n"
            "found = [f for f in ('.', '/tmp', '/dev/shm', tempfile.gettempdir()) "
            "if os.path.exists(os.path.join(f, 'left_behind'))]\n"
            "def n_outputs(n, k):\n    assert statistics.mean([n, n]) == n, 'a shadowed module'\n"
            "    assert not found, f'files left by another submission in {found}'\n    return n - k + 1\n")
    status, message = _grade(tmp_path, "next", _notebook(look))["warmup.n_outputs"]
    assert status == "passed", message


def _processes_with(token: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if token.encode() in handle.read():
                    found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to look for survivors")
def test_no_process_a_submission_starts_outlives_it(tmp_path):
    token = f"survivor-{os.getpid()}-{time.monotonic_ns()}"
    spawn = ("import os, subprocess, sys\n"
             f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', {token!r}], "
             "start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
             "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
             f"        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)', {token!r}])\n"
             "    os._exit(0)\n")
    rows = _grade(tmp_path, "daemon", _notebook(spawn + RIGHT))
    assert rows["warmup.n_outputs"][0] == "passed", rows["warmup.n_outputs"]
    deadline = time.monotonic() + 10  # killed processes may take a moment to disappear from /proc
    while _processes_with(token) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_with(token) == []


def test_a_submission_cannot_spoil_another_students_file(tmp_path):
    from utils.grading.chapters import load_chapters
    from utils.grading.discover import discover
    from utils.grading.grade import grade_all

    folder = tmp_path / "class"
    (folder / "bob").mkdir(parents=True)
    victim = folder / "bob" / f"{fixtures.CHAPTER}.ipynb"
    victim.write_bytes(fixtures._text(fixtures.completed()))
    original = victim.read_bytes()
    overwrite = (f"import glob\nfor path in glob.glob({str(folder)!r} + '/**/*.ipynb', recursive=True) + "
                 f"[{str(victim)!r}]:\n    try:\n        open(path, 'w').write('{{}}')\n    except OSError:\n"
                 "        pass\n")
    (folder / "alice").mkdir()
    (folder / "alice" / f"{fixtures.CHAPTER}.ipynb").write_bytes(fixtures._text(_notebook(overwrite + RIGHT)))
    submissions, _ = discover([str(folder)], load_chapters())
    results = {r.student: r for r in grade_all(sorted(submissions, key=lambda s: s.student), Limits(
        cell_timeout=fixtures.CELL_TIMEOUT_S), out=open(os.devnull, "w"))}
    assert results["bob"].points == 5.0  # graded from the bytes read before any student code ran
    if detect_sandbox().name != "none":
        assert victim.read_bytes() == original  # and, in the sandbox, never even reachable
