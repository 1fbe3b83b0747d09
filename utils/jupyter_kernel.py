"""How the workbook starts Jupyter kernels (tests, benchmarks, ``workbook execute``, grading, nbval).

Kernels talk to their client over IPC: ZeroMQ sockets that are files in a private temporary folder
(mode 0700) rather than TCP ports on localhost that any local user could connect to. That is why
ipykernel does not print "Kernel is running over TCP without encryption" for them. On Windows, and where
ZeroMQ has no IPC transport, they use TCP, Jupyter's default.

    from utils.jupyter_kernel import IPCKernelManager, notebook_client

    km = IPCKernelManager(kernel_name="python3")        # a jupyter_client KernelManager
    notebook_client(nb, cwd="chapters").execute()       # an nbclient NotebookClient using such kernels

A kernel writes what a cell prints in chunks whose boundaries depend on timing: one ``print`` may arrive
as two stream outputs on a busy machine. ``coalesce_streams`` joins consecutive stream outputs of the
same name, as nbval does before comparing, so that nothing depends on how the output was cut.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import zmq
from jupyter_client import AsyncKernelManager, KernelManager
from jupyter_client.utils import run_sync
from traitlets import default

KERNEL_NAME = "python3"


class _IPCTransport:
    """Mixin for a kernel manager: IPC transport, its socket files in a private folder removed at shutdown."""

    _ipc_folder: str | None = None

    @default("transport")
    def _transport_default(self) -> str:
        return "ipc" if os.name != "nt" and zmq.has("ipc") else "tcp"

    @default("ip")
    def _ip_default(self) -> str:
        if self.transport != "ipc":
            return super()._ip_default()
        # short path: a Unix socket path must stay under about 100 characters
        self._ipc_folder = tempfile.mkdtemp(prefix="wb-kernel-")
        return os.path.join(self._ipc_folder, "k")

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self._ipc_folder is not None:
            shutil.rmtree(self._ipc_folder, ignore_errors=True)


class IPCKernelManager(_IPCTransport, KernelManager):
    """``jupyter_client.KernelManager`` whose kernels use IPC (see the module docstring)."""

    cleanup_resources = run_sync(_IPCTransport._async_cleanup_resources)


class AsyncIPCKernelManager(_IPCTransport, AsyncKernelManager):
    """``jupyter_client.AsyncKernelManager`` (what nbclient uses) whose kernels use IPC."""

    cleanup_resources = _IPCTransport._async_cleanup_resources


def notebook_client(nb, cwd: str | Path, timeout: int = 600, **options):
    """An ``nbclient.NotebookClient`` for ``nb`` whose kernel starts over IPC with ``cwd`` as working directory.

    ``options`` go to ``NotebookClient`` (e.g. ``allow_errors=True``, ``record_timing=False``).
    """
    from nbclient import NotebookClient

    options.setdefault("kernel_name", KERNEL_NAME)
    return NotebookClient(nb, timeout=timeout, kernel_manager_class=AsyncIPCKernelManager,
                          resources={"metadata": {"path": str(cwd)}}, **options)


def coalesce_streams(outputs: list) -> list:
    """``outputs`` with consecutive stream outputs of the same name (stdout, stderr) joined into one.

    Returns new output dicts for the joined ones; the others are returned as they are.
    """
    joined: list = []
    for output in outputs:
        previous = joined[-1] if joined else None
        if (output.get("output_type") == "stream" and previous is not None
                and previous.get("output_type") == "stream" and previous.get("name") == output.get("name")):
            merged = type(previous)(previous)
            merged["text"] = _text(previous) + _text(output)
            joined[-1] = merged
        else:
            joined.append(output)
    return joined


def _text(output) -> str:
    text = output.get("text", "")
    return "".join(text) if isinstance(text, list) else text
