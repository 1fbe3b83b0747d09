"""Execute every solution notebook in a fresh kernel: wall time, peak memory, and the setup cell against torch.

    python benchmarks/notebooks.py [NOTEBOOK ...] [--repeat N] [--setup-only]

Budget (docs/DESIGN): each solution notebook within 60 s on 2 CPU cores. Peak memory is the kernel's
resident-set high-water mark (VmHWM, Linux) at the end of the run. Nothing is written back.

The setup cell (imports and ``setup_notebook()``) is the largest single cost of a notebook. Its goal is
at most 1 s more than ``import torch`` alone. Both are measured side by side, each as the first cell of its
own fresh kernel (kernel start not counted), alternating ``--repeat`` times per notebook so that a change
in the machine's load touches both alike; the medians are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import nbformat

from utils.authoring.cells import role
from utils.jupyter_kernel import notebook_client

ROOT = Path(__file__).resolve().parents[1]

BUDGET_S = 60.0
SETUP_GOAL_S = 1.0  # the setup cell may cost this much more than `import torch` alone


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def run(path: Path) -> tuple[float, float]:
    """Execute the whole notebook: (seconds including the kernel start, peak MB)."""
    nb = nbformat.read(str(path), as_version=4)
    client = notebook_client(nb, path.parent)
    start = time.perf_counter()
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        peak = peak_rss_mb(client.km.provisioner.pid)
    return time.perf_counter() - start, peak


def first_cell_seconds(sources: list[str], cwd: Path) -> float:
    """Start a fresh kernel, then time running ``sources`` (the cells, in order) in it."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    client = notebook_client(nb, cwd)
    with client.setup_kernel():
        start = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        seconds = time.perf_counter() - start
    failed = [o for cell in nb.cells for o in cell.outputs if o["output_type"] == "error"]
    if failed:
        raise RuntimeError(f"{failed[0]['ename']}: {failed[0]['evalue']}")
    return seconds


def setup_sources(path: Path) -> list[str]:
    """The code cells up to and including the notebook's first setup cell."""
    cells = [c for c in nbformat.read(str(path), as_version=4).cells if c.cell_type == "code"]
    first = next((i for i, c in enumerate(cells) if role(c) == "setup"), 0)
    return [c.source for c in cells[: first + 1]]


def setup_against_torch(path: Path, repeat: int) -> tuple[float, float]:
    """Median seconds of the setup cell and of ``import torch`` alone, each in fresh kernels."""
    setup_s, torch_s = [], []
    for _ in range(repeat):
        torch_s.append(first_cell_seconds(["import torch"], path.parent))
        setup_s.append(first_cell_seconds(setup_sources(path), path.parent))
    return statistics.median(setup_s), statistics.median(torch_s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=3, help="setup and torch kernels per notebook (default 3)")
    parser.add_argument("--setup-only", action="store_true", help="skip the whole-notebook runs")
    args = parser.parse_args()
    paths = args.notebooks or sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    os.environ["PYTHONHASHSEED"] = "0"  # inherited by the kernels, as in `workbook execute`
    print(f"{'notebook':<40} {'seconds':>8} {'peak MB':>8} {'budget':>7}   {'setup s':>7} {'torch s':>7} "
          f"{'extra':>6}  (medians of {args.repeat})")
    total, over = 0.0, []
    for path in paths:
        if args.setup_only:
            seconds, peak, verdict = float("nan"), float("nan"), "-"
        else:
            seconds, peak = run(path)
            total += seconds
            verdict = "ok" if seconds <= BUDGET_S else "OVER"
            if verdict == "OVER":
                over.append(path.name)
        setup_s, torch_s = setup_against_torch(path, args.repeat)
        extra = setup_s - torch_s
        print(f"{path.name:<40} {seconds:>8.1f} {peak:>8.0f} {verdict:>7}   {setup_s:>7.2f} {torch_s:>7.2f} {extra:>+6.2f}"
              f"  {'ok' if extra <= SETUP_GOAL_S else 'over the +1 s goal'}", flush=True)
    if not args.setup_only:
        print(f"{'total':<40} {total:>8.1f}")
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}, python {sys.version.split()[0]}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
