"""Reading a submitted file and telling which chapter it is, before anything of it runs.

``read_submission`` turns the file's bytes into a notebook (or a reason it is not one); ``identify`` finds the
chapter from the notebook's metadata, then the file name, then its content.

A file that is not a notebook is named for what it is (an HTML, PDF, script, Markdown or LaTeX export, a zip
archive, a notebook cut off while saving, a file with merge-conflict markers), with what to hand in instead.
Nothing in the file is ever run or interpreted beyond reading it.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import nbformat

from .chapters import Chapter, chapter_from_content, chapter_from_metadata, chapter_from_name, metadata_chapter

HAND_IN = "hand in the .ipynb file itself (File > Save, then the file ending in .ipynb)"
MENU = "File > Save and Export Notebook As > "


def _clip(text: str, limit: int) -> str:
    text = str(text).strip()
    return text if len(text) <= limit else text[:limit] + f" ... [{len(text) - limit} more characters]"


IMAGES = ((b"\x89PNG", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"))
ARCHIVES = ((b"\x1f\x8b", "gzip"), (b"7z\xbc\xaf\x27\x1c", "7z"), (b"Rar!", "RAR"))


def _zip_message(data: bytes) -> str:
    try:  # the names only: nothing is extracted
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError):
        members = []
    if "word/document.xml" in members:
        return f"not a notebook: this is a Word document (.docx), not a notebook; {HAND_IN}"
    names = [n for n in members if n.lower().endswith(".ipynb") and "__MACOSX" not in n]
    inside = (f"; it holds {', '.join(repr(n) for n in names[:3])}{' ...' if len(names) > 3 else ''}"
              if names else "")
    return (f"not a notebook: this is a zip archive (a compressed folder) renamed or saved as .ipynb{inside}; "
            f"unzip it and {HAND_IN}")


def _binary_message(data: bytes) -> str | None:
    """What a binary file is, for the kinds students hand in by mistake."""
    head = data.lstrip()[:8]
    if head.startswith(b"%PDF"):
        return f"not a notebook: this is a PDF ({MENU}PDF, or the notebook printed from the browser); {HAND_IN}"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_message(data)
    for signature, kind in ARCHIVES:
        if head.startswith(signature):
            return (f"not a notebook: this is a {kind} archive (a compressed file) renamed or saved as .ipynb; "
                    f"unpack it and {HAND_IN}")
    for signature, kind in IMAGES:
        if head.startswith(signature):
            return f"not a notebook: the file is not text but an image ({kind}; a screenshot?); {HAND_IN}"
    return None


def _text_message(text: str) -> str:
    """What a text file that is not JSON (and does not start like JSON) is: a known export, or plain text."""
    head = text.lstrip()[:4000]
    lower = head.lower()
    if re.match(r"<!doctype html|<html|<\?xml[^>]*>\s*<!doctype html", lower):
        if "jp-notebook" in lower or "jupyter" in lower or "jp-notebook" in text[:200_000].lower():
            return f"not a notebook: this is an HTML export of a notebook ({MENU}HTML); {HAND_IN}"
        return ("not a notebook: this is a web page (HTML), perhaps saved from the browser (a notebook viewer, "
                f"GitHub or Colab page); {HAND_IN}")
    if (re.search(r"^# (In\[[\d ]*\]:|%%)", text, re.M) or re.match(r"#\s*---\s*\n#\s*jupyter:", head)
            or head.startswith(("#!/usr/bin/env python", "# coding: utf-8"))):
        return (f"not a notebook: this is a Python script exported from a notebook ({MENU}Executable Script, or a "
                f"jupytext or VS Code '# %%' script); {HAND_IN}")
    if re.match(r"---\s*\njupyter:", head) or re.search(r"^```(python|\{code-cell\})", text, re.M):
        return f"not a notebook: this is a Markdown export of a notebook ({MENU}Markdown, or jupytext); {HAND_IN}"
    if re.search(r"\\documentclass", head):
        return f"not a notebook: this is a LaTeX export of a notebook ({MENU}LaTeX); {HAND_IN}"
    return ("not a notebook: the file is text but not JSON (a notebook starts with '{'): code or notes saved as "
            f"a plain text file?; {HAND_IN}")


def _json_message(text: str, error: ValueError) -> str:
    if re.search(r"^<<<<<<< ", text, re.M) and re.search(r"^=======\s*$", text, re.M):
        return ("not a notebook: invalid JSON: the file holds merge-conflict markers (<<<<<<<, =======, >>>>>>>) "
                f"from git or a sync tool; open the version you meant to keep, save it, and {HAND_IN}")
    content = text.rstrip()
    position = getattr(error, "pos", None)
    message = getattr(error, "msg", str(error))
    if isinstance(position, int) and (position >= len(content) or message.startswith("Unterminated string")):
        return (f"not a notebook: invalid JSON: the file ends early at line {content.count(chr(10)) + 1} (it was "
                "cut off while saving, uploading or copying); open the notebook in Jupyter, save it, and hand in "
                "that file")
    return f"not a notebook: invalid JSON ({error}); was the file saved completely?"


def read_submission(path: Path, data: bytes | None = None):
    """Return ``(notebook, None)`` or ``(None, reason)``; v3 and older notebooks are converted to v4.

    ``data`` is the file's content as read (and hashed) once before grading; without it the file is read now.
    """
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as error:
            return None, f"the file cannot be read ({error.strerror or error})"
    if not data.strip():
        return None, "the file is empty"
    binary = _binary_message(data)
    if binary:
        return None, binary
    try:
        # a BOM of UTF-16 (Windows editors' "Unicode"): still the same JSON
        text = data.decode("utf-16") if data.startswith((b"\xff\xfe", b"\xfe\xff")) else data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, "not a notebook: the file is not text (a binary file such as an image or an archive?)"
    try:
        json.loads(text)
    except ValueError as error:
        if not text.lstrip().startswith(("{", "[", "<<<<<<<")):
            return None, _text_message(text)
        return None, _json_message(text, error)
    try:
        nb = nbformat.reads(text, as_version=4, capture_validation_error={})
    except Exception as error:
        return None, f"not a notebook: {type(error).__name__}: {_clip(error, 300)}"
    if not isinstance(nb.get("cells"), list):
        return None, "not a notebook: no list of cells"
    return nb, None


def identify(nb, path: Path, chapters: dict[str, Chapter]) -> tuple[str | None, str]:
    """``(stem, rule)`` with the rule that answered ("metadata", "file name", "content"), or ``(None, why)``:
    ``why`` is "" unless there is more to say than "no chapter found" (the metadata names a chapter this grader
    does not know)."""
    named = metadata_chapter(nb) if nb is not None else None
    if nb is not None:
        stem = chapter_from_metadata(nb, chapters)
        if stem:
            return stem, "metadata"
    stem, _ = chapter_from_name(path.name, chapters)
    if stem:
        return stem, "file name"
    if nb is not None:
        # a notebook that names its chapter is no stripped copy: only its cells' ids may tell a renamed chapter
        stem = chapter_from_content(nb, chapters, prompts=named is None)
        if stem:
            return stem, "content"
    if named:
        known, named = ", ".join(chapters) or "none", _clip(" ".join(named.split()), 80)
        return None, (f"this notebook is chapter {named} which this grader does not know (known: {known}): "
                      "update the workbook (git pull) or check the file")
    return None, ""
