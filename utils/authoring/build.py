"""Generate the student chapters from the solution notebooks.

    workbook build            # write chapters/NN_topic.ipynb for every solutions/NN_topic.ipynb
    workbook build --check    # write nothing; fail if any chapter is missing, stale or left over

The student version keeps every cell verbatim except that solution regions become prompts,
outputs and execution counts are cleared, and check and exercise cells are locked against
deletion (check cells also against editing) in JupyterLab.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import nbformat

from .cells import NotebookError, read_notebook, role, validate
from .regions import strip_solutions

REPO_ROOT = Path(__file__).resolve().parents[2]


def student_version(nb, chapter: str):
    """Return the student notebook made from a (validated) solution notebook."""
    student = copy.deepcopy(nb)
    for cell in student.cells:
        kind = role(cell)
        if kind == "exercise":
            cell.source = strip_solutions(cell.source, cell.cell_type)
            cell.metadata["deletable"] = False
        elif kind == "check":
            cell.metadata["deletable"] = False
            cell.metadata["editable"] = False
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for volatile in ("execution", "collapsed", "scrolled"):
            cell.metadata.pop(volatile, None)
    student.metadata["workbook"] = {"chapter": chapter, "role": "student"}
    return student


def render(nb) -> str:
    """The exact text written to disk, so that --check can compare byte for byte."""
    return nbformat.writes(nb) + "\n"


def solution_paths(root: Path) -> list[Path]:
    return sorted((root / "solutions").glob("[0-9][0-9]_*.ipynb"))


def build(root: Path | None = None, check_only: bool = False, out=None) -> int:
    """Build (or with ``check_only`` verify) every chapter of ``root`` (default: this repository).
    Returns a process exit code."""
    from utils.checks import registered_ids

    root = root or REPO_ROOT
    out = out or sys.stdout
    known = set(registered_ids())
    seen: dict[str, Path] = {}
    expected: dict[Path, str] = {}
    for path in solution_paths(root):
        nb = read_notebook(path)
        name = path.relative_to(root)
        for exercise in validate(nb, name, known):
            if exercise.exercise_id in seen:
                raise NotebookError(
                    f"{name}, cell {exercise.cell_index + 1}: exercise id {exercise.exercise_id!r} "
                    f"is already used in {seen[exercise.exercise_id]}"
                )
            seen[exercise.exercise_id] = name
        expected[root / "chapters" / path.name] = render(student_version(nb, path.stem))

    problems = []
    for target, text in expected.items():
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        if check_only:
            problems.append(f"{target.relative_to(root)} is {'missing' if current is None else 'stale'}")
        else:
            target.parent.mkdir(exist_ok=True)
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(root)}", file=out)
    leftovers = sorted(set((root / "chapters").glob("*.ipynb")) - set(expected))
    for extra in leftovers:
        if check_only:
            problems.append(f"{extra.relative_to(root)} has no solution notebook")
        else:
            extra.unlink()
            print(f"removed {extra.relative_to(root)} (no solution notebook)", file=out)
    if problems:
        print("chapters/ is out of date with solutions/:\n  " + "\n  ".join(problems)
              + "\nRun `workbook build` and commit the result.", file=out)
        return 1
    print(f"chapters/ is up to date ({len(expected)} notebooks)", file=out)
    return 0
