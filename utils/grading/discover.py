"""Which files are submissions, and whose; every file's bytes are read here, once, before any student code runs.

``discover(paths, chapters)`` walks files, folders and ``.zip`` archives and returns ``(submissions, ignored)``:
one ``Submission`` per file (holding the bytes read and their SHA-256; grading uses that copy, never the file
again), and one ``Ignored`` per file that is not a submission or per student folder with nothing in it.

What counts as a submission:

- a file named on the command line, whatever its name or content (a broken one becomes "unreadable" rows);
- inside a folder (recursively, sorted; hidden entries, ``.ipynb_checkpoints`` and ``__MACOSX`` skipped):
  every ``*.ipynb`` file, and any other file whose name contains a chapter's stem or topic
  (``alice_00_getting_started.txt``); every other file is listed as ignored (in the JSON report and on screen);
- a ``.zip`` archive, wherever it is, is opened and its members are read (nested archives too, 3 levels deep);
  an archive that cannot be opened, and a member larger than ``MAX_FILE_BYTES``, become an unreadable
  submission of their owner (``Submission.problem``), never a silent gap.

Whose (the owner), first rule that answers:

1. a file or archive nested in a folder given on the command line (``DIR/alice/.../x.ipynb``): the first folder
   under ``DIR`` that names someone (``alice``; a folder that names no one, such as ``00_getting_started/`` or
   ``submissions/``, is looked through); every member of an archive found there belongs to that owner too;
2. otherwise the file's own name (for an archive: the archive's name) minus its extension, the chapter part and
   words that name no one (``ch``, ``notebook``, ``submission``, ``untitled``, ...): ``alice_00_getting_started``
   -> ``alice``; the members of an archive given on the command line, or of one whose name names no one, are
   read as if the archive were a folder given on the command line (when everything in it sits in one top
   folder, that folder is the one walked);
3. nothing is left (``00_getting_started.ipynb`` directly in ``DIR``, ``notebook.ipynb``): the owner cannot be
   told and the file becomes its own student ``unknown-1``, ``unknown-2``, ... (never merged with another file).

Names are matched, not compared as typed: Unicode NFC, case-folded, runs of spaces, ``-`` and ``.`` read as
``_``, after the copy rules (``COPY_RULES``: "Copy of X", "X (1)", "X - copy 2", "X copy", "X_final",
"X-final2", "X (final)", "X_v2" are X). Every file of one matched name is one student, shown with the first
spelling found. ``Submission.info`` keeps what the name was and which rules applied.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from .chapters import Chapter, _normal, chapter_from_name

SKIP_DIRS = {".ipynb_checkpoints", "__MACOSX", "__pycache__"}
MAX_FILE_BYTES = 64 * 1024 ** 2  # a notebook larger than this is not read (a zip bomb, a data file)
MAX_ARCHIVE_DEPTH = 3
EXTENSIONS = r"(\.(ipynb|json|txt|bak|zip|png|jpe?g|pdf|html?|py))+$"
# words of a file name that say what the file is, not whose it is
ANONYMOUS_WORDS = (r"ch|chapters?|chap|notebooks?|submissions?|homeworks?|hw|assignments?|exercises?|workbook"
                   r"|untitled\d*")
_SEP = r"[\s_\-.]"
# (rule name, pattern): applied to a name again and again until none matches
COPY_RULES = (
    ("copy of X", re.compile(rf"^copy{_SEP}+of{_SEP}+", re.I)),
    ("X (N)", re.compile(rf"{_SEP}*\(\s*\d+\s*\)$")),
    ("X (final)", re.compile(rf"{_SEP}*\(\s*(final|copy)(\s*\d+)?\s*\)$", re.I)),
    ("X copy N", re.compile(rf"{_SEP}+copy({_SEP}*\d+)?$", re.I)),
    ("X final", re.compile(rf"{_SEP}+final({_SEP}*\d+)?$", re.I)),
    ("X vN", re.compile(rf"{_SEP}+v\d+$", re.I)),
)


@dataclass(frozen=True)
class Submission:
    path: Path  # where the file was found (for an archive member: the archive's path / the member's name)
    student: str  # the display name (the first spelling found of the matched name), or "unknown-N"
    label: str  # how reports name the file: relative to what was named on the command line
    data: bytes | None = field(default=None, repr=False)  # the bytes read once; None when they could not be read
    sha256: str = ""  # of ``data``
    info: dict = field(default_factory=dict, compare=False)  # how the owner was told; see ``discover``
    problem: str = ""  # why the file cannot be graded at all (unreadable archive, too large); "" = grade it


class Ignored(NamedTuple):
    label: str
    reason: str
    student: str = ""  # the owner, when the file sits in a student's folder


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def strip_copies(name: str) -> tuple[str, list[str]]:
    """Remove "Copy of", "(1)", "- copy 2", "_final", "_v2", ... (``COPY_RULES``); return the rest and the rules."""
    rules = []
    changed = True
    while changed:
        changed = False
        for rule, pattern in COPY_RULES:
            shorter = pattern.sub("", name).strip(" _-.")
            if shorter != name.strip(" _-.") and shorter:
                name, changed = shorter, True
                rules.append(rule)
    return name.strip(" _-."), rules


def name_key(name: str) -> str:
    """The matching form of a student's name: NFC, case-folded, separators as ``_``, copy rules applied."""
    base, _ = strip_copies(_nfc(name))
    return re.sub(r"[\s\-.]+", "_", base.casefold()).strip("_")


