"""Solution regions: the nbgrader-style markers and what a student sees instead.

In a code cell::

    def slide_filter(x, w):
        ### BEGIN SOLUTION
        return ...
        ### END SOLUTION

becomes (indentation kept)::

    def slide_filter(x, w):
        # YOUR CODE HERE
        raise NotImplementedError()

In a markdown cell the same words sit in HTML comments, which JupyterLab does not render (``### ...``
would show as a heading)::

    <!-- BEGIN SOLUTION -->
    **Model answer.** ...
    <!-- END SOLUTION -->

and the lines from marker to marker become ``YOUR ANSWER HERE``.
"""

from __future__ import annotations

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
MARKDOWN_BEGIN = "<!-- BEGIN SOLUTION -->"
MARKDOWN_END = "<!-- END SOLUTION -->"
CODE_PROMPT = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_PROMPT = "YOUR ANSWER HERE"
WORDS = ("BEGIN SOLUTION", "END SOLUTION")


class MarkerError(ValueError):
    """Markers that do not pair up. The message says which line of the cell is wrong."""


def markers(cell_type: str) -> tuple[str, str]:
    """The (begin, end) marker lines of a code or markdown cell."""
    return (MARKDOWN_BEGIN, MARKDOWN_END) if cell_type == "markdown" else (BEGIN, END)


def find_regions(source: str, cell_type: str = "code") -> list[tuple[int, int]]:
    """Return ``(begin_line, end_line)`` index pairs (0-based) of every solution region in ``source``."""
    begin, end = markers(cell_type)
    regions, open_at = [], None
    for number, line in enumerate(source.splitlines()):
        marker = line.strip()
        if marker == begin:
            if open_at is not None:
                raise MarkerError(f"line {number + 1}: nested {begin} (the one on line {open_at + 1} is still open)")
            open_at = number
        elif marker == end:
            if open_at is None:
                raise MarkerError(f"line {number + 1}: {end} without a {begin} before it")
            regions.append((open_at, number))
            open_at = None
        elif any(word.lower() in marker.lower() for word in WORDS):
            where = "a markdown cell" if cell_type == "markdown" else "a code cell"
            raise MarkerError(f"line {number + 1}: in {where} a marker stands alone on its line, exactly "
                              f"{begin!r} or {end!r}")
    if open_at is not None:
        raise MarkerError(f"line {open_at + 1}: {begin} is never closed by {end}")
    return regions


def strip_solutions(source: str, cell_type: str) -> str:
    """Replace every solution region of a cell's ``source`` by the student prompt."""
    lines = source.splitlines()
    regions = find_regions(source, cell_type)
    for begin, end in reversed(regions):
        indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
        if cell_type == "code":
            prompt = [indent + line for line in CODE_PROMPT]
        else:
            prompt = [indent + MARKDOWN_PROMPT]
        lines[begin : end + 1] = prompt
    return "\n".join(lines)
