"""The grading plan of one submission: what runs, in which order, and what is already decided.

The plan is the solution notebook's skeleton with the student's answers put in:

1. the canonical setup cells (from ``solutions/``);
2. for every exercise, in the solution's order: the student's exercise cell, found by its metadata id (by its
   content where another editor dropped the metadata; never by position alone), then the canonical check cell.

Rules (documented in docs/INSTRUCTORS.md):

- several cells carry the id (a duplicated cell) -> the LAST one in the notebook that is not the untouched prompt
  counts (the last one, if all are untouched), and the message says so;
- a code exercise whose cell was turned into markdown -> "missing", with that reason;
- no student cell carries the id -> the exercise is looked for by its content, among the cells that carry no
  workbook id (another editor, a copy into a new notebook or a re-typed cell drops cell metadata):

  - a code exercise: the code cells that hold every line of the prompt outside the part the student replaces
    (the ``def`` line, a docstring, comments), compared with blanks removed; failing that, the code cells that
    define the prompt's function at the start of a line (a ``def`` line whose arguments were changed);
  - a written answer: the markdown cell right below a cell holding the question (the last paragraph of the
    solution's cell above the answer cell, compared with blanks collapsed), unless that cell is the chapter's
    own prose (the answer cell was deleted) or a copy of the question cell;
  - several candidates: the untouched prompt drops out if a changed copy exists; then the code cell right above
    the exercise's check cell wins; if that still leaves several, nothing is matched ("missing", naming the
    cells); one cell that is the match of two exercises is the match of neither;
  - a match gets a note saying so; no match -> "missing", saying what was looked for;
- the student's copies of setup and check cells, demonstration cells and any extra cells are never run,
  so an edited check cell changes nothing; the points come from the solution, never from the student's metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .chapters import Chapter, ExerciseSpec, anchors, defined_names, normal_line, normal_text, question

NO_METADATA = "had no workbook metadata (saved by another editor?)"


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


class _Cells:
    """The student's cells, each normalised once: its kind, its lines without blanks, its text."""

    def __init__(self, cells: list):
        self.cells = cells
        self.sources = [_source(c) for c in cells]
        self.kinds = [_kind(c) for c in cells]
        self.lines = [{normal_line(line) for line in text.splitlines()} for text in self.sources]
        self.texts = [normal_text(text) for text in self.sources]
        self.free = [i for i, cell in enumerate(cells) if _exercise_id(cell) is None]


@dataclass
class _Match:
    """The outcome of looking for one exercise by content: a cell (``index``) or why there is none."""
    index: int | None = None
    reason: str = ""
    note: str = ""


def _source(cell) -> str:
    source = cell.get("source", "") if isinstance(cell, dict) else ""
    return "".join(source) if isinstance(source, list) else str(source)


def _exercise_id(cell):
    meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    workbook = meta.get("workbook", {}) if isinstance(meta, dict) else {}
    value = workbook.get("id") if isinstance(workbook, dict) else None
    return value if isinstance(value, str) else None


def _kind(cell) -> str:
    return cell.get("cell_type", "") if isinstance(cell, dict) else ""


def _no_id(exercise_id: str) -> str:
    return f"no cell with exercise id {exercise_id!r} in the notebook"


def _cells(numbers) -> str:
    numbers = [str(i + 1) for i in numbers]
    return ("cell " if len(numbers) == 1 else "cells ") + ", ".join(numbers)


def _prompt_shown(spec: ExerciseSpec) -> str:
    lines = [line.strip() for line in spec.prompt.splitlines() if normal_line(line) in anchors(spec)]
    return " / ".join(f"`{line}`" for line in lines[:2]) or "its prompt"


def _pick(spec: ExerciseSpec, cells: _Cells, candidates: list[int], what: str) -> _Match:
    """One of several candidate cells, or an ambiguity."""
    if len(candidates) > 1:
        prompt = normal_text(spec.prompt)
        worked = [i for i in candidates if cells.texts[i] != prompt]
        candidates = worked or candidates
    if len(candidates) > 1 and spec.check_source:
        check = normal_text(spec.check_source)
        above_check = [i for i in candidates if i + 1 < len(cells.texts) and cells.texts[i + 1] == check]
        candidates = above_check if len(above_check) == 1 else candidates
    if len(candidates) > 1:
        return _Match(reason=f"{_no_id(spec.exercise_id)}, and {_cells(candidates)} (none with workbook metadata) "
                             f"all hold {what}: cannot tell which one is the answer (keep one)")
    return _Match(candidates[0])


def _code_match(spec: ExerciseSpec, cells: _Cells) -> _Match:
    marks, names = anchors(spec), defined_names(spec)
    definitions = [re.compile(rf"^(?:async\s+)?def\s+{re.escape(n)}\s*\(|^class\s+{re.escape(n)}\b", re.M)
                   for n in names]

    def holds_prompt(i: int) -> bool:
        return bool(marks) and all(m in cells.lines[i] for m in marks)

    def defines(i: int) -> bool:
        return bool(definitions) and all(d.search(cells.sources[i]) for d in definitions)

    shown = _prompt_shown(spec)
    free = cells.free
    code = [i for i in free if cells.kinds[i] == "code"]
    exact = [i for i in code if holds_prompt(i)]
    if exact:
        return _pick(spec, cells, exact, shown)
    changed = [i for i in code if defines(i)]
    if changed:
        match = _pick(spec, cells, changed, f"a definition of {', '.join(names)}")
        if match.index is not None:
            match.note = f"its first line differs from the prompt's {shown}"
        return match
    elsewhere = [i for i in free if cells.kinds[i] != "code" and (holds_prompt(i) or defines(i))]
    if len(elsewhere) == 1:
        return _Match(reason=f"{_no_id(spec.exercise_id)}; {_cells(elsewhere)} holds its prompt "
                             f"({shown}) but is a {cells.kinds[elsewhere[0]]} cell; it must be a code cell")
    return _Match(reason=f"{_no_id(spec.exercise_id)}, and no cell without "
                         f"workbook metadata holds its prompt ({shown}): the exercise cell was deleted, or its "
                         "first line was changed")


