"""The canonical chapters, read from ``solutions/``, and how a submission's chapter is identified.

A ``Chapter`` holds what grading takes from the solution notebook: the source of its setup cells, and for
every exercise (in notebook order) its id, kind (code or markdown), points and the source of its check cell.
Students' copies of setup and check cells are never used.

Identification of a submission's chapter, first rule that gives an answer wins:

1. metadata: ``nb.metadata.workbook.chapter`` (written into every student notebook) names a known chapter;
2. file name: the name contains a chapter's stem (``00_getting_started``), else its topic
   (``getting_started``, ``getting-started``), else a two-digit number that is exactly one chapter's number
   (``alice_ch00.ipynb``);
3. content: the chapter whose exercise ids appear most often in the notebook's cell metadata; when no cell
   carries workbook metadata (another editor stripped it), the chapter whose prompts appear most often
   (an exercise's ``def`` line, the call in its check cell, a written question's text).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from utils.authoring.build import REPO_ROOT, solution_paths
from utils.authoring.cells import read_notebook, role, validate, workbook_meta
from utils.authoring.regions import CODE_PROMPT, MARKDOWN_PROMPT, strip_solutions


@dataclass(frozen=True)
class ExerciseSpec:
    exercise_id: str
    kind: str  # "code" or "markdown"
    points: float
    check_source: str | None  # the solution's check cell (code exercises)
    prompt: str = ""  # the exercise cell as the student receives it (solution regions replaced)
    before: str = ""  # the prose cell just above the exercise cell in the solution (a written answer's question)


@dataclass(frozen=True)
class Chapter:
    stem: str  # "00_getting_started"
    setup_sources: tuple[str, ...]
    exercises: tuple[ExerciseSpec, ...]
    sha256: str = field(default="")  # of the solution notebook file
    prose: frozenset[str] = frozenset()  # normal_text() of every markdown cell that is not an exercise

    @property
    def number(self) -> str:
        return self.stem[:2]

    @property
    def topic(self) -> str:
        return self.stem[3:]

    @property
    def max_points(self) -> float:
        return sum(e.points for e in self.exercises)


def load_chapter(path: Path) -> Chapter:
    """Read one solution notebook into a ``Chapter`` (validating the authoring rules)."""
    nb = read_notebook(path)
    exercises = validate(nb, path.name)
    checks = {workbook_meta(c)["check"]: c.source for c in nb.cells if role(c) == "check"}
    setup = tuple(c.source for c in nb.cells if role(c) == "setup" and c.cell_type == "code")
    cells = nb.cells

    def prose_above(index: int) -> str:
        above = cells[index - 1] if index > 0 else None
        return above.source if above is not None and above.cell_type == "markdown" and not role(above) else ""

    specs = tuple(ExerciseSpec(e.exercise_id, e.cell_type, e.points, checks.get(e.exercise_id),
                               strip_solutions(cells[e.cell_index].source, e.cell_type), prose_above(e.cell_index))
                  for e in exercises)
    prose = frozenset(normal_text(c.source) for c in cells if c.cell_type == "markdown" and role(c) != "exercise")
    return Chapter(path.stem, setup, specs, hashlib.sha256(path.read_bytes()).hexdigest(), prose)


@lru_cache(maxsize=None)
def _load_all(root: str) -> dict[str, Chapter]:
    return {p.stem: load_chapter(p) for p in solution_paths(Path(root))}


def load_chapters(root: Path = REPO_ROOT) -> dict[str, Chapter]:
    """Every chapter of ``root/solutions``, by stem, in order."""
    return _load_all(str(Path(root).resolve()))


PLACEHOLDERS = frozenset(re.sub(r"\s+", "", line) for line in (*CODE_PROMPT, MARKDOWN_PROMPT))
_CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([\w.]+)["']""")
_DEFINITION = re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)")


def normal_line(line: str) -> str:
    """A line with every blank removed: editors and formatters change spacing, never the tokens."""
    return re.sub(r"\s+", "", line)


def normal_text(text: str) -> str:
    """Text with blanks collapsed to one space (prose reflowed by an editor still compares equal)."""
    return " ".join(str(text).split())


