"""Whose file is it: name matching, copy rules, nameless files, archives, feedback file names (nothing is run)."""

from __future__ import annotations

import hashlib
import io
import os
import unicodedata
import zipfile
from pathlib import Path

import pytest

from utils.grading.chapters import load_chapters
from utils.grading.discover import MAX_ARCHIVE_DEPTH, discover, name_key, owner_from_name, strip_copies
from utils.grading.report import feedback_names

NB = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
NFD_JOSE = unicodedata.normalize("NFD", "José")
NFC_JOSE = unicodedata.normalize("NFC", "José")


@pytest.fixture(scope="module")
def chapters():
    return load_chapters()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _found(submissions):
    return [(s.student, s.label) for s in submissions]


@pytest.mark.parametrize("name, owner, rules", [
    ("Copy of rita_00_getting_started.ipynb", "rita", ["copy of X"]),
    ("rita (1).ipynb", "rita", ["X (N)"]),
    ("sven - copy 2.ipynb", "sven", ["X copy N"]),
    ("kim copy.ipynb", "kim", ["X copy N"]),
    ("tom_final.ipynb", "tom", ["X final"]),
    ("ann-final2_00_getting_started.ipynb", "ann", ["X final"]),
    ("eve (final).ipynb", "eve", ["X (final)"]),
    ("bo_v2_00_getting_started.ipynb", "bo", ["X vN"]),
    ("Copy of ugo - copy 2 (1).ipynb", "ugo", ["copy of X", "X (N)", "X copy N"]),
    ("Carol Smith - ch00.ipynb", "carol_smith", []),
    ("finley.ipynb", "finley", []),  # "final" only as a separate word
    ("00_getting_started.ipynb", "", []),
    ("00_getting_started (1).ipynb", "", ["X (N)"]),
    ("notebook.ipynb", "", []),
    ("Untitled1.ipynb", "", []),
    ("ch00_submission.ipynb", "", []),
    ("00_getting_started_2.ipynb", "", []),  # a number is no one's name
])
def test_owner_from_file_name(chapters, name, owner, rules):
    assert owner_from_name(Path(name), chapters) == (owner, rules)


def test_matching_form_of_names():
    assert name_key(NFD_JOSE) == name_key(NFC_JOSE) == name_key("JOSÉ") == "josé"
    assert name_key("Quinn") == name_key("quinn") == "quinn"
    assert name_key("Copy of Rita") == name_key("rita - copy 2") == name_key("Rita_v3") == "rita"
    assert name_key("Carol Smith") == name_key("carol-smith") == "carol_smith"
    assert name_key("Straße") == name_key("STRASSE")  # case folding, not lower()
    assert strip_copies("final") == ("final", [])  # a name that is only the rule's word stays


def test_one_student_per_matched_name(tmp_path, chapters):
    root = tmp_path / "class"
    for folder in ("Quinn", NFD_JOSE, "Copy of rita", "sven - copy 2"):
        (root / folder).mkdir(parents=True)
        (root / folder / "00_getting_started.ipynb").write_bytes(NB)
    for name in ("quinn_00_getting_started.ipynb", f"{NFC_JOSE}_00_getting_started.ipynb",
                 "rita_00_getting_started.ipynb", "SVEN_final_00_getting_started.ipynb",
                 "tom_final_00_getting_started.ipynb", "tom_v2_00_getting_started.ipynb"):
        (root / name).write_bytes(NB)
    found, ignored = discover([root], chapters)
    assert ignored == []
    by_label = {s.label: s for s in found}
    # folders first in sorted order; the display name is the first spelling found (NFC)
    assert sorted(_found(found)) == sorted([
        ("rita", "class/Copy of rita/00_getting_started.ipynb"), (NFC_JOSE, f"class/{NFD_JOSE}/00_getting_started.ipynb"),
        ("Quinn", "class/Quinn/00_getting_started.ipynb"), (NFC_JOSE, f"class/{NFC_JOSE}_00_getting_started.ipynb"),
        ("Quinn", "class/quinn_00_getting_started.ipynb"), ("rita", "class/rita_00_getting_started.ipynb"),
        ("sven", "class/sven - copy 2/00_getting_started.ipynb"),
        ("sven", "class/SVEN_final_00_getting_started.ipynb"),
        ("tom", "class/tom_final_00_getting_started.ipynb"), ("tom", "class/tom_v2_00_getting_started.ipynb")])
    assert len({s.student for s in found}) == 5
    # the original name and the rules are kept
    assert by_label["class/Copy of rita/00_getting_started.ipynb"].info == {
        "owner": "folder", "original_name": "Copy of rita", "rules": ["copy of X"]}
    assert by_label["class/tom_v2_00_getting_started.ipynb"].info == {
        "owner": "file name", "original_name": "tom_v2_00_getting_started.ipynb", "rules": ["X vN"]}
    assert by_label["class/Quinn/00_getting_started.ipynb"].info == {"owner": "folder"}
    assert by_label["class/quinn_00_getting_started.ipynb"].info == {
        "owner": "file name", "original_name": "quinn_00_getting_started.ipynb"}


