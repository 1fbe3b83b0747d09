"""The files ``workbook grade`` writes into its output folder, written all at once, and ``--verify``.

- ``grades.csv``   one row per student x exercise of every chapter handed in, and one row per student x chapter
  not handed in (status ``not handed in``, exercise ``-``; ``long=True`` writes one ``missing`` row per
  exercise instead): student, chapter, exercise, points, max_points, status, message (one line), file;
- ``summary.csv``  one row per student found (also with nothing gradable): automatic points and their maximum,
  the percentage of those, the written answers to read and their points, every chapter's automatic points, the
  number of files, and a note (owner unknown, nothing gradable, chapters not handed in);
- ``files.csv``    one row per file found: student, chapter, file, SHA-256 of the bytes graded, whether it
  counted, points, the sandbox;
- ``review.md``    every written answer of every file (superseded copies included), for the instructor;
- ``grades.json``  all of it with nothing shortened, plus every file's run time, notes, discovery info, what the
  exercise cells printed, ignored files, the settings, and versions;
- ``feedback/<name>.md``  what a student can read (``feedback_names``: transliterated, unique);
- ``MANIFEST.json`` the SHA-256 and size of every other file; ``verify(out)`` checks a folder against it.

The report is written into a new folder next to ``out`` and moved into place at the end, so no one ever sees a
half-written or mixed report. An existing ``out`` is replaced only when it is empty or a previous report
(holds ``MANIFEST.json``); anything else is refused (``check_out``).

Which file counts when a student handed in a chapter twice: the one with the most automatic points (ties: the
first in the order files were found); the others are "superseded": listed in ``files.csv``, the JSON and the
feedback, and their written answers are in ``review.md`` with the counted ones.

Paths in rows, messages, feedback and the JSON's rows are relative to what was named on the command line
(``scrub`` removes the folders above it and writes the home folder as ``~``).
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import tempfile
import unicodedata
from datetime import datetime, timezone
from pathlib import Path

from . import ANSWERED, MISSING, UNREADABLE
from .chapters import Chapter
from .discover import Ignored
from .grade import Result, Row

NOT_HANDED_IN = "not handed in"
COLUMNS = ["student", "chapter", "exercise", "points", "max_points", "status", "message", "file"]
SUMMARY_COLUMNS = ["student", "auto_points", "auto_max", "percent", "written_to_read", "written_points_max"]
FILE_COLUMNS = ["student", "chapter", "file", "sha256", "counted", "points", "max_points", "sandbox", "seconds"]
ICONS = {"passed": "✔", "failed": "✘", "error": "✘", "timeout": "⏱", "not attempted": "…", "missing": "?",
         "unreadable": "✘", "answered": "✎", NOT_HANDED_IN: "?"}
MANIFEST = "MANIFEST.json"
MANIFEST_KIND = "workbook grade report"
REPORT_FILES = ("grades.csv", "summary.csv", "files.csv", "review.md", "grades.json")


def _unknown_owner(result: Result) -> bool:
    return (result.info or {}).get("owner") == "unknown"


def _sort_key(student: str):
    return unicodedata.normalize("NFC", student).casefold()


def select(results: list[Result], chapters: dict[str, Chapter], assigned: list[str] | None = None,
           students=(), long: bool = False):
    """Return ``(counted, superseded)``: one result per (student, chapter), plus one per chapter not handed
    in by each student in ``results`` or ``students`` (not for files whose owner is unknown), and the rest."""
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
        elif _auto(result.rows)[0] > _auto(best[key].rows)[0]:
            superseded.append(best[key])
            best[key] = result
        else:
            superseded.append(result)
    for (student, stem), result in best.items():
        others = [r for r in superseded if (r.student, r.chapter) == (student, stem)]
        if others:
            result.notes.append("also handed in, not counted: "
                                + "; ".join(f"{r.file} ({_auto(r.rows)[0]:g} points)" for r in others))
    counted.extend(best.values())
    unknown = {r.student for r in results if _unknown_owner(r)}
    everyone = sorted({r.student for r in results} | set(students), key=_sort_key)
    wanted = assigned if assigned is not None else [s for s in chapters if any(r.chapter == s for r in results)]
    for student in everyone:
        if student in unknown:
            continue
        for stem in wanted:
            if stem in chapters and (student, stem) not in best:
                exercises = chapters[stem].exercises
                if long:
                    rows = [Row(e.exercise_id, e.kind, 0.0, e.points, MISSING,
                                "no notebook of this chapter was found for this student") for e in exercises]
                else:
                    rows = [Row("-", "chapter", 0.0, chapters[stem].max_points, NOT_HANDED_IN,
                                "chapter not handed in: no notebook of this chapter was found for this student")]
                counted.append(Result("-", student, stem, "", rows))
    order = {stem: i for i, stem in enumerate(chapters)}
    counted.sort(key=lambda r: (_sort_key(r.student), order.get(r.chapter, len(order)), r.file))
    return counted, superseded


def _auto(rows: list[Row]) -> tuple[float, float]:
    """Automatic points and their maximum (written answers excluded)."""
    auto = [r for r in rows if r.kind not in ("markdown", "chapter")]
    return sum(r.points for r in auto), sum(r.max_points for r in auto)


def _points(result: Result, chapters: dict[str, Chapter]) -> dict:
    """Automatic points and maximum, and the written answers to read with the points they can add."""
    if result.rows and result.rows[0].kind == "chapter":  # a chapter not handed in
        spec = chapters[result.chapter].exercises
        return {"auto": 0.0, "auto_max": sum(e.points for e in spec if e.kind == "code"), "to_read": 0,
                "to_read_max": 0.0}
    auto, auto_max = _auto(result.rows)
    answered = [r for r in result.rows if r.kind == "markdown" and r.status == ANSWERED]
    return {"auto": auto, "auto_max": auto_max, "to_read": len(answered),
            "to_read_max": sum(r.max_points for r in answered)}


def one_line(text: str) -> str:
    """A message for a CSV cell: line breaks become `` | `` (the JSON keeps the full text)."""
    lines = [line.rstrip() for line in str(text).splitlines()]
    return " | ".join(line for line in lines if line.strip())


def table(counted: list[Result]) -> list[dict]:
    rows = []
    for result in counted:
        for row in result.rows:
            rows.append({"student": result.student, "chapter": result.chapter, "exercise": row.exercise,
                         "points": row.points, "max_points": row.max_points, "status": row.status,
                         "message": row.message, "file": result.file})
    return rows


def notes_for(student: str, counted: list[Result], ignored=()) -> list[str]:
    """Why a student's summary line is what it is (for the ``note`` column and the feedback)."""
    mine = [r for r in counted if r.student == student]
    notes = [f"owner unknown: file {r.file}" for r in mine if _unknown_owner(r)]
    handed = [r for r in mine if r.file != "-"]
    if not handed:
        skipped = [i for i in ignored if i.student == student]
        why = "; ".join(f"{i.label} ({i.reason})" for i in skipped) or "no file of this student was found"
        notes.append(f"nothing gradable: {why}")
    elif all(row.status == UNREADABLE for r in handed for row in r.rows):
        notes.append("nothing gradable: no file of this student could be read as a notebook")
    absent = [r.chapter for r in mine if r.file == "-"]
    if absent and handed:
        notes.append("not handed in: " + ", ".join(absent))
    return notes


