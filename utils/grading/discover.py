"""Which files are submissions, and whose.

``discover(paths, chapters)`` walks files, folders and ``.zip`` archives and returns one ``Submission`` per file.

What counts as a submission:

- a file named on the command line, whatever its name or content (a broken one becomes "unreadable" rows);
- inside a folder (recursively, sorted; hidden entries, ``.ipynb_checkpoints`` and ``__MACOSX`` skipped):
  every ``*.ipynb`` file, and any other file whose name contains a chapter's stem or topic
  (``alice_00_getting_started.txt``); every other file is listed as ignored (in the JSON report and on screen);
- a ``.zip`` archive is extracted to a temporary folder and treated like a folder (when everything in it sits
  in one top folder, that folder is the one walked).

The student naming rule:

- a file inside a folder given on the command line, nested at least one level (``DIR/alice/.../x.ipynb``):
  the student is the first folder under ``DIR`` (``alice``);
- otherwise (a file directly in ``DIR``, or a file named on the command line): the file name without its
  extension and without the chapter part (``alice_00_getting_started.ipynb`` -> ``alice``,
  ``ch00-bob.ipynb`` -> ``bob``); when nothing is left, the name of the folder that holds the file.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .chapters import Chapter, _normal, chapter_from_name

SKIP_DIRS = {".ipynb_checkpoints", "__MACOSX", "__pycache__"}


@dataclass(frozen=True)
class Submission:
    path: Path  # the file to read
    student: str
    label: str  # how the file is named in reports (relative to what the instructor gave)


def student_from_name(path: Path, chapters: dict[str, Chapter]) -> str:
    """The file name minus its extension and chapter part, else the enclosing folder's name."""
    stem = re.sub(r"(\.(ipynb|json|txt|bak|zip|png|jpe?g|pdf|html|py))+$", "", path.name, flags=re.I)
    _, matched = chapter_from_name(path.name, chapters)
    base = _normal(stem)
    if matched:
        base = base.replace(matched, "_", 1)
    base = re.sub(r"(^|_)(ch|chapter|chap|notebook|submission)(?=_|$)", "_", base)
    base = re.sub(r"_?\(\d+\)$|_copy\d*$", "", base)  # "x (1)", "x copy"
    base = base.strip("_")
    return base or path.parent.name or "unknown"


def _walk(root: Path):
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.name in SKIP_DIRS:
            continue
        if entry.is_dir():
            yield from _walk(entry)
        elif entry.is_file():
            yield entry


def _is_submission_name(path: Path, chapters: dict[str, Chapter]) -> bool:
    if path.suffix.lower() == ".ipynb":
        return True
    base = _normal(path.name)
    return any(stem.lower() in base or (ch.topic and ch.topic.lower() in base) for stem, ch in chapters.items())


def _extract(archive: Path, workdir: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    target = Path(tempfile.mkdtemp(prefix=archive.stem + "-", dir=workdir))
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(target)  # zipfile strips absolute paths and ".." components
    entries = [e for e in target.iterdir() if e.name not in SKIP_DIRS and not e.name.startswith(".")]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else target


def discover(paths, chapters: dict[str, Chapter], workdir: Path | None = None):
    """Return ``(submissions, ignored)``: the submissions found, and ``(label, reason)`` of files skipped.

    A path that does not exist raises ``FileNotFoundError`` (an instructor's typo, not a student's fault).
    """
    submissions: list[Submission] = []
    ignored: list[tuple[str, str]] = []
    for given in map(Path, paths):
        if not given.exists():
            raise FileNotFoundError(f"{given}: no such file or folder")
        root = given
        if given.is_file() and given.suffix.lower() == ".zip" and zipfile.is_zipfile(given):
            root = _extract(given, Path(workdir or tempfile.mkdtemp(prefix="workbook-grade-")))
        if root.is_file():
            submissions.append(Submission(given, student_from_name(given, chapters), str(given)))
            continue
        for file in _walk(root):
            relative = file.relative_to(root)
            label = str(given / relative)
            if not _is_submission_name(file, chapters):
                ignored.append((label, "not a notebook (no .ipynb extension, no chapter in its name)"))
                continue
            student = relative.parts[0] if len(relative.parts) > 1 else student_from_name(file, chapters)
            submissions.append(Submission(file, student, label))
    return submissions, ignored
