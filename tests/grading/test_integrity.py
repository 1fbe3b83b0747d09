"""Integrity: every file read and hashed once; reports written at once with a manifest; ``--verify``."""

from __future__ import annotations

import csv
import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from utils.cli import main
from utils.grading import report as report_module
from utils.grading.chapters import load_chapters
from utils.grading.discover import discover
from utils.grading.grade import Limits, Result, Row, grade_submission
from utils.grading.report import MANIFEST, check_out, verify, write_reports

from .fixtures import CELL_TIMEOUT_S, completed, _text

CH00 = "00_getting_started"


def _results(chapters) -> list[Result]:
    rows = [Row(e.exercise_id, e.kind, e.points if e.kind == "code" else 0.0, e.points,
                "passed" if e.kind == "code" else "answered", "", answer="yes" if e.kind == "markdown" else "")
            for e in chapters[CH00].exercises]
    return [Result("in/ann/00.ipynb", "ann", CH00, "metadata", rows, sha256="a" * 64, sandbox="none"),
            Result("in/bo/x.ipynb", "bo", "-", "", [Row("-", "-", 0.0, 0.0, "unreadable", "the file is empty")])]


@pytest.fixture()
def written(tmp_path):
    chapters = load_chapters()
    out = tmp_path / "out"
    document = write_reports(out, _results(chapters), chapters, settings={"paths": ["in"]})
    return out, document


def test_discover_reads_each_file_once_and_grading_uses_that_copy(tmp_path):
    chapters = load_chapters()
    path = tmp_path / "in" / "ann_00_getting_started.ipynb"
    path.parent.mkdir()
    path.write_bytes(b'{"cells": [')
    (submission,), _ = discover([tmp_path / "in"], chapters)
    assert submission.data == b'{"cells": [' and submission.sha256 == hashlib.sha256(b'{"cells": [').hexdigest()
    path.write_bytes(_text(completed()))  # replaced after it was read (by another submission, say)
    result = grade_submission(submission, Limits())
    assert [r.status for r in result.rows] == ["unreadable"] * 4  # the bytes read first, not the new file
    assert "invalid JSON" in result.rows[0].message
    assert result.sha256 == submission.sha256


def test_archive_members_are_hashed(tmp_path):
    (tmp_path / "in" / "ann").mkdir(parents=True)
    with zipfile.ZipFile(tmp_path / "in" / "ann" / "hw.zip", "w") as archive:
        archive.writestr("00_getting_started.ipynb", b"member bytes")
    (submission,), _ = discover([tmp_path / "in"], load_chapters())
    assert (submission.student, submission.label) == ("ann", "in/ann/hw.zip/00_getting_started.ipynb")
    assert submission.data == b"member bytes" and submission.sha256 == hashlib.sha256(b"member bytes").hexdigest()


def test_manifest_lists_every_report_file(written):
    out, document = written
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["kind"] == "workbook grade report" and manifest["version"] == 1
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != MANIFEST)
    assert sorted(manifest["files"]) == files == ["feedback/ann.md", "feedback/bo.md", "files.csv", "grades.csv",
                                                  "grades.json", "review.md", "summary.csv"]
    for name, entry in manifest["files"].items():
        data = (out / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    assert document["manifest_sha256"] == hashlib.sha256((out / MANIFEST).read_bytes()).hexdigest()
    assert verify(out)[0] == 0
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left behind


def _append(path: Path) -> None:
    path.write_bytes(path.read_bytes() + b"\nann,00_getting_started,-,100,100,passed,,-\n")


def _same_size(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-2] = ord("9") if data[-2] != ord("9") else ord("8")
    path.write_bytes(bytes(data))


TAMPERING = {
    "grades.csv edited": (lambda out: _append(out / "grades.csv"), "changed: grades.csv"),
    "summary.csv, same size": (lambda out: _same_size(out / "summary.csv"), "changed: summary.csv"),
    "grades.json replaced": (lambda out: (out / "grades.json").write_text("{}"), "changed: grades.json"),
    "feedback edited": (lambda out: _append(out / "feedback" / "ann.md"), "changed: feedback/ann.md"),
    "a file deleted": (lambda out: (out / "review.md").unlink(), "missing: review.md"),
    "a file added": (lambda out: (out / "feedback" / "zoe.md").write_text("# Feedback for zoe"),
                     "extra: feedback/zoe.md (not in the manifest)"),
    "a link instead of a file": (lambda out: ((out / "files.csv").unlink(), (out / "files.csv").symlink_to(out / "grades.csv")),
                                 "missing: files.csv"),
    "manifest entry dropped with its file": (
        lambda out: (_drop_entry(out, "grades.csv"), (out / "grades.csv").unlink()),
        "the manifest lists no grades.csv"),
}


def _drop_entry(out: Path, name: str) -> None:
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    del manifest["files"][name]
    (out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


@pytest.mark.parametrize("how", TAMPERING)
def test_verify_detects_tampering(written, how, capsys):
    out, _ = written
    tamper, line = TAMPERING[how]
    tamper(out)
    code, lines = verify(out)
    assert code == 1 and lines[0].startswith(f"TAMPERED: {out} differs from its manifest")
    assert lines[1:] == [line]
    assert main(["grade", "--verify", str(out)]) == 1
    assert line in capsys.readouterr().out


@pytest.mark.parametrize("manifest", ["not json", '{"kind": "something else", "version": 1, "files": {}}',
                                      '{"kind": "workbook grade report", "version": 1, "files": {"../x": '
                                      '{"sha256": "' + "0" * 64 + '", "bytes": 1}}}'])
def test_verify_rejects_a_broken_manifest(written, manifest):
    out, _ = written
    (out / MANIFEST).write_text(manifest, encoding="utf-8")
    assert verify(out) == (1, [f"TAMPERED: {out}: {MANIFEST} is not a valid manifest (edited or replaced)"])


def test_verify_exit_codes(written, tmp_path, capsys):
    out, document = written
    assert main(["grade", "--verify", str(out)]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"intact: {out}: 7 files as the manifest lists them (manifest SHA-256 "
                           f"{document['manifest_sha256']}")
    (tmp_path / "plain").mkdir()
    assert main(["grade", "--verify", str(tmp_path / "plain")]) == 2
    assert main(["grade", "--verify", str(tmp_path / "nowhere")]) == 2
    assert "not a report folder (no MANIFEST.json)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["grade", "--verify", str(out), "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit):
        main(["grade", "--out", str(tmp_path / "o")])


def test_a_new_report_replaces_an_old_one_whole(written):
    out, _ = written
    chapters = load_chapters()
    (out / "feedback" / "stale.md").write_text("from an old run")  # also makes the old report "tampered"
    write_reports(out, _results(chapters)[:1], chapters, settings={"paths": ["in"]})
    assert sorted(p.name for p in (out / "feedback").iterdir()) == ["ann.md"]
    assert verify(out)[0] == 0
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_a_folder_that_is_not_a_report_is_never_replaced(tmp_path, capsys):
    chapters = load_chapters()
    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    assert check_out(mine) == (f"{mine} holds files and is not a report folder (no MANIFEST.json); give a new or "
                               "empty folder, or the folder of an earlier report")
    with pytest.raises(FileExistsError):
        write_reports(mine, _results(chapters), chapters)
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]
    (tmp_path / "in").mkdir()
    assert main(["grade", str(tmp_path / "in"), "--out", str(mine)]) == 2  # refused before grading anything
    assert "is not a report folder" in capsys.readouterr().err
    assert check_out(tmp_path / "new") is None
    (tmp_path / "empty").mkdir()
    assert check_out(tmp_path / "empty") is None


