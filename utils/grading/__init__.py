"""Instructor grading: grade folders of returned student notebooks against the canonical solution notebooks.

    workbook release OUT [--zip]                      write the student bundle (no solutions)
    workbook grade PATHS... --out DIR [--jobs N]      grade submissions, write CSV/JSON reports and feedback
    workbook grade --verify DIR                       is a report folder as the grader wrote it?

Modules, one concern each:

- ``chapters``  the canonical chapters (setup cells, exercises, check cells) read from ``solutions/``, and
  how a submission's chapter is identified (metadata, then file name, then exercise ids or prompts);
- ``discover``  which files are submissions (read and hashed once, archives opened), and whose (names
  normalised, copies folded, unknown owners never merged);
- ``intake``    turning a file's bytes into a notebook (or naming what else it is) and telling its chapter;
- ``assemble``  the grading plan of one submission: canonical setup, student exercise cells by id (by content
  where metadata was stripped), canonical checks;
- ``runner``    inside the sandbox: the zygote and the per-submission runner that execute the student's cells
  and call the student's functions when the judge asks (it decides nothing);
- ``wire``      the format between the two sides: JSON + raw array bytes, never pickle;
- ``judge``     outside: the stand-ins for the student's answers, the channel to the runner, deadlines;
- ``sandbox``   how the runner is started (bubblewrap on Linux, or nothing, said in every report);
- ``grade``     one submission end to end (cells in the runner, checks in the judge), and a batch with worker
  processes and progress lines;
- ``report``    the CSVs, JSON, written answers to review and feedback files, written atomically with a
  manifest (``workbook grade --verify``);
- ``release``   the student bundle.

See ``docs/INSTRUCTORS.md`` for the rules, the statuses and the trust boundary.
"""

PASSED = "passed"
FAILED = "failed"
ERROR = "error"
TIMEOUT = "timeout"
NOT_ATTEMPTED = "not attempted"
MISSING = "missing"
UNREADABLE = "unreadable"
ANSWERED = "answered"  # a written (markdown) answer: 0 automatic points, read by a person

STATUSES = (PASSED, FAILED, ERROR, TIMEOUT, NOT_ATTEMPTED, MISSING, UNREADABLE, ANSWERED)
