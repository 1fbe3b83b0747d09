"""The nbgrader release (``workbook release --nbgrader``) under the real nbgrader (pinned in requirements.txt).

One course folder in a temporary directory: the export of every chapter, then ``nbgrader generate_assignment``
once for all of them. Chapter 00 (the fastest) is then handed in by three students (everything solved; a mix
of correct, wrong, untouched and a written answer; the release untouched), validated, autograded by nbgrader
and graded by ``workbook grade``: both must give the same points for every exercise.
"""

from __future__ import annotations

import copy
import io
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from utils.authoring.build import solution_paths, student_version
from utils.authoring.cells import read_notebook, role, workbook_meta
from utils.checks.core import NotImplementedYet, check
from utils.cli import main
from utils.grading.chapters import load_chapters
from utils.grading.discover import Submission
from utils.grading.grade import Limits, grade_all
from utils.grading.nbgrader_export import CHECK_SUFFIX, IGNORE, grade_id, graded_check_source, nbgrader_source

from .fixtures import CHAPTER, REPO_ROOT, cell

CHAPTERS = [p.stem for p in solution_paths(REPO_ROOT)]
# only stops a hung process; nothing here depends on the machine's speed (nbgrader's own per-cell limit is
# the export's nbgrader_config.py)
PROCESS_TIMEOUT_S = 1800
WRITTEN = "A border pixel is covered by fewer windows than a pixel in the middle, so it counts less."


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the nbgrader command line in the course folder (which holds the export's nbgrader_config.py)."""
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True,
                          timeout=PROCESS_TIMEOUT_S)


def _solved(nb):
    """The release notebook with every exercise cell holding the solution's source."""
    solution = read_notebook(REPO_ROOT / "solutions" / f"{CHAPTER}.ipynb")
    for c in nb.cells:
        if role(c) == "exercise":
            c.source = cell(solution, workbook_meta(c)["id"]).source
    return nb


def _mixed(nb):
    """Correct (with a warning during the check), wrong, untouched, and a written answer."""
    solution = read_notebook(REPO_ROOT / "solutions" / f"{CHAPTER}.ipynb")
    cell(nb, "warmup.n_outputs").source = (
        cell(solution, "warmup.n_outputs").source + "\n\n_solved = n_outputs\n\n\ndef n_outputs(n, k):\n"
        "    import warnings\n    warnings.warn('a warning is not a failure')\n    return _solved(n, k)\n")
    cell(nb, "warmup.slide").source = "def slide_filter(x, w):\n    return 'not an array'\n"
    cell(nb, "warmup.border").source = WRITTEN
    return nb


SUBMISSIONS = {"solved": _solved, "mixed": _mixed, "untouched": lambda nb: nb}
# workbook grade's status per exercise, which nbgrader must match in points
EXPECTED = {
    "solved": {"warmup.n_outputs": "passed", "warmup.slide": "passed", "warmup.layer": "passed",
               "warmup.border": "answered"},
    "mixed": {"warmup.n_outputs": "passed", "warmup.slide": "failed", "warmup.layer": "not attempted",
              "warmup.border": "answered"},
    "untouched": {e: "not attempted" for e in ("warmup.n_outputs", "warmup.slide", "warmup.layer", "warmup.border")},
}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("nbgrader") / "course"
    assert main(["release", "--nbgrader", str(root)]) == 0
    run = nbgrader(root, "generate_assignment", "*")
    assert run.returncode == 0, run.stdout + run.stderr
    return root


