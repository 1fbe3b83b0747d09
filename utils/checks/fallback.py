"""Demonstrations that run before the student's answer does: ``yours_or_reference``.

A worked example often calls an exercise's function. In an untouched chapter that function still raises
``NotImplementedError``, and "Run All" would stop there. Instead the demonstration asks::

    conv = yours_or_reference("conv.corr2d", corr2d)

which prints one line saying which implementation the cell uses and returns it: the student's answer when
it passes its check, otherwise the workbook's reference (registered with ``@reference`` in the chapter's check
module). The verdict of the check cell is reused when it judged this very answer, so nothing runs twice.
"""

from __future__ import annotations

from typing import Any

from .core import NOT_ATTEMPTED, PASSED, get_reference, last_verdict, run_check


def _status(exercise_id: str, answer: Any) -> str:
    known = last_verdict(exercise_id, answer)
    if known is not None:
        return known
    try:
        return run_check(exercise_id, answer).status
    except Exception:  # a broken answer must not stop the demonstration
        return "error"


def yours_or_reference(exercise_id: str, answer: Any, name: str | None = None) -> Any:
    """Return ``answer`` if it passes the check of ``exercise_id``, else the workbook's reference; print which."""
    name = name or getattr(answer, "__name__", None) or exercise_id
    status = _status(exercise_id, answer)
    if status == PASSED:
        print(f"(using your {name}: it passes its check)")
        return answer
    why = "is not written yet" if status == NOT_ATTEMPTED else "does not pass its check yet"
    print(f"(your {name} {why}: this cell uses the workbook's reference instead)")
    return get_reference(exercise_id)
