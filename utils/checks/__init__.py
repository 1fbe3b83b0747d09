"""Exercise checks. Notebooks use ``check(exercise_id, answer)``; graders use ``run_check``.

The API lives in ``core``, comparison helpers for writing checks in ``compare``, and each chapter's
checks in ``chNN_topic.py`` (found automatically). Demonstrations that need an exercise's function use
``yours_or_reference`` (``fallback``): the student's answer once it passes, the workbook's until then.
"""

from .core import (FAILED, NOT_ATTEMPTED, PASSED, CheckFailed, CheckResult, NotAttempted, check, get_check,
                   get_reference, reference, register, registered_ids, run_check)
from .fallback import yours_or_reference

__all__ = ["check", "run_check", "register", "registered_ids", "get_check", "CheckFailed", "CheckResult",
           "NotAttempted", "PASSED", "FAILED", "NOT_ATTEMPTED", "reference", "get_reference", "yours_or_reference"]
