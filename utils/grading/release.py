"""The student bundle: what an instructor hands out.

    workbook release OUT          # a folder OUT/
    workbook release OUT --zip    # OUT.zip (one top folder inside)

It holds the student chapters generated afresh from ``solutions/`` (identical to ``workbook build``), the
``utils`` package (checks included: they hold references, never the solution regions), ``requirements.txt``,
``pyproject.toml`` (so ``pip install -r requirements.txt`` installs ``utils``), ``LICENSE`` and a short
README for students. Never ``solutions/``, ``tests/``, ``benchmarks/`` or ``docs/``. The bundle is checked
before it is written: no file may contain a solution marker.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

from utils.authoring.build import REPO_ROOT, render, solution_paths, student_version
from utils.authoring.cells import read_notebook
from utils.authoring.regions import WORDS

STUDENT_README = """# CNN Workbook: student edition

Notebooks that teach convolutional neural networks. Read, run the examples, and fill in the exercise cells
(`# YOUR CODE HERE` / `YOUR ANSWER HERE`); the check cell under each exercise tells you at once whether your
code is right, and if not, on which case and why.

## Set up (Python 3.10+, once)

```bash
python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt
jupyter lab chapters/
```

(On Windows: `.venv\\Scripts\\activate`.) No network is needed after installation.

## Chapters

{chapters}

## Where you stand

`workbook progress` (in a terminal, in this folder) lists every exercise as passed, failed or not attempted,
from the verdicts saved in your notebooks: save the notebook after running its check cells.

## Handing in

- Work in the notebooks in `chapters/` and hand in the `.ipynb` files, with your name in the file name or
  in a folder named after you (e.g. `alice/00_getting_started.ipynb`).
- Your exercise cells are graded by their hidden id, in a fresh kernel, with the workbook's own setup and
  check cells: do not delete exercise cells or paste your code into new cells (a copied cell keeps the id;
  the last copy counts). Editing a check cell changes nothing.
- Before handing in, use *Kernel > Restart Kernel and Run All Cells* and make sure every check passes.
- Each cell has a time limit when graded; code that loops forever or ends the kernel (`exit()`,
  `os._exit()`) scores nothing for that exercise.
"""

EXCLUDE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info")


def _chapter_title(nb, stem: str) -> str:
    title = nb.metadata.get("title")
    return f"- `chapters/{stem}.ipynb`" + (f": {title}" if title else "")


def make_bundle(target: Path, root: Path = REPO_ROOT) -> list[str]:
    """Write the bundle into the (new or empty) folder ``target``; return the chapter stems."""
    target.mkdir(parents=True, exist_ok=True)
    (target / "chapters").mkdir(exist_ok=True)
    stems, titles = [], []
    for path in solution_paths(root):
        nb = read_notebook(path)
        (target / "chapters" / path.name).write_text(render(student_version(nb, path.stem)), encoding="utf-8")
        stems.append(path.stem)
        titles.append(_chapter_title(nb, path.stem))
    shutil.copytree(root / "utils", target / "utils", ignore=EXCLUDE, dirs_exist_ok=True)
    for name in ("requirements.txt", "pyproject.toml", "LICENSE"):
        if (root / name).exists():
            shutil.copy2(root / name, target / name)
    (target / "README.md").write_text(STUDENT_README.replace("{chapters}", "\n".join(titles)), encoding="utf-8")
    leaks = [str(p.relative_to(target)) for p in target.rglob("*") if p.is_file() and p.suffix in (".ipynb", ".py", ".md")
             and WORDS[0] in p.read_text(encoding="utf-8", errors="replace") and not _mentions_marker_only(p)]
    if leaks:
        raise RuntimeError(f"refusing to release: solution markers found in {', '.join(leaks)}")
    return stems


def _mentions_marker_only(path: Path) -> bool:
    """utils/authoring defines the marker string itself; that is code, not a solution."""
    return path.suffix == ".py" and "authoring" in path.parts


def release(out: Path, as_zip: bool = False, root: Path = REPO_ROOT) -> Path:
    """Write the bundle as the folder ``out`` or as ``out.zip``; return what was written."""
    out = Path(out)
    if not as_zip:
        if out.exists() and any(out.iterdir()):
            raise FileExistsError(f"{out} exists and is not empty; choose a new folder")
        make_bundle(out, root)
        return out
    archive = out if out.suffix == ".zip" else out.with_name(out.name + ".zip")
    top = archive.stem
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / top
        make_bundle(folder, root)
        archive.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    zf.write(file, file.relative_to(Path(tmp)).as_posix())
    return archive
