"""Running a notebook in a test and reading its outputs without depending on how the kernel chunked them.

A kernel sends what a cell prints in pieces whose boundaries depend on timing: one ``print`` can arrive as
two stream outputs on a busy machine, and stdout and stderr pieces can interleave either way. Tests
therefore read outputs the way nbval compares them: all stream outputs of one name joined into one.
Counts of stream outputs, or their positions, are never asserted.
"""

from __future__ import annotations

from pathlib import Path

from utils.jupyter_kernel import notebook_client

SAFETY_TIMEOUT_S = 600  # per cell; only there so that a hung kernel ends the test, never a measure of speed


def execute(nb, cwd: str | Path, allow_errors: bool = True):
    """Run every cell of ``nb`` in one fresh kernel (IPC, working directory ``cwd``); return ``nb``."""
    notebook_client(nb, cwd, timeout=SAFETY_TIMEOUT_S, allow_errors=allow_errors).execute()
    return nb


def stream_text(cell, name: str = "stdout") -> str:
    """Everything the cell wrote to ``name`` (stdout or stderr), however it was chunked."""
    return "".join(_text(o) for o in cell.get("outputs", []) if o["output_type"] == "stream" and o["name"] == name)


def errors(cell) -> list[dict]:
    return [o for o in cell.get("outputs", []) if o["output_type"] == "error"]


def figure_count(cell) -> int:
    """How many PNG images the cell displayed (figures are whole messages: never split)."""
    return sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


def _text(output) -> str:
    text = output.get("text", "")
    return "".join(text) if isinstance(text, list) else text
