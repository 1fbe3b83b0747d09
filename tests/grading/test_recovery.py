"""Honest notebooks recovered: stripped cell metadata matched by content, exports named, unknown chapters told.

Everything here runs ``read_submission``, ``identify`` and ``assemble`` directly (no kernel), except two
``grade_submission`` runs at the end: one that starts a grading process (a stripped chapter 00) and one that
never gets that far (an HTML export).
"""

from __future__ import annotations

import copy
import gzip
import io
import random
import re
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbconvert import HTMLExporter, MarkdownExporter, ScriptExporter
from nbconvert.preprocessors import ClearMetadataPreprocessor

from utils.authoring.build import student_version
from utils.authoring.regions import BEGIN, END, MARKDOWN_BEGIN, MARKDOWN_END
from utils.grading.assemble import assemble
from utils.grading.chapters import Chapter, ExerciseSpec, load_chapters
from utils.grading.discover import Submission
from utils.grading.grade import Limits, grade_submission
from utils.grading.intake import identify, read_submission

from .fixtures import REPO_ROOT

CHAPTERS = load_chapters()
KNOWN = ", ".join(CHAPTERS)
NOTE = "matched by content: cell {} had no workbook metadata (saved by another editor?)"
HAND_IN = "hand in the .ipynb file itself (File > Save, then the file ending in .ipynb)"
MENU = "File > Save and Export Notebook As > "


def solution(stem: str):
    return nbformat.read(str(REPO_ROOT / "solutions" / f"{stem}.ipynb"), as_version=4)


def blank(stem: str):
    """The notebook a student receives (what ``workbook build`` writes to chapters/)."""
    return student_version(solution(stem), stem)


def exercise_id(cell) -> str | None:
    return cell.metadata.get("workbook", {}).get("id")


def without_markers(source: str) -> str:
    """A solved cell as a student would write it: the solution's code, no marker lines."""
    markers = {BEGIN, END, MARKDOWN_BEGIN, MARKDOWN_END}
    return "\n".join(line for line in source.splitlines() if line.strip() not in markers)


def partly_solved(stem: str, solved: set[str]):
    """The student notebook with the exercises in ``solved`` answered (the solution's text, markers gone)."""
    nb = blank(stem)
    answers = {exercise_id(c): c.source for c in solution(stem).cells if exercise_id(c)}
    for cell in nb.cells:
        if exercise_id(cell) in solved:
            cell.source = without_markers(answers[exercise_id(cell)])
    return nb


def strip(nb, notebook_too: bool = False):
    """What another editor leaves: no cell metadata (and, with ``notebook_too``, no notebook metadata either).

    Returns the stripped copy and ``{exercise id: (cell index, source)}`` of the original exercise cells.
    """
    nb = copy.deepcopy(nb)
    where = {exercise_id(c): (i, c.source) for i, c in enumerate(nb.cells) if exercise_id(c)}
    if notebook_too:
        nb.metadata = {"language_info": {"name": "python"}}
    for cell in nb.cells:
        cell.metadata = {}
    return nb, where


def assert_matched(plan, where: dict) -> None:
    """Every exercise of the plan is the right cell, with the note that names it."""
    assert [s.exercise_id for s in plan.steps] == [e.exercise_id for e in plan.chapter.exercises]
    for step in plan.steps:
        index, source = where[step.exercise_id]
        assert step.missing_reason == "", f"{step.exercise_id}: {step.missing_reason}"
        assert step.source == source, step.exercise_id
        assert step.notes == [NOTE.format(index + 1)], step.exercise_id


# -- stripped metadata: every exercise found by its content --------------------------------------------------

@pytest.mark.parametrize("stem", ["00_getting_started", "04_pooling"])
@pytest.mark.parametrize("notebook_too", [False, True], ids=["cells", "cells+notebook"])
def test_stripped_solution_matches_every_exercise(stem, notebook_too):
    nb, where = strip(solution(stem), notebook_too)
    assert_matched(assemble(CHAPTERS[stem], nb), where)


