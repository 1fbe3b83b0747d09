"""The checks API: a registry of exercise checks and the two ways to run one.

In a notebook, the check cell under an exercise calls ``check("warmup.slide", slide)``:

- passed: it prints one deterministic line (nbval compares it);
- not attempted (the answer is ``...``/``None`` or raises ``NotImplementedError``): it prints
  "not implemented yet" and how to go on, without a traceback;
- failed: it raises ``CheckFailed``, whose message names the case, expected vs got and a hint.

Graders call ``run_check`` instead, which never raises for a student's mistake and returns a ``CheckResult``.

An answer that raises ``NotImplementedError`` on some cases after returning a value on others is partly
written: that is a failure naming the case, not "not attempted" (``compare.call`` keeps count).

A chapter may also register the workbook's own implementation of an exercise with ``@reference(id)``:
demonstrations use it while the student's answer is missing or wrong (``utils.checks.fallback``).

A chapter's checks live in ``utils/checks/chNN_topic.py`` and register themselves with ``@register(id)``;
every such module is imported on first use, so adding a chapter touches no shared file.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import sys
import weakref
from dataclasses import dataclass
from typing import Any, Callable

PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"


class CheckFailed(AssertionError):
    """A student's answer is wrong. The message is meant to be read by the student."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback into utils: a failed check is a verdict, not a crash.
        # The cell still ends in an error, so "Run All" stops here and graders see it.
        return [f"\x1b[1;31m\u2718 {self}\x1b[0m"]


class NotAttempted(Exception):
    """The exercise still holds its ``raise NotImplementedError()`` (or its ``...`` placeholder)."""


class NotImplementedYet(Exception):
    """``check(..., graded=True)`` raises this for an exercise not attempted, so that an autograder that counts
    errors (nbgrader) gives no points; it shows the same one line as the printed verdict, no traceback."""

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


@dataclass(frozen=True)
class CheckResult:
    exercise_id: str
    status: str  # PASSED, FAILED or NOT_ATTEMPTED
    message: str


CheckFunction = Callable[[Any], str]
_REGISTRY: dict[str, CheckFunction] = {}
_REFERENCES: dict[str, Any] = {}
_loaded = False


class _Attempt:
    """What the answer did during the check that is running now (checks run one at a time)."""

    returned = 0  # calls of the answer that returned a value


ATTEMPT = _Attempt()
_VERDICTS: dict[str, tuple[Callable[[], Any], str]] = {}  # exercise id -> (the answer judged, its status)


def _remember(result: "CheckResult", answer: Any) -> "CheckResult":
    try:
        handle = weakref.ref(answer)
    except TypeError:  # numbers, tuples, ...: hold them directly
        handle = lambda answer=answer: answer  # noqa: E731
    _VERDICTS[result.exercise_id] = (handle, result.status)
    return result


def last_verdict(exercise_id: str, answer: Any) -> str | None:
    """The status the last check of ``exercise_id`` gave, if it judged this very ``answer`` object."""
    known = _VERDICTS.get(exercise_id)
    return known[1] if known is not None and known[0]() is answer else None


def register(exercise_id: str) -> Callable[[CheckFunction], CheckFunction]:
    """Decorator: register ``fn(answer) -> summary`` as the check of ``exercise_id``.

    ``fn`` raises ``CheckFailed`` (or ``NotAttempted``) and returns a short, deterministic summary
    of what it verified, e.g. ``"14 cases"``.
    """

    def decorate(fn: CheckFunction) -> CheckFunction:
        if exercise_id in _REGISTRY and _REGISTRY[exercise_id] is not fn:
            raise ValueError(f"two checks registered for exercise id {exercise_id!r}")
        _REGISTRY[exercise_id] = fn
        return fn

    return decorate


def reference(exercise_id: str) -> Callable[[Any], Any]:
    """Decorator (or plain call) registering the workbook's implementation of ``exercise_id``: a function
    with the exercise's signature, or the expected value for an exercise whose answer is a value."""

    def decorate(obj: Any) -> Any:
        _REFERENCES[exercise_id] = obj
        return obj

    return decorate


def get_reference(exercise_id: str) -> Any:
    _load_chapter_checks()
    try:
        return _REFERENCES[exercise_id]
    except KeyError:
        raise KeyError(f"no reference implementation is registered for exercise id {exercise_id!r}") from None


# What an answer may take from `utils`: graders fail an answer that calls the workbook's own implementation of
# the exercise (utils.grading.references); the spec says what it may use. Names are dotted import paths.
_IMPLEMENTED_BY: dict[str, list[str]] = {}
_BUILDS_ON: dict[str, list[str]] = {}
_MAY_USE: dict[str, list[str]] = {}
# The workbook's ways of fetching any reference (and their registry): never part of an answer.
REFERENCE_LOOKUPS = ("utils.checks.core.get_reference", "utils.checks.fallback.yours_or_reference",
                     "utils.checks.core._REFERENCES")


