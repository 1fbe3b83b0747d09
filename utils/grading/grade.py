"""Grade one submission end to end, and a batch of them with worker processes.

``grade_submission`` never raises: whatever the file holds, it returns a result with one row per exercise
of the chapter (or a single "unreadable" row when the chapter cannot be told). How an exercise's status is
decided, in order:

1. its cell is missing -> "missing"; a written (markdown) answer -> "not attempted" or "answered";
2. the exercise cell (or the check after it) runs past the per-cell limit -> "timeout"; the kernel dies
   (``os._exit``, ``exit()``, a segfault, the memory cap) -> "error"; in both cases a fresh kernel is started,
   the setup cells and the student's earlier exercise cells are re-run, and grading goes on (at most
   ``MAX_RESTARTS`` times; then the remaining exercises are "error" with "not run");
3. the whole-notebook limit is reached -> the remaining exercises are "timeout" with "not run";
4. otherwise the canonical check ran and recorded a verdict: "passed", "failed", "not attempted", or "error"
   when the check itself raised. A passed or failed verdict stands even when the exercise cell raised
   (the message then notes the error);
5. the check cell raised before a verdict (usually a NameError because the exercise cell did not define the
   name): "not attempted" when the exercise cell raised ``NotImplementedError``, else "error" with the
   exercise cell's exception if it raised one, else the check cell's.

The verdict travels as a marker line: before each check cell a hidden cell rebinds ``check`` to a recorder
created in the kernel before any student code ran; it captured ``utils.checks.run_check`` and prints
``MARKER + json`` where MARKER holds a random token. Only marker lines printed while the canonical check cell
runs count.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path


from . import ANSWERED, ERROR, FAILED, MISSING, NOT_ATTEMPTED, PASSED, TIMEOUT, UNREADABLE
from .assemble import Plan, Step, assemble
from .chapters import load_chapters
from .intake import identify, read_submission
from .discover import Submission
from .run import Kernel

MAX_RESTARTS = 3
SETUP_TIMEOUT = 300.0  # the solution's own setup cells are trusted: they get this, not the per-cell limit
MESSAGE_LIMIT = 3000
NAME_HINT = (" [when graded, only the exercise cells run, after the workbook's setup cells: code in cells you "
             "added, or in demonstration cells, is not available]")


@dataclass
class Limits:
    cell_timeout: float = 60.0  # seconds per cell (an exercise cell, or its check)
    timeout: float = 600.0  # seconds for the whole submission, kernel starts included
    memory_mb: int = 4096  # address-space cap of the kernel; 0 = none


@dataclass
class Row:
    exercise: str
    kind: str
    points: float
    max_points: float
    status: str
    message: str
    seconds: float = 0.0
    output: str = ""  # what the exercise cell printed (first characters), for the instructor
    answer: str = ""  # written answers, for manual review


@dataclass
class Result:
    file: str
    student: str
    chapter: str  # "-" when unknown
    chapter_source: str  # "metadata", "file name", "content", or "" when unknown
    rows: list[Row] = field(default_factory=list)
    seconds: float = 0.0
    restarts: int = 0
    notes: list[str] = field(default_factory=list)
    sha256: str = ""  # of the bytes graded (read once, before any student code ran)
    sandbox: str = ""  # what isolated the student's code: "bubblewrap" or "none"
    info: dict = field(default_factory=dict)  # what discovery knew of the file (original names, flags, ...)

    @property
    def points(self) -> float:
        return sum(r.points for r in self.rows)

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict) -> "Result":
        rows = [Row(**r) for r in data.pop("rows")]
        return Result(rows=rows, **data)


RECORDER = '''
def _workbook_grader_install(marker):
    import json
    import sys
    from utils.checks import core
    core.registered_ids()  # import every chapter's checks now, before any student code runs
    run_check, registry, out = core.run_check, dict(core._REGISTRY), sys.stdout

    def check(exercise_id, answer):
        core._REGISTRY.update(registry)  # undo a student's re-registration of a check
        try:
            result = run_check(exercise_id, answer)
            payload = {"id": exercise_id, "status": result.status, "message": result.message}
        except BaseException as error:  # the check itself broke on this answer
            payload = {"id": exercise_id, "status": "error",
                       "message": f"checking your answer raised {type(error).__name__}: {error}"}
        out.write("\\n" + marker + json.dumps(payload) + "\\n")
        out.flush()

    return check
'''


def _clip(text: str, limit: int = MESSAGE_LIMIT) -> str:
    text = str(text).strip()
    return text if len(text) <= limit else text[:limit] + f" ... [{len(text) - limit} more characters]"


def _written(step: Step) -> Row:
    text = (step.source or "").replace("YOUR ANSWER HERE", "").strip()
    if not text:
        return Row(step.exercise_id, "markdown", 0.0, step.points, NOT_ATTEMPTED,
                   "written question: still YOUR ANSWER HERE")
    return Row(step.exercise_id, "markdown", 0.0, step.points, ANSWERED,
               f"written answer: not graded automatically; to be read by the instructor (up to {step.points:g} point{'' if step.points == 1 else 's'})",
               answer=_clip(step.source, 5000))


def _verdict(step: Step, exercise, check, marker: str) -> tuple[str, str]:
    """Combine the exercise cell's run and the check cell's run into ``(status, message)``."""
    payload = None
    for line in check.marked:
        try:
            data = json.loads(line.split(marker, 1)[1])
        except (ValueError, IndexError):
            continue
        if isinstance(data, dict) and data.get("id") == step.exercise_id:
            payload = data
    raised = exercise.state == "error"
    not_implemented = raised and exercise.ename == "NotImplementedError"
    if payload is not None:
        status = payload.get("status")
        message = str(payload.get("message", ""))
        if status not in (PASSED, FAILED, NOT_ATTEMPTED, ERROR):
            return ERROR, f"unexpected verdict {status!r}"
        if status == NOT_ATTEMPTED:
            message = "not implemented yet: the exercise still raises NotImplementedError (or holds its placeholder)"
        if raised and not not_implemented and status in (PASSED, FAILED):
            message += f" (note: your exercise cell also raised {exercise.error} when run on its own)"
        return status, message + (NAME_HINT if status == FAILED and "NameError" in message else "")
    if not_implemented:
        return NOT_ATTEMPTED, "not implemented yet: the exercise cell still raises NotImplementedError"
    if raised:
        return ERROR, f"your exercise cell raised {exercise.error}"
    if check.state == "error":
        return ERROR, (f"the check could not run: {check.error} (did you rename or delete what the exercise defines?)"
                       + (NAME_HINT if check.ename == "NameError" else ""))
    return ERROR, "the check recorded no result (does your code replace sys.stdout, print or check?)"


class _Session:
    """The kernel of one submission: start, replay after a restart, remember what was run."""

    def __init__(self, plan: Plan, limits: Limits, deadline: float):
        self.plan, self.limits, self.deadline = plan, limits, deadline
        token = secrets.token_hex(8)
        self.marker = f"@@workbook-grade-{token}@@"
        self.recorder = f"_workbook_check_{token}"
        self.kernel: Kernel | None = None
        self.replay: list[str] = []
        self.restarts = 0
        self.broken = ""  # why no kernel is available any more

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def cell_limit(self) -> float:
        return max(0.0, min(self.limits.cell_timeout, self.remaining()))

    def start(self) -> None:
        """Start a kernel, install the recorder, run the setup cells and replay earlier exercises."""
        self.stop()
        try:
            self.kernel = Kernel(self.limits.memory_mb, marker=self.marker)
            self.kernel.start()
            install = RECORDER + f"{self.recorder} = _workbook_grader_install({self.marker!r})\ndel _workbook_grader_install\n"
            for what, code in ([("the grader's setup", install)]
                               + [("a setup cell of the solution", c) for c in self.plan.setup]
                               + [("re-running an earlier exercise cell", c) for c in self.replay]):
                limit = self.cell_limit() if what.startswith("re-running") else max(0.0, min(SETUP_TIMEOUT, self.remaining()))
                run = self.kernel.run(code, limit)
                if run.state in ("timeout", "dead") or (run.state == "error" and not what.startswith("re-running")):
                    raise RuntimeError(f"{what} failed ({run.state}{': ' + run.error if run.error else ''})")
        except Exception as error:
            self.stop()
            self.broken = f"the grading kernel could not be prepared: {_clip(error, 500)}"

    def restart(self) -> None:
        self.restarts += 1
        if self.restarts > MAX_RESTARTS:
            self.stop()
            self.broken = f"the kernel died or timed out {MAX_RESTARTS + 1} times in this notebook"
        else:
            self.start()

    def stop(self) -> None:
        if self.kernel is not None:
            self.kernel.stop()
        self.kernel = None

    def grade(self, step: Step) -> Row:
        row = Row(step.exercise_id, "code", 0.0, step.points, ERROR, "")
        if self.remaining() <= 0:
            row.status, row.message = TIMEOUT, (f"not run: the whole-notebook time limit ({self.limits.timeout:g} s) "
                                                "was reached before this exercise")
            return row
        if self.kernel is None:
            row.message = f"not run: {self.broken}"
            return row
        limit = self.limits.cell_timeout
        exercise = self.kernel.run(step.source, self.cell_limit())
        row.output = _clip(exercise.output, 2000) + (f"\n[{exercise.dropped} more characters of output dropped]"
                                                     if exercise.dropped else "")
        row.seconds = exercise.seconds
        if exercise.state in ("timeout", "dead"):
            row.status, row.message = self._fatal(exercise.state, "your exercise cell", limit)
            self.restart()
            return row
        self.replay.append(step.source)
        check = self.kernel.run(f"check = {self.recorder}\n" + (step.check_source or ""), self.cell_limit())
        row.seconds += check.seconds
        if check.state in ("timeout", "dead"):
            row.status, row.message = self._fatal(check.state, "checking your answer", limit)
            self.restart()
            return row
        row.status, row.message = _verdict(step, exercise, check, self.marker)
        row.points = step.points if row.status == PASSED else 0.0
        return row

    def _fatal(self, state: str, what: str, limit: float) -> tuple[str, str]:
        if state == "timeout":
            if self.remaining() <= 0:
                return TIMEOUT, f"{what} was stopped: the whole-notebook time limit ({self.limits.timeout:g} s) was reached"
            return TIMEOUT, f"{what} ran longer than the {limit:g} s limit (an infinite loop, or far too slow)"
        cap = f", or use more than the {self.limits.memory_mb} MB memory limit" if self.limits.memory_mb else ""
        return ERROR, (f"the kernel died while {what.replace('your exercise cell', 'running your exercise cell')} "
                       f"(does your code call os._exit(), exit() or quit(), crash the interpreter{cap}?)")


def run_plan(plan: Plan, limits: Limits, started: float) -> tuple[list[Row], int]:
    session = _Session(plan, limits, started + limits.timeout)
    rows = []
    try:
        if any(s.kind == "code" and s.source is not None for s in plan.steps):
            session.start()
        for step in plan.steps:
            if step.source is None:
                row = Row(step.exercise_id, step.kind, 0.0, step.points, MISSING, step.missing_reason)
            elif step.kind == "markdown":
                row = _written(step)
            else:
                row = session.grade(step)
            if step.notes:
                row.message = (row.message + " | " if row.message else "") + "; ".join(step.notes)
            row.message = _clip(row.message)
            rows.append(row)
    finally:
        session.stop()
    return rows, session.restarts


def grade_submission(submission: Submission, limits: Limits, root: Path | None = None) -> Result:
    """Grade one file; never raises."""
    started = time.monotonic()
    chapters = load_chapters(root) if root else load_chapters()
    result = Result(submission.label, submission.student, "-", "", sha256=getattr(submission, "sha256", ""),
                    info=dict(getattr(submission, "info", None) or {}))
    try:
        nb, problem = read_submission(Path(submission.path), getattr(submission, "data", None))
        stem, source = identify(nb, Path(submission.path), chapters)
        if stem is None:
            reason = problem or ("cannot tell which chapter this notebook is: no workbook metadata, no chapter in "
                                 "the file name, no exercise cells of a known chapter")
            result.rows.append(Row("-", "-", 0.0, 0.0, UNREADABLE, reason))
        else:
            result.chapter, result.chapter_source = stem, source
            chapter = chapters[stem]
            if problem:
                result.rows = [Row(e.exercise_id, e.kind, 0.0, e.points, UNREADABLE, problem) for e in chapter.exercises]
            else:
                original = nb.get("metadata", {}).get("orig_nbformat")
                if isinstance(original, int) and original < 4:
                    result.notes.append(f"converted from notebook format v{original}")
                result.rows, result.restarts = run_plan(assemble(chapter, nb), limits, started)
    except Exception as error:  # a grader bug must not lose the submission
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        message = f"grader error (please report): {detail}"
        if result.chapter != "-":
            result.rows = [Row(e.exercise_id, e.kind, 0.0, e.points, ERROR, message)
                           for e in chapters[result.chapter].exercises]
        else:
            result.rows = [Row("-", "-", 0.0, 0.0, ERROR, message)]
    result.seconds = time.monotonic() - started
    return result


def _grade_to_dict(submission: Submission, limits: Limits, root: str | None) -> dict:
    return grade_submission(submission, limits, Path(root) if root else None).to_dict()


def grade_all(submissions: list[Submission], limits: Limits, jobs: int = 1, root: Path | None = None,
              out=sys.stdout) -> list[Result]:
    """Grade every submission (``jobs`` at a time, in worker processes), printing one line per submission."""
    total = len(submissions)
    results: list[Result | None] = [None] * total
    done = 0

    def report(index: int, result: Result) -> None:
        nonlocal done
        done += 1
        results[index] = result
        maximum = sum(r.max_points for r in result.rows)
        counts: dict[str, int] = {}
        for row in result.rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in counts.items())
        print(f"[{done}/{total}] {result.student} | {result.chapter} | {result.points:g}/{maximum:g} points "
              f"| {summary} | {result.seconds:.1f} s | {result.file}", file=out, flush=True)

    if jobs <= 1 or total <= 1:
        for index, submission in enumerate(submissions):
            report(index, grade_submission(submission, limits, root))
        return results  # type: ignore[return-value]
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(_grade_to_dict, s, limits, str(root) if root else None): i
                   for i, s in enumerate(submissions)}
        for future in as_completed(futures):
            index = futures[future]
            try:
                result = Result.from_dict(future.result())
            except Exception as error:  # a worker process died
                s = submissions[index]
                result = Result(s.label, s.student, "-", "", [Row("-", "-", 0.0, 0.0, ERROR,
                                f"grader error (worker failed): {type(error).__name__}: {error}")])
            report(index, result)
    return results  # type: ignore[return-value]
