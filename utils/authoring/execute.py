"""Re-execute solution notebooks in place, in a fresh kernel, so stored outputs are never edited by hand.

    workbook execute solutions/00_getting_started.ipynb
    workbook execute --all

The kernel (started over IPC, see ``utils.jupyter_kernel``) runs with the notebook's folder as working
directory and ``PYTHONHASHSEED=0``; a cell that raises stops the run and nothing is written. Consecutive
stream outputs are joined, so what is stored does not depend on how the kernel chunked its output.
Afterwards the chapters are rebuilt.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from ..jupyter_kernel import coalesce_streams, notebook_client
from . import build as _build_module
from .build import render, solution_paths
from .cells import read_notebook

CELL_TIMEOUT_S = 300


def execute_notebook(path: Path, timeout: int = CELL_TIMEOUT_S):
    """Run every cell of ``path`` in a fresh kernel and return the executed notebook (not written)."""
    nb = read_notebook(path)
    os.environ["PYTHONHASHSEED"] = "0"  # inherited by the kernel: stable set and dict-of-str orders
    notebook_client(nb, path.parent, timeout=timeout, record_timing=False).execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
    return nb


def execute_in_place(path: Path, out=None) -> float:
    start = time.perf_counter()
    nb = execute_notebook(path)
    path.write_text(render(nb), encoding="utf-8")
    seconds = time.perf_counter() - start
    print(f"executed {path} in {seconds:.1f} s", file=out or sys.stdout)
    return seconds


def main(paths: list[str], run_all: bool = False, root: Path | None = None) -> int:
    from .build import build

    root = root or _build_module.REPO_ROOT
    targets = solution_paths(root) if run_all else [Path(p) for p in paths]
    if not targets:
        print("nothing to execute: name a notebook or pass --all", file=sys.stderr)
        return 2
    for path in targets:
        if not path.exists():
            print(f"{path}: no such notebook", file=sys.stderr)
            return 2
        execute_in_place(path)
    return build(root)
