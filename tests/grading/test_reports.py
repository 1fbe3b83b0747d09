"""What the instructor reads: rows, summary columns, written answers, paths, feedback (results built by hand)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from utils.grading.chapters import load_chapters
from utils.grading.discover import Ignored
from utils.grading.grade import Result, Row
from utils.grading.report import SUMMARY_COLUMNS, one_line, scrub, write_reports

CH00, CH01 = "00_getting_started", "01_why_convolutions"
SHA = "5" * 64


@pytest.fixture(scope="module")
def chapters():
    return load_chapters()


def _result(chapters, student, file, statuses, *, messages=None, answers=None, info=None, stem=CH00, sha=SHA):
    """A result of chapter ``stem`` whose exercises get ``statuses`` in order (passed = full points)."""
    rows = []
    for spec, status in zip(chapters[stem].exercises, statuses):
        rows.append(Row(spec.exercise_id, spec.kind, spec.points if status == "passed" else 0.0, spec.points, status,
                        (messages or {}).get(spec.exercise_id, ""), answer=(answers or {}).get(spec.exercise_id, "")))
    return Result(file, student, stem, "metadata", rows, sha256=sha, sandbox="none", info=dict(info or {}))


def _read(out: Path, name: str) -> list[dict]:
    with open(out / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def report(tmp_path_factory, chapters):
    root = tmp_path_factory.mktemp("reports")
    given = root / "class"  # what the instructor named on the command line
    absolute = str(given.resolve())
    results = [
        # ann: every code exercise right, the written answer awaiting a person; a superseded second copy
        _result(chapters, "ann", "class/ann/00.ipynb", ["passed", "passed", "passed", "answered"],
                answers={"warmup.border": "The border shrinks\nthe output."}),
        _result(chapters, "ann", "class/ann/00 (1).ipynb", ["passed", "failed", "passed", "answered"],
                messages={"warmup.slide": f"failed on case 3:\nexpected 1\ngot 2 (from {absolute}/ann/00 (1).ipynb)"},
                answers={"warmup.border": "An older answer."}),
        # bo: a wrong answer whose message spans lines and names the instructor's paths
        _result(chapters, "bo", "class/bo_00_getting_started.ipynb", ["passed", "failed", "not attempted", "not attempted"],
                messages={"warmup.slide": f"failed on case 2 (x of shape (1, 5)):\n  expected [1 2]\n  got [1 3]\n"
                                          f"see {absolute}/bo_00_getting_started.ipynb and {Path.home()}/notes"}),
        # a file whose name names no one
        _result(chapters, "unknown-1", "class/00_getting_started.ipynb", ["passed", "passed", "passed", "not attempted"],
                info={"owner": "unknown", "file": "class/00_getting_started.ipynb"}),
        # cy handed in only an archive that cannot be opened
        Result("class/cy/work.zip", "cy", "-", "", [Row("-", "-", 0.0, 0.0, "unreadable", "an archive that cannot be opened")]),
    ]
    ignored = [Ignored("class/dee/photo.png", "not a notebook (no .ipynb extension, no chapter in its name)", "dee"),
               Ignored("class/notes.txt", "not a notebook (no .ipynb extension, no chapter in its name)", "")]
    settings = {"paths": [str(given)], "chapters": [CH00, CH01]}
    out, long_out = root / "out", root / "long"
    document = write_reports(out, results, chapters, assigned=[CH00, CH01], ignored=ignored, settings=settings)
    write_reports(long_out, results, chapters, assigned=[CH00, CH01], ignored=ignored, settings=settings, long=True)
    return {"out": out, "long": long_out, "json": document, "absolute": absolute}


def test_one_row_per_chapter_not_handed_in(report, chapters):
    rows = [(r["student"], r["chapter"], r["exercise"], r["points"], r["max_points"], r["status"], r["file"])
            for r in _read(report["out"], "grades.csv") if r["status"] == "not handed in"]
    ch00, ch01 = f"{chapters[CH00].max_points:g}", f"{chapters[CH01].max_points:g}"
    assert rows == [("ann", CH01, "-", "0", ch01, "not handed in", "-"),
                    ("bo", CH01, "-", "0", ch01, "not handed in", "-"),
                    ("cy", CH00, "-", "0", ch00, "not handed in", "-"),
                    ("cy", CH01, "-", "0", ch01, "not handed in", "-"),
                    ("dee", CH00, "-", "0", ch00, "not handed in", "-"),
                    ("dee", CH01, "-", "0", ch01, "not handed in", "-")]  # none for unknown-1
    messages = {r["message"] for r in _read(report["out"], "grades.csv") if r["status"] == "not handed in"}
    assert messages == {"chapter not handed in: no notebook of this chapter was found for this student"}


def test_long_form_has_a_row_per_exercise(report, chapters):
    rows = [(r["student"], r["chapter"], r["exercise"], r["status"]) for r in _read(report["long"], "grades.csv")
            if r["file"] == "-"]
    per_student = {s: [(c, e) for who, c, e, _ in rows if who == s] for s in ("ann", "bo", "cy", "dee")}
    ids00 = [(CH00, e.exercise_id) for e in chapters[CH00].exercises]
    ids01 = [(CH01, e.exercise_id) for e in chapters[CH01].exercises]
    assert per_student == {"ann": ids01, "bo": ids01, "cy": ids00 + ids01, "dee": ids00 + ids01}
    assert {status for *_, status in rows} == {"missing"}
    # the long form changes grades.csv only: the summary is the same
    assert _read(report["long"], "summary.csv") == _read(report["out"], "summary.csv")


def test_summary_separates_automatic_and_written_points(report, chapters):
    auto00 = sum(e.points for e in chapters[CH00].exercises if e.kind == "code")
    auto01 = sum(e.points for e in chapters[CH01].exercises if e.kind == "code")
    header = (report["out"] / "summary.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == SUMMARY_COLUMNS + [CH00, f"{CH00} max", CH01, f"{CH01} max", "files", "note"]
    assert SUMMARY_COLUMNS == ["student", "auto_points", "auto_max", "percent", "written_to_read", "written_points_max"]
    summary = {r["student"]: r for r in _read(report["out"], "summary.csv")}
    assert list(summary) == ["ann", "bo", "cy", "dee", "unknown-1"]  # every student found, nothing gradable too
    total = auto00 + auto01
    expected = {  # student: (auto, auto_max, percent, to read, written max, ch00, ch01, files, note)
        "ann": (auto00, total, round(100 * auto00 / total, 1), 1, 1, auto00, 0, 2, f"not handed in: {CH01}"),
        "bo": (1, total, round(100 / total, 1), 0, 0, 1, 0, 1, f"not handed in: {CH01}"),
        "cy": (0, total, 0, 0, 0, 0, 0, 1, "nothing gradable: no file of this student could be read as a notebook; "
                                           f"not handed in: {CH00}, {CH01}"),
        "dee": (0, total, 0, 0, 0, 0, 0, 0, "nothing gradable: class/dee/photo.png (not a notebook (no .ipynb "
                                            "extension, no chapter in its name))"),
        "unknown-1": (auto00, auto00, 100, 0, 0, auto00, 0, 1, "owner unknown: file class/00_getting_started.ipynb"),
    }
    for student, (auto, auto_max, percent, to_read, written, c00, c01, files, note) in expected.items():
        line = summary[student]
        got = (float(line["auto_points"]), float(line["auto_max"]), float(line["percent"]), int(line["written_to_read"]),
               float(line["written_points_max"]), float(line[CH00]), float(line[CH01]), int(line["files"]), line["note"])
        assert got == (auto, auto_max, percent, to_read, written, c00, c01, files, note), student
        assert float(line[f"{CH01} max"]) == auto01 and float(line[f"{CH00} max"]) == auto00


def test_all_code_right_is_100_percent(tmp_path, chapters):
    solved = _result(chapters, "max", "in/max.ipynb", ["passed", "passed", "passed", "answered"], answers={"warmup.border": "x"})
    document = write_reports(tmp_path / "out", [solved], chapters, settings={"paths": ["in"]})
    assert document["summary"][0]["percent"] == 100.0 and document["summary"][0]["written_to_read"] == 1


def test_csv_messages_are_one_line_and_the_json_keeps_them(report):
    text = (report["out"] / "grades.csv").read_text(encoding="utf-8")
    rows = _read(report["out"], "grades.csv")
    assert len(text.splitlines()) == len(rows) + 1  # no cell spans lines
    bo = next(r for r in rows if r["student"] == "bo" and r["exercise"] == "warmup.slide")
    assert bo["message"] == ("failed on case 2 (x of shape (1, 5)): |   expected [1 2] |   got [1 3] | "
                             "see class/bo_00_getting_started.ipynb and ~/notes")
    full = next(r for r in report["json"]["rows"] if r["student"] == "bo" and r["exercise"] == "warmup.slide")
    assert full["message"] == ("failed on case 2 (x of shape (1, 5)):\n  expected [1 2]\n  got [1 3]\n"
                               "see class/bo_00_getting_started.ipynb and ~/notes")
    assert one_line("a\r\n\n b \rc") == "a |  b | c"


def test_no_absolute_paths_in_rows_feedback_or_json_rows(report):
    absolute, home = report["absolute"], str(Path.home())
    out = report["out"]
    for name in ("grades.csv", "summary.csv", "files.csv", "review.md", *(f"feedback/{p.name}" for p in (out / "feedback").iterdir())):
        text = (out / name).read_text(encoding="utf-8")
        assert absolute not in text and home + "/" not in text, name
    document = json.loads((out / "grades.json").read_text(encoding="utf-8"))
    for key in ("rows", "summary", "files", "submissions", "superseded", "ignored", "feedback"):
        text = json.dumps(document[key], ensure_ascii=False)
        assert absolute not in text and home + "/" not in text, key
    assert document["settings"]["paths"] == [str(Path(absolute))]  # the settings keep the arguments as given
    assert scrub(f"at {absolute}/x/y.ipynb", [absolute]) == "at class/x/y.ipynb"


def test_every_written_answer_reaches_review(report):
    text = (report["out"] / "review.md").read_text(encoding="utf-8")
    assert text.splitlines()[2].startswith("2 answer(s) of 1 student(s); the counted copies are worth up to 1 point(s)")
    assert text.splitlines()[4] == "Sandbox: none."
    counted = text.index("### 00_getting_started / warmup.border (up to 1 point): counted\n\nFile: `class/ann/00.ipynb`"
                         "\n\n> The border shrinks\n> the output.\n")
    older = text.index("### 00_getting_started / warmup.border (up to 1 point): superseded copy\n\nFile: "
                       "`class/ann/00 (1).ipynb`\n\n> An older answer.\n")
    assert counted < older
    feedback = (report["out"] / "feedback" / "ann.md").read_text(encoding="utf-8")
    assert ("- `class/ann/00 (1).ipynb` (00_getting_started, 3 of 5 automatic points) (SHA-256 `" + SHA + "`); "
            "its written answers (warmup.border) are read by your instructor too") in feedback


def test_superseded_copies_the_most_automatic_points_counts(report):
    files = [(r["student"], r["file"], r["counted"], r["points"]) for r in _read(report["out"], "files.csv")]
    assert files == [("ann", "class/ann/00 (1).ipynb", "superseded", "3"), ("ann", "class/ann/00.ipynb", "counted", "5"),
                     ("bo", "class/bo_00_getting_started.ipynb", "counted", "1"), ("cy", "class/cy/work.zip", "unreadable", "0"),
                     ("unknown-1", "class/00_getting_started.ipynb", "counted", "5")]


def test_feedback_flags_unknown_owners_and_empty_students(report):
    out = report["out"]
    assert sorted(p.name for p in (out / "feedback").iterdir()) == ["ann.md", "bo.md", "cy.md", "dee.md", "unknown-1.md"]
    assert report["json"]["feedback"]["unknown-1"] == "feedback/unknown-1.md"
    unknown = (out / "feedback" / "unknown-1.md").read_text(encoding="utf-8")
    assert "**owner unknown: file class/00_getting_started.ipynb**: its name names no student" in unknown
    assert f"## {CH01}" not in unknown
    dee = (out / "feedback" / "dee.md").read_text(encoding="utf-8")
    assert "**nothing gradable: class/dee/photo.png (not a notebook" in dee
    assert f"## {CH00}: not handed in" in dee and f"## {CH01}: not handed in" in dee
    bo = (out / "feedback" / "bo.md").read_text(encoding="utf-8")
    assert f"File: `class/bo_00_getting_started.ipynb` (SHA-256 `{SHA}`; sandbox: none)" in bo
    assert "Automatic score: **1 of" in bo


def test_json_records_students_files_and_sandbox(report):
    document = report["json"]
    assert document["sandbox"] == ["none"]
    assert [i["student"] for i in document["ignored"]] == ["dee", ""]
    unknown = next(s for s in document["submissions"] if s["student"] == "unknown-1")
    assert unknown["info"] == {"owner": "unknown", "file": "class/00_getting_started.ipynb"}
    assert unknown["sha256"] == SHA
    assert [s["file"] for s in document["superseded"]] == ["class/ann/00 (1).ipynb"]
