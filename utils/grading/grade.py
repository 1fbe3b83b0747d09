"""Grade one submission end to end, and a batch of them with worker processes.

``grade_submission`` never raises: whatever the file holds, it returns a result with one row per exercise
of the chapter (or a single "unreadable" row when the chapter cannot be told). How an exercise's status is
decided, in order:

1. its cell is missing -> "missing"; a written (markdown) answer -> "not attempted" or "answered";
2. the exercise cell (or the check after it) runs past the per-cell limit -> "timeout"; the runner dies
   (``os._exit``, a segfault) -> "error"; in both cases a fresh runner is started,
   the setup cells and the student's earlier exercise cells are re-run, and grading goes on (at most
   ``MAX_RESTARTS`` times; then the remaining exercises are "error" with "not run");
3. the whole-notebook limit is reached -> the remaining exercises are "timeout" with "not run";
4. otherwise the canonical check ran and recorded a verdict: "passed", "failed", "not attempted", or "error"
   when the check itself raised. A passed or failed verdict stands even when the exercise cell raised
   (the message then notes the error);
5. the check cell raised before a verdict (usually a NameError because the exercise cell did not define the
   name): "not attempted" when the exercise cell raised ``NotImplementedError``, else "error" with the
   exercise cell's exception if it raised one, else the check cell's.

6. an answer that calls the workbook's own implementation of the exercise (seen in its source, or caught by
   the runner's tripwire while the check called it) is "failed", naming what it called.

Where things run (see ``judge.py`` and ``runner.py``): the exercise cells run in a runner process forked
for this submission (inside the sandbox); the check cell is never run there. The judge reads which answer the
canonical check cell names (``check("id", answer)``), gets a stand-in for it, and runs the registered check in
this process, so no code in the submission can touch the comparison or the verdict.
"""

from __future__ import annotations

import atexit
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

from utils.checks.core import run_check

from . import ANSWERED, ERROR, FAILED, MISSING, NOT_ATTEMPTED, PASSED, TIMEOUT, UNREADABLE
from .assemble import Plan, Step, assemble
from .chapters import load_chapters
from .discover import Submission
from .intake import identify, read_submission
from .judge import Channel, Host, RunnerLost, parse_check_cell
from .references import not_yours

MAX_RESTARTS = 3
RUNNER_THREADS = "import torch as _torch\n_torch.set_num_threads(1)\ndel _torch\n"
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
    phases: dict = field(default_factory=dict)  # seconds spent: runner start, setup cells, exercise cells, checks

    @property
    def points(self) -> float:
        return sum(r.points for r in self.rows)

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict) -> "Result":
        rows = [Row(**r) for r in data.pop("rows")]
        return Result(rows=rows, **data)


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


def _exercise_outcome(step: Step, exercise: dict) -> tuple[str, str] | None:
    """The verdict when the exercise cell's own run decides it (it raised, and no check could run)."""
    if exercise.get("state") != "error":
        return None
    if exercise.get("ename") == "NotImplementedError":
        return NOT_ATTEMPTED, "not implemented yet: the exercise cell still raises NotImplementedError"
    return ERROR, f"your exercise cell raised {_error_text(exercise)}"


def _error_text(reply: dict) -> str:
    evalue = str(reply.get("evalue", ""))
    return f"{reply.get('ename', '')}: {evalue}" if evalue else str(reply.get("ename", ""))


