"""The student bundle and the discovery rules (no kernels: fast)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from utils.authoring.build import render, solution_paths, student_version
from utils.authoring.cells import read_notebook
from utils.grading.chapters import chapter_from_name, load_chapters
from utils.grading.discover import discover, student_from_name
from utils.grading.release import release

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_release_folder(tmp_path):
    out = release(tmp_path / "bundle")
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"README.md", "requirements.txt", "pyproject.toml", "utils/checks/core.py"} <= names
    assert not any(n.startswith(("solutions/", "tests/", "benchmarks/", "docs/")) for n in names)
    assert not any("__pycache__" in n for n in names)
    for path in solution_paths(REPO_ROOT):
        text = (out / "chapters" / path.name).read_text(encoding="utf-8")
        assert text == render(student_version(read_notebook(path), path.stem))
        assert "BEGIN SOLUTION" not in text
    # the bundle's utils works on its own: every chapter's checks load from it
    code = "import utils.checks as c, sys; print(c.__file__); print(len(c.registered_ids()))"
    run = subprocess.run([sys.executable, "-c", code], cwd=out, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0].startswith(str(out))
    with pytest.raises(FileExistsError):
        release(out)


def test_release_zip(tmp_path):
    archive = release(tmp_path / "cnn-workbook", as_zip=True)
    assert archive.name == "cnn-workbook.zip"
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
    assert "cnn-workbook/README.md" in names
    assert all(n.startswith("cnn-workbook/") for n in names)
    assert not any("solutions/" in n for n in names)


@pytest.mark.parametrize("name, student", [
    ("alice_00_getting_started.ipynb", "alice"),
    ("00_getting_started-bob.ipynb", "bob"),
    ("Carol Smith - ch00.ipynb", "carol_smith"),
    ("dave_getting_started (1).ipynb", "dave"),
    ("erin.ipynb", "erin"),
])
def test_student_from_file_name(name, student):
    assert student_from_name(Path("/x/class") / name, load_chapters()) == student


def test_student_from_folder_and_fallback(tmp_path):
    chapters = load_chapters()
    (tmp_path / "in" / "alice" / "week1").mkdir(parents=True)
    (tmp_path / "in" / "alice" / "week1" / "whatever.ipynb").write_text("{}")
    (tmp_path / "in" / "bob_00_getting_started.ipynb").write_text("{}")
    (tmp_path / "in" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "in" / ".ipynb_checkpoints" / "x-checkpoint.ipynb").write_text("{}")
    (tmp_path / "in" / "alice" / "photo.png").write_bytes(b"\x89PNG")
    (tmp_path / "frank").mkdir()
    (tmp_path / "frank" / "00_getting_started.ipynb").write_text("{}")
    found, ignored = discover([tmp_path / "in", tmp_path / "frank" / "00_getting_started.ipynb"], chapters)
    # frank's file names no one (only the chapter): its owner is unknown, whatever folder holds it
    assert [(s.student, s.label) for s in found] == [
        ("alice", "in/alice/week1/whatever.ipynb"), ("bob", "in/bob_00_getting_started.ipynb"),
        ("unknown-1", "00_getting_started.ipynb")]
    assert [(i.label, i.student) for i in ignored] == [("in/alice/photo.png", "alice")]
    with pytest.raises(FileNotFoundError):
        discover([tmp_path / "nope"], chapters)


def test_zip_of_submissions(tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("export/alice/00_getting_started.ipynb", "{}")
        zf.writestr("export/bob/notebook.ipynb", "{}")
    found, _ = discover([archive], load_chapters(), tmp_path / "work")
    assert [s.student for s in found] == ["alice", "bob"]


def test_chapter_from_name():
    chapters = load_chapters()
    assert chapter_from_name("alice_00_getting_started.ipynb", chapters)[0] == "00_getting_started"
    assert chapter_from_name("getting-started.ipynb", chapters)[0] == "00_getting_started"
    assert chapter_from_name("ch00.ipynb", chapters)[0] == "00_getting_started"
    assert chapter_from_name("homework.ipynb", chapters)[0] is None


def test_cli_release_and_grade_errors(tmp_path, capsys):
    from utils.cli import main

    assert main(["release", str(tmp_path / "h"), "--zip"]) == 0
    assert (tmp_path / "h.zip").exists()
    assert main(["grade", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert main(["grade", str(tmp_path), "--out", str(tmp_path / "o"), "--chapters", "99_nope"]) == 2
    assert "no such file" in capsys.readouterr().err
