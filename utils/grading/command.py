"""The ``workbook grade`` and ``workbook release`` commands (argument handling lives in ``utils/cli.py``)."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from . import UNREADABLE
from .chapters import chapter_from_name, load_chapters
from .discover import discover
from .grade import Limits, Result, Row, detect_sandbox, grade_all
from .report import MANIFEST, check_out, verify, write_reports


def _not_graded(submission, chapters) -> Result:
    """The result of a file that discovery could not hand to grading (an archive that cannot be opened, a file
    too large or unreadable): one unreadable row per exercise when its name tells the chapter, else one row."""
    result = Result(submission.label, submission.student, "-", "", sha256=submission.sha256,
                    info=dict(submission.info))
    stem, _ = chapter_from_name(Path(submission.label).name, chapters)
    if stem:
        result.chapter, result.chapter_source = stem, "file name"
        result.rows = [Row(e.exercise_id, e.kind, 0.0, e.points, UNREADABLE, submission.problem)
                       for e in chapters[stem].exercises]
    else:
        result.rows = [Row("-", "-", 0.0, 0.0, UNREADABLE, submission.problem)]
    return result


def grade_command(paths: list[str], out: str, jobs: int = 1, limits: Limits | None = None,
                  chapters: list[str] | None = None, stream=None, long: bool = False) -> int:
    stream = stream or sys.stdout  # looked up now: a caller (or pytest) may have replaced sys.stdout
    limits = limits or Limits()
    known = load_chapters()
    if chapters:
        unknown = [c for c in chapters if c not in known]
        if unknown:
            print(f"error: unknown chapter(s) {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
            return 2
    refusal = check_out(Path(out))
    if refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    start = time.monotonic()
    try:
        # every file is read and hashed here, before any student code runs; grading uses these bytes
        submissions, ignored = discover(paths, known, exclude=[out])
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    gradable = [s for s in submissions if not s.problem]
    print(f"grading {len(gradable)} file(s) with {jobs} worker(s); per-cell limit {limits.cell_timeout:g} s, "
          f"per-notebook limit {limits.timeout:g} s, memory cap "
          f"{str(limits.memory_mb) + ' MB' if limits.memory_mb else 'off'}", file=stream, flush=True)
    sandbox = detect_sandbox()
    if sandbox.name == "none":
        print(f"sandbox: none ({sandbox.reason}): student code runs with your user's rights; every report records "
              "'sandbox: none' (see docs/INSTRUCTORS.md, Trust boundary)", file=stream, flush=True)
    else:
        print(f"sandbox: {sandbox.name}" + (f" ({sandbox.reason})" if sandbox.reason else ""), file=stream, flush=True)
    for item in ignored:
        print(f"ignored: {item.label} ({item.reason})", file=stream)
    for submission in submissions:
        if submission.problem:
            print(f"not graded: {submission.label} ({submission.problem})", file=stream)
        elif submission.info.get("owner") == "unknown":
            print(f"owner unknown: {submission.label} (graded as {submission.student})", file=stream)
    graded = iter(grade_all(gradable, limits, jobs=jobs, out=stream))
    results = [_not_graded(s, known) if s.problem else next(graded) for s in submissions]
    seconds = time.monotonic() - start
    timing = {"started": started_at, "seconds": round(seconds, 2), "jobs": jobs,
              "per_file": {r.file: round(r.seconds, 2) for r in results}}
    settings = {"limits": asdict(limits), "paths": list(paths), "out": str(out), "chapters": chapters, "long": long}
    try:
        document = write_reports(Path(out), results, known, assigned=chapters, ignored=ignored,
                                 settings=settings, timing=timing, long=long)
    except FileExistsError as error:  # out was filled meanwhile
        print(f"error: {error}", file=sys.stderr)
        return 2
    statuses: dict[str, int] = {}
    for row in document["rows"]:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    print(f"graded {len(results)} file(s) of {len(document['summary'])} student(s) in {seconds:.1f} s: "
          + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())), file=stream)
    print(f"wrote {out}/: grades.csv, summary.csv, files.csv, review.md, grades.json, feedback/ and {MANIFEST} "
          f"(manifest SHA-256 {document['manifest_sha256']}; check later with: workbook grade --verify {out})",
          file=stream)
    return 0


def verify_command(out: str, stream=None) -> int:
    """``workbook grade --verify OUT``: 0 intact, 1 changed since it was written, 2 not a report folder."""
    stream = stream or sys.stdout
    code, lines = verify(Path(out))
    for line in lines:
        print(line, file=sys.stderr if code == 2 else stream)
    return code


def release_command(out: str, as_zip: bool = False, stream=None) -> int:
    stream = stream or sys.stdout
    from .release import release

    try:
        written = release(Path(out), as_zip=as_zip)
    except (FileExistsError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote the student bundle {written}", file=stream)
    return 0


def release_nbgrader_command(out: str, chapters: list[str] | None = None, stream=None) -> int:
    stream = stream or sys.stdout
    from .nbgrader_export import export

    try:
        stems = export(Path(out), chapters)
    except (FileExistsError, KeyError, ValueError) as error:
        print(f"error: {error.args[0] if isinstance(error, KeyError) else error}", file=sys.stderr)
        return 2
    print(f"wrote the nbgrader course folder {out}: source/ with {len(stems)} assignment(s) "
          f"({', '.join(stems)}), nbgrader_config.py, README.md", file=stream)
    return 0