def test_nbconvert_clear_metadata():
    """``jupyter nbconvert --ClearMetadataPreprocessor.enabled=True``: code cells lose their metadata (matched by
    content), markdown cells keep theirs (matched by id), the notebook's metadata goes (chapter told by content)."""
    stem = "04_pooling"
    nb = partly_solved(stem, {"pool.max_pool2d"})
    where = {exercise_id(c): (i, c.source) for i, c in enumerate(nb.cells) if exercise_id(c)}
    nb, _ = ClearMetadataPreprocessor(enabled=True).preprocess(nb, {})
    assert "workbook" not in nb.metadata
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    assert identify(nb, Path("notebook.ipynb"), CHAPTERS) == (stem, "content")
    for step in assemble(CHAPTERS[stem], nb).steps:
        index, source = where[step.exercise_id]
        assert step.source == source, step.exercise_id
        assert step.notes == ([NOTE.format(index + 1)] if step.kind == "code" else []), step.exercise_id


@pytest.mark.parametrize("stem, solved", [
    ("00_getting_started", {"warmup.slide", "warmup.border"}),
    ("04_pooling", {"pool.output_shape", "pool.avg_pool2d", "pool.q_when_hurts", "pool.global_avg"}),
])
def test_stripped_partly_solved_notebook(stem, solved):
    nb, where = strip(partly_solved(stem, solved), notebook_too=True)
    plan = assemble(CHAPTERS[stem], nb)
    assert_matched(plan, where)
    prompts = {e.exercise_id: e.prompt for e in CHAPTERS[stem].exercises}
    for step in plan.steps:  # the untouched ones are the prompts, the solved ones are not
        assert (step.source == prompts[step.exercise_id]) == (step.exercise_id not in solved), step.exercise_id


@pytest.mark.parametrize("stem", sorted(CHAPTERS))
def test_every_chapter_stripped_is_recovered_and_identified(stem):
    """Every chapter, solved and untouched: all exercises matched, and the chapter told by content alone."""
    for nb in (solution(stem), blank(stem)):
        stripped, where = strip(nb, notebook_too=True)
        assert_matched(assemble(CHAPTERS[stem], stripped), where)
        assert identify(stripped, Path("Untitled (3).ipynb"), CHAPTERS) == (stem, "content")


def test_shuffled_cells_and_extra_cells():
    """Cells moved (a written answer stays below its question) and cells added: content, not position, decides."""
    stem = "04_pooling"
    nb, where = strip(partly_solved(stem, {"pool.max_pool2d", "pool.q_strided_conv"}))
    originals = list(nb.cells)
    answers = {where[e.exercise_id][0] for e in CHAPTERS[stem].exercises if e.kind == "markdown"}
    blocks = [[c] for i, c in enumerate(originals) if i not in answers]
    for index in sorted(answers):  # a written answer travels with the cell above it
        next(b for b in blocks if b[0] is originals[index - 1]).append(originals[index])
    random.Random(15).shuffle(blocks)
    extras = [nbformat.v4.new_code_cell("print(max_pool2d(np.ones((1, 1, 4, 4)), 2).shape)"),
              nbformat.v4.new_markdown_cell("Ask about `def max_pool2d(x, kernel_size, stride=None, padding=0):`"),
              nbformat.v4.new_code_cell("import numpy as np\nx = np.arange(16.0).reshape(1, 1, 4, 4)")]
    cells = []
    for number, block in enumerate(blocks):
        cells.extend(block)
        if number % 9 == 4 and extras:
            cells.append(extras.pop())
    nb.cells = cells
    moved = {e: (next(i for i, c in enumerate(cells) if c is originals[index]), source)
             for e, (index, source) in where.items()}
    assert moved != where
    assert_matched(assemble(CHAPTERS[stem], nb), moved)


def test_some_cells_keep_their_ids():
    """Only exercises no cell carries the id of are looked for by content, and only among cells without an id."""
    stem = "00_getting_started"
    nb = solution(stem)
    slide = next(c for c in nb.cells if exercise_id(c) == "warmup.slide")
    slide.metadata = {}  # re-typed into a new cell
    layer = next(c for c in nb.cells if exercise_id(c) == "warmup.layer")
    layer.source = "def slide_filter(x, w):\n    return 0\n\n" + layer.source  # an id'd cell that also defines it
    plan = assemble(CHAPTERS[stem], nb)
    steps = {s.exercise_id: s for s in plan.steps}
    assert steps["warmup.slide"].source == slide.source
    assert steps["warmup.slide"].notes == [NOTE.format(nb.cells.index(slide) + 1)]
    for other in ("warmup.n_outputs", "warmup.layer", "warmup.border"):
        assert steps[other].notes == [] and steps[other].source is not None