def anchors(spec: ExerciseSpec) -> tuple[str, ...]:
    """The prompt's lines outside the part the student replaces (the ``def`` line, docstring, comments), normalised."""
    lines = (normal_line(line) for line in spec.prompt.splitlines())
    return tuple(line for line in lines if line and line not in PLACEHOLDERS)


def defined_names(spec: ExerciseSpec) -> tuple[str, ...]:
    """The functions and classes the prompt defines (``def n_outputs(n, k):`` -> ``n_outputs``)."""
    return tuple(m.group(1) for m in map(_DEFINITION.match, spec.prompt.splitlines()) if m)


def question(spec: ExerciseSpec) -> str:
    """A written exercise's question: the last paragraph of the cell above it, normalised ("" if none)."""
    paragraphs = [p for p in re.split(r"\n\s*\n", spec.before) if p.strip()]
    return normal_text(paragraphs[-1]) if spec.kind == "markdown" and paragraphs else ""


def _normal(text: str) -> str:
    return re.sub(r"[\s\-.]+", "_", text.lower())


def chapter_from_name(name: str, chapters: dict[str, Chapter]) -> tuple[str | None, str]:
    """Return ``(stem, matched_text)`` for a file name (no folders), or ``(None, "")``."""
    base = _normal(Path(name).name)
    for stem in chapters:
        if stem.lower() in base:
            return stem, stem.lower()
    for stem, chapter in chapters.items():
        if chapter.topic and chapter.topic.lower() in base:
            return stem, chapter.topic.lower()
    numbers = set(re.findall(r"(?<!\d)(\d{2})(?!\d)", base))
    hits = [stem for stem, chapter in chapters.items() if chapter.number in numbers]
    if len(hits) == 1:
        return hits[0], hits[0][:2]
    return None, ""


def metadata_chapter(nb) -> str | None:
    """The chapter the notebook's metadata names, known to this grader or not."""
    meta = nb.get("metadata", {}) if isinstance(nb, dict) else {}
    meta = meta.get("workbook", {}) if isinstance(meta, dict) else {}
    stem = meta.get("chapter") if isinstance(meta, dict) else None
    return stem if isinstance(stem, str) and stem.strip() else None


def chapter_from_metadata(nb, chapters: dict[str, Chapter]) -> str | None:
    stem = metadata_chapter(nb)
    return stem if stem in chapters else None


def _cell_source(cell) -> str:
    source = cell.get("source", "") if isinstance(cell, dict) else ""
    return "".join(source) if isinstance(source, list) else str(source)


def _prompt_evidence(nb, chapters: dict[str, Chapter]) -> dict[str, int]:
    """For each chapter, how many of its exercises show in ``nb`` by their text: the check call, the prompt
    (every line of it in one cell), the question of a written answer."""
    sources = [_cell_source(c) for c in nb.get("cells", []) if isinstance(c, dict)]
    called = {m.group(1) for text in sources for m in _CHECK_CALL.finditer(text)}
    lines = [{normal_line(line) for line in text.splitlines()} for text in sources]
    texts = [normal_text(text) for text in sources]

    def shows(spec: ExerciseSpec) -> bool:
        marks, asked = anchors(spec), question(spec)
        return (spec.exercise_id in called
                or (spec.kind == "code" and bool(marks) and any(all(m in cell for m in marks) for cell in lines))
                or bool(asked and any(asked in text for text in texts)))

    return {stem: sum(shows(spec) for spec in chapter.exercises) for stem, chapter in chapters.items()}


def chapter_from_content(nb, chapters: dict[str, Chapter], prompts: bool = True) -> str | None:
    """The chapter whose exercise ids occur most in the cell metadata; with no ids at all (and ``prompts``),
    the chapter whose prompts occur most. A tie answers nothing."""
    ids = set()
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
        meta = meta.get("workbook", {}) if isinstance(meta, dict) else {}
        if isinstance(meta, dict):
            for key in ("id", "check"):
                if isinstance(meta.get(key), str):
                    ids.add(meta[key])
    if ids or not prompts:
        scores = {stem: len(ids & {e.exercise_id for e in ch.exercises}) for stem, ch in chapters.items()}
    else:
        scores = _prompt_evidence(nb, chapters)
    best = max(scores.values(), default=0)
    winners = [stem for stem, score in scores.items() if score == best]
    return winners[0] if best > 0 and len(winners) == 1 else None