def _judge(step: Step, channel: Channel, exercise: dict, setup: tuple[str, ...] = ()) -> tuple[str, str]:
    """Run the exercise's check here, in the judge, on a stand-in for the student's answer."""
    raised = exercise.get("state") == "error"
    calls = [c for c in parse_check_cell(step.check_source or "") if c[0] == step.exercise_id]
    if not calls:
        return ERROR, "grader error (please report): the solution's check cell names no check for this exercise"
    _, expression = calls[0]
    try:
        answer = channel.get(expression)
    except RunnerLost:
        raise
    except Exception as error:  # usually a NameError: the exercise cell did not define the name
        outcome = _exercise_outcome(step, exercise)
        if outcome is not None:
            return outcome
        hint = NAME_HINT if isinstance(error, NameError) else ""
        return ERROR, (f"the check could not run: {type(error).__name__}: {error} (did you rename or delete what the "
                       f"exercise defines?)" + hint)
    channel.exercise = step.exercise_id
    channel.hits = {str(h) for h in exercise.get("hits", [])[:20]} if isinstance(exercise.get("hits"), list) else set()
    try:
        result = run_check(step.exercise_id, answer)
        status, message = result.status, result.message
    except RunnerLost:
        raise
    except Exception as error:  # the check itself broke on this answer
        status, message = ERROR, f"checking your answer raised {type(error).__name__}: {error}"
    finally:
        channel.exercise = None
    borrowed = not_yours(step.exercise_id, step.source or "", setup, channel.hits)
    if borrowed and status in (PASSED, FAILED):
        return FAILED, borrowed
    if status == NOT_ATTEMPTED:
        if raised and exercise.get("ename") != "NotImplementedError":
            return ERROR, f"your exercise cell raised {_error_text(exercise)}"
        return status, "not implemented yet: the exercise still raises NotImplementedError (or holds its placeholder)"
    if raised and exercise.get("ename") != "NotImplementedError" and status in (PASSED, FAILED):
        message += f" (note: your exercise cell also raised {_error_text(exercise)} when run on its own)"
    return status, message + (NAME_HINT if status == FAILED and "NameError" in message else "")


_HOST: Host | None = None


def _host() -> Host:
    """This process's runner zygote (one per grading worker), started on first use in its sandbox."""
    global _HOST
    if _HOST is None:
        import torch

        torch.set_num_threads(1)  # the judge's references: one worker per core, no oversubscription
        _HOST = Host(detect_sandbox())
        atexit.register(_HOST.stop)
    if not _HOST.alive():
        _HOST.start()
    return _HOST


def detect_sandbox():
    """The sandbox the runners start in (``utils.grading.sandbox``); a stand-in saying "none" without it."""
    try:
        from .sandbox import detect
    except ImportError as error:
        return _NoSandbox(f"the sandbox module cannot be loaded ({error})")
    return detect()


@dataclass(frozen=True)
class _NoSandbox:
    reason: str
    name: str = "none"

    def wrap(self, argv, *, env):
        return list(argv)