# -- several candidates, changed prompts, cells that are not answers -----------------------------------------

def stripped_00():
    nb, where = strip(partly_solved("00_getting_started", {"warmup.n_outputs", "warmup.slide", "warmup.layer"}))
    return nb, {e: index for e, (index, _) in where.items()}


def step_of(nb, exercise: str):
    return next(s for s in assemble(CHAPTERS["00_getting_started"], nb).steps if s.exercise_id == exercise)


def test_two_worked_copies_are_ambiguous():
    nb, where = stripped_00()
    scratch = nbformat.v4.new_code_cell("def slide_filter(x, w):\n    return np.convolve(x, w[::-1], 'valid')\n")
    index = where["warmup.slide"]
    nb.cells.insert(index + 1, nbformat.v4.new_markdown_cell("Two versions: which one is faster?"))
    nb.cells.insert(index + 3, scratch)  # below the check cell: neither copy is right above it
    step = step_of(nb, "warmup.slide")
    first, second = index + 1, index + 4
    assert step.source is None and step.notes == []
    assert step.missing_reason == (f"no cell with exercise id 'warmup.slide' in the notebook, and cells {first}, "
                                   f"{second} (none with workbook metadata) all hold `def slide_filter(x, w):`: "
                                   "cannot tell which one is the answer (keep one)")


def test_a_new_version_pasted_above_the_check_cell_wins():
    nb, where = stripped_00()
    newer = nbformat.v4.new_code_cell("def slide_filter(x, w):\n    return np.convolve(x, w[::-1], 'valid')\n")
    nb.cells.insert(where["warmup.slide"] + 1, newer)
    step = step_of(nb, "warmup.slide")
    assert step.source == newer.source and step.notes == [NOTE.format(where["warmup.slide"] + 2)]


def test_the_copy_above_the_check_cell_wins():
    nb, where = stripped_00()
    scratch = nbformat.v4.new_code_cell("def slide_filter(x, w):\n    return x  # trying something\n")
    nb.cells.insert(3, scratch)  # a scratch copy far from the check cell
    step = step_of(nb, "warmup.slide")
    slide = where["warmup.slide"] + 1
    assert step.source == nb.cells[slide].source and step.notes == [NOTE.format(slide + 1)]


def test_a_changed_copy_beats_the_untouched_prompt():
    nb, where = stripped_00()
    prompt = next(e for e in CHAPTERS["00_getting_started"].exercises if e.exercise_id == "warmup.slide").prompt
    nb.cells.insert(where["warmup.slide"] + 1, nbformat.v4.new_code_cell(prompt))  # pasted again, above the check
    step = step_of(nb, "warmup.slide")
    assert step.source == nb.cells[where["warmup.slide"]].source
    assert step.notes == [NOTE.format(where["warmup.slide"] + 1)]


def test_one_cell_cannot_answer_two_exercises():
    nb, where = stripped_00()
    merged = nb.cells[where["warmup.n_outputs"]]
    merged.source += "\n\n" + nb.cells[where["warmup.slide"]].source
    del nb.cells[where["warmup.slide"]]
    plan = assemble(CHAPTERS["00_getting_started"], nb)
    steps = {s.exercise_id: s for s in plan.steps}
    cell = where["warmup.n_outputs"] + 1
    for exercise, other in (("warmup.n_outputs", "warmup.slide"), ("warmup.slide", "warmup.n_outputs")):
        assert steps[exercise].source is None
        assert steps[exercise].missing_reason == (
            f"no cell with exercise id {exercise!r} in the notebook, and cell {cell} (no workbook metadata) holds "
            f"the prompts of this exercise and of {other!r}: one cell cannot answer two exercises (put each in "
            "its own cell)")
    assert steps["warmup.layer"].source is not None


