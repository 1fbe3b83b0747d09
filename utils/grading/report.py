"""The files ``workbook grade`` writes into its output folder.

- ``grades.csv``   one row per student x exercise: student, chapter, exercise, points, max_points, status,
  message, file;
- ``summary.csv``  one row per student: total, max, percent, review_points (written answers awaiting a person),
  then ``<chapter>`` and ``<chapter> max`` for every chapter;
- ``grades.json``  all of it, plus every graded file (also superseded ones) with its run time, what the exercise
  cells printed, written answers, ignored files, the limits used, and versions;
- ``feedback/<student>.md``  what a student can read: per chapter, what passed, what failed and why (the
  check's message names the case, expected vs got and the hint).

Which file counts when a student handed in a chapter twice: the one with the most points (ties: the first in
the order files were found); the others are listed in the JSON and the feedback. A chapter that someone in the
batch handed in (or that ``--chapters`` names) but a student did not becomes "missing" rows for that student.
"""

from __future__ import annotations

import csv
import json
import platform
import re
import subprocess
from pathlib import Path

from . import ANSWERED, MISSING
from .chapters import Chapter
from .grade import Result, Row

COLUMNS = ["student", "chapter", "exercise", "points", "max_points", "status", "message", "file"]
ICONS = {"passed": "✔", "failed": "✘", "error": "✘", "timeout": "⏱", "not attempted": "…", "missing": "?",
         "unreadable": "✘", "answered": "✎"}


def select(results: list[Result], chapters: dict[str, Chapter], assigned: list[str] | None = None):
    """Return ``(counted, superseded)``: one result per (student, chapter) plus missing chapters, and the rest."""
    best: dict[tuple[str, str], Result] = {}
    counted: list[Result] = []
    superseded: list[Result] = []
    for result in results:
        if result.chapter == "-":
            counted.append(result)  # unidentified files are never merged: each keeps its row
            continue
        key = (result.student, result.chapter)
        if key not in best:
            best[key] = result
        elif result.points > best[key].points:
            superseded.append(best[key])
            best[key] = result
        else:
            superseded.append(result)
    for (student, stem), result in best.items():
        others = [r for r in superseded if (r.student, r.chapter) == (student, stem)]
        if others:
            result.notes.append("also handed in, not counted: " + "; ".join(f"{r.file} ({r.points:g} points)" for r in others))
    counted.extend(best.values())
    students = sorted({r.student for r in results})
    wanted = assigned if assigned is not None else sorted({r.chapter for r in results if r.chapter in chapters})
    for student in students:
        for stem in wanted:
            if stem in chapters and (student, stem) not in best:
                rows = [Row(e.exercise_id, e.kind, 0.0, e.points, MISSING,
                            "no notebook of this chapter was found for this student") for e in chapters[stem].exercises]
                counted.append(Result("-", student, stem, "", rows))
    order = {stem: i for i, stem in enumerate(chapters)}
    counted.sort(key=lambda r: (r.student, order.get(r.chapter, len(order)), r.file))
    return counted, superseded


def table(counted: list[Result]) -> list[dict]:
    rows = []
    for result in counted:
        for row in result.rows:
            rows.append({"student": result.student, "chapter": result.chapter, "exercise": row.exercise,
                         "points": row.points, "max_points": row.max_points, "status": row.status,
                         "message": row.message, "file": result.file})
    return rows


def summary(counted: list[Result], chapters: dict[str, Chapter]) -> list[dict]:
    stems = [s for s in chapters if any(r.chapter == s for r in counted)]
    lines = []
    for student in sorted({r.student for r in counted}):
        mine = [r for r in counted if r.student == student]
        rows = [row for r in mine for row in r.rows]
        total = sum(row.points for row in rows)
        maximum = sum(row.max_points for row in rows)
        line = {"student": student, "total": total, "max": maximum,
                "percent": round(100 * total / maximum, 1) if maximum else 0.0,
                "review_points": sum(row.max_points for row in rows if row.status == ANSWERED)}
        for stem in stems:
            chapter_rows = [row for r in mine if r.chapter == stem for row in r.rows]
            line[stem] = sum(row.points for row in chapter_rows)
            line[f"{stem} max"] = sum(row.max_points for row in chapter_rows) if chapter_rows else chapters[stem].max_points
        lines.append(line)
    return lines


