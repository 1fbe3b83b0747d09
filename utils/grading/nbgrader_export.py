"""An nbgrader course made from the solution notebooks: ``workbook release --nbgrader DIR``.

    DIR/source/<chapter>/<chapter>.ipynb   one assignment per chapter: the solution, with nbgrader metadata
    DIR/nbgrader_config.py                 the settings grading needs (use DIR as the course root, or merge it)
    DIR/README.md                          for the instructor: set-up, how students get ``utils``, limits

nbgrader trusts only ``metadata.nbgrader`` (schema 3), so every cell the workbook marks gets the matching kind:

==========================  ===========================================  ==========================
workbook cell               nbgrader cell                                grade_id
==========================  ===========================================  ==========================
setup                       read-only (locked)                           ``setup_<n>``
code exercise               autograded answer (solution)                 the exercise id, legal
its check cell              autograder tests (grade, locked, its points) the exercise id + ``_check``
written answer (markdown)   manually graded answer (grade + solution)    the exercise id, legal
anything else               no nbgrader metadata                         -
==========================  ===========================================  ==========================

A legal grade_id matches ``^[a-zA-Z0-9_-]*$``: every other character of an exercise id becomes ``_``
(``warmup.slide`` -> ``warmup_slide``). nbgrader gives a test cell full marks unless it ends in an error or
writes to stderr, so the check cells of the export call ``check(id, answer, graded=True)``: "not implemented
yet" is then raised (one line, no traceback) rather than printed, and the check's stderr goes to stdout, so
nbgrader and ``workbook grade`` give the same points.
"""

from __future__ import annotations

import ast
import copy
import re
from pathlib import Path

import nbformat

from utils.authoring.build import REPO_ROOT, render, solution_paths
from utils.authoring.cells import read_notebook, role, validate, workbook_meta
from utils.authoring.regions import CODE_PROMPT, MARKDOWN_PROMPT

SCHEMA_VERSION = 3
CHECK_SUFFIX = "_check"
# Never copied from a submission into nbgrader's grading folder: a student's utils/ or utils.py next to the
# notebook would be imported instead of the installed workbook package (and its checks).
IGNORE = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "utils", "utils.py"]
CELL_TIMEOUT_S = 120

CONFIG = f'''# nbgrader settings for the CNN workbook (written by `workbook release --nbgrader`).
# Use this folder as the course root, or copy these lines into your course's nbgrader_config.py.
c = get_config()  # noqa: F821 (nbgrader defines get_config when it reads this file)

# nbgrader's defaults, plus the workbook's package name: a `utils/` folder or `utils.py` that a student hands
# in next to the notebook would shadow the installed workbook (its checks included) in the grading folder.
c.CourseDirectory.ignore = {IGNORE!r}

# The prompts the workbook uses (nbgrader's defaults too): `workbook grade` recognises untouched answers by them.
c.ClearSolutions.code_stub = {{"python": {chr(10).join(CODE_PROMPT)!r}}}
c.ClearSolutions.text_stub = {MARKDOWN_PROMPT!r}

# Seconds per cell (nbgrader's default is 30): the setup cells import torch, some checks run many cases.
c.Execute.timeout = {CELL_TIMEOUT_S}
'''

README = """# CNN workbook chapters for nbgrader

Written by `workbook release --nbgrader`. `source/` holds one nbgrader assignment per chapter, named after
the chapter; each notebook is the workbook's solution notebook with nbgrader cell metadata. **It holds the
solutions**: keep this folder from students; they get what `nbgrader generate_assignment` writes to `release/`.

| workbook cell | nbgrader cell | points |
|---|---|---|
| setup (imports, data) | read-only | - |
| code exercise | autograded answer | - |
| check cell under it | autograder tests, read-only | the exercise's |
| written answer | manually graded answer | the exercise's |

Grade ids are the exercise ids with `.` turned into `_` (`warmup.slide`; its test cell `warmup_slide_check`).

## Set up

1. **Students need the workbook's `utils` package** (checks, data, plotting) installed in the environment
   of their kernel *and* of the grading kernel: nbgrader releases only the notebooks. Install it in the
   hub's single-user image and on the grading machine, from the workbook repository or from the student bundle
   that `workbook release handout` writes: `pip install -r requirements.txt` in that folder. Do not put
   `utils/` into `source/<chapter>/`: students would get a copy they can edit and hand back.
2. Use this folder as the course root (`nbgrader_config.py` is read from it), or copy `source/*` into your
   course's `source/` and the lines of `nbgrader_config.py` into yours. It sets `CourseDirectory.ignore` so
   that a `utils/` folder or `utils.py` a student hands in is never copied into the grading folder (it would
   replace the installed package), keeps the workbook's prompts, and gives each cell {timeout} s.
3. `nbgrader generate_assignment 00_getting_started` (or `"*"`: every chapter) writes `release/`; then
   release, collect and `nbgrader autograde 00_getting_started` as usual; written answers are graded by hand
   in the formgrader. The released notebooks are the workbook's student chapters, except that their check
   cells call `check(..., graded=True)`: "not implemented yet" is then an error (one line, no traceback), so
   an untouched exercise scores 0, and a warning from a correct answer does not fail it.

Chapters here: {chapters}.

## What nbgrader does not protect

nbgrader runs the student's whole notebook in one kernel, with the instructor's copies of the locked cells
put back. It does not stop a student from redefining names in the kernel: an exercise cell (or any cell)
may redefine `check`, patch `utils.checks`, or replace numpy functions, and the test cells below then
report whatever the student wants. Demonstration cells the student edited run as edited. Use
`workbook grade` (see the workbook's docs/INSTRUCTORS.md) on the same notebooks when that matters: it runs
only the workbook's setup cells, each exercise cell and the workbook's own check cell, with a recorder the
student's code cannot rebind by name, per-cell time limits and a memory cap, and gives the same points.
It reads nbgrader's folders as they are: `workbook grade submitted/ --out grades/` names each student after
their folder under `submitted/`.
"""