def summary(counted: list[Result], chapters: dict[str, Chapter], ignored=(), superseded=()) -> list[dict]:
    stems = [s for s in chapters if any(r.chapter == s for r in counted)]
    lines = []
    for student in sorted({r.student for r in counted}, key=_sort_key):
        mine = [r for r in counted if r.student == student]
        points = [_points(r, chapters) for r in mine]
        auto, auto_max = sum(p["auto"] for p in points), sum(p["auto_max"] for p in points)
        line = {"student": student, "auto_points": auto, "auto_max": auto_max,
                "percent": round(100 * auto / auto_max, 1) if auto_max else 0.0,
                "written_to_read": sum(p["to_read"] for p in points),
                "written_points_max": sum(p["to_read_max"] for p in points)}
        for stem in stems:
            chapter = [p for r, p in zip(mine, points) if r.chapter == stem]
            line[stem] = sum(p["auto"] for p in chapter)
            line[f"{stem} max"] = (sum(p["auto_max"] for p in chapter) if chapter
                                   else sum(e.points for e in chapters[stem].exercises if e.kind == "code"))
        line["files"] = sum(1 for r in [*mine, *superseded] if r.student == student and r.file != "-")
        line["note"] = "; ".join(notes_for(student, counted, ignored))
        lines.append(line)
    return lines


def _number(value):
    return f"{value:g}" if isinstance(value, float) else value


def _csv(rows: list[dict], columns: list[str]) -> str:
    handle = io.StringIO(newline="")
    writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: one_line(_number(row.get(k, ""))) if isinstance(row.get(k), str)
                         else _number(row.get(k, "")) for k in columns})
    return handle.getvalue()


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    path.write_text(_csv(rows, columns), encoding="utf-8", newline="")


_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