class _Session:
    """The runner of one submission: start, replay after a restart, remember what was run."""

    def __init__(self, plan: Plan, limits: Limits, deadline: float):
        self.plan, self.limits, self.deadline = plan, limits, deadline
        self.channel: Channel | None = None
        self.host: Host | None = None
        self.replay: list[str] = []
        self.restarts = 0
        self.broken = ""  # why no runner is available any more
        self.phases = {"runner start": 0.0, "setup cells": 0.0, "exercise cells": 0.0, "checks": 0.0}

    def _spent(self, phase: str, since: float) -> float:
        now = time.monotonic()
        self.phases[phase] += now - since
        return now

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def cell_deadline(self) -> float:
        return time.monotonic() + max(0.0, min(self.limits.cell_timeout, self.remaining()))

    def start(self) -> None:
        """Fork a runner, run the setup cells, arm the reference tripwire and replay earlier exercises."""
        self.stop()
        try:
            self.host = _host()  # once per worker (its start is not this submission's time)
            since = time.monotonic()
            self.channel = self.host.fork(self.limits.memory_mb, time.monotonic() + 60)
            since = self._spent("runner start", since)
            for code in self.plan.setup:
                self.channel.deadline = time.monotonic() + max(0.0, min(SETUP_TIMEOUT, self.remaining()))
                run = self.channel.execute(code)
                if run.get("state") != "ok":
                    raise RuntimeError(f"a setup cell of the solution failed ({_error_text(run)})")
            # one thread: a grading worker is one core, and the judge and the runner take turns on it
            self.channel.execute(RUNNER_THREADS)
            self.channel.install_tripwire([s.exercise_id for s in self.plan.steps if s.kind == "code"])
            since = self._spent("setup cells", since)
            for code in self.replay:
                self.channel.deadline = self.cell_deadline()
                self.channel.execute(code)
            self._spent("exercise cells", since)
        except RunnerLost as lost:
            self.stop()
            self.broken = f"the grading process could not be prepared ({lost.state} {lost.detail})".strip()
        except Exception as error:
            self.stop()
            self.broken = f"the grading process could not be prepared: {_clip(error, 500)}"

    def restart(self) -> None:
        self.restarts += 1
        if self.restarts > MAX_RESTARTS:
            self.stop()
            self.broken = f"the kernel died or timed out {MAX_RESTARTS + 1} times in this notebook"
        else:
            self.start()

    def stop(self) -> None:
        if self.channel is not None and self.host is not None:
            self.host.end(self.channel)
        self.channel = None

    def grade(self, step: Step) -> Row:
        row = Row(step.exercise_id, "code", 0.0, step.points, ERROR, "")
        if self.remaining() <= 0:
            row.status, row.message = TIMEOUT, (f"not run: the whole-notebook time limit ({self.limits.timeout:g} s) "
                                                "was reached before this exercise")
            return row
        if self.channel is None:
            row.message = f"not run: {self.broken}"
            return row
        limit = self.limits.cell_timeout
        started = time.monotonic()
        self.channel.deadline = self.cell_deadline()
        try:
            exercise = self.channel.execute(step.source, watch=step.exercise_id)
        except RunnerLost as lost:
            self._spent("exercise cells", started)
            row.seconds = time.monotonic() - started
            row.status, row.message = self._fatal(lost.state, "your exercise cell", limit)
            self.restart()
            return row
        dropped = exercise.get("dropped", 0)
        row.output = _clip(exercise.get("output", ""), 2000) + (f"\n[{dropped} more characters of output dropped]"
                                                               if dropped else "")
        self.replay.append(step.source)
        checking = self._spent("exercise cells", started)
        self.channel.deadline = self.cell_deadline()
        try:
            row.status, row.message = _judge(step, self.channel, exercise, self.plan.setup)
        except RunnerLost as lost:
            row.status, row.message = self._fatal(lost.state, "checking your answer", limit)
            self.restart()
        self._spent("checks", checking)
        row.seconds = time.monotonic() - started
        row.points = step.points if row.status == PASSED else 0.0
        return row

    def _fatal(self, state: str, what: str, limit: float) -> tuple[str, str]:
        if state == "timeout":
            if self.remaining() <= 0:
                return TIMEOUT, f"{what} was stopped: the whole-notebook time limit ({self.limits.timeout:g} s) was reached"
            return TIMEOUT, f"{what} ran longer than the {limit:g} s limit (an infinite loop, or far too slow)"
        cap = f", or use more than the {self.limits.memory_mb} MB memory limit" if self.limits.memory_mb else ""
        return ERROR, (f"the kernel died while {what.replace('your exercise cell', 'running your exercise cell')} "
                       f"(does your code call os._exit(), crash the interpreter{cap}?)")


def run_plan(plan: Plan, limits: Limits, started: float, phases: dict | None = None) -> tuple[list[Row], int]:
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
        if phases is not None:
            phases.update({k: round(v, 3) for k, v in session.phases.items()})
    return rows, session.restarts


def grade_submission(submission: Submission, limits: Limits, root: Path | None = None) -> Result:
    """Grade one file; never raises."""
    started = time.monotonic()
    chapters = load_chapters(root) if root else load_chapters()
    result = Result(submission.label, submission.student, "-", "", sha256=getattr(submission, "sha256", ""),
                    sandbox=detect_sandbox().name, info=dict(getattr(submission, "info", None) or {}))
    try:
        nb, problem = read_submission(Path(submission.path), getattr(submission, "data", None))
        stem, source = identify(nb, Path(submission.path), chapters)
        if stem is None:
            reason = problem or source or ("cannot tell which chapter this notebook is: no workbook metadata, no chapter in "
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
                result.rows, result.restarts = run_plan(assemble(chapter, nb), limits, started, result.phases)
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
