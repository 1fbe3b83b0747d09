"""The Python package behind the CNN workbook notebooks.

Small modules, one concern each:

- ``utils.notebook``   -- ``setup_notebook()``: seeds, determinism, threads, print and plot defaults, device.
- ``utils.checks``     -- ``check(exercise_id, answer)``: the verdict under every exercise.
- ``utils.gradcheck``  -- numerical gradients and ``rel_error`` for checking backward passes.
- ``utils.plotting``   -- image grids, kernels and feature maps.
- ``utils.data``       -- Fashion-MNIST (embedded subset and full set) and small synthetic images.
- ``utils.authoring``  -- build student chapters from solutions, re-execute solution notebooks.

Notebooks import what they need explicitly, e.g. ``from utils.checks import check``.
"""

__version__ = "0.1.0"