_LETTERS = str.maketrans({"æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "ß": "ss", "đ": "d", "Đ": "d", "ł": "l",
                          "Ł": "l", "œ": "oe", "Œ": "oe", "þ": "th", "Þ": "th", "ð": "d", "Ð": "d", "ı": "i"})


def _ascii(student: str) -> str:
    decomposed = unicodedata.normalize("NFKD", student.translate(_LETTERS))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9_-]+", "-", plain).strip("-_")[:60].strip("-_")


def _short_hash(student: str) -> str:
    return hashlib.sha256(unicodedata.normalize("NFC", student).encode()).hexdigest()[:4]


def feedback_names(students) -> dict[str, str]:
    """A file name (no ``.md``) per student: ASCII letters, digits, ``-`` and ``_``, lower-case, unique on any
    file system (compared case-insensitively); a name that collides or is empty gets a short hash suffix."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for student in sorted(students, key=_sort_key):
        base = _ascii(student)
        name, salt = base, 0
        while not name or name in used or name in _RESERVED:  # the hash of the name, then of the name + "#"...
            name = f"{base or 'student'}-{_short_hash(student + '#' * salt)}"
            salt += 1
        used.add(name)
        names[student] = name
    return names


def scrub(text: str, roots: list[str]) -> str:
    """Write paths relative to what was named on the command line: drop the folders above each path given,
    and write the home folder as ``~``."""
    if not text:
        return text
    prefixes = set()
    for given in roots:
        path = Path(given)
        for form in (path.absolute(), path.resolve()):
            if form.parent != form:
                prefixes.add(str(form.parent).rstrip(os.sep) + os.sep)
    for prefix in sorted(prefixes, key=len, reverse=True):
        if len(prefix) > 1:
            text = text.replace(prefix, "")
    home = str(Path.home())
    if len(home) > 1:
        text = text.replace(home + os.sep, "~" + os.sep)
    return text


def _scrub_results(results: list[Result], roots: list[str]) -> list[Result]:
    results = copy.deepcopy(results)
    for result in results:
        result.file = scrub(result.file, roots)
        result.notes = [scrub(n, roots) for n in result.notes]
        for row in result.rows:
            row.message, row.output, row.answer = (scrub(row.message, roots), scrub(row.output, roots),
                                                   scrub(row.answer, roots))
    return results


def feedback(student: str, counted: list[Result], chapters: dict[str, Chapter], superseded: list[Result] = (),
             ignored=()) -> str:
    mine = [r for r in counted if r.student == student]
    points = [_points(r, chapters) for r in mine]
    auto, auto_max = sum(p["auto"] for p in points), sum(p["auto_max"] for p in points)
    to_read, to_read_max = sum(p["to_read"] for p in points), sum(p["to_read_max"] for p in points)
    lines = [f"# Feedback for {student}", "",
             f"Automatic score: **{auto:g} of {auto_max:g} points**."
             + (f" Your written answers ({to_read}, up to {to_read_max:g} point{'' if to_read_max == 1 else 's'}) "
                "are read by your instructor." if to_read else ""), "",
             "Only your exercise cells were run, after the workbook's own setup cells, and checked by the "
             "workbook's own checks. Run a check cell in your notebook to see the same verdict.", ""]
    for note in notes_for(student, counted, ignored):
        if note.startswith("owner unknown"):
            lines += [f"**{note}**: its name names no student, so it was graded on its own. Tell your "
                      "instructor it is yours, and next time put your name in the file name.", ""]
        elif note.startswith("nothing gradable"):
            lines += [f"**{note}**", ""]
    for result in mine:
        if result.rows and result.rows[0].status == NOT_HANDED_IN:
            lines += [f"## {result.chapter}: not handed in", ""]
            continue
        got, of = _auto(result.rows)
        lines += [f"## {result.chapter}: {got:g} of {of:g} automatic points", ""]
        facts = ([f"SHA-256 `{result.sha256}`"] if result.sha256 else []) + ([f"sandbox: {result.sandbox}"]
                                                                           if result.sandbox else [])
        lines += [f"File: `{result.file}`" + (f" ({'; '.join(facts)})" if facts else ""), ""]
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
    others = [r for r in superseded if r.student == student]
    if others:
        lines += ["## Also handed in, not counted", ""]
        for result in others:
            got, of = _auto(result.rows)
            written = [r.exercise for r in result.rows if r.status == ANSWERED]
            lines.append(f"- `{result.file}` ({result.chapter}, {got:g} of {of:g} automatic points)"
                         + (f" (SHA-256 `{result.sha256}`)" if result.sha256 else "")
                         + (f"; its written answers ({', '.join(written)}) are read by your instructor too"
                            if written else ""))
        lines.append("")
    return "\n".join(lines)


def review(counted: list[Result], superseded: list[Result]) -> str:
    """Every written answer of every file, grouped by student and chapter, for the instructor to read."""
    entries = [(r, row, True) for r in counted for row in r.rows if row.kind == "markdown" and row.status == ANSWERED]
    entries += [(r, row, False) for r in superseded for row in r.rows if row.kind == "markdown" and row.status == ANSWERED]
    entries.sort(key=lambda e: (_sort_key(e[0].student), e[0].chapter, e[1].exercise, not e[2], e[0].file))
    total = sum(row.max_points for r, row, used in entries if used)
    lines = ["# Written answers to read", "",
             f"{len(entries)} answer(s) of {len({r.student for r, _, _ in entries})} student(s); the counted copies "
             f"are worth up to {total:g} point(s) in all. The grader gives them 0 automatic points: award points "
             "in your own gradebook (see docs/INSTRUCTORS.md). Superseded copies are listed too, after the "
             "counted one.", ""]
    sandboxes = sorted({r.sandbox for r in [*counted, *superseded] if r.sandbox})
    if sandboxes:
        lines += [f"Sandbox: {', '.join(sandboxes)}.", ""]
    student = None
    for result, row, used in entries:
        if result.student != student:
            student = result.student
            lines += [f"## {student}", ""]
        lines += [f"### {result.chapter} / {row.exercise} (up to {row.max_points:g} point"
                  f"{'' if row.max_points == 1 else 's'}): {'counted' if used else 'superseded copy'}", "",
                  f"File: `{result.file}`", ""]
        lines += ["> " + line if line.strip() else ">" for line in (row.answer or "").strip().splitlines()]
        lines.append("")
    return "\n".join(lines)


def file_rows(counted: list[Result], superseded: list[Result]) -> list[dict]:
    rows = []
    for result, use in [(r, "counted") for r in counted if r.file != "-"] + [(r, "superseded") for r in superseded]:
        if result.chapter == "-" or all(row.status == UNREADABLE for row in result.rows):
            use = "unreadable" if use == "counted" else use
        auto, auto_max = _auto(result.rows)
        rows.append({"student": result.student, "chapter": result.chapter, "file": result.file,
                     "sha256": result.sha256, "counted": use, "points": auto, "max_points": auto_max,
                     "sandbox": result.sandbox, "seconds": round(result.seconds, 2)})
    rows.sort(key=lambda r: (_sort_key(r["student"]), r["chapter"], r["file"]))
    return rows


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


def check_out(out: Path) -> str | None:
    """Why ``out`` may not receive a report (``None`` when it may): only a new or empty folder, or a previous
    report (it holds ``MANIFEST.json``), is replaced."""
    out = Path(out)
    if not out.exists() and not out.is_symlink():
        return None
    if out.is_symlink() or not out.is_dir():
        return f"{out} exists and is not a folder"
    if (out / MANIFEST).is_file() or not any(out.iterdir()):
        return None
    return (f"{out} holds files and is not a report folder (no {MANIFEST}); give a new or empty folder, "
            "or the folder of an earlier report")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(folder: Path) -> list[str]:
    """Every entry under ``folder`` that is not a folder, as a relative POSIX path (links count as files)."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_dir():
            found.append(path.relative_to(folder).as_posix())
    return found