def _number(value):
    return f"{value:g}" if isinstance(value, float) else value


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _number(row.get(k, "")) for k in columns})


def safe_name(student: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", student).strip("._") or "student"


def feedback(student: str, counted: list[Result]) -> str:
    mine = [r for r in counted if r.student == student]
    rows = [row for r in mine for row in r.rows]
    total, maximum = sum(r.points for r in rows), sum(r.max_points for r in rows)
    review = sum(r.max_points for r in rows if r.status == ANSWERED)
    lines = [f"# Feedback for {student}", "",
             f"Automatic score: **{total:g} of {maximum:g} points**."
             + (f" Your written answers (up to {review:g} point{'' if review == 1 else 's'}) are read by your instructor." if review else ""), "",
             "Each exercise was run in a fresh kernel between the workbook's own setup and check cells, so what "
             "counts is your exercise cells. Run a check cell in your notebook to see the same verdict.", ""]
    for result in mine:
        got, of = sum(r.points for r in result.rows), sum(r.max_points for r in result.rows)
        lines += [f"## {result.chapter}: {got:g} of {of:g} points", ""]
        if result.file != "-":
            lines += [f"File: `{result.file}`", ""]
        for note in result.notes:
            lines += [f"Note: {note}", ""]
        for row in result.rows:
            head = f"- {ICONS.get(row.status, '-')} **{row.exercise}** ({row.points:g}/{row.max_points:g}): {row.status}"
            message = row.message.strip()
            if "\n" in message:
                lines += [head, "", "  ```", *("  " + m for m in message.splitlines()), "  ```"]
            else:
                lines.append(head + (f". {message}" if message else ""))
        lines.append("")
    return "\n".join(lines)


def versions() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform()}
    for name in ("cnn-workbook", "torch", "numpy", "nbformat", "nbclient", "jupyter_client", "ipykernel"):
        try:
            from importlib.metadata import version

            info[name] = version(name)
        except Exception:
            info[name] = None
    try:
        root = Path(__file__).resolve().parents[2]
        info["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                            text=True, timeout=10).stdout.strip() or None
    except Exception:
        info["git_commit"] = None
    return info


def write_reports(out: Path, results: list[Result], chapters: dict[str, Chapter], *, assigned=None,
                  ignored=(), settings: dict | None = None, timing: dict | None = None) -> dict:
    """Write every report file into ``out`` and return the JSON document."""
    out.mkdir(parents=True, exist_ok=True)
    counted, superseded = select(results, chapters, assigned)
    rows = table(counted)
    lines = summary(counted, chapters)
    write_csv(out / "grades.csv", rows, COLUMNS)
    summary_columns = list(lines[0]) if lines else ["student", "total", "max", "percent", "review_points"]
    write_csv(out / "summary.csv", lines, summary_columns)
    folder = out / "feedback"
    folder.mkdir(exist_ok=True)
    used: set[str] = set()
    for student in sorted({r.student for r in counted}):
        name = safe_name(student)
        while name in used:
            name += "_"
        used.add(name)
        (folder / f"{name}.md").write_text(feedback(student, counted), encoding="utf-8")
    document = {
        "versions": versions(), "settings": settings or {}, "timing": timing or {},
        "chapters": {s: {"max_points": c.max_points, "solution_sha256": c.sha256,
                         "exercises": [e.exercise_id for e in c.exercises]} for s, c in chapters.items()},
        "rows": rows, "summary": lines,
        "submissions": [r.to_dict() for r in counted if r.file != "-"],
        "superseded": [r.to_dict() for r in superseded],
        "ignored": [{"file": f, "reason": why} for f, why in ignored],
    }
    (out / "grades.json").write_text(json.dumps(document, indent=1, ensure_ascii=False), encoding="utf-8")
    return document