def test_nameless_files_are_never_merged(tmp_path, chapters):
    root = tmp_path / "class"
    root.mkdir()
    for name in ("00_getting_started.ipynb", "notebook.ipynb", "Untitled.ipynb", "00_getting_started (1).ipynb"):
        (root / name).write_bytes(NB)
    found, _ = discover([root], chapters)
    assert _found(found) == [("unknown-1", "class/00_getting_started (1).ipynb"),
                             ("unknown-2", "class/00_getting_started.ipynb"),
                             ("unknown-3", "class/Untitled.ipynb"), ("unknown-4", "class/notebook.ipynb")]
    assert found[1].info == {"owner": "unknown", "file": "class/00_getting_started.ipynb"}
    # a nameless file named on the command line: its folder is not taken for its owner either
    found, _ = discover([root / "notebook.ipynb", root / "00_getting_started.ipynb"], chapters)
    assert _found(found) == [("unknown-1", "notebook.ipynb"), ("unknown-2", "00_getting_started.ipynb")]


def test_archives_in_student_folders_are_opened(tmp_path, chapters):
    root = tmp_path / "class"
    (root / "zed").mkdir(parents=True)
    (root / "zed" / "work.zip").write_bytes(_zip({"hw/00_getting_started.ipynb": NB, "hw/readme.txt": b"hi",
                                                  "inner.zip": _zip({"01_why_convolutions.ipynb": NB})}))
    (root / "pat").mkdir()
    (root / "pat" / "00_getting_started.zip").write_bytes(b"PK\x03\x04 not really a zip")
    (root / "lee_00_getting_started.zip").write_bytes(_zip({"00_getting_started.ipynb": NB}))
    (root / "submission.zip").write_bytes(_zip({"moe/00_getting_started.ipynb": NB, "noa_00_getting_started.ipynb": NB}))
    found, ignored = discover([root], chapters)
    assert _found(found) == [
        ("lee", "class/lee_00_getting_started.zip/00_getting_started.ipynb"),
        ("pat", "class/pat/00_getting_started.zip"),
        ("moe", "class/submission.zip/moe/00_getting_started.ipynb"),
        ("noa", "class/submission.zip/noa_00_getting_started.ipynb"),
        ("zed", "class/zed/work.zip/hw/00_getting_started.ipynb"),
        ("zed", "class/zed/work.zip/inner.zip/01_why_convolutions.ipynb")]
    assert [s.problem for s in found if s.student == "pat"] == [
        "an archive that cannot be opened (File is not a zip file); hand in the notebook itself, or a new zip"]
    good = [s for s in found if s.student != "pat"]
    assert all(s.data == NB and s.sha256 == hashlib.sha256(NB).hexdigest() and not s.problem for s in good)
    assert found[-1].info == {"owner": "folder", "archive": "class/zed/work.zip/inner.zip"}
    assert ignored == [("class/zed/work.zip/hw/readme.txt",
                        "not a notebook (no .ipynb extension, no chapter in its name)", "zed")]


def test_archive_given_on_the_command_line(tmp_path, chapters):
    archive = tmp_path / "export.zip"
    archive.write_bytes(_zip({"export/alice/00_getting_started.ipynb": NB, "export/bob/notebook.ipynb": NB,
                              "export/00_getting_started.ipynb": NB, "export/__MACOSX/x.ipynb": NB}))
    found, _ = discover([archive], chapters)
    assert _found(found) == [("unknown-1", "export.zip/00_getting_started.ipynb"),
                             ("alice", "export.zip/alice/00_getting_started.ipynb"),
                             ("bob", "export.zip/bob/notebook.ipynb")]


