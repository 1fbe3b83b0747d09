"""setup_notebook: reproducible seeds, determinism, threads, print options, device choice."""

import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

from utils.notebook import choose_device, setup_notebook


@pytest.fixture(autouse=True)
def restore_torch_state():
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic)
    np.set_printoptions(precision=8, suppress=False, linewidth=75)


def draw():
    return random.random(), np.random.rand(), torch.rand(1).item()


def test_same_seed_same_numbers():
    setup_notebook(seed=3)
    first = draw()
    setup_notebook(seed=3)
    assert draw() == first
    setup_notebook(seed=4)
    assert draw() != first


def test_determinism_threads_and_print_options():
    device = setup_notebook(threads=1)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.get_num_threads() == 1
    assert np.get_printoptions()["precision"] == 4
    assert str(np.array([1 / 3, 1e-9])) == "[0.3333 0.    ]"
    assert isinstance(device, torch.device)


def test_device_override(monkeypatch):
    monkeypatch.setenv("WORKBOOK_DEVICE", "cpu")
    assert choose_device() == torch.device("cpu")
    assert choose_device("meta") == torch.device("meta")


def test_device_falls_back_to_cpu_without_accelerators(monkeypatch):
    monkeypatch.delenv("WORKBOOK_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert choose_device() == torch.device("cpu")


def test_determinism_without_loading_inductor():
    """setup_notebook skips torch._inductor (about 1 s at start-up); torch.compile still gets determinism."""
    code = ("import sys, torch\n"
            "from utils.notebook import setup_notebook\n"
            "setup_notebook()\n"
            "print(torch.are_deterministic_algorithms_enabled(), 'torch._inductor' in sys.modules)\n"
            "import torch._inductor.config as inductor\n"
            "print(inductor.deterministic)\n")
    env = {k: v for k, v in os.environ.items() if k != "TORCHINDUCTOR_DETERMINISTIC"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["True", "False", "True"]