def owner_from_name(path: PurePosixPath | Path, chapters: dict[str, Chapter]) -> tuple[str, list[str]]:
    """The owner a file's own name gives (``""`` when it names no one), and the copy rules applied."""
    stem = re.sub(EXTENSIONS, "", _nfc(path.name), flags=re.I)
    base, rules = strip_copies(stem)
    _, matched = chapter_from_name(path.name, chapters)
    base = _normal(base)
    if matched:
        base = base.replace(matched, "_", 1)
    base = re.sub(rf"(^|_)({ANONYMOUS_WORDS})(?=_|$)", "_", base)
    base, more = strip_copies(base.strip("_"))
    base = base.strip("_")
    if re.fullmatch(r"[\d_]*", base):  # "00_getting_started_2": a number is no one's name
        base = ""
    return base, rules + more


def student_from_name(path: Path, chapters: dict[str, Chapter]) -> str:
    """The owner a file name gives, lower-cased with ``_`` separators; ``""`` when it names no one."""
    return owner_from_name(path, chapters)[0]


def _is_submission_name(name: str, chapters: dict[str, Chapter]) -> bool:
    if name.lower().endswith(".ipynb"):
        return True
    base = _normal(name)
    return any(stem.lower() in base or (ch.topic and ch.topic.lower() in base) for stem, ch in chapters.items())


def _hidden(part: str) -> bool:
    return part.startswith(".") or part in SKIP_DIRS


class _Entry(NamedTuple):
    parts: tuple[str, ...]  # relative to the walked root
    read: object  # () -> bytes; raises OSError / ValueError with a reason
    size: int
    path: Path  # for Submission.path


def _folder_entries(root: Path, exclude: set[Path], links: list[Path]):
    def walk(folder: Path):
        try:
            children = sorted(folder.iterdir(), key=lambda p: p.name)
        except OSError:
            return
        for entry in children:
            if _hidden(entry.name) or entry.resolve() in exclude:
                continue
            if entry.is_symlink():  # never followed: a loop, or another student's file graded twice
                links.append(entry)
                continue
            if entry.is_dir():
                yield from walk(entry)
            elif entry.is_file():
                yield _Entry(entry.relative_to(root).parts, entry.read_bytes, entry.stat().st_size, entry)

    yield from walk(root)


