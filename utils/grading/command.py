"""The ``workbook grade`` and ``workbook release`` commands (argument handling lives in ``utils/cli.py``)."""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from .chapters import load_chapters
from .discover import discover
from .grade import Limits, grade_all
from .report import write_reports


def grade_command(paths: list[str], out: str, jobs: int = 1, limits: Limits | None = None,
                  chapters: list[str] | None = None, stream=sys.stdout) -> int:
    limits = limits or Limits()
    known = load_chapters()
    if chapters:
        unknown = [c for c in chapters if c not in known]
        if unknown:
            print(f"error: unknown chapter(s) {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
            return 2
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="workbook-grade-") as workdir:
        try:
            submissions, ignored = discover(paths, known, Path(workdir))
        except FileNotFoundError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"grading {len(submissions)} file(s) with {jobs} worker(s); per-cell limit {limits.cell_timeout:g} s, "
              f"per-notebook limit {limits.timeout:g} s, memory cap "
              f"{str(limits.memory_mb) + ' MB' if limits.memory_mb else 'off'}", file=stream, flush=True)
        for label, reason in ignored:
            print(f"ignored: {label} ({reason})", file=stream)
        results = grade_all(submissions, limits, jobs=jobs, out=stream)
    seconds = time.monotonic() - start
    timing = {"started": started_at, "seconds": round(seconds, 2), "jobs": jobs,
              "per_file": {r.file: round(r.seconds, 2) for r in results}}
    settings = {"limits": asdict(limits), "paths": list(paths), "chapters": chapters}
    document = write_reports(Path(out), results, known, assigned=chapters, ignored=ignored,
                             settings=settings, timing=timing)
    statuses: dict[str, int] = {}
    for row in document["rows"]:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    print(f"graded {len(results)} file(s) of {len(document['summary'])} student(s) in {seconds:.1f} s: "
          + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())), file=stream)
    print(f"wrote {out}/grades.csv, summary.csv, grades.json and feedback/", file=stream)
    return 0


def release_command(out: str, as_zip: bool = False, stream=sys.stdout) -> int:
    from .release import release

    try:
        written = release(Path(out), as_zip=as_zip)
    except (FileExistsError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote the student bundle {written}", file=stream)
    return 0


def release_nbgrader_command(out: str, chapters: list[str] | None = None, stream=sys.stdout) -> int:
    from .nbgrader_export import export

    try:
        stems = export(Path(out), chapters)
    except (FileExistsError, KeyError, ValueError) as error:
        print(f"error: {error.args[0] if isinstance(error, KeyError) else error}", file=sys.stderr)
        return 2
    print(f"wrote the nbgrader course folder {out}: source/ with {len(stems)} assignment(s) "
          f"({', '.join(stems)}), nbgrader_config.py, README.md", file=stream)
    return 0