def test_a_changed_def_line_still_matches_with_a_note():
    nb, where = stripped_00()
    index = where["warmup.layer"]
    nb.cells[index].source = nb.cells[index].source.replace("def conv1d_layer(x, w, b, f):",
                                                            "def conv1d_layer(x, w, b, f=np.tanh):")
    step = step_of(nb, "warmup.layer")
    assert step.source == nb.cells[index].source
    assert step.notes == [NOTE.format(index + 1) + "; its first line differs from the prompt's "
                          "`def conv1d_layer(x, w, b, f):`"]


def test_a_deleted_exercise_is_missing_and_says_what_was_looked_for():
    nb, where = stripped_00()
    del nb.cells[where["warmup.layer"]]
    step = step_of(nb, "warmup.layer")
    assert step.source is None
    assert step.missing_reason == ("no cell with exercise id 'warmup.layer' in the notebook, and no cell without "
                                   "workbook metadata holds its prompt (`def conv1d_layer(x, w, b, f):`): the "
                                   "exercise cell was deleted, or its first line was changed")


def test_a_stripped_code_exercise_turned_markdown():
    nb, where = stripped_00()
    index = where["warmup.n_outputs"]
    nb.cells[index] = nbformat.v4.new_markdown_cell(nb.cells[index].source)
    step = step_of(nb, "warmup.n_outputs")
    assert step.source is None
    assert step.missing_reason == (f"no cell with exercise id 'warmup.n_outputs' in the notebook; cell {index + 1} "
                                   "holds its prompt "
                                   "(`def n_outputs(n, k):`) but is a markdown cell; it must be a code cell")


def test_a_deleted_written_answer():
    nb, where = stripped_00()
    index = where["warmup.border"]
    del nb.cells[index]
    step = step_of(nb, "warmup.border")
    assert step.source is None
    assert step.missing_reason == (f"no cell with exercise id 'warmup.border' in the notebook, and no answer below "
                                   f"its question: the cell below the question (cell {index + 1}) is the chapter's "
                                   "own text, not an answer")


def test_a_written_answer_whose_question_is_gone():
    nb, where = stripped_00()
    del nb.cells[where["warmup.border"] - 1]
    step = step_of(nb, "warmup.border")
    assert step.source is None
    assert step.missing_reason.startswith("no cell with exercise id 'warmup.border' in the notebook, and its "
                                          "question (\"Each layer shortens the sequence by $F - 1$ samples. Why")
    assert step.missing_reason.endswith("\") is not in it either: the answer cell was deleted")


def test_a_written_answer_with_reflowed_question_and_answer_in_a_new_cell():
    """An editor that re-wraps prose still leaves the words: the answer below the question is found."""
    nb, where = stripped_00()
    index = where["warmup.border"]
    nb.cells[index - 1].source = re.sub(r"\s+", " ", nb.cells[index - 1].source).replace(" ###", "\n\n###")
    nb.cells[index] = nbformat.v4.new_markdown_cell("Padding: add (F-1)/2 zeros at each end; the ends are invented.")
    step = step_of(nb, "warmup.border")
    assert step.source == nb.cells[index].source and step.notes == [NOTE.format(index + 1)]


def test_a_copied_question_and_an_answer_that_quotes_it():
    nb, where = stripped_00()
    index = where["warmup.border"]
    question = nb.cells[index - 1]
    nb.cells.insert(index, copy.deepcopy(question))  # the question cell duplicated: the answer is below the copy
    nb.cells[index + 1].source = question.source.split("\n\n")[-1] + "\n\nAnswer: pad with (F-1)/2 zeros."
    step = step_of(nb, "warmup.border")
    assert step.source == nb.cells[index + 1].source and step.notes == [NOTE.format(index + 2)]


def test_a_written_answer_without_a_question_above_it_is_not_guessed():
    """A written exercise whose solution has no prose cell right above it has nothing to be recognised by."""
    chapter = Chapter("99_test", (), (ExerciseSpec("test.q", "markdown", 1.0, None, "YOUR ANSWER HERE"),))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("My answer.")])
    step = assemble(chapter, nb).steps[0]
    assert step.source is None
    assert step.missing_reason == ("no cell with exercise id 'test.q' in the notebook (the written answer cell was "
                                   "deleted, or re-created without its metadata)")