def test_archives_nested_too_deep_are_not_opened(tmp_path, chapters):
    data = NB
    name = "00_getting_started.ipynb"
    for level in range(MAX_ARCHIVE_DEPTH + 1):
        data, name = _zip({name: data}), f"level{level}.zip"
    (tmp_path / "in" / "ida").mkdir(parents=True)
    (tmp_path / "in" / "ida" / name).write_bytes(data)
    found, _ = discover([tmp_path / "in"], chapters)
    assert [(s.student, s.problem) for s in found] == [
        ("ida", f"an archive nested more than {MAX_ARCHIVE_DEPTH} levels deep is not opened")]


def test_students_with_nothing_gradable_are_found(tmp_path, chapters):
    root = tmp_path / "class"
    (root / "empty").mkdir(parents=True)
    (root / "pics").mkdir()
    (root / "pics" / "photo.png").write_bytes(b"\x89PNG")
    (root / "out").mkdir()
    (root / "out" / "00_getting_started.ipynb").write_bytes(NB)  # the report folder: never walked
    (root / "real").mkdir()
    (root / "real" / "00_getting_started.ipynb").write_bytes(NB)
    if hasattr(os, "symlink"):
        (root / "real" / "link.ipynb").symlink_to(root / "real" / "00_getting_started.ipynb")
    found, ignored = discover([root], chapters, exclude=[root / "out"])
    assert _found(found) == [("real", "class/real/00_getting_started.ipynb")]
    assert ignored == [("class/pics/photo.png", "not a notebook (no .ipynb extension, no chapter in its name)", "pics"),
                       ("class/real/link.ipynb", "a symbolic link (not followed)", "real"),
                       ("class/empty", "an empty folder", "empty")]


def test_labels_are_relative_to_what_was_named(tmp_path, chapters):
    (tmp_path / "a" / "class" / "amy").mkdir(parents=True)
    (tmp_path / "b" / "class").mkdir(parents=True)
    (tmp_path / "a" / "class" / "amy" / "x.ipynb").write_bytes(NB)
    (tmp_path / "b" / "class" / "bo_00_getting_started.ipynb").write_bytes(NB)
    found, _ = discover([tmp_path / "a" / "class", (tmp_path / "b" / "class").resolve()], chapters)
    assert _found(found) == [("amy", "class/amy/x.ipynb"), ("bo", "class#2/bo_00_getting_started.ipynb")]
    assert all(str(tmp_path) not in s.label for s in found)


def test_feedback_file_names():
    names = feedback_names([NFC_JOSE, "jose", "Ægir", "日本", "", "con", "Carol Smith", "CAROL-smith", "Łukasz"])
    suffix = {s: hashlib.sha256(unicodedata.normalize("NFC", s).encode()).hexdigest()[:4] for s in
              (NFC_JOSE, "日本", "", "con", "CAROL-smith")}
    # the first in case-folded order keeps the plain name; a collision, an empty name or a reserved one
    # ("con" on Windows) gets a hash suffix
    assert names == {
        "Carol Smith": "carol-smith", "CAROL-smith": f"carol-smith-{suffix['CAROL-smith']}",
        "con": f"con-{suffix['con']}", "": f"student-{suffix['']}", "jose": "jose",
        NFC_JOSE: f"jose-{suffix[NFC_JOSE]}", "Ægir": "aegir", "Łukasz": "lukasz", "日本": f"student-{suffix['日本']}"}
    assert len(set(names.values())) == len(names)
    assert all(n.isascii() and n == n.lower() and all(c.isalnum() or c in "-_" for c in n) for n in names.values())


def test_folders_that_name_no_one_are_looked_through(tmp_path, chapters):
    root = tmp_path / "class"
    for relative in ("00_getting_started/alice_00_getting_started.ipynb", "00_getting_started/Bob.ipynb",
                     "submissions/carl/x.ipynb", "alice_ch00/01_why_convolutions.ipynb",
                     "00_getting_started/00_getting_started.ipynb"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(NB)
    (root / "01_why_convolutions").mkdir()  # an empty chapter folder is no student
    found, ignored = discover([root], chapters)
    assert _found(found) == [("unknown-1", "class/00_getting_started/00_getting_started.ipynb"),
                             ("bob", "class/00_getting_started/Bob.ipynb"),
                             ("alice", "class/00_getting_started/alice_00_getting_started.ipynb"),
                             ("alice", "class/alice_ch00/01_why_convolutions.ipynb"),
                             ("carl", "class/submissions/carl/x.ipynb")]
    assert found[3].info == {"owner": "folder", "original_name": "alice_ch00"}
    assert ignored == []