def _written_match(spec: ExerciseSpec, chapter: Chapter, cells: _Cells) -> _Match:
    asked = question(spec)
    if not asked:
        return _Match(reason=f"{_no_id(spec.exercise_id)} (the written answer "
                             "cell was deleted, or re-created without its metadata)")
    texts, free = cells.texts, set(cells.free)
    questions = [i for i, text in enumerate(texts) if asked in text and cells.kinds[i] == "markdown"]
    if not questions:
        return _Match(reason=f"{_no_id(spec.exercise_id)}, and its question "
                             f"(\"{asked[:60]}...\") is not in it either: the answer cell was deleted")
    answers, problems = [], []
    for q in questions:
        a = q + 1
        if a >= len(texts):
            problems.append(f"nothing follows the question ({_cells([q])})")
        elif a not in free:
            problems.append(f"the cell below the question ({_cells([a])}) belongs to exercise "
                            f"{_exercise_id(cells.cells[a])!r}")
        elif cells.kinds[a] != "markdown":
            problems.append(f"the cell below the question ({_cells([a])}) is a {cells.kinds[a]} cell, not a "
                            "markdown answer")
        elif texts[a] in chapter.prose or texts[a] == texts[q]:  # the next section, or a copy of the question
            problems.append(f"the cell below the question ({_cells([a])}) is the chapter's own text, not an answer")
        else:
            answers.append(a)
    if not answers:
        return _Match(reason=f"{_no_id(spec.exercise_id)}, and no answer below "
                             f"its question: {'; '.join(problems)}")
    return _pick(spec, cells, answers, "an answer below the question")


def _by_content(chapter: Chapter, specs: list[ExerciseSpec], notebook_cells: list) -> dict[str, _Match]:
    if not specs:
        return {}
    cells = _Cells(notebook_cells)
    matches = {}
    for spec in specs:
        if spec.kind == "code":
            matches[spec.exercise_id] = _code_match(spec, cells)
        else:
            matches[spec.exercise_id] = _written_match(spec, chapter, cells)
    owners: dict[int, list[str]] = {}
    for exercise_id, match in matches.items():
        if match.index is not None:
            owners.setdefault(match.index, []).append(exercise_id)
    for index, ids in owners.items():
        if len(ids) > 1:
            for exercise_id in ids:
                others = ", ".join(repr(i) for i in ids if i != exercise_id)
                matches[exercise_id] = _Match(reason=(
                    f"{_no_id(exercise_id)}, and {_cells([index])} (no workbook metadata) holds "
                    f"the prompts of this exercise and of {others}: one cell cannot answer two exercises "
                    "(put each in its own cell)"))
    return matches


def assemble(chapter: Chapter, nb) -> Plan:
    """Build the plan for the student notebook ``nb`` (nbformat v4) of ``chapter``."""
    cells = [c for c in (nb.get("cells", []) or [])]
    found: dict[str, list[tuple[int, dict]]] = {}
    for index, cell in enumerate(cells):
        exercise_id = _exercise_id(cell)
        if exercise_id is not None:
            found.setdefault(exercise_id, []).append((index, cell))
    by_content = _by_content(chapter, [s for s in chapter.exercises if s.exercise_id not in found], cells)
    steps = []
    for spec in chapter.exercises:
        step = Step(spec.exercise_id, spec.kind, spec.points, spec.check_source, None)
        matches = found.get(spec.exercise_id, [])
        if not matches:
            match = by_content[spec.exercise_id]
            if match.index is None:
                step.missing_reason = match.reason
            else:
                step.source = _source(cells[match.index])
                step.notes.append(f"matched by content: {_cells([match.index])} {NO_METADATA}"
                                  + (f"; {match.note}" if match.note else ""))
        else:
            worked = [m for m in matches if _source(m[1]).strip() != spec.prompt.strip()]
            index, cell = (worked or matches)[-1]
            if len(matches) > 1:
                cells_ = ", ".join(str(i + 1) for i, _ in matches)
                which = "the last one" if index == matches[-1][0] else "the last one you changed"
                step.notes.append(f"{len(matches)} cells (cells {cells_}) carry this exercise id; {which} "
                                  f"(cell {index + 1}) was graded")
            if spec.kind == "code" and cell.get("cell_type") != "code":
                step.missing_reason = (f"the exercise cell (cell {index + 1}) is a {cell.get('cell_type')} cell; "
                                       "it must stay a code cell")
            else:
                step.source = _source(cell)
        steps.append(step)
    return Plan(chapter, chapter.setup_sources, steps)
