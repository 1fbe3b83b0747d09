"""Instructor grading: grade folders of returned student notebooks against the canonical solution notebooks.

    workbook release OUT [--zip]                      write the student bundle (no solutions)
    workbook grade PATHS... --out DIR [--jobs N]      grade submissions, write CSV/JSON reports and feedback

Modules, one concern each:

- ``chapters``  the canonical chapters (setup cells, exercises, check cells) read from ``solutions/``, and
  how a submission's chapter is identified (metadata, then file name, then exercise ids);
- ``discover``  which files are submissions, and whose (the student naming rule);
- ``intake``    reading a submitted file once and telling its chapter (metadata, file name, content);
- ``assemble``  the grading plan of one submission: canonical setup, student exercise cells by id, canonical checks;
- ``runner``    inside the sandbox: the zygote and the per-submission runner that execute the student's cells
  and call the student's functions when the judge asks (it decides nothing);
- ``wire``      the format between the two sides: JSON + raw array bytes, never pickle;
- ``judge``     outside: the stand-ins for the student's answers, the channel to the runner, deadlines;
- ``sandbox``   how the runner is started (bubblewrap on Linux, or nothing, said in every report);
- ``grade``     one submission end to end (cells in the runner, checks in the judge), and a batch with worker
  processes and progress lines;
- ``report``    the CSV, summary CSV, JSON and per-student feedback files;
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
