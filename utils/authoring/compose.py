"""Write a notebook from a compact Python description -- a convenience for authors who prefer an editor.

    from utils.authoring.compose import md, code, exercise, check_cell, setup, write
    write("solutions/00_getting_started.ipynb", [md("# Title"), setup("import numpy as np"), ...])

The .ipynb it writes is the source of truth afterwards (edit it in JupyterLab freely);
this helper only spares authors from typing cell metadata by hand.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat


def _clean(source: str) -> str:
    return textwrap.dedent(source).strip("\n")


def md(source: str, **workbook):
    cell = nbformat.v4.new_markdown_cell(_clean(source))
    if workbook:
        cell.metadata["workbook"] = workbook
    return cell


def code(source: str, tags: list[str] | None = None, **workbook):
    cell = nbformat.v4.new_code_cell(_clean(source))
    if workbook:
        cell.metadata["workbook"] = workbook
    if tags:
        cell.metadata["tags"] = tags
    return cell


def setup(source: str, tags: list[str] | None = None):
    """A cell graders run too: imports, setup_notebook(), data that exercises need."""
    return code(source, tags=tags, setup=True)


def exercise(exercise_id: str, source: str, points: float = 1, markdown: bool = False):
    if markdown:
        return md(source, id=exercise_id, points=points)
    return code(source, id=exercise_id, points=points)


def check_cell(exercise_id: str, answer: str):
    return code(f'check("{exercise_id}", {answer})', check=exercise_id)


def write(path: str | Path, cells: list, chapter_title: str = "") -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index:03d}"  # stable ids keep diffs small
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    if chapter_title:
        nb.metadata["title"] = chapter_title
    nbformat.validate(nb)
    Path(path).write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
