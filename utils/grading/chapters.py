"""The canonical chapters, read from ``solutions/``, and how a submission's chapter is identified.

A ``Chapter`` holds what grading takes from the solution notebook: the source of its setup cells, and for
every exercise (in notebook order) its id, kind (code or markdown), points and the source of its check cell.
Students' copies of setup and check cells are never used.

Identification of a submission's chapter, first rule that gives an answer wins:

1. metadata: ``nb.metadata.workbook.chapter`` (written into every student notebook) names a known chapter;
2. file name: the name contains a chapter's stem (``00_getting_started``), else its topic
   (``getting_started``, ``getting-started``), else a two-digit number that is exactly one chapter's number
   (``alice_ch00.ipynb``);
3. content: the chapter whose exercise ids appear most often in the notebook's cell metadata.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from utils.authoring.build import REPO_ROOT, solution_paths
from utils.authoring.cells import read_notebook, role, validate, workbook_meta
from utils.authoring.regions import strip_solutions


@dataclass(frozen=True)
class ExerciseSpec:
    exercise_id: str
    kind: str  # "code" or "markdown"
    points: float
    check_source: str | None  # the solution's check cell (code exercises)
    prompt: str = ""  # the exercise cell as the student receives it (solution regions replaced)


@dataclass(frozen=True)
class Chapter:
    stem: str  # "00_getting_started"
    setup_sources: tuple[str, ...]
    exercises: tuple[ExerciseSpec, ...]
    sha256: str = field(default="")  # of the solution notebook file

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
    specs = tuple(ExerciseSpec(e.exercise_id, e.cell_type, e.points, checks.get(e.exercise_id),
                               strip_solutions(nb.cells[e.cell_index].source, e.cell_type)) for e in exercises)
    return Chapter(path.stem, setup, specs, hashlib.sha256(path.read_bytes()).hexdigest())


@lru_cache(maxsize=None)
def _load_all(root: str) -> dict[str, Chapter]:
    return {p.stem: load_chapter(p) for p in solution_paths(Path(root))}


def load_chapters(root: Path = REPO_ROOT) -> dict[str, Chapter]:
    """Every chapter of ``root/solutions``, by stem, in order."""
    return _load_all(str(Path(root).resolve()))


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


def chapter_from_metadata(nb, chapters: dict[str, Chapter]) -> str | None:
    meta = nb.get("metadata", {}).get("workbook", {})
    stem = meta.get("chapter") if isinstance(meta, dict) else None
    return stem if isinstance(stem, str) and stem in chapters else None


def chapter_from_content(nb, chapters: dict[str, Chapter]) -> str | None:
    ids = set()
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("workbook", {})
        if isinstance(meta, dict):
            for key in ("id", "check"):
                if isinstance(meta.get(key), str):
                    ids.add(meta[key])
    scores = {stem: len(ids & {e.exercise_id for e in ch.exercises}) for stem, ch in chapters.items()}
    best = max(scores.values(), default=0)
    winners = [stem for stem, score in scores.items() if score == best]
    return winners[0] if best > 0 and len(winners) == 1 else None
