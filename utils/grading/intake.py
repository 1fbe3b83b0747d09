"""Reading a submitted file and telling which chapter it is, before anything of it runs.

``read_submission`` turns the file's bytes into a notebook (or a reason it is not one); ``identify`` finds the
chapter from the notebook's metadata, then the file name, then its content.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from .chapters import Chapter, chapter_from_content, chapter_from_metadata, chapter_from_name


def _clip(text: str, limit: int) -> str:
    text = str(text).strip()
    return text if len(text) <= limit else text[:limit] + f" ... [{len(text) - limit} more characters]"


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
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, "not a notebook: the file is not text (a binary file such as an image or a PDF?)"
    try:
        json.loads(text)
    except ValueError as error:
        return None, f"not a notebook: invalid JSON ({error}); was the file saved completely?"
    try:
        nb = nbformat.reads(text, as_version=4, capture_validation_error={})
    except Exception as error:
        return None, f"not a notebook: {type(error).__name__}: {_clip(error, 300)}"
    if not isinstance(nb.get("cells"), list):
        return None, "not a notebook: no list of cells"
    return nb, None


def identify(nb, path: Path, chapters: dict[str, Chapter]) -> tuple[str | None, str]:
    if nb is not None:
        stem = chapter_from_metadata(nb, chapters)
        if stem:
            return stem, "metadata"
    stem, _ = chapter_from_name(path.name, chapters)
    if stem:
        return stem, "file name"
    if nb is not None:
        stem = chapter_from_content(nb, chapters)
        if stem:
            return stem, "content"
    return None, ""
