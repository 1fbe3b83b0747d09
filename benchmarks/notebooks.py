"""Execute every solution notebook in a fresh kernel and print its wall time and peak memory.

    python benchmarks/notebooks.py [NOTEBOOK ...]

Budget (docs/DESIGN): each solution notebook within 60 s on 2 CPU cores. Peak memory is the kernel's
resident-set high-water mark (VmHWM, Linux) at the end of the run. Nothing is written back.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 60.0


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def run(path: Path) -> tuple[float, float]:
    nb = nbformat.read(str(path), as_version=4)
    os.environ["PYTHONHASHSEED"] = "0"
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        peak = peak_rss_mb(client.km.provisioner.pid)
    return time.perf_counter() - start, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args()
    paths = args.notebooks or sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    print(f"{'notebook':<40} {'seconds':>8} {'peak MB':>8}  budget {BUDGET_S:.0f} s")
    total, over = 0.0, []
    for path in paths:
        seconds, peak = run(path)
        total += seconds
        ok = seconds <= BUDGET_S
        if not ok:
            over.append(path.name)
        print(f"{path.name:<40} {seconds:>8.1f} {peak:>8.0f}  {'ok' if ok else 'OVER'}", flush=True)
    print(f"{'total':<40} {total:>8.1f}")
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