# -- the chapter of a stripped notebook ----------------------------------------------------------------------

def test_chapter_from_prompts_ignores_a_tie_and_an_empty_notebook():
    nb = nbformat.v4.new_notebook()
    assert identify(nb, Path("x.ipynb"), CHAPTERS) == (None, "")
    nb.cells = [nbformat.v4.new_code_cell("def n_outputs(n, k):\n    return n - k + 1"),
                nbformat.v4.new_code_cell("def pool_output_shape(shape, kernel_size, stride=None, padding=0):\n"
                                          "    return shape")]
    assert identify(nb, Path("x.ipynb"), CHAPTERS) == (None, "")  # one exercise of 00, one of 04
    nb.cells.append(nbformat.v4.new_code_cell('check("pool.max_pool2d", max_pool2d)'))
    assert identify(nb, Path("x.ipynb"), CHAPTERS) == ("04_pooling", "content")
    assert identify(nb, Path("alice_00.ipynb"), CHAPTERS) == ("00_getting_started", "file name")


def test_cell_ids_outrank_prompts():
    """Prompts count only in a notebook without any workbook ids: two cells of 04 with ids beat 00's stripped cells."""
    pooling = [c for c in blank("04_pooling").cells if "pool.max_pool2d" in c.metadata.get("workbook", {}).values()]
    nb, _ = strip(blank("00_getting_started"), notebook_too=True)
    nb.cells = pooling + nb.cells
    assert len(pooling) == 2 and identify(nb, Path("x.ipynb"), CHAPTERS) == ("04_pooling", "content")
    for cell in pooling:
        cell.metadata = {}
    assert identify(nb, Path("x.ipynb"), CHAPTERS) == ("00_getting_started", "content")


# -- a chapter this grader does not know ---------------------------------------------------------------------

FUTURE = "12_object_detection"  # a chapter of a later workbook


def unknown_message(stem: str) -> str:
    return (f"this notebook is chapter {stem} which this grader does not know (known: {KNOWN}): update the "
            "workbook (git pull) or check the file")


def future_chapter():
    nb = blank("00_getting_started")
    assert FUTURE not in CHAPTERS
    nb.metadata["workbook"]["chapter"] = FUTURE
    for cell in nb.cells:
        meta = cell.metadata.get("workbook", {})
        for key in ("id", "check"):
            if key in meta:
                meta[key] = "detect." + meta[key].split(".")[1]
    return nb


def test_unknown_chapter_is_named():
    assert identify(future_chapter(), Path("bob.ipynb"), CHAPTERS) == (None, unknown_message(FUTURE))


def test_unknown_chapter_is_not_guessed_from_prompts():
    """A notebook that names its chapter is no stripped copy: the prompts (here chapter 00's) decide nothing."""
    nb = future_chapter()
    for cell in nb.cells:
        cell.metadata = {}
    assert identify(nb, Path("bob.ipynb"), CHAPTERS) == (None, unknown_message(FUTURE))


def test_renamed_chapter_is_found_by_its_ids_or_name():
    nb = blank("04_pooling")
    nb.metadata["workbook"]["chapter"] = "04_pooling_layers"
    assert identify(nb, Path("bob.ipynb"), CHAPTERS) == ("04_pooling", "content")
    assert identify(nb, Path("bob_04_pooling_layers.ipynb"), CHAPTERS) == ("04_pooling", "file name")


# -- exports and other files that are not notebooks ----------------------------------------------------------

def exported(exporter) -> bytes:
    body, _ = exporter().from_notebook_node(blank("00_getting_started"))
    return body.encode()


