"""Authoring: solution regions, the metadata rules, building chapters/ and --check, executing in place."""

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from utils.authoring.build import build, solution_paths, student_version
from utils.authoring.cells import NotebookError, read_notebook, validate
from utils.authoring.compose import check_cell, code, exercise, md, setup, write
from utils.authoring.regions import MarkerError, find_regions, strip_solutions
from utils.cli import main as workbook
from tests.conftest import REPO_ROOT


# -- regions -----------------------------------------------------------------------------------------

def test_code_region_becomes_prompt_with_its_indentation():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\nprint('kept')"
    assert strip_solutions(source, "code") == (
        "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\nprint('kept')")


def test_markdown_region_becomes_answer_prompt():
    source = "Why?\n\n<!-- BEGIN SOLUTION -->\nBecause.\nReally.\n<!-- END SOLUTION -->"
    assert strip_solutions(source, "markdown") == "Why?\n\nYOUR ANSWER HERE"


def test_markdown_markers_are_html_comments_so_they_never_render_as_headings():
    with pytest.raises(MarkerError, match="markdown cell.*<!-- BEGIN SOLUTION -->"):
        find_regions("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION", "markdown")
    assert find_regions("<!-- BEGIN SOLUTION -->\nBecause.\n<!-- END SOLUTION -->", "markdown") == [(0, 2)]


def test_no_solution_notebook_renders_a_marker_in_markdown():
    for path in solution_paths(REPO_ROOT):
        for cell in read_notebook(path).cells:
            if cell.cell_type == "markdown":
                assert "### BEGIN" not in cell.source and "### END" not in cell.source, path.name


def test_several_regions_in_one_cell():
    source = "a = ...\n### BEGIN SOLUTION\na = 1\n### END SOLUTION\nb = ...\n### BEGIN SOLUTION\nb = 2\n### END SOLUTION"
    assert find_regions(source) == [(1, 3), (5, 7)]
    assert strip_solutions(source, "code").count("raise NotImplementedError()") == 2


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nx = 1", "line 1: ### BEGIN SOLUTION is never closed"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "line 2: nested"),
    ("x = 1\n### END SOLUTION", "line 2: ### END SOLUTION without"),
    ("x = 1  ### BEGIN SOLUTION\n### END SOLUTION", "line 1: in a code cell a marker stands alone"),
])
def test_marker_errors_name_the_line(source, message):
    with pytest.raises(MarkerError, match=message):
        find_regions(source)


# -- the metadata rules ------------------------------------------------------------------------------

