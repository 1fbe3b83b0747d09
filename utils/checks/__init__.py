"""Exercise checks. Notebooks use ``check(exercise_id, answer)``; graders use ``run_check``.

The API lives in ``core``, comparison helpers for writing checks in ``compare``, and each chapter's
checks in ``chNN_topic.py`` (found automatically).
"""

from .core import (FAILED, NOT_ATTEMPTED, PASSED, CheckFailed, CheckResult, NotAttempted, check, get_check,
                   register, registered_ids, run_check)

__all__ = ["check", "run_check", "register", "registered_ids", "get_check", "CheckFailed", "CheckResult",
           "NotAttempted", "PASSED", "FAILED", "NOT_ATTEMPTED"]
