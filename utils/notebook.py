"""One call at the top of every notebook: ``device = setup_notebook()``.

It makes a notebook reproducible (same seed, deterministic kernels, fixed thread count), makes printed
arrays short and stable (fixed precision, no scientific notation), gives figures one house style, and
picks the best device available (CUDA, then Apple MPS, then CPU).
"""

from __future__ import annotations

import os
import random
import sys
import warnings

import numpy as np

DEFAULT_SEED = 0
DEFAULT_THREADS = 2  # the size of the machine the budgets are measured on; results do not depend on it


def seed_everything(seed: int = DEFAULT_SEED) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and CUDA)."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def choose_device(prefer: str | None = None):
    """Return a ``torch.device``: ``prefer`` if given, else CUDA, else MPS, else CPU.

    The environment variable ``WORKBOOK_DEVICE`` (e.g. ``cpu``) overrides the automatic choice,
    which is handy to compare a GPU run with the stored CPU outputs.
    """
    import torch

    name = prefer or os.environ.get("WORKBOOK_DEVICE")
    if name:
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def use_deterministic_algorithms(torch) -> None:
    """``torch.use_deterministic_algorithms(True)``, without its import of ``torch._inductor`` (about 1 s).

    That import only exists to set inductor's ``deterministic`` flag, which matters for ``torch.compile``
    alone: the flag is set here if inductor is loaded already, else through the environment variable
    inductor reads when it is first loaded.
    """
    os.environ.setdefault("TORCHINDUCTOR_DETERMINISTIC", "1")
    inductor_config = sys.modules.get("torch._inductor.config")
    if inductor_config is not None:
        inductor_config.deterministic = True
    set_flag = getattr(torch._C, "_set_deterministic_algorithms", None)
    if set_flag is None:  # a torch without the private setter: pay for the import
        torch.use_deterministic_algorithms(True)
    else:
        set_flag(True, warn_only=False)


def setup_notebook(seed: int = DEFAULT_SEED, threads: int | None = DEFAULT_THREADS, device: str | None = None):
    """Prepare a notebook kernel and return the ``torch.device`` to compute on.

    - seeds ``random``, NumPy and torch with ``seed``;
    - asks torch for deterministic algorithms (an op without one raises instead of varying silently);
    - fixes the number of CPU threads (``threads=None`` keeps torch's default);
    - prints NumPy arrays and tensors with 4 decimals, without scientific notation;
    - sets matplotlib defaults (size, grid, grey images) and inline figures;
    - silences the few third-party warnings that would otherwise leak into stored outputs.
    """
    # cuBLAS needs this before its first use to be deterministic; harmless on CPU.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    import torch

    seed_everything(seed)
    use_deterministic_algorithms(torch)
    if torch.backends.cudnn.is_available():
        torch.backends.cudnn.benchmark = False
    if threads is not None:
        torch.set_num_threads(threads)

    np.set_printoptions(precision=4, suppress=True, linewidth=100)
    torch.set_printoptions(precision=4, sci_mode=False, linewidth=100)
    _set_plot_defaults()
    # Notebooks show their own explanations; these notices would only make stored outputs machine-specific.
    warnings.filterwarnings("ignore", message=".*deterministic.*")
    warnings.filterwarnings("ignore", category=UserWarning, module="matplotlib")
    return choose_device(device)


def _set_plot_defaults() -> None:
    import matplotlib

    try:  # inside IPython: inline figures at a fixed resolution
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            shell.run_line_magic("matplotlib", "inline")
    except ImportError:  # plain Python: keep whatever backend is configured
        pass
    matplotlib.rcParams.update(
        {
            # 100 dpi and 10-11 pt text read well at JupyterLab's default width (7 inches = 700 px)
            "figure.figsize": (7.0, 3.8),
            "figure.dpi": 100,
            "image.cmap": "gray",
            "axes.grid": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 11,
            "axes.titlesize": 11,
            "axes.labelsize": 11,
            "xtick.labelsize": 10,
            "ytick.labelsize": 10,
            "legend.fontsize": 10,
        }
    )
