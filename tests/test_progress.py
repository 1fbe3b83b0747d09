"""``workbook progress``: verdicts read from saved notebooks, for a fresh chapter, a partly solved one and a
corrupt file."""

import shutil

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tests.conftest import REPO_ROOT
from utils.cli import main as workbook
from utils.progress import read_chapter


def exercise(exercise_id, source, count=None, points=1):
    cell = new_code_cell(source, metadata={"workbook": {"id": exercise_id, "points": points}})
    cell.execution_count = count
    return cell


def check_cell(exercise_id, count=None, outputs=()):
    cell = new_code_cell(f'check("{exercise_id}", answer)', metadata={"workbook": {"check": exercise_id}})
    cell.execution_count = count
    cell.outputs = list(outputs)
    return cell


def printed(*parts):
    # one print may reach the notebook as several stream messages
    return [new_output("stream", name="stdout", text=part) for part in parts]


def failed(exercise_id):
    return new_output("error", ename="CheckFailed", evalue=f"{exercise_id} failed on case n=1, k=1: ...",
                      traceback=[f"\x1b[1;31m\u2718 {exercise_id} failed on case n=1, k=1\x1b[0m"])


def write(path, cells):
    nb = new_notebook(cells=[new_markdown_cell("# a chapter"), *cells])
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    return path


def partly_solved(folder):
    return write(folder / "05_partly.ipynb", [
        exercise("t.passed", "def answer(): ...", count=1, points=2),
        check_cell("t.passed", count=2, outputs=printed("\u2714 t.pass", "ed passed (12 cases)\n")),
        exercise("t.failed", "def answer(): ...", count=3),
        check_cell("t.failed", count=4, outputs=[failed("t.failed")]),
        exercise("t.todo", "def answer():\n    raise NotImplementedError()", count=5),
        check_cell("t.todo", count=6, outputs=printed("\u2026 t.todo: not implemented yet. Replace ...\n")),
        exercise("t.unrun", "def answer(): ...", count=7, points=3),
        check_cell("t.unrun"),
        exercise("t.edited", "def answer(): ...", count=10),
        check_cell("t.edited", count=8, outputs=printed("\u2714 t.edited passed (3 cases)\n")),
        exercise("t.no_def", "def answer(): ..."),
        check_cell("t.no_def", count=11, outputs=[new_output("error", ename="NameError", evalue="name 'answer' is not defined",
                                                             traceback=[])]),
        new_markdown_cell("<answer>", metadata={"workbook": {"id": "t.essay", "points": 2}}),
        new_markdown_cell("YOUR ANSWER HERE", metadata={"workbook": {"id": "t.blank", "points": 1}}),
    ])


def statuses(path):
    return {e.exercise_id: e.status for e in read_chapter(path).entries}