def _archive_entries(data: bytes, path: Path):
    """The members of a zip archive (raises ``zipfile.BadZipFile`` / ``OSError`` when it cannot be opened)."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    members = [m for m in archive.infolist() if not m.is_dir()]
    names = []
    for member in members:
        parts = tuple(p for p in PurePosixPath(member.filename.replace("\\", "/")).parts if p not in ("", ".", "..", "/"))
        if parts and not any(_hidden(p) for p in parts):
            names.append((parts, member))
    tops = {parts[0] for parts, _ in names}
    if len(tops) == 1 and all(len(parts) > 1 for parts, _ in names):  # one top folder: an LMS export
        names = [(parts[1:], m) for parts, m in names]
    names.sort(key=lambda item: item[0])
    return [_Entry(parts, (lambda m=member: archive.read(m)), member.file_size, path.joinpath(*parts))
            for parts, member in names]


class _Found:
    """Accumulates submissions and ignored files; hands out student names."""

    def __init__(self, chapters: dict[str, Chapter]):
        self.chapters = chapters
        self.submissions: list[Submission] = []
        self.ignored: list[Ignored] = []
        self.display: dict[str, str] = {}  # name key -> the first spelling found
        self.unknown = 0

    def student(self, owner: str) -> str:
        return self.display.setdefault(name_key(owner), _nfc(owner).strip())

    def owner_info(self, owner: str, source: str, rules: list[str], original: str = "") -> tuple[str, dict]:
        """The student's display name and the ``info`` saying how it was found: ``original_name`` is the
        folder or file name it was read from, when that differs from the display name."""
        if not owner:
            self.unknown += 1
            return f"unknown-{self.unknown}", {"owner": "unknown"}
        student = self.student(strip_copies(_nfc(owner))[0] or owner)
        info = {"owner": source}
        original = original or owner
        if _nfc(original) != student:
            info["original_name"] = original
        if rules:
            info["rules"] = rules
        return student, info

    def add(self, entry: _Entry, label: str, student: str, info: dict, depth: int) -> None:
        """Read one file (once); open it if it is an archive."""
        problem, data = "", None
        if entry.size > MAX_FILE_BYTES:
            problem = f"not graded: the file is larger than {MAX_FILE_BYTES // 1024 ** 2} MB"
        else:
            try:
                data = entry.read()
            except (OSError, ValueError, RuntimeError, zipfile.BadZipFile) as error:
                problem = f"the file cannot be read ({getattr(error, 'strerror', None) or error})"
        if data is not None and entry.parts[-1].lower().endswith(".zip"):
            if depth >= MAX_ARCHIVE_DEPTH:
                problem = f"an archive nested more than {MAX_ARCHIVE_DEPTH} levels deep is not opened"
            else:
                try:
                    members = _archive_entries(data, entry.path)
                except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError) as error:
                    problem = f"an archive that cannot be opened ({error}); hand in the notebook itself, or a new zip"
                else:
                    self.archive(members, label, student, info, depth + 1)
                    return
        if student is None:  # an archive with no owner that cannot be opened: its own name, else unknown
            owner, rules = owner_from_name(PurePosixPath(entry.parts[-1]), self.chapters)
            student, more = self.owner_info(owner, "file name", rules, entry.parts[-1])
            info = {**more, **info, **({"file": label} if not owner else {})}
        digest = hashlib.sha256(data).hexdigest() if data is not None else ""
        self.submissions.append(Submission(entry.path, student, label, data, digest, dict(info), problem))

    def archive(self, members: list[_Entry], label: str, student: str | None, info: dict, depth: int) -> None:
        """The members of an opened archive: all of ``student``, or (None) owned as in a folder given."""
        if not members:
            self.ignored.append(Ignored(label, "an empty archive", student or ""))
        for member in members:
            inner = f"{label}/{'/'.join(member.parts)}"
            if not (_is_submission_name(member.parts[-1], self.chapters) or member.parts[-1].lower().endswith(".zip")):
                self.ignored.append(Ignored(inner, "not a notebook (no .ipynb extension, no chapter in its name)",
                                            student or ""))
                continue
            if student is not None:
                self.add(member, inner, student, {**info, "archive": label}, depth)
            else:
                self.nested(member, inner, depth, {"archive": label})

    def folder_owner(self, folders) -> tuple[str, dict] | None:
        """The owner the first folder that names someone gives (``00_getting_started/`` or ``submissions/``
        name no one and are looked through), or None."""
        for name in folders:
            base, rules = owner_from_name(PurePosixPath(name), self.chapters)
            if base:  # keep the folder's spelling unless its name held more than the owner ("alice_ch00")
                owner = name if name_key(name) == name_key(base) else base
                return self.owner_info(owner, "folder", rules, name)
        return None

    def nested(self, entry: _Entry, label: str, depth: int, extra: dict) -> None:
        """A file found under a root that names no owner itself (a folder or archive given)."""
        owner = self.folder_owner(entry.parts[:-1])
        if owner:
            self.add(entry, label, owner[0], {**owner[1], **extra}, depth)
            return
        self.by_name(entry, label, depth, extra)

    def by_name(self, entry: _Entry, label: str, depth: int, extra: dict) -> None:
        owner, rules = owner_from_name(PurePosixPath(entry.parts[-1]), self.chapters)
        if not owner and entry.parts[-1].lower().endswith(".zip"):
            self.add(entry, label, None, extra, depth)  # type: ignore[arg-type]  # members owned by their names
            return
        student, info = self.owner_info(owner, "file name", rules, entry.parts[-1])
        if not owner:
            info["file"] = label
        self.add(entry, label, student, {**info, **extra}, depth)


def _label_roots(given: list[Path]) -> list[str]:
    """How reports name each path given: its last component; a repeated one gets ``#2``, ``#3``, ..."""
    labels, seen = [], {}
    for path in given:
        name = path.name or path.resolve().name or "."
        seen[name] = seen.get(name, 0) + 1
        labels.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return labels


