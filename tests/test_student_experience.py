"""What a student sees: every untouched chapter runs to the end (Run All) with friendly verdicts and every
figure, and pasting the solutions in gives back the solution notebook exactly."""

import re

import nbformat
import pytest

from utils.authoring.cells import read_notebook, role
from utils.authoring.build import solution_paths
from tests.conftest import REPO_ROOT
from tests.notebook_outputs import errors, execute, figure_count, stream_text

CHAPTERS = [p.name for p in solution_paths(REPO_ROOT)]


def where(index, cell) -> str:
    first = cell.source.strip().splitlines()[:1]
    return f"cell {index + 1} ({first[0][:60]!r})" if first else f"cell {index + 1}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_untouched_chapter_runs_to_the_end(chapter):
    """Run All on the student version (one kernel): no traceback in any cell, exercise cells included
    (JupyterLab's Run All stops at the first error, so an untouched exercise must only define its function),
    every check says "not implemented yet", and every figure of the solution appears (demonstrations fall
    back on the workbook's reference implementation)."""
    solution = read_notebook(REPO_ROOT / "solutions" / chapter)
    student = execute(read_notebook(REPO_ROOT / "chapters" / chapter), REPO_ROOT / "chapters")
    assert len(student.cells) == len(solution.cells)
    checks = 0
    for index, (mine, theirs) in enumerate(zip(student.cells, solution.cells)):
        if mine.cell_type != "code":
            continue
        failures = [f"{e['ename']}: {e['evalue']}" for e in errors(mine)]
        assert failures == [], f"{chapter} {where(index, mine)} raised in the student version: {failures}"
        if role(mine) == "exercise":
            continue
        if role(mine) == "check":
            checks += 1
            assert "not implemented yet" in stream_text(mine), (
                f"{chapter} {where(index, mine)}: {stream_text(mine) + stream_text(mine, 'stderr')!r}")
        assert figure_count(mine) == figure_count(theirs), (
            f"{chapter} {where(index, mine)} shows {figure_count(mine)} figure(s) in the student version, "
            f"{figure_count(theirs)} in the solution")
    assert checks > 0


def test_a_failed_check_shows_its_message_not_a_traceback(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from utils.checks import check\ncheck('warmup.n_outputs', lambda n, k: n - k)")]
    [error] = errors(execute(nb, tmp_path).cells[0])
    assert error["ename"] == "CheckFailed"
    [message] = error["traceback"]  # one block: the verdict, no Python traceback
    expected, got = map(int, re.search(r"expected (\d+), got (-?\d+)", message).groups())
    assert got == expected - 1 and "core.py" not in message and "Traceback" not in message


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_pasting_the_solutions_into_the_student_version_restores_the_solution(chapter):
    solution = read_notebook(REPO_ROOT / "solutions" / chapter)
    student = read_notebook(REPO_ROOT / "chapters" / chapter)
    answers = {c.metadata["workbook"]["id"]: c.source for c in solution.cells if role(c) == "exercise"}
    assert len(student.cells) == len(solution.cells)
    for mine, theirs in zip(student.cells, solution.cells):
        if role(mine) == "exercise":
            assert "YOUR" in mine.source
            mine.source = answers[mine.metadata["workbook"]["id"]]
        assert mine.source == theirs.source
