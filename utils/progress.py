"""``workbook progress [FOLDER]``: where a student stands, read from the verdicts saved in the notebooks.

Nothing is executed, so it is instant: every check cell's stored output is the verdict the student last saw,

- a line "✔ <id> passed ..." is **passed**;
- an error output ``CheckFailed`` is **failed** (any other error, e.g. ``NameError`` when the exercise cell
  was not run first, is reported as that error);
- "not implemented yet" is **not attempted**;
- no output at all is **never run**.

Written questions (markdown exercises) are *answered* once ``YOUR ANSWER HERE`` has been replaced; a person
grades them. The exercise list comes from the student notebook itself (cells matched by their
``metadata.workbook`` ids), because a student bundle has no ``solutions/``.

A saved verdict can be out of date: a check cell that was never run, or an exercise cell that ran after its
check (a higher execution count) are listed under "run again". Unsaved edits are invisible to any tool that
reads files, so the report reminds the student to save first.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from utils.authoring.cells import role, workbook_meta
from utils.authoring.regions import MARKDOWN_PROMPT
from utils.checks.core import FAILED, NOT_ATTEMPTED, PASSED

NEVER_RUN = "never run"
ANSWERED, NOT_ANSWERED = "answered", "not answered"


@dataclass
class Entry:
    """One exercise of one notebook, as far as the saved file tells."""

    exercise_id: str
    written: bool = False  # a markdown question, graded by a person
    points: float = 0.0
    status: str = NEVER_RUN
    stale: str = ""  # why the saved verdict may be out of date, e.g. "never run", "exercise cell ran after ..."


@dataclass
class Chapter:
    name: str
    entries: list[Entry] = field(default_factory=list)
    error: str = ""  # set when the file could not be read

    @property
    def code(self) -> list[Entry]:
        return [e for e in self.entries if not e.written]


def _text(value) -> str:
    # notebooks store multi-line strings either whole or as a list of lines
    return "".join(value) if isinstance(value, list) else str(value or "")


def verdict(check_cell: dict, exercise_id: str) -> str:
    """The status a check cell's stored outputs show."""
    outputs = check_cell.get("outputs") or []
    for output in outputs:
        if output.get("output_type") == "error":
            name = output.get("ename", "")
            if name == "NotImplementedYet":  # the nbgrader release's check cells raise instead of printing
                return NOT_ATTEMPTED
            return FAILED if name == "CheckFailed" else f"error ({name or 'unknown'})"
    # a kernel may split one print into several stream messages: join them before reading
    printed = "".join(_text(o.get("text")) for o in outputs if o.get("output_type") == "stream")
    if any(line.startswith(f"\u2714 {exercise_id} passed") for line in printed.splitlines()):
        return PASSED
    if "not implemented yet" in printed:
        return NOT_ATTEMPTED
    if not outputs:
        return NEVER_RUN
    return "no verdict in its output"


def _count(cell: dict | None) -> int | None:
    count = cell.get("execution_count") if cell else None
    return count if isinstance(count, int) else None


def read_chapter(path: Path) -> Chapter:
    """The exercises of one student notebook and their saved verdicts; ``error`` says why it was unreadable."""
    chapter = Chapter(path.stem)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        chapter.error = "is not a text file (not UTF-8); restore it from a backup or the handout"
        return chapter
    except json.JSONDecodeError as error:
        chapter.error = (f"is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); the file "
                         "may have been cut off while saving: restore it from a backup or a checkpoint "
                         "(.ipynb_checkpoints/)")
        return chapter
    except OSError as error:
        chapter.error = f"cannot be read ({error.strerror or error})"
        return chapter
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        chapter.error = "is JSON but not a Jupyter notebook (no list of cells)"
        return chapter

    entries: dict[str, Entry] = {}
    exercise_cells: dict[str, dict] = {}  # a copied cell keeps its id: the last copy counts, as in grading
    check_cells: dict[str, dict] = {}
    for cell in cells:
        kind, meta = role(cell), workbook_meta(cell)
        if kind == "exercise" and isinstance(meta.get("id"), str):
            entry = entries.setdefault(meta["id"], Entry(meta["id"]))
            entry.written = cell.get("cell_type") == "markdown"
            points = meta.get("points", 1)
            entry.points = float(points) if isinstance(points, (int, float)) and not isinstance(points, bool) else 0.0
            exercise_cells[meta["id"]] = cell
        elif kind == "check" and isinstance(meta.get("check"), str):
            entries.setdefault(meta["check"], Entry(meta["check"]))
            check_cells[meta["check"]] = cell

    for exercise_id, entry in entries.items():
        exercise = exercise_cells.get(exercise_id)
        if entry.written:
            answer = _text(exercise.get("source")).strip()
            entry.status = ANSWERED if answer and MARKDOWN_PROMPT not in answer else NOT_ANSWERED
            continue
        check_cell = check_cells.get(exercise_id)
        if check_cell is None:
            entry.status = entry.stale = "check cell missing"
            continue
        entry.status = verdict(check_cell, exercise_id)
        ran, checked = _count(exercise), _count(check_cell)
        if exercise is None:
            entry.stale = "exercise cell missing"
        elif entry.status == NEVER_RUN:
            entry.stale = NEVER_RUN
        elif ran is not None and checked is not None and ran > checked:
            entry.stale = f"exercise cell ran after its check (In [{ran}] after In [{checked}])"
    chapter.entries = list(entries.values())
    return chapter