def archive(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as handle:
        for name, text in members.items():
            handle.writestr(name, text)
    return buffer.getvalue()


def zipped() -> bytes:
    return archive({"alice/00_getting_started.ipynb": nbformat.writes(blank("00_getting_started")),
                    "__MACOSX/alice/._00_getting_started.ipynb": ""})


def truncated(lines: int) -> bytes:
    text = nbformat.writes(blank("00_getting_started"))
    return "\n".join(text.splitlines()[:lines]).encode()


EXPORT_SCRIPT = (f"not a notebook: this is a Python script exported from a notebook ({MENU}Executable Script, or a "
                 f"jupytext or VS Code '# %%' script); {HAND_IN}")
EXPORT_MARKDOWN = f"not a notebook: this is a Markdown export of a notebook ({MENU}Markdown, or jupytext); {HAND_IN}"
PLAIN_TEXT = ("not a notebook: the file is text but not JSON (a notebook starts with '{'): code or notes saved as "
              f"a plain text file?; {HAND_IN}")
ENDS_EARLY = ("not a notebook: invalid JSON: the file ends early at line {} (it was cut off while saving, "
              "uploading or copying); open the notebook in Jupyter, save it, and hand in that file")
EXPORTS = {
    "html": (lambda: exported(HTMLExporter),
             f"not a notebook: this is an HTML export of a notebook ({MENU}HTML); {HAND_IN}"),
    "webpage": (lambda: b"<!DOCTYPE html>\n<html><head><title>alice/00.ipynb</title></head><body></body></html>",
                "not a notebook: this is a web page (HTML), perhaps saved from the browser (a notebook viewer, "
                f"GitHub or Colab page); {HAND_IN}"),
    "script": (lambda: exported(ScriptExporter), EXPORT_SCRIPT),
    "percent": (lambda: b"# %% [markdown]\n# # 00 Getting started\n\n# %%\nimport numpy as np\n", EXPORT_SCRIPT),
    "jupytext": (lambda: b"# ---\n# jupyter:\n#   jupytext:\n#     formats: ipynb,py:light\n# ---\n\nx = 1\n",
                 EXPORT_SCRIPT),
    "markdown": (lambda: exported(MarkdownExporter), EXPORT_MARKDOWN),
    "myst": (lambda: b"---\njupyter:\n  jupytext:\n    formats: md\n---\n\n# 00\n\nSome text.\n", EXPORT_MARKDOWN),
    "latex": (lambda: b"((*- extends 'base.tex.j2' -*))\n\\documentclass[11pt]{article}\n",
              f"not a notebook: this is a LaTeX export of a notebook ({MENU}LaTeX); {HAND_IN}"),
    "pdf": (lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\n",
            f"not a notebook: this is a PDF ({MENU}PDF, or the notebook printed from the browser); {HAND_IN}"),
    "zip": (zipped, "not a notebook: this is a zip archive (a compressed folder) renamed or saved as .ipynb; it "
                    f"holds 'alice/00_getting_started.ipynb'; unzip it and {HAND_IN}"),
    "broken zip": (lambda: b"PK\x03\x04 not really", "not a notebook: this is a zip archive (a compressed folder) "
                   f"renamed or saved as .ipynb; unzip it and {HAND_IN}"),
    "truncated": (lambda: truncated(120), ENDS_EARLY.format(120)),
    "truncated in a string": (lambda: truncated(60)[:-7], ENDS_EARLY.format(60)),
    "conflict": (lambda: b'{\n<<<<<<< HEAD\n "cells": [],\n=======\n "cells": [1],\n>>>>>>> theirs\n}\n',
                 "not a notebook: invalid JSON: the file holds merge-conflict markers (<<<<<<<, =======, >>>>>>>) "
                 f"from git or a sync tool; open the version you meant to keep, save it, and {HAND_IN}"),
    "broken json": (lambda: b'{"cells": [}, "metadata": {}}',
                    "not a notebook: invalid JSON (Expecting value: line 1 column 12 (char 11)); was the file "
                    "saved completely?"),
    "text": (lambda: b"def n_outputs(n, k):\n    return n - k + 1\n", PLAIN_TEXT),
    "notes": (lambda: b"# My answers\n\nExercise 1: n - k + 1\n", PLAIN_TEXT),
    "screenshot": (lambda: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
                   f"not a notebook: the file is not text but an image (PNG; a screenshot?); {HAND_IN}"),
    "binary": (lambda: bytes(range(256)) * 4,
               "not a notebook: the file is not text (a binary file such as an image or an archive?)"),
    "word": (lambda: archive({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w:document/>"}),
             f"not a notebook: this is a Word document (.docx), not a notebook; {HAND_IN}"),
    "gzip": (lambda: gzip.compress(nbformat.writes(blank("00_getting_started")).encode()),
             "not a notebook: this is a gzip archive (a compressed file) renamed or saved as .ipynb; unpack it "
             f"and {HAND_IN}"),
}


@pytest.mark.parametrize("name", EXPORTS)
def test_export_is_named(name):
    make, message = EXPORTS[name]
    assert read_submission(Path("alice_00_getting_started.ipynb"), make()) == (None, message)


def test_utf16_notebook_is_read():
    text = nbformat.writes(blank("00_getting_started"))
    nb, problem = read_submission(Path("a.ipynb"), text.encode("utf-16"))
    assert problem is None and nb.metadata["workbook"]["chapter"] == "00_getting_started"


def test_a_real_notebook_is_not_taken_for_an_export():
    for stem in CHAPTERS:  # their code holds '# ...' lines, '```python' and '<html' in strings, all inside JSON
        nb, problem = read_submission(Path("a.ipynb"), (REPO_ROOT / "solutions" / f"{stem}.ipynb").read_bytes())
        assert problem is None and len(nb.cells) > 5, stem


def test_odd_cells_do_not_break_recovery():
    """JSON that nbformat lets through with a validation error: cells of odd shapes are no candidates, no crash."""
    nb, where = strip(solution("00_getting_started"))
    nb.cells[0] = {"cell_type": "markdown", "metadata": [], "source": 5}
    nb.cells[1] = "not a cell"
    nb.cells.insert(2, {"metadata": {"workbook": "x"}, "source": ["def n_outputs", "(n, k):\n", "    return 1\n"]})
    assert identify(nb, Path("x.ipynb"), CHAPTERS) == ("00_getting_started", "content")
    plan = assemble(CHAPTERS["00_getting_started"], nb)
    steps = {s.exercise_id: s for s in plan.steps}
    index, source = where["warmup.n_outputs"]
    assert steps["warmup.n_outputs"].source == source
    assert steps["warmup.n_outputs"].notes == [NOTE.format(index + 2)]


# -- end to end ----------------------------------------------------------------------------------------------

def test_grade_a_stripped_notebook(tmp_path):
    """Chapter 00 through VS Code: no metadata anywhere, a neutral file name; two solved, one not, one written."""
    nb, _ = strip(partly_solved("00_getting_started", {"warmup.n_outputs", "warmup.slide", "warmup.border"}),
                  notebook_too=True)
    path = tmp_path / "Untitled-1.ipynb"
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    result = grade_submission(Submission(path, "alice", str(path)), Limits(cell_timeout=120, timeout=900))
    assert (result.chapter, result.chapter_source) == ("00_getting_started", "content")
    rows = [(r.exercise, r.status, r.points) for r in result.rows]
    assert rows == [("warmup.n_outputs", "passed", 1.0), ("warmup.slide", "passed", 2.0),
                    ("warmup.layer", "not attempted", 0.0), ("warmup.border", "answered", 0.0)], \
        [r.message for r in result.rows]
    cells = {e: i + 1 for i, c in enumerate(blank("00_getting_started").cells) if (e := exercise_id(c))}
    for row in result.rows:
        assert row.message.endswith(" | " + NOTE.format(cells[row.exercise])), row.message


def test_grade_an_html_export_and_an_unknown_chapter(tmp_path):
    html = tmp_path / "alice_00_getting_started.ipynb"
    html.write_bytes(exported(HTMLExporter))
    result = grade_submission(Submission(html, "alice", str(html)), Limits())
    message = f"not a notebook: this is an HTML export of a notebook ({MENU}HTML); {HAND_IN}"
    assert [(r.exercise, r.status, r.points, r.message) for r in result.rows] == [
        (e.exercise_id, "unreadable", 0.0, message) for e in CHAPTERS["00_getting_started"].exercises]
    future = tmp_path / "bob.ipynb"
    future.write_text(nbformat.writes(future_chapter()), encoding="utf-8")
    result = grade_submission(Submission(future, "bob", str(future)), Limits())
    assert [(r.exercise, r.status, r.points, r.message) for r in result.rows] == [
        ("-", "unreadable", 0.0, unknown_message(FUTURE))]