def discover(paths, chapters: dict[str, Chapter], workdir: Path | None = None, exclude=()):
    """Return ``(submissions, ignored)``; see the module's docstring for the rules.

    A path that does not exist raises ``FileNotFoundError`` (an instructor's typo, not a student's fault).
    Folders in ``exclude`` (the report folder) are never walked. ``workdir`` is accepted for compatibility:
    archives are read in memory, nothing is extracted.
    """
    given = [Path(p) for p in paths]
    for path in given:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
    skip = {Path(p).resolve() for p in exclude}
    found = _Found(chapters)
    for path, root_label in zip(given, _label_roots(given)):
        if path.is_file():
            entry = _Entry((path.name,), path.read_bytes, path.stat().st_size, path)
            if path.suffix.lower() == ".zip":
                found.add(entry, root_label, None, {}, 0)  # type: ignore[arg-type]  # a folder given, zipped
            else:
                found.by_name(entry, root_label, 0, {})
            continue
        owners_seen, links = set(), []
        for entry in _folder_entries(path, skip, links):
            label = f"{root_label}/{'/'.join(entry.parts)}"
            if len(entry.parts) > 1:
                owners_seen.add(entry.parts[0])
            if not (_is_submission_name(entry.parts[-1], chapters) or entry.parts[-1].lower().endswith(".zip")):
                owner = found.folder_owner(entry.parts[:-1])
                found.ignored.append(Ignored(label, "not a notebook (no .ipynb extension, no chapter in its name)",
                                             owner[0] if owner else ""))
                continue
            found.nested(entry, label, 0, {})
        for link in links:
            relative = link.relative_to(path).parts
            owner = found.folder_owner(relative[:-1])
            found.ignored.append(Ignored(f"{root_label}/{'/'.join(relative)}", "a symbolic link (not followed)",
                                         owner[0] if owner else ""))
        try:
            folders = sorted(p.name for p in path.iterdir() if p.is_dir() and not _hidden(p.name)
                             and p.resolve() not in skip)
        except OSError:
            folders = []
        for name in folders:  # a student folder with nothing in it is a student with nothing handed in
            owner = found.folder_owner([name]) if name not in owners_seen else None
            if owner:
                found.ignored.append(Ignored(f"{root_label}/{name}", "an empty folder", owner[0]))
    return found.submissions, found.ignored