def write_manifest(folder: Path, created: str) -> str:
    """Write ``MANIFEST.json`` (every other file's SHA-256 and size); return the manifest's own SHA-256."""
    files = {name: {"sha256": _sha256(folder / name), "bytes": (folder / name).stat().st_size}
             for name in _files(folder) if name != MANIFEST}
    data = (json.dumps({"kind": MANIFEST_KIND, "version": 1, "created": created, "files": files}, indent=1)
            + "\n").encode("utf-8")
    (folder / MANIFEST).write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _install(written: Path, out: Path) -> None:
    """Move the finished report folder into place; a previous report there is removed afterwards."""
    if out.exists():
        old = out.with_name(f".{out.name}.old-{secrets.token_hex(4)}")
        os.replace(out, old)
        os.replace(written, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(written, out)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_reports(out: Path, results: list[Result], chapters: dict[str, Chapter], *, assigned=None,
                  ignored=(), settings: dict | None = None, timing: dict | None = None, long: bool = False,
                  roots=None) -> dict:
    """Write every report file, then move the folder into ``out`` at once; return the JSON document.

    ``roots`` are the paths named on the command line (default: ``settings["paths"]``), for ``scrub``.
    Raises ``FileExistsError`` when ``out`` may not be replaced (``check_out``).
    """
    out = Path(out)
    refusal = check_out(out)
    if refusal:
        raise FileExistsError(refusal)
    roots = list(roots if roots is not None else (settings or {}).get("paths", []))
    results = _scrub_results(results, roots)
    ignored = [Ignored(*(scrub(v, roots) if n < 2 else v for n, v in enumerate(i))) for i in ignored]
    owners = [i.student for i in ignored if i.student]
    counted, superseded = select(results, chapters, assigned, students=owners, long=long)
    rows = table(counted)
    lines = summary(counted, chapters, ignored, superseded)
    stems = [s for s in chapters if any(r.chapter == s for r in counted)]
    summary_columns = SUMMARY_COLUMNS + [c for s in stems for c in (s, f"{s} max")] + ["files", "note"]
    names = feedback_names({r.student for r in counted})
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    document = {
        "versions": versions(), "settings": settings or {}, "timing": timing or {}, "created": created,
        "sandbox": sorted({r.sandbox for r in results if r.sandbox}),
        "chapters": {s: {"max_points": c.max_points, "solution_sha256": c.sha256,
                         "exercises": [e.exercise_id for e in c.exercises]} for s, c in chapters.items()},
        "rows": rows, "summary": lines, "files": file_rows(counted, superseded),
        "feedback": {student: f"feedback/{name}.md" for student, name in names.items()},
        "submissions": [r.to_dict() for r in counted if r.file != "-"],
        "superseded": [r.to_dict() for r in superseded],
        "ignored": [{"file": i.label, "reason": i.reason, "student": i.student} for i in ignored],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{out.name}.writing-", dir=out.parent))
    try:
        os.chmod(folder, 0o777 & ~_umask())
        (folder / "grades.csv").write_text(_csv(rows, COLUMNS), encoding="utf-8", newline="")
        (folder / "summary.csv").write_text(_csv(lines, summary_columns), encoding="utf-8", newline="")
        (folder / "files.csv").write_text(_csv(document["files"], FILE_COLUMNS), encoding="utf-8", newline="")
        (folder / "review.md").write_text(review(counted, superseded), encoding="utf-8")
        (folder / "feedback").mkdir()
        for student, name in names.items():
            text = feedback(student, counted, chapters, superseded, ignored)
            (folder / "feedback" / f"{name}.md").write_text(text, encoding="utf-8")
        (folder / "grades.json").write_text(json.dumps(document, indent=1, ensure_ascii=False), encoding="utf-8")
        document["manifest_sha256"] = write_manifest(folder, created)
        _install(folder, out)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return document


def verify(out: Path) -> tuple[int, list[str]]:
    """Whether a report folder is intact: ``(0, lines)`` intact, ``(1, lines)`` changed (the lines name every
    difference), ``(2, lines)`` not a report folder."""
    out = Path(out)
    manifest = out / MANIFEST
    if not out.is_dir():
        return 2, [f"{out}: not a folder"]
    if not manifest.is_file():
        return 2, [f"{out}: not a report folder (no {MANIFEST})"]
    raw = manifest.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
        assert isinstance(data, dict) and data.get("kind") == MANIFEST_KIND and data.get("version") == 1
        files = data["files"]
        assert isinstance(files, dict) and files
        for name, entry in files.items():
            assert isinstance(name, str) and name and not name.startswith("/") and ".." not in name.split("/")
            assert name != MANIFEST and isinstance(entry, dict)
            assert re.fullmatch(r"[0-9a-f]{64}", str(entry.get("sha256", ""))) and isinstance(entry.get("bytes"), int)
    except (ValueError, UnicodeDecodeError, AssertionError, KeyError, TypeError):
        return 1, [f"TAMPERED: {out}: {MANIFEST} is not a valid manifest (edited or replaced)"]
    problems = []
    for name, entry in sorted(files.items()):
        path = out / name
        if path.is_symlink() or not path.is_file():
            problems.append(f"missing: {name}")
        elif path.stat().st_size != entry["bytes"] or _sha256(path) != entry["sha256"]:
            problems.append(f"changed: {name}")
    for name in _files(out):
        if name != MANIFEST and name not in files:
            problems.append(f"extra: {name} (not in the manifest)")
    missing_reports = [n for n in REPORT_FILES if n not in files]
    if missing_reports:
        problems.append(f"the manifest lists no {', '.join(missing_reports)}")
    digest = hashlib.sha256(raw).hexdigest()
    if problems:
        return 1, [f"TAMPERED: {out} differs from its manifest (manifest SHA-256 {digest}):", *problems]
    return 0, [f"intact: {out}: {len(files)} files as the manifest lists them (manifest SHA-256 {digest}, "
               f"written {data.get('created', '?')})"]
