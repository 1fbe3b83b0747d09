"""Planted wrong answers that every chapter's mutation tests use."""


def partly_written(solution, unfinished):
    """The solution, except that it raises NotImplementedError where ``unfinished(*args, **kwargs)`` holds:
    an answer written for some cases only, which a check must fail (naming the case), not call unattempted."""

    def answer(*args, **kwargs):
        if unfinished(*args, **kwargs):
            raise NotImplementedError("not written for this case yet")
        return solution(*args, **kwargs)

    return answer


def assert_rejected(exercise_id, mutant, hint, names_case=True):
    """The check of ``exercise_id`` fails ``mutant`` with ``hint`` and, unless ``names_case=False`` (answers
    that are values have no cases), names the failing case; returns the message."""
    from utils.checks import FAILED, run_check

    result = run_check(exercise_id, mutant)
    assert result.status == FAILED, "the check accepted a planted bug"
    assert hint in result.message, result.message
    assert not names_case or "failed on case" in result.message, result.message
    return result.message
