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

In a markdown cell, the lines between the markers become ``YOUR ANSWER HERE``.
"""

from __future__ import annotations

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CODE_PROMPT = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_PROMPT = "YOUR ANSWER HERE"


class MarkerError(ValueError):
    """Markers that do not pair up. The message says which line of the cell is wrong."""


def find_regions(source: str) -> list[tuple[int, int]]:
    """Return ``(begin_line, end_line)`` index pairs (0-based) of every solution region in ``source``."""
    regions, open_at = [], None
    for number, line in enumerate(source.splitlines()):
        marker = line.strip()
        if marker == BEGIN:
            if open_at is not None:
                raise MarkerError(f"line {number + 1}: nested {BEGIN} (the one on line {open_at + 1} is still open)")
            open_at = number
        elif marker == END:
            if open_at is None:
                raise MarkerError(f"line {number + 1}: {END} without a {BEGIN} before it")
            regions.append((open_at, number))
            open_at = None
        elif BEGIN.lower() in marker.lower() or END.lower() in marker.lower():
            raise MarkerError(f"line {number + 1}: a marker must stand alone on its line, exactly {BEGIN!r} or {END!r}")
    if open_at is not None:
        raise MarkerError(f"line {open_at + 1}: {BEGIN} is never closed by {END}")
    return regions


def strip_solutions(source: str, cell_type: str) -> str:
    """Replace every solution region of a cell's ``source`` by the student prompt."""
    lines = source.splitlines()
    regions = find_regions(source)
    for begin, end in reversed(regions):
        indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
        if cell_type == "code":
            prompt = [indent + line for line in CODE_PROMPT]
        else:
            prompt = [indent + MARKDOWN_PROMPT]
        lines[begin : end + 1] = prompt
    return "\n".join(lines)