def test_an_interrupted_write_leaves_the_old_report(written, monkeypatch):
    out, _ = written
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    chapters = load_chapters()

    def broken(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report_module, "review", broken)
    with pytest.raises(KeyboardInterrupt):
        write_reports(out, _results(chapters), chapters, settings={"paths": ["in"]})
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert verify(out)[0] == 0
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_end_to_end_hashes_and_flags(tmp_path, capsys):
    """One real grading run: a solved chapter 00, a nameless file, a broken archive; the report records each
    file's SHA-256 and verifies as intact."""
    root = tmp_path / "in"
    (root / "ann").mkdir(parents=True)
    solved = _text(completed())
    (root / "ann" / f"{CH00}.ipynb").write_bytes(solved)
    (root / f"{CH00}.ipynb").write_bytes(b"")  # nameless (and empty: no kernel needed)
    (root / "cy").mkdir()
    (root / "cy" / "work.zip").write_bytes(b"PK\x03\x04 broken")
    out = tmp_path / "out"
    assert main(["grade", str(root), "--out", str(out), "--cell-timeout", str(CELL_TIMEOUT_S)]) == 0
    said = capsys.readouterr().out
    assert f"owner unknown: in/{CH00}.ipynb (graded as unknown-1)" in said
    assert "not graded: in/cy/work.zip (an archive that cannot be opened (File is not a zip file); " in said
    assert f"workbook grade --verify {out}" in said
    with open(out / "files.csv", newline="", encoding="utf-8") as handle:
        files = [(r["student"], r["chapter"], r["file"], r["sha256"], r["counted"], r["points"]) for r in csv.DictReader(handle)]
    assert files == [("ann", CH00, f"in/ann/{CH00}.ipynb", hashlib.sha256(solved).hexdigest(), "counted", "5"),
                     ("cy", "-", "in/cy/work.zip", hashlib.sha256(b"PK\x03\x04 broken").hexdigest(), "unreadable", "0"),
                     ("unknown-1", CH00, f"in/{CH00}.ipynb", hashlib.sha256(b"").hexdigest(), "unreadable", "0")]
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = [(r["student"], r["chapter"], r["exercise"], r["points"], r["status"], r["message"]) for r in csv.DictReader(handle)]
    assert rows == [
        ("ann", CH00, "warmup.n_outputs", "1", "passed", rows[0][5]), ("ann", CH00, "warmup.slide", "2", "passed", rows[1][5]),
        ("ann", CH00, "warmup.layer", "2", "passed", rows[2][5]),
        ("ann", CH00, "warmup.border", "0", "answered",
         "written answer: not graded automatically; to be read by the instructor (up to 1 point)"),
        ("cy", CH00, "-", "0", "not handed in", "chapter not handed in: no notebook of this chapter was found for this student"),
        ("cy", "-", "-", "0", "unreadable",
         "an archive that cannot be opened (File is not a zip file); hand in the notebook itself, or a new zip"),
        *[("unknown-1", CH00, e, "0", "unreadable", "the file is empty")
          for e in ("warmup.n_outputs", "warmup.slide", "warmup.layer", "warmup.border")]]
    assert all("passed" in r[5] for r in rows[:3])
    document = json.loads((out / "grades.json").read_text(encoding="utf-8"))
    ann = next(s for s in document["submissions"] if s["student"] == "ann")
    assert ann["sha256"] == hashlib.sha256(solved).hexdigest() and ann["info"] == {"owner": "folder"}
    feedback = (out / "feedback" / "ann.md").read_text(encoding="utf-8")
    assert f"File: `in/ann/{CH00}.ipynb` (SHA-256 `{hashlib.sha256(solved).hexdigest()}`" in feedback
    assert main(["grade", "--verify", str(out)]) == 0