_ILLEGAL = re.compile(r"[^A-Za-z0-9_-]")


def grade_id(exercise_id: str) -> str:
    """The nbgrader grade_id of an exercise: its id with every character nbgrader rejects turned into ``_``."""
    return _ILLEGAL.sub("_", exercise_id)


def graded_check_source(source: str, exercise_id: str) -> str:
    """The check cell's ``check("id", answer)`` call with ``graded=True`` added (every other line kept)."""
    calls = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Name) and node.func.id == "check" and node.args
             and isinstance(node.args[0], ast.Constant) and node.args[0].value == exercise_id]
    if len(calls) != 1:
        raise ValueError(f"the check cell of {exercise_id!r} should call check({exercise_id!r}, ...) once, "
                         f"found {len(calls)} such calls")
    call = calls[0]
    if any(keyword.arg == "graded" for keyword in call.keywords):
        return source
    lines = source.splitlines(keepends=True)
    row, column = call.end_lineno - 1, call.end_col_offset - 1  # the closing parenthesis
    before = "".join(lines[:row]) + lines[row][:column]
    separator = "" if before.rstrip().endswith(",") else ", "
    graded = before + separator + "graded=True" + lines[row][column:] + "".join(lines[row + 1:])
    ast.parse(graded)
    return graded


def _nbgrader(grade_id_: str, *, grade: bool = False, solution: bool = False, locked: bool = False,
              points: float | None = None) -> dict:
    meta = {"schema_version": SCHEMA_VERSION, "grade": grade, "solution": solution, "locked": locked,
            "task": False, "grade_id": grade_id_}
    if grade:
        meta["points"] = int(points) if float(points).is_integer() else float(points)
    return meta


def nbgrader_source(nb, chapter: str):
    """The nbgrader source notebook of a (validated) solution notebook: solutions kept, outputs cleared."""
    exercises = {e.exercise_id: e for e in validate(nb, chapter)}
    source = copy.deepcopy(nb)
    owners: dict[str, str] = {}  # grade_id -> what it was made from, to refuse two cells sharing one
    setup_count = 0
    for index, cell in enumerate(source.cells):
        kind, meta = role(cell), workbook_meta(cell)
        if kind == "setup":
            setup_count += 1
            made = _nbgrader(f"setup_{setup_count}", locked=True)
        elif kind == "exercise":
            exercise = exercises[meta["id"]]
            written = exercise.cell_type == "markdown"
            made = _nbgrader(grade_id(exercise.exercise_id), grade=written, solution=True, points=exercise.points)
            cell.metadata["deletable"] = False
        elif kind == "check":
            exercise = exercises[meta["check"]]
            made = _nbgrader(grade_id(exercise.exercise_id) + CHECK_SUFFIX, grade=True, locked=True,
                             points=exercise.points)
            cell.source = graded_check_source(cell.source, exercise.exercise_id)
            cell.metadata["deletable"] = False
            cell.metadata["editable"] = False
        else:
            cell.metadata.pop("nbgrader", None)
            made = None
        if made is not None:
            label = f"cell {index + 1} ({kind})"
            if made["grade_id"] in owners:
                raise ValueError(f"{chapter}: {label} and {owners[made['grade_id']]} would share the nbgrader "
                                 f"grade_id {made['grade_id']!r}; rename one exercise id")
            owners[made["grade_id"]] = label
            cell.metadata["nbgrader"] = made
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for volatile in ("execution", "collapsed", "scrolled"):
            cell.metadata.pop(volatile, None)
    source.metadata["workbook"] = {"chapter": chapter, "role": "nbgrader"}
    return source


def chapter_stems(root: Path = REPO_ROOT) -> list[str]:
    return [path.stem for path in solution_paths(root)]


def resolve_chapters(names: list[str] | None, root: Path = REPO_ROOT) -> list[str]:
    """The stems named (a stem, or its two-digit number), in the order given; every chapter if none.
    Raises ``KeyError`` naming the unknown ones."""
    known = chapter_stems(root)
    if not names:
        return known
    chosen, unknown = [], []
    for name in names:
        hits = [stem for stem in known if name in (stem, stem[:2])]
        if len(hits) == 1:
            chosen.append(hits[0])
        else:
            unknown.append(name)
    if unknown:
        raise KeyError(f"unknown chapter(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return list(dict.fromkeys(chosen))


def export(out: Path, chapters: list[str] | None = None, root: Path = REPO_ROOT) -> list[str]:
    """Write the nbgrader course folder ``out`` (new or empty) for ``chapters`` (stems or numbers; default all).
    Returns the stems written."""
    out = Path(out)
    stems = resolve_chapters(chapters, root)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty; choose a new folder")
    notebooks = {stem: nbgrader_source(read_notebook(root / "solutions" / f"{stem}.ipynb"), stem) for stem in stems}
    for stem, nb in notebooks.items():
        nbformat.validate(nb)
        folder = out / "source" / stem
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{stem}.ipynb").write_text(render(nb), encoding="utf-8")
    (out / "nbgrader_config.py").write_text(CONFIG, encoding="utf-8")
    (out / "README.md").write_text(README.replace("{timeout}", str(CELL_TIMEOUT_S))
                                   .replace("{chapters}", ", ".join(f"`{s}`" for s in stems)), encoding="utf-8")
    return stems