def _read_or_explain(path: Path) -> Chapter:
    # valid JSON with cells of an unexpected form (hand-edited metadata, ...) must not hide the other chapters
    try:
        return read_chapter(path)
    except Exception as error:
        return Chapter(path.stem, error=f"has cells of an unexpected form ({type(error).__name__}: {error})")


def notebooks(folder: Path) -> list[Path]:
    if folder.is_file():
        return [folder]
    return sorted(p for p in folder.glob("*.ipynb") if p.is_file())


def _points(value: float) -> str:
    return f"{value:g}"


def _point_count(value: float) -> str:
    return f"{value:g} point" + ("" if value == 1 else "s")


def render(chapters: list[Chapter], folder: Path) -> str:
    """The progress report: one table row per exercise, totals, what to run again and what was unreadable."""
    readable = [c for c in chapters if not c.error]
    rows = [("chapter", "exercise", "points", "verdict")]
    for chapter in readable:
        for index, entry in enumerate(chapter.entries):
            status = f"written: {entry.status}" if entry.written else entry.status
            rows.append((chapter.name if index == 0 else "", entry.exercise_id, _points(entry.points), status))
        if not chapter.entries:
            rows.append((chapter.name, "(no exercises)", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"Progress in {folder}, read from the saved notebooks (nothing is run: save your notebooks first).",
             ""]
    for number, row in enumerate(rows):
        lines.append(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}".rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))

    code = [e for c in readable for e in c.code]
    passed = [e for e in code if e.status == PASSED]
    written = [e for c in readable for e in c.entries if e.written]
    lines += ["", f"Total: {len(passed)} of {len(code)} exercises passed, "
                  f"{_points(sum(e.points for e in passed))} of {_point_count(sum(e.points for e in code))}."]
    if written:
        lines.append(f"Written answers: {sum(e.status == ANSWERED for e in written)} of {len(written)} answered "
                     f"({_point_count(sum(e.points for e in written))}, graded by a person).")

    stale = [(c, [e for e in c.code if e.stale]) for c in readable]
    stale = [(c, entries) for c, entries in stale if entries]
    if stale:
        lines += ["", "Check cells to run (again): their saved verdict is missing or may be out of date."]
    for chapter, entries in stale:
        if all(e.stale == NEVER_RUN for e in chapter.code):
            lines.append(f"  {chapter.name}: no check cell has been run yet")
            continue
        reasons: dict[str, list[str]] = {}
        for e in entries:
            reason, _, detail = e.stale.partition(" (")
            reasons.setdefault(reason, []).append(e.exercise_id + (f" ({detail}" if detail else ""))
        lines.append(f"  {chapter.name}: " + "; ".join(f"{r}: {', '.join(ids)}" for r, ids in reasons.items()))
    unreadable = [c for c in chapters if c.error]
    if unreadable:
        lines += ["", "Could not read:"]
        lines += [f"  {c.name}.ipynb {c.error}" for c in unreadable]
    return "\n".join(lines)


def default_folder() -> str:
    """``chapters/`` from the workbook's root; the current folder when it is the one holding the notebooks
    (a terminal opened by ``jupyter lab chapters/`` starts there)."""
    if not Path("chapters").is_dir() and any(Path(".").glob("*.ipynb")):
        return "."
    return "chapters"


def progress_command(folder: str | None = None) -> int:
    """Print the report for ``folder`` (a folder of notebooks, or one notebook). 0 unless nothing was readable."""
    folder = folder or default_folder()
    path = Path(folder)
    if not path.exists():
        print(f"error: {folder} does not exist; give the folder that holds your notebooks, "
              "e.g. `workbook progress chapters/`", file=sys.stderr)
        return 1
    paths = notebooks(path)
    if not paths:
        print(f"error: no notebooks (*.ipynb) in {folder}", file=sys.stderr)
        return 1
    chapters = [_read_or_explain(p) for p in paths]
    print(render(chapters, path))
    return 0 if any(not c.error for c in chapters) else 1
