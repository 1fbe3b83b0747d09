"""Kernels start over IPC, the project's way, so ipykernel has no reason to warn about plain-text TCP;
stream outputs are joined however the kernel chunked them."""

import os
import subprocess

import nbformat
import pytest
from jupyter_client import KernelManager

from utils.jupyter_kernel import IPCKernelManager, coalesce_streams
from tests.notebook_outputs import execute

WARNING = "Kernel is running over TCP without encryption"
TRANSPORT = "get_ipython().kernel.parent.transport"  # what the kernel itself was told to use
needs_ipc = pytest.mark.skipif(os.name == "nt", reason="kernels use TCP on Windows (no IPC transport)")


def kernel_stderr(manager_class, tmp_path) -> str:
    """Start a kernel with ``manager_class``, run one cell, shut it down; return the kernel's own stderr."""
    log = tmp_path / "stderr.txt"
    with open(log, "w") as stderr:
        km = manager_class(kernel_name="python3")
        km.start_kernel(stderr=stderr, stdout=subprocess.DEVNULL)
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=120)
            kc.execute_interactive("print(1)", timeout=120)
        finally:
            kc.stop_channels()
            km.shutdown_kernel()
    return log.read_text()


@needs_ipc
def test_the_project_kernel_starts_without_the_tcp_warning(tmp_path):
    assert WARNING not in kernel_stderr(IPCKernelManager, tmp_path)


def test_a_plain_tcp_kernel_shows_the_warning(tmp_path):
    """The control: the test above would see the warning if the cause were still there."""
    assert WARNING in kernel_stderr(KernelManager, tmp_path)


@needs_ipc
def test_notebook_kernels_use_ipc(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(TRANSPORT)]
    assert execute(nb, tmp_path).cells[0].outputs[0]["data"]["text/plain"] == "'ipc'"


def test_nbval_starts_its_kernels_the_project_way():
    nbval_kernel = pytest.importorskip("nbval.kernel")
    assert nbval_kernel.KernelManager is IPCKernelManager  # set by the repository's conftest.py


def test_coalesce_streams_joins_consecutive_outputs_of_one_stream():
    out = nbformat.v4.new_output
    outputs = [out("stream", name="stdout", text="ab"), out("stream", name="stdout", text="c\n"),
               out("stream", name="stderr", text="w\n"), out("display_data", data={"text/plain": "fig"}),
               out("stream", name="stdout", text="d\n")]
    joined = coalesce_streams(outputs)
    assert [(o["output_type"], o.get("text")) for o in joined] == [
        ("stream", "abc\n"), ("stream", "w\n"), ("display_data", None), ("stream", "d\n")]
    assert outputs[0]["text"] == "ab"  # the input is left as it was