def notebook(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


EXERCISE = exercise("warmup.slide", "def slide_filter(x, w):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION")
CHECK = check_cell("warmup.slide", "slide_filter")


def test_valid_notebook_lists_its_exercises():
    nb = notebook(md("# t"), setup("import numpy"), EXERCISE, CHECK,
                  exercise("warmup.why", "<!-- BEGIN SOLUTION -->\nbecause\n<!-- END SOLUTION -->", markdown=True, points=3))
    found = validate(nb, "nb.ipynb", {"warmup.slide"})
    assert [(e.exercise_id, e.cell_type, e.points) for e in found] == [
        ("warmup.slide", "code", 1.0), ("warmup.why", "markdown", 3.0)]


@pytest.mark.parametrize("cells, message", [
    ([code("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")], "cell 1 .*no exercise id"),
    ([md("x"), code("### BEGIN SOLUTION\nx = 1")], "cell 2 .*never closed"),
    ([exercise("a.b", "x = 1"), ], "cell 1 .*has no ### BEGIN SOLUTION region"),
    ([EXERCISE, CHECK, EXERCISE, CHECK], "cell 3 .*duplicate exercise id 'warmup.slide' \\(also cell 1\\)"),
    ([CHECK, EXERCISE], "cell 1 .*does not follow a code exercise"),
    ([EXERCISE], "cell 1 .*has no check cell after it"),
    ([EXERCISE, CHECK, CHECK], "cell 3 .*a second check cell"),
    ([exercise("nope.unknown", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"), check_cell("nope.unknown", "x")],
     "cell 2 .*no check is registered for 'nope.unknown'"),
    ([exercise("a.b", "### BEGIN SOLUTION\nx\n### END SOLUTION", points=-1)], "points of 'a.b' must be"),
])
def test_rule_violations_name_notebook_and_cell(cells, message):
    with pytest.raises(NotebookError, match="bad.ipynb, cell " + message.split("cell ", 1)[-1] if "cell " in message else message):
        validate(notebook(*cells), "bad.ipynb", {"warmup.slide"})


def test_unreadable_notebook_is_named(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text("{ not json")
    with pytest.raises(NotebookError, match="broken.ipynb: cannot be read as a notebook"):
        read_notebook(path)


# -- student version ---------------------------------------------------------------------------------

def test_student_version_strips_answers_clears_outputs_and_locks_checks(repo_root):
    solution = read_notebook(repo_root / "solutions" / "00_getting_started.ipynb")
    student = student_version(solution, "00_getting_started")
    text = json.dumps(student)
    assert "BEGIN SOLUTION" not in text and "return n - k + 1" not in text
    assert "Model answer" not in text and "YOUR ANSWER HERE" in text
    assert student.metadata["workbook"] == {"chapter": "00_getting_started", "role": "student"}
    for original, cell in zip(solution.cells, student.cells):
        meta = cell.metadata.get("workbook", {})
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        if "check" in meta:
            assert cell.metadata["editable"] is False and cell.metadata["deletable"] is False
            assert cell.source == original.source
        elif "id" in meta:
            assert cell.metadata["deletable"] is False
            assert "YOUR" in cell.source
        else:
            assert cell.source == original.source  # everything else verbatim
    assert [c.id for c in student.cells] == [c.id for c in solution.cells]


# -- build and --check on a copy of the repository ---------------------------------------------------

@pytest.fixture
def workbook_copy(tmp_path, repo_root):
    for folder in ("solutions", "chapters"):
        shutil.copytree(repo_root / folder, tmp_path / folder)
    return tmp_path


def test_repository_chapters_are_up_to_date(repo_root, capsys):
    assert build(repo_root, check_only=True) == 0, capsys.readouterr().out


def test_build_round_trip_is_stable(workbook_copy):
    shutil.rmtree(workbook_copy / "chapters")
    assert build(workbook_copy) == 0
    assert (workbook_copy / "chapters" / "00_getting_started.ipynb").exists()
    assert build(workbook_copy, check_only=True) == 0


def test_editing_a_solution_makes_check_fail(workbook_copy, capsys):
    path = workbook_copy / "solutions" / "00_getting_started.ipynb"
    nb = read_notebook(path)
    prose = next(c for c in nb.cells if c.cell_type == "markdown")
    prose.source += "\n\nA new sentence."
    nbformat.write(nb, str(path))
    assert build(workbook_copy, check_only=True) == 1
    assert "chapters/00_getting_started.ipynb is stale" in capsys.readouterr().out
    assert build(workbook_copy) == 0 and build(workbook_copy, check_only=True) == 0


def test_missing_and_leftover_chapters_are_reported(workbook_copy, capsys):
    (workbook_copy / "chapters" / "00_getting_started.ipynb").unlink()
    (workbook_copy / "chapters" / "99_orphan.ipynb").write_text("{}")
    assert build(workbook_copy, check_only=True) == 1
    out = capsys.readouterr().out
    assert "00_getting_started.ipynb is missing" in out and "99_orphan.ipynb has no solution notebook" in out
    assert build(workbook_copy) == 0
    assert not (workbook_copy / "chapters" / "99_orphan.ipynb").exists()


def test_duplicate_ids_across_notebooks(workbook_copy):
    shutil.copy(workbook_copy / "solutions" / "00_getting_started.ipynb", workbook_copy / "solutions" / "98_copy.ipynb")
    with pytest.raises(NotebookError, match=r"98_copy.ipynb, cell \d+: exercise id '.*' is already used in solutions/0"):
        build(workbook_copy, check_only=True)


def test_cli_reports_rule_violations_without_traceback(workbook_copy, monkeypatch, capsys):
    import utils.authoring.build as build_module

    write(workbook_copy / "solutions" / "97_bad.ipynb", [code("### BEGIN SOLUTION\nx = 1")])
    monkeypatch.setattr(build_module, "REPO_ROOT", workbook_copy)
    assert workbook(["build", "--check"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: solutions/97_bad.ipynb, cell 1") and "never closed" in err


# -- executing in place ------------------------------------------------------------------------------

def test_execute_stores_fresh_outputs(tmp_path):
    from utils.authoring.execute import execute_in_place

    path = tmp_path / "01_tiny.ipynb"
    write(path, [setup("from utils.notebook import setup_notebook\n_ = setup_notebook()"),
                 code("import numpy as np\nprint(np.random.rand(2))")])
    execute_in_place(path)
    nb = read_notebook(path)
    assert nb.cells[1].outputs[0]["text"] == "[0.5488 0.7152]\n"  # seeded by setup_notebook
    assert "execution" not in nb.cells[1].metadata


def test_execute_stops_on_an_error_and_writes_nothing(tmp_path):
    from nbclient.exceptions import CellExecutionError

    from utils.authoring.execute import execute_in_place

    path = tmp_path / "01_tiny.ipynb"
    write(path, [code("raise ValueError('boom')")])
    before = path.read_text()
    with pytest.raises(CellExecutionError, match="boom"):
        execute_in_place(path)
    assert path.read_text() == before