def test_a_fresh_student_chapter_has_nothing_run(tmp_path, capsys):
    shutil.copy(REPO_ROOT / "chapters" / "00_getting_started.ipynb", tmp_path)
    assert statuses(tmp_path / "00_getting_started.ipynb") == {
        "warmup.n_outputs": "never run", "warmup.slide": "never run", "warmup.layer": "never run",
        "warmup.border": "not answered"}
    assert workbook(["progress", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "00_getting_started  warmup.n_outputs       1  never run" in out
    assert "warmup.border          1  written: not answered" in out
    assert "Total: 0 of 3 exercises passed, 0 of 5 points." in out
    assert "Written answers: 0 of 1 answered (1 point, graded by a person)." in out
    assert "00_getting_started: no check cell has been run yet" in out


def test_the_executed_solution_reads_as_all_passed():
    # real stored outputs, as a kernel wrote them
    assert statuses(REPO_ROOT / "solutions" / "00_getting_started.ipynb") == {
        "warmup.n_outputs": "passed", "warmup.slide": "passed", "warmup.layer": "passed",
        "warmup.border": "answered"}


def test_a_partly_solved_chapter(tmp_path, capsys):
    path = partly_solved(tmp_path)
    assert statuses(path) == {
        "t.passed": "passed", "t.failed": "failed", "t.todo": "not attempted", "t.unrun": "never run",
        "t.edited": "passed", "t.no_def": "error (NameError)", "t.essay": "answered", "t.blank": "not answered"}
    assert workbook(["progress", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    table = out.split("\n\n")[1].splitlines()
    assert table[0].split() == ["chapter", "exercise", "points", "verdict"]
    assert table[2].split() == ["05_partly", "t.passed", "2", "passed"]
    assert [row.split(None, 2)[2] for row in table[3:]] == [
        "failed", "not attempted", "never run", "passed", "error (NameError)", "written: answered",
        "written: not answered"]
    assert "Total: 2 of 6 exercises passed, 3 of 9 points." in out
    assert "Written answers: 1 of 2 answered (3 points, graded by a person)." in out
    assert ("05_partly: never run: t.unrun; exercise cell ran after its check: t.edited (In [10] after In [8])"
            in out)
    assert "t.passed:" not in out and "t.failed:" not in out


def test_a_corrupt_file_is_named_and_the_other_chapters_are_still_listed(tmp_path, capsys):
    partly_solved(tmp_path)
    shutil.copy(REPO_ROOT / "chapters" / "00_getting_started.ipynb", tmp_path)
    text = (REPO_ROOT / "chapters" / "01_why_convolutions.ipynb").read_text(encoding="utf-8")
    (tmp_path / "01_why_convolutions.ipynb").write_text(text[: len(text) // 2], encoding="utf-8")  # cut off
    (tmp_path / "02_not_a_notebook.ipynb").write_text('{"hello": 1}', encoding="utf-8")
    (tmp_path / "03_odd_metadata.ipynb").write_text('{"cells": [{"metadata": ["not", "a", "dict"]}]}', encoding="utf-8")
    assert workbook(["progress", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "00_getting_started" in out and "05_partly" in out
    problems = out.split("Could not read:\n")[1].splitlines()
    assert len(problems) == 3
    assert problems[0].startswith("  01_why_convolutions.ipynb is not valid JSON (line ")
    assert problems[1] == "  02_not_a_notebook.ipynb is JSON but not a Jupyter notebook (no list of cells)"
    assert problems[2].startswith("  03_odd_metadata.ipynb has cells of an unexpected form (AttributeError")
    assert "why.param_counts" not in out


def test_nothing_readable_is_an_error(tmp_path, capsys):
    (tmp_path / "00_broken.ipynb").write_text("{", encoding="utf-8")
    assert workbook(["progress", str(tmp_path)]) == 1
    assert "00_broken.ipynb is not valid JSON" in capsys.readouterr().out
    assert workbook(["progress", str(tmp_path / "missing")]) == 1
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert workbook(["progress", str(tmp_path / "empty")]) == 1
    assert "no notebooks" in capsys.readouterr().err


def test_one_notebook_and_the_last_copy_of_a_cell_counts(tmp_path, capsys):
    path = write(tmp_path / "06_copies.ipynb", [
        exercise("t.copied", "def answer(): ...", count=1),
        check_cell("t.copied", count=2, outputs=[failed("t.copied")]),
        exercise("t.copied", "def answer(): ...", count=3),  # a pasted copy, run after the check
    ])
    assert statuses(path) == {"t.copied": "failed"}
    assert workbook(["progress", str(path)]) == 0
    assert "exercise cell ran after its check: t.copied (In [3] after In [2])" in capsys.readouterr().out


def test_the_default_folder_is_chapters_or_the_notebooks_here(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert workbook(["progress"]) == 1
    assert "chapters does not exist" in capsys.readouterr().err
    shutil.copy(REPO_ROOT / "chapters" / "00_getting_started.ipynb", tmp_path)  # a terminal opened in chapters/
    assert workbook(["progress"]) == 0
    assert capsys.readouterr().out.startswith("Progress in ., read from the saved notebooks")
    (tmp_path / "chapters").mkdir()
    partly_solved(tmp_path / "chapters")
    assert workbook(["progress"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Progress in chapters,") and "05_partly" in out and "00_getting_started" not in out


def test_the_nbgrader_release_not_attempted_error_counts_as_not_attempted(tmp_path):
    raised = new_output("error", ename="NotImplementedYet", evalue="t.todo: not implemented yet",
                        traceback=["\u2026 t.todo: not implemented yet."])
    path = write(tmp_path / "00_nbgrader.ipynb", [
        exercise("t.todo", "def answer():\n    raise NotImplementedError()", count=1),
        check_cell("t.todo", count=2, outputs=[raised]),
    ])
    assert statuses(path) == {"t.todo": "not attempted"}
