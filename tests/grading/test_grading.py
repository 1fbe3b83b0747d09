"""End-to-end grading: every fault fixture gets its exact status, and nothing vanishes from the report.

One batch (all fixtures, ``--jobs 2``) is graded once through the ``workbook grade`` command; the tests read
its CSV and JSON. Solutions and untouched chapters are graded for every solutions/*.ipynb present.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from utils.authoring.build import solution_paths
from utils.cli import main
from utils.grading.chapters import load_chapters
from utils.grading.discover import Submission
from utils.grading.grade import Limits, grade_submission

from .fixtures import CELL_TIMEOUT_S, FIXTURES, REPO_ROOT, completed, write_fixtures, _loop, _text

CHAPTERS = [p.stem for p in solution_paths(REPO_ROOT)]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading")
    expected = write_fixtures(root / "in")
    (root / "in" / "notes.txt").write_text("not a submission")
    out = root / "out"
    assert main(["grade", str(root / "in"), "--out", str(out), "--jobs", "2", "--cell-timeout", str(CELL_TIMEOUT_S)]) == 0
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    document = json.loads((out / "grades.json").read_text(encoding="utf-8"))
    return {"expected": expected, "rows": rows, "json": document, "out": out, "root": root}


@pytest.mark.parametrize("name", [*FIXTURES, "erin", "holiday"])
def test_fixture_gets_exact_status(batch, name):
    rows = {r["exercise"]: r for r in batch["rows"] if r["student"] == name and r["file"] != "-"}
    expected = batch["expected"][name]
    assert set(rows) == set(expected), f"{name}: rows {sorted(rows)}"
    for exercise, (status, text) in expected.items():
        row = rows[exercise]
        assert row["status"] == status, f"{name} {exercise}: {row['status']} ({row['message']})"
        assert text.lower() in row["message"].lower(), f"{name} {exercise}: {row['message']!r}"
        points = float(row["points"])
        assert points == (float(row["max_points"]) if status == "passed" else 0.0)


def test_every_file_is_in_the_report(batch):
    graded = {s["file"] for s in batch["json"]["submissions"]}
    # labels are relative to the folder named on the command line
    files = {"in/" + p.relative_to(batch["root"] / "in").as_posix() for p in (batch["root"] / "in").rglob("*.ipynb")}
    assert files == graded
    assert [i["file"] for i in batch["json"]["ignored"]] == ["in/notes.txt"]


def test_report_files(batch):
    out = batch["out"]
    header = (out / "grades.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "student,chapter,exercise,points,max_points,status,message,file"
    with open(out / "summary.csv", newline="", encoding="utf-8") as handle:
        summary = {r["student"]: r for r in csv.DictReader(handle)}
    assert float(summary["correct"]["auto_points"]) == 5 and float(summary["correct"]["auto_max"]) == 5
    assert float(summary["correct"]["written_points_max"]) == 1 and summary["correct"]["percent"] == "100"
    assert float(summary["loop"]["00_getting_started"]) == 4
    document = batch["json"]
    assert document["versions"]["torch"] and document["timing"]["seconds"] > 0
    assert document["settings"]["limits"]["cell_timeout"] == CELL_TIMEOUT_S
    flood = next(s for s in document["submissions"] if s["student"] == "flood")
    assert "more characters of output dropped" in flood["rows"][0]["output"]
    assert len(flood["rows"][0]["output"]) < 25_000
    feedback = (out / "feedback" / "mistakes.md").read_text(encoding="utf-8")
    assert "warmup.slide" in feedback and "numpy array" in feedback
    assert len(list((out / "feedback").glob("*.md"))) == len(summary)


def test_converted_v3_is_noted(batch):
    v3 = next(s for s in batch["json"]["submissions"] if s["student"] == "v3")
    assert "converted from notebook format v3" in v3["notes"]
    erin = next(s for s in batch["json"]["submissions"] if s["student"] == "erin")
    assert erin["chapter_source"] == "content"


def test_whole_notebook_limit(tmp_path):
    path = tmp_path / "slow_00_getting_started.ipynb"
    path.write_bytes(_text(_loop()))
    result = grade_submission(Submission(path, "slow", str(path)), Limits(cell_timeout=120, timeout=6))
    statuses = [(r.exercise, r.status) for r in result.rows]
    assert statuses == [("warmup.n_outputs", "timeout"), ("warmup.slide", "timeout"),
                        ("warmup.layer", "timeout"), ("warmup.border", "answered")]
    assert "whole-notebook time limit" in result.rows[0].message
    assert result.rows[1].message.startswith("not run") and result.rows[2].message.startswith("not run")


@pytest.fixture(scope="module")
def every_chapter(tmp_path_factory):
    """Each solution and each untouched chapter, graded as submissions of two students."""
    root = tmp_path_factory.mktemp("chapters")
    for stem in CHAPTERS:
        for who, folder in (("solved", "solutions"), ("blank", "chapters")):
            (root / who).mkdir(exist_ok=True)
            shutil.copy(REPO_ROOT / folder / f"{stem}.ipynb", root / who / f"{stem}.ipynb")
    out = root / "out"
    # generous limits: they only stop a hung kernel; no verdict here may depend on the machine's speed
    assert main(["grade", str(root), "--out", str(out), "--jobs", "2", "--cell-timeout", "600", "--timeout", "3600"]) == 0
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("stem", CHAPTERS)
def test_solution_gets_full_marks(every_chapter, stem):
    chapter = load_chapters()[stem]
    rows = [r for r in every_chapter if r["student"] == "solved" and r["chapter"] == stem]
    assert [r["exercise"] for r in rows] == [e.exercise_id for e in chapter.exercises]
    for row, spec in zip(rows, chapter.exercises):
        expected = "passed" if spec.kind == "code" else "answered"
        assert row["status"] == expected, f"{row['exercise']}: {row['status']} ({row['message']})"
        assert float(row["points"]) == (spec.points if spec.kind == "code" else 0)


@pytest.mark.parametrize("stem", CHAPTERS)
def test_untouched_chapter_gets_zero(every_chapter, stem):
    rows = [r for r in every_chapter if r["student"] == "blank" and r["chapter"] == stem]
    assert rows and all(r["status"] == "not attempted" for r in rows), [(r["exercise"], r["message"]) for r in rows]
    assert sum(float(r["points"]) for r in rows) == 0
