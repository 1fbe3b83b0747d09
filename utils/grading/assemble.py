"""The grading plan of one submission: what runs, in which order, and what is already decided.

The plan is the solution notebook's skeleton with the student's answers put in:

1. the canonical setup cells (from ``solutions/``);
2. for every exercise, in the solution's order: the student's exercise cell, found by its metadata id
   (never by position or by text), then the canonical check cell.

Rules (documented in docs/INSTRUCTORS.md):

- no student cell carries the id -> "missing" (a deleted cell, or one re-created without its metadata);
- several cells carry the id (a duplicated cell) -> the LAST one in the notebook that is not the untouched prompt
  counts (the last one, if all are untouched), and the message says so;
- a code exercise whose cell was turned into markdown -> "missing", with that reason;
- the student's copies of setup and check cells, demonstration cells and any extra cells are never run,
  so an edited check cell changes nothing; the points come from the solution, never from the student's metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .chapters import Chapter


@dataclass
class Step:
    exercise_id: str
    kind: str  # "code" or "markdown"
    points: float
    check_source: str | None
    source: str | None  # the student's cell; None when missing
    missing_reason: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class Plan:
    chapter: Chapter
    setup: tuple[str, ...]
    steps: list[Step]


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _exercise_id(cell):
    meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    workbook = meta.get("workbook", {}) if isinstance(meta, dict) else {}
    value = workbook.get("id") if isinstance(workbook, dict) else None
    return value if isinstance(value, str) else None


def assemble(chapter: Chapter, nb) -> Plan:
    """Build the plan for the student notebook ``nb`` (nbformat v4) of ``chapter``."""
    found: dict[str, list[tuple[int, dict]]] = {}
    for index, cell in enumerate(nb.get("cells", []) or []):
        exercise_id = _exercise_id(cell)
        if exercise_id is not None:
            found.setdefault(exercise_id, []).append((index, cell))
    steps = []
    for spec in chapter.exercises:
        step = Step(spec.exercise_id, spec.kind, spec.points, spec.check_source, None)
        matches = found.get(spec.exercise_id, [])
        if not matches:
            step.missing_reason = (f"no cell with exercise id {spec.exercise_id!r} in the notebook: the exercise "
                                   "cell was deleted, or re-created without its metadata")
        else:
            worked = [m for m in matches if _source(m[1]).strip() != spec.prompt.strip()]
            index, cell = (worked or matches)[-1]
            if len(matches) > 1:
                cells = ", ".join(str(i + 1) for i, _ in matches)
                which = "the last one" if index == matches[-1][0] else "the last one you changed"
                step.notes.append(f"{len(matches)} cells (cells {cells}) carry this exercise id; {which} "
                                  f"(cell {index + 1}) was graded")
            if spec.kind == "code" and cell.get("cell_type") != "code":
                step.missing_reason = (f"the exercise cell (cell {index + 1}) is a {cell.get('cell_type')} cell; "
                                       "it must stay a code cell")
            else:
                step.source = _source(cell)
        steps.append(step)
    return Plan(chapter, chapter.setup_sources, steps)
