"""Authoring: ``solutions/`` is the source of truth; student ``chapters/`` are generated from it.

- ``cells``   -- what the ``workbook`` cell metadata means (exercise, check, setup cells) and its validation.
- ``regions`` -- the ``### BEGIN SOLUTION`` / ``### END SOLUTION`` regions and their student replacement.
- ``build``   -- ``workbook build [--check]``: regenerate (or verify) every chapter from its solution.
- ``execute`` -- ``workbook execute NOTEBOOK``: re-run a solution notebook in place in a fresh kernel.
- ``compose`` -- write a notebook from a short Python description (for authors who prefer an editor).
"""