@pytest.fixture(scope="module")
def graded(course):
    """Chapter 00 handed in by every student in SUBMISSIONS, autograded by nbgrader and by the workbook."""
    release = nbformat.read(str(course / "release" / CHAPTER / f"{CHAPTER}.ipynb"), as_version=4)
    paths = {}
    for student, make in SUBMISSIONS.items():
        folder = course / "submitted" / student / CHAPTER
        folder.mkdir(parents=True)
        paths[student] = folder / f"{CHAPTER}.ipynb"
        paths[student].write_text(nbformat.writes(make(copy.deepcopy(release))), encoding="utf-8")
    # a utils package handed in next to the notebook, whose check passes everything: never copied to grading
    fake = course / "submitted" / "untouched" / CHAPTER / "utils" / "checks"
    fake.mkdir(parents=True)
    (fake.parent / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("def check(*args, **kwargs):\n    print('\\u2714 passed')\n")
    # the release notebook itself, untouched (validate runs a notebook in its folder: not next to the fake utils)
    validation = {"solved": nbgrader(course, "validate", str(paths["solved"])),
                  "untouched": nbgrader(course, "validate", str(course / "release" / CHAPTER / f"{CHAPTER}.ipynb"))}
    run = nbgrader(course, "autograde", CHAPTER)
    assert run.returncode == 0, run.stdout + run.stderr
    from nbgrader.api import Gradebook

    nbgrader_scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in SUBMISSIONS:
            notebook = gradebook.find_submission_notebook(CHAPTER, CHAPTER, student)
            nbgrader_scores[student] = {g.name: (g.auto_score, g.needs_manual_grade, g.max_score)
                                        for g in notebook.grades}
    submissions = [Submission(path, student, str(path)) for student, path in paths.items()]
    results = grade_all(submissions, Limits(cell_timeout=600, timeout=3600), jobs=2, out=io.StringIO())
    workbook = {r.student: {row.exercise: row for row in r.rows} for r in results}
    return {"nbgrader": nbgrader_scores, "workbook": workbook, "validation": validation, "course": course}


def test_generate_assignment_releases_every_chapter(course):
    """The release nbgrader writes is the workbook's student chapter, check cells graded."""
    for stem in CHAPTERS:
        released = nbformat.read(str(course / "release" / stem / f"{stem}.ipynb"), as_version=4)
        student = student_version(read_notebook(REPO_ROOT / "solutions" / f"{stem}.ipynb"), stem)
        assert len(released.cells) == len(student.cells), stem
        for mine, theirs in zip(student.cells, released.cells):
            expected = mine.source
            if role(mine) == "check":
                expected = graded_check_source(mine.source, workbook_meta(mine)["check"])
                assert "graded=True" in expected
            assert theirs.source == expected, f"{stem}: {mine.source[:60]!r}"
            assert workbook_meta(theirs) == workbook_meta(mine)
            assert "BEGIN SOLUTION" not in theirs.source
        assert released.metadata["workbook"]["chapter"] == stem


@pytest.mark.parametrize("stem", CHAPTERS)
def test_metadata_maps_every_exercise(stem):
    chapter = load_chapters()[stem]
    nb = nbgrader_source(read_notebook(REPO_ROOT / "solutions" / f"{stem}.ipynb"), stem)
    graded_cells = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
                    if c.metadata.get("nbgrader", {}).get("grade")}
    expected = {}
    for spec in chapter.exercises:
        gid = grade_id(spec.exercise_id) + (CHECK_SUFFIX if spec.kind == "code" else "")
        expected[gid] = spec.points
        meta = graded_cells[gid].metadata["nbgrader"]
        assert meta["solution"] == (spec.kind == "markdown") and meta["locked"] == (spec.kind == "code")
    assert {g: c.metadata["nbgrader"]["points"] for g, c in graded_cells.items()} == expected
    for c in nb.cells:
        kind, meta = role(c), c.metadata.get("nbgrader")
        assert (meta is not None) == bool(kind), c.source[:60]
        if meta:
            assert meta["schema_version"] == 3 and set(meta["grade_id"]) <= set(
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
            assert meta["locked"] == (kind in ("setup", "check"))
            assert meta["solution"] == (kind == "exercise")
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None


def test_grade_ids_are_legal_and_distinct():
    assert grade_id("warmup.slide") == "warmup_slide"
    assert grade_id("a b/c-d_e.f") == "a_b_c-d_e_f"
    nb = read_notebook(REPO_ROOT / "solutions" / f"{CHAPTER}.ipynb")
    clash = copy.deepcopy(nb)
    exercise, its_check = cell(clash, "warmup.slide"), cell(clash, "warmup.slide", "check")
    exercise.metadata["workbook"]["id"] = its_check.metadata["workbook"]["check"] = "warmup_n.outputs"
    its_check.source = 'check("warmup_n.outputs", slide_filter)'
    with pytest.raises(ValueError, match="would share the nbgrader grade_id 'warmup_n_outputs'"):
        nbgrader_source(clash, CHAPTER)


def test_graded_check_source():
    assert graded_check_source('check("a.b", f)', "a.b") == 'check("a.b", f, graded=True)'
    multi_line = 'x = 1\ncheck(\n    "a.b",\n    f,\n)\n'
    assert graded_check_source(multi_line, "a.b") == 'x = 1\ncheck(\n    "a.b",\n    f,\ngraded=True)\n'
    assert graded_check_source('check("a.b", f, graded=True)', "a.b") == 'check("a.b", f, graded=True)'
    with pytest.raises(ValueError, match="once"):
        graded_check_source('check("other", f)', "a.b")


def test_graded_check_raises_one_line_and_keeps_stderr_clean(capsys):
    def not_yet(n, k):
        raise NotImplementedError()

    check("warmup.n_outputs", not_yet)  # the default, as students see it in chapters/: printed, no error
    assert "not implemented yet" in capsys.readouterr().out
    with pytest.raises(NotImplementedYet) as raised:
        check("warmup.n_outputs", not_yet, graded=True)
    lines = raised.value._render_traceback_()
    assert len(lines) == 1 and "warmup.n_outputs: not implemented yet" in lines[0]
    solution = read_notebook(REPO_ROOT / "solutions" / f"{CHAPTER}.ipynb")
    namespace: dict = {}
    exec(cell(solution, "warmup.n_outputs").source, namespace)

    def noisy(n, k):
        print("from the answer", file=sys.stderr)
        return namespace["n_outputs"](n, k)

    capsys.readouterr()
    check("warmup.n_outputs", noisy, graded=True)
    captured = capsys.readouterr()
    assert captured.err == "" and "from the answer" in captured.out and "\u2714 warmup.n_outputs passed" in captured.out


def test_validate(graded):
    solved, untouched = graded["validation"]["solved"], graded["validation"]["untouched"]
    assert "Success! Your notebook passes all the tests." in solved.stdout, solved.stdout + solved.stderr
    assert "VALIDATION FAILED ON 4 CELL(S)!" in " ".join(untouched.stdout.split()), untouched.stdout + untouched.stderr
    assert "not implemented yet" in untouched.stdout


@pytest.mark.parametrize("student", SUBMISSIONS)
def test_autograde_gives_the_points_of_workbook_grade(graded, student):
    scores, rows = graded["nbgrader"][student], graded["workbook"][student]
    assert {e: r.status for e, r in rows.items()} == EXPECTED[student], {e: r.message for e, r in rows.items()}
    for spec in load_chapters()[CHAPTER].exercises:
        row = rows[spec.exercise_id]
        if spec.kind == "code":
            auto, manual, most = scores[grade_id(spec.exercise_id) + CHECK_SUFFIX]
            assert (auto, manual, most) == (row.points, False, spec.points), f"{spec.exercise_id}: {row.message}"
        else:  # written: nbgrader leaves an answer to the instructor and gives 0 to the untouched prompt
            auto, manual, most = scores[grade_id(spec.exercise_id)]
            assert most == spec.points and row.points == 0
            assert (auto, manual) == ((None, True) if row.status == "answered" else (0, False))
    total = sum(auto or 0 for auto, _, _ in scores.values())
    assert total == sum(r.points for r in rows.values())


def test_a_submitted_utils_is_not_copied(graded):
    assert {"utils", "utils.py"} <= set(IGNORE)
    assert (graded["course"] / "submitted" / "untouched" / CHAPTER / "utils").is_dir()
    assert not (graded["course"] / "autograded" / "untouched" / CHAPTER / "utils").exists()
    assert (graded["course"] / "autograded" / "untouched" / CHAPTER / f"{CHAPTER}.ipynb").exists()


def test_cli(tmp_path, capsys):
    assert main(["release", "--nbgrader", str(tmp_path / "two"), "--chapters", "00", CHAPTERS[-1]]) == 0
    assert sorted(p.name for p in (tmp_path / "two" / "source").iterdir()) == sorted({CHAPTER, CHAPTERS[-1]})
    assert {p.name for p in (tmp_path / "two").iterdir()} == {"source", "nbgrader_config.py", "README.md"}
    assert main(["release", "--nbgrader", str(tmp_path / "two")]) == 2  # not empty
    assert main(["release", "--nbgrader", str(tmp_path / "x"), "--chapters", "99_nope"]) == 2
    assert "unknown chapter(s) 99_nope" in capsys.readouterr().err
    config = (tmp_path / "two" / "nbgrader_config.py").read_text(encoding="utf-8")
    compile(config, "nbgrader_config.py", "exec")
    assert "c.CourseDirectory.ignore" in config and "'utils'" in config
