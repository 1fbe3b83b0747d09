"""What the ``workbook`` entry of a cell's metadata means, and the rules a solution notebook must follow.

- exercise cell: ``{"workbook": {"id": "warmup.slide", "points": 2}}`` -- holds at least one solution region.
  Code exercises are graded by their check; markdown exercises (written questions) are read by a person.
- check cell: ``{"workbook": {"check": "warmup.slide"}}`` -- comes after its code exercise and calls
  ``check("warmup.slide", ...)``. Students cannot edit or delete it; graders use the solution's copy.
- setup cell: ``{"workbook": {"setup": true}}`` -- something exercises need (imports, ``setup_notebook()``,
  data); graders run these, and skip every other demonstration cell.

Every rule broken is reported with the notebook's name and the cell's number (1-based, as counted top to bottom).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .regions import MarkerError, find_regions, markers


class NotebookError(ValueError):
    """A solution notebook breaks an authoring rule."""


@dataclass(frozen=True)
class Exercise:
    exercise_id: str
    cell_index: int  # 0-based
    cell_type: str  # "code" or "markdown"
    points: float


def workbook_meta(cell) -> dict:
    return cell.get("metadata", {}).get("workbook", {}) or {}


def role(cell) -> str:
    """One of "exercise", "check", "setup" or "" for plain prose and demonstration cells."""
    meta = workbook_meta(cell)
    if "id" in meta:
        return "exercise"
    if "check" in meta:
        return "check"
    if meta.get("setup"):
        return "setup"
    return ""


def validate(nb, name: str | Path, known_check_ids: set[str] | None = None) -> list[Exercise]:
    """Check the authoring rules of one solution notebook and return its exercises in order."""

    def fail(index: int, message: str):
        first = cells[index].source.strip().splitlines()[:1]
        where = f"{name}, cell {index + 1}" + (f" ({first[0][:50]!r})" if first else "")
        raise NotebookError(f"{where}: {message}")

    cells = nb.cells
    exercises: dict[str, Exercise] = {}
    checked: set[str] = set()
    for index, cell in enumerate(cells):
        try:
            regions = find_regions(cell.source, cell.cell_type)
        except MarkerError as error:
            fail(index, str(error))
        meta = workbook_meta(cell)
        kind = role(cell)
        if regions and kind != "exercise":
            fail(index, f'has a {markers(cell.cell_type)[0]} region but no exercise id; add cell metadata {{"workbook": {{"id": "...", "points": 1}}}}')
        if kind == "exercise":
            exercise_id = meta["id"]
            if not isinstance(exercise_id, str) or not exercise_id:
                fail(index, f"exercise id must be a non-empty string, got {exercise_id!r}")
            if not regions:
                fail(index, f"exercise {exercise_id!r} has no {markers(cell.cell_type)[0]} region")
            if exercise_id in exercises:
                fail(index, f"duplicate exercise id {exercise_id!r} (also cell {exercises[exercise_id].cell_index + 1})")
            points = meta.get("points", 1)
            if not isinstance(points, (int, float)) or isinstance(points, bool) or points < 0:
                fail(index, f"points of {exercise_id!r} must be a number >= 0, got {points!r}")
            exercises[exercise_id] = Exercise(exercise_id, index, cell.cell_type, float(points))
        elif kind == "check":
            target = meta["check"]
            if target not in exercises or exercises[target].cell_type != "code":
                fail(index, f"check cell for {target!r} does not follow a code exercise with that id")
            if target in checked:
                fail(index, f"a second check cell for {target!r}")
            if cell.cell_type != "code":
                fail(index, "a check cell must be a code cell")
            checked.add(target)
            if known_check_ids is not None and target not in known_check_ids:
                fail(index, f"no check is registered for {target!r} in utils/checks")
    for exercise in exercises.values():
        if exercise.cell_type == "code" and exercise.exercise_id not in checked:
            fail(exercise.cell_index, f"code exercise {exercise.exercise_id!r} has no check cell after it")
    return list(exercises.values())


def read_notebook(path: Path):
    """Read a notebook, turning unreadable JSON into a ``NotebookError`` that names the file."""
    import nbformat  # here, not at import time: `workbook progress` reads notebooks without it

    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as error:  # invalid JSON, wrong format version, ...
        raise NotebookError(f"{path}: cannot be read as a notebook ({type(error).__name__}: {error})") from None