def implemented_by(exercise_id: str, *dotted_names: str, builds_on: tuple[str, ...] = ()) -> None:
    """Declare the `utils` functions (classes, modules) that compute ``exercise_id``'s answer, besides its
    ``@reference``. ``builds_on``: exercises whose answer the spec asks the student to reuse ("your corr2d"):
    their implementations are not the student's here either."""
    _IMPLEMENTED_BY.setdefault(exercise_id, []).extend(dotted_names)
    _BUILDS_ON.setdefault(exercise_id, []).extend(builds_on)


def may_use(exercise_id: str, *dotted_names: str) -> None:
    """Declare the `utils` helpers that ``exercise_id``'s spec allows (its "From `utils` you may use" line)."""
    _MAY_USE.setdefault(exercise_id, []).extend(dotted_names)


def dotted_name(obj: Any) -> str | None:
    """``module.qualname`` of a function or class, ``None`` for a value."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    return f"{module}.{qualname}" if module and qualname else None


def forbidden_references(exercise_id: str) -> tuple[str, ...]:
    """Dotted names an answer to ``exercise_id`` must not call: its ``@reference``, what implements it (and the
    exercises it builds on), and the reference lookups."""
    _load_chapter_checks()
    names: list[str] = []
    seen_ids: set[str] = set()
    pending = [exercise_id]
    while pending:
        current = pending.pop(0)
        if current in seen_ids:
            continue
        seen_ids.add(current)
        own = dotted_name(_REFERENCES[current]) if current in _REFERENCES else None
        names += ([own] if own else []) + _IMPLEMENTED_BY.get(current, [])
        pending += _BUILDS_ON.get(current, [])
    return tuple(dict.fromkeys(names + list(REFERENCE_LOOKUPS)))


def allowed_helpers(exercise_id: str) -> tuple[str, ...]:
    """Dotted names of the `utils` helpers ``exercise_id``'s spec allows (empty: nothing beyond numpy/torch)."""
    _load_chapter_checks()
    return tuple(dict.fromkeys(_MAY_USE.get(exercise_id, [])))


def _load_chapter_checks() -> None:
    global _loaded
    if _loaded:
        return
    import utils.checks as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("ch"):
            importlib.import_module(f"{package.__name__}.{info.name}")
    _loaded = True


def registered_ids() -> list[str]:
    """All exercise ids that have a check, sorted."""
    _load_chapter_checks()
    return sorted(_REGISTRY)


def get_check(exercise_id: str) -> CheckFunction:
    _load_chapter_checks()
    try:
        return _REGISTRY[exercise_id]
    except KeyError:
        raise KeyError(f"no check is registered for exercise id {exercise_id!r}") from None


@contextlib.contextmanager
def _one_torch_thread():
    """Checks run on tiny tensors: on a loaded machine a second spinning thread per small convolution costs
    seconds instead of saving time. The caller's thread count is restored afterwards."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_check(exercise_id: str, answer: Any) -> CheckResult:
    """Run the check of ``exercise_id`` on ``answer`` and return its verdict; never raises for a wrong answer."""
    fn = get_check(exercise_id)
    ATTEMPT.returned = 0
    try:
        if answer is None or answer is Ellipsis:
            raise NotAttempted()
        with _one_torch_thread():
            summary = fn(answer)
    except NotAttempted:
        return _remember(CheckResult(exercise_id, NOT_ATTEMPTED, "not implemented yet"), answer)
    except CheckFailed as failure:
        return _remember(CheckResult(exercise_id, FAILED, str(failure)), answer)
    return _remember(CheckResult(exercise_id, PASSED, f"passed ({summary})" if summary else "passed"), answer)


def check(exercise_id: str, answer: Any, graded: bool = False) -> None:
    """The call in every check cell: print the verdict, or raise ``CheckFailed`` with what went wrong.

    ``graded=True`` is for the check cells of an nbgrader release, where a test cell scores unless it ends in
    an error or writes to stderr: "not implemented yet" is raised (``NotImplementedYet``) instead of printed,
    and what the check writes to stderr (warnings from the answer) goes to stdout.
    """
    __tracebackhide__ = True  # IPython and pytest hide this frame: the student sees only the message
    with contextlib.redirect_stderr(sys.stdout) if graded else contextlib.nullcontext():
        result = run_check(exercise_id, answer)
    if result.status == PASSED:
        print(f"\u2714 {exercise_id} {result.message}")
    elif result.status == NOT_ATTEMPTED:
        message = (
            f"\u2026 {exercise_id}: not implemented yet. Replace `raise NotImplementedError()` in the exercise "
            "cell above with your code, run that cell, then run this one again."
        )
        if graded:
            raise NotImplementedYet(message) from None
        print(message)
    else:
        raise CheckFailed(f"{exercise_id} {result.message}") from None
