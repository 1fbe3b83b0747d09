"""Benchmark of instructor grading: time per submission and in total, with 1 and 2 workers.

    python benchmarks/grading.py [--jobs 1 2] [--cell-timeout 10]

1. a complete workbook: every solution notebook handed in by one student (budget: at most 2 minutes on
   one core with --jobs 1; goal: under 2 s per chapter notebook per core);
2. a folder of 20 generated submissions with mixed faults across every chapter (correct, untouched,
   syntax error, infinite loop, os._exit, deleted cell, invalid JSON, output flood, sys.exit, wrong answer).
"""

from __future__ import annotations

import argparse
import copy
import io
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from utils.authoring.build import solution_paths  # noqa: E402
from utils.grading.chapters import load_chapters  # noqa: E402
from utils.grading.discover import discover  # noqa: E402
from utils.grading.grade import Limits, grade_all  # noqa: E402


def _first_code(nb, chapter):
    first = next(e.exercise_id for e in chapter.exercises if e.kind == "code")
    return next(c for c in nb.cells if c.metadata.get("workbook", {}).get("id") == first)


def _fault(name: str, stem: str, chapter) -> bytes:
    solved = nbformat.read(str(REPO_ROOT / "solutions" / f"{stem}.ipynb"), as_version=4)
    blank = nbformat.read(str(REPO_ROOT / "chapters" / f"{stem}.ipynb"), as_version=4)
    nb = copy.deepcopy(solved)
    nb.metadata = blank.metadata
    cell = _first_code(nb, chapter)
    if name == "untouched":
        nb = blank
    elif name == "syntax":
        cell.source = "def broken(:\n    pass\n"
    elif name == "loop":
        cell.source = "while True:\n    pass\n"
    elif name == "osexit":
        cell.source = "import os\nos._exit(1)\n"
    elif name == "deleted":
        nb.cells.remove(cell)
    elif name == "invalid_json":
        return nbformat.writes(nb).encode()[:500]
    elif name == "flood":
        cell.source += "\nfor _ in range(20_000):\n    print('spam ' * 40)\n"
    elif name == "sysexit":
        cell.source = "import sys\nsys.exit(3)\n" + cell.source
    elif name == "wrong":
        cell.source = blank_source(blank, cell).replace("raise NotImplementedError()", "return None")
    return nbformat.writes(nb).encode()


def blank_source(blank, cell) -> str:
    target = cell.metadata["workbook"]["id"]
    return next(c.source for c in blank.cells if c.metadata.get("workbook", {}).get("id") == target)


FAULTS = ["correct", "untouched", "syntax", "loop", "osexit", "deleted", "invalid_json", "flood", "sysexit", "wrong"]


def make_folders(root: Path) -> tuple[Path, Path]:
    chapters = load_chapters()
    complete = root / "complete" / "student"
    complete.mkdir(parents=True)
    for path in solution_paths(REPO_ROOT):
        (complete / path.name).write_bytes(path.read_bytes())
    mixed = root / "mixed"
    mixed.mkdir()
    stems = list(chapters)
    for i in range(20):
        stem, fault = stems[i % len(stems)], FAULTS[i % len(FAULTS)]
        (mixed / f"s{i:02d}_{fault.replace('_', '')}_{stem}.ipynb").write_bytes(_fault(fault, stem, chapters[stem]))
    return complete.parent, mixed


def bench(label: str, folder: Path, jobs: int, limits: Limits) -> float:
    submissions, _ = discover([folder], load_chapters())
    log = io.StringIO()
    start = time.monotonic()
    results = grade_all(submissions, limits, jobs=jobs, out=log)
    total = time.monotonic() - start
    print(f"\n== {label}: {len(results)} submission(s), --jobs {jobs} ==")
    for result in results:
        statuses = ", ".join(sorted({r.status for r in result.rows}))
        print(f"  {result.seconds:6.1f} s  {Path(result.file).name:55s} {result.points:g} pts  [{statuses}]")
    count = max(1, len(results))
    print(f"  total {total:.1f} s wall, {total / count:.2f} s per submission (wall / count), "
          f"{sum(r.seconds for r in results):.1f} s summed over submissions")
    print(f"  per chapter notebook per core: {total * jobs / count:.2f} s (wall x workers / submissions; goal < 2 s)")
    phases: dict[str, float] = {}
    for result in results:
        for phase, seconds in result.phases.items():
            phases[phase] = phases.get(phase, 0.0) + seconds
    if phases:
        print("  where the time went (summed): " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items())
              + f"; the rest ({sum(r.seconds for r in results) - sum(phases.values()):.1f} s) is reading, "
              "assembling and each worker's one zygote start")
    from utils.grading import grade

    if jobs == 1 and grade._HOST is not None:  # the zygote lives in this process
        print(f"  the worker's zygote started in {grade._HOST.start_seconds:.1f} s (once per worker, imports torch)")
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cell-timeout", type=float, default=10.0)
    args = parser.parse_args()
    limits = Limits(cell_timeout=args.cell_timeout)
    with tempfile.TemporaryDirectory() as tmp:
        complete, mixed = make_folders(Path(tmp))
        for jobs in args.jobs:
            seconds = bench("complete workbook (every chapter, solved)", complete, jobs, limits)
            if jobs == 1:
                verdict = "within" if seconds <= 120 else "OVER"
                print(f"  budget: one student's complete workbook on one worker: {seconds:.1f} s ({verdict} 120 s)")
            bench("20 generated submissions, mixed faults", mixed, jobs, limits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
