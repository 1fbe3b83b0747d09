"""What a student sees: the untouched chapter runs with friendly verdicts, and pasting the solutions in
gives back the solution notebook exactly."""

import nbformat
import pytest
from nbclient import NotebookClient

from utils.authoring.cells import read_notebook, role
from utils.authoring.build import solution_paths
from tests.conftest import REPO_ROOT

CHAPTERS = [p.name for p in solution_paths(REPO_ROOT)]


def run(nb, cwd):
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def test_untouched_chapter_00_says_not_implemented_without_tracebacks():
    nb = run(read_notebook(REPO_ROOT / "chapters" / "00_getting_started.ipynb"), REPO_ROOT / "chapters")
    checks = [c for c in nb.cells if role(c) == "check"]
    assert len(checks) == 3
    for cell in checks:
        assert [o["output_type"] for o in cell.outputs] == ["stream"]
        assert "not implemented yet" in cell.outputs[0]["text"]
    for cell in nb.cells:
        errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
        if role(cell) != "exercise":
            assert errors == [], f"cell {cell.id} failed in the student version: {errors}"


def test_a_failed_check_shows_its_message_not_a_traceback(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from utils.checks import check\ncheck('warmup.n_outputs', lambda n, k: n - k)")]
    error = run(nb, tmp_path).cells[0].outputs[0]
    assert error["output_type"] == "error" and error["ename"] == "CheckFailed"
    assert len(error["traceback"]) == 1
    assert "expected 1, got 0" in error["traceback"][0] and "core.py" not in error["traceback"][0]


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
