"""Run code in a fresh Jupyter kernel with time limits, a memory cap and capped output.

``Kernel`` wraps one ipykernel process (started with ``jupyter_client`` over IPC, see ``utils.jupyter_kernel``)
and runs one cell at a time:

- every cell has a time limit; when it is exceeded the kernel is killed (an infinite loop in C code
  ignores interrupts) and ``run`` reports "timeout";
- a kernel that dies (``os._exit``, a segfault, the memory cap) is noticed within a second: "dead";
- the first cell the kernel ever runs caps its address space with ``resource.setrlimit(RLIMIT_AS)``
  (soft and hard limit, so student code cannot raise it again) where the platform has ``resource``;
- the text a cell prints is kept up to ``output_limit`` characters; the rest is counted and dropped, so a
  flood of output costs time but not memory. Lines that contain ``marker`` are always kept, separately.
"""

from __future__ import annotations

import os
import queue
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

from ..jupyter_kernel import IPCKernelManager

OUTPUT_LIMIT = 20_000


@dataclass
class CellRun:
    state: str  # "ok", "error" (the cell raised), "timeout", "dead"
    ename: str = ""
    evalue: str = ""
    output: str = ""
    dropped: int = 0  # characters of output not kept
    marked: list[str] = field(default_factory=list)  # lines with the marker
    seconds: float = 0.0

    @property
    def error(self) -> str:
        return f"{self.ename}: {self.evalue}" if self.evalue else self.ename


def memory_cap_source(memory_mb: int) -> str:
    """The hidden first cell: cap the kernel's address space (no-op where ``resource`` is missing)."""
    return (
        "try:\n"
        "    import resource as _r\n"
        f"    _limit = {int(memory_mb)} * 1024 * 1024\n"
        "    _soft, _hard = _r.getrlimit(_r.RLIMIT_AS)\n"
        "    if _hard != _r.RLIM_INFINITY: _limit = min(_limit, _hard)\n"
        "    _r.setrlimit(_r.RLIMIT_AS, (_limit, _limit))\n"
        "    del _r, _limit, _soft, _hard\n"
        "except (ImportError, ValueError, OSError):\n"
        "    pass\n"
    )


class Kernel:
    """One fresh kernel in a temporary working directory; use as a context manager."""

    def __init__(self, memory_mb: int = 0, output_limit: int = OUTPUT_LIMIT, marker: str = "",
                 startup_timeout: float = 60):
        self.memory_mb = memory_mb
        self.output_limit = output_limit
        self.marker = marker
        self.startup_timeout = startup_timeout
        self.km = self.kc = None
        self.workdir = None

    def start(self) -> None:
        self.workdir = tempfile.TemporaryDirectory(prefix="workbook-kernel-")
        env = dict(os.environ, PYTHONHASHSEED="0", MPLBACKEND="Agg", PYDEVD_DISABLE_FILE_VALIDATION="1")
        self.km = IPCKernelManager(kernel_name="python3")
        # The kernel's own stdout/stderr (not what cells print) are discarded: C-level floods stay out of the terminal.
        self.km.start_kernel(cwd=self.workdir.name, env=env, extra_arguments=["--HistoryManager.enabled=False"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=self.startup_timeout)
        if self.memory_mb:
            run = self.run(memory_cap_source(self.memory_mb), timeout=30)
            if run.state != "ok":
                raise RuntimeError(f"could not set the memory cap: {run.state} {run.error}")

    def stop(self) -> None:
        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:
                pass
        if self.km is not None:
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:
                pass
            try:
                self.km.cleanup_resources()
            except Exception:
                pass
        if self.workdir is not None:
            self.workdir.cleanup()
        self.km = self.kc = self.workdir = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def alive(self) -> bool:
        return self.km is not None and self.km.is_alive()

    def run(self, code: str, timeout: float) -> CellRun:
        """Run ``code`` as one cell; never raises for what the code does."""
        start = time.monotonic()
        result = CellRun("ok")
        kept: list[str] = []
        size = 0
        pending = ""

        def keep(text: str) -> None:
            nonlocal size, pending
            if self.marker and self.marker in pending + text:
                lines = (pending + text).split("\n")
                pending = lines.pop()  # an unfinished line may continue in the next message
                result.marked.extend(line for line in lines if self.marker in line)
            elif self.marker:
                pending = (pending + text)[-4096:]
            room = self.output_limit - size
            if room > 0:
                kept.append(text[:room])
            result.dropped += max(0, len(text) - max(room, 0))
            size += len(text)

        msg_id = self.kc.execute(code, store_history=False, allow_stdin=False, stop_on_error=False)
        deadline = start + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                result.state = "timeout"
                break
            try:
                msg = self.kc.get_iopub_msg(timeout=min(1.0, remaining))
            except queue.Empty:
                if not self.km.is_alive():
                    result.state = "dead"
                    break
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                keep(content.get("text", ""))
            elif kind == "error":
                result.state = "error"
                result.ename = content.get("ename", "")
                result.evalue = str(content.get("evalue", ""))[:2000]
            elif kind in ("execute_result", "display_data"):
                text = content.get("data", {}).get("text/plain")
                if text:
                    keep(text + "\n")
            elif kind == "status" and content.get("execution_state") == "idle":
                break
        if pending and self.marker in pending:
            result.marked.append(pending)
        result.output = "".join(kept)
        result.seconds = time.monotonic() - start
        if result.state == "ok":
            self._drain_reply(msg_id)
        return result

    def _drain_reply(self, msg_id: str) -> None:
        """Read the shell reply of ``msg_id`` so replies do not pile up (best effort)."""
        try:
            while True:
                reply = self.kc.get_shell_msg(timeout=5)
                if reply.get("parent_header", {}).get("msg_id") == msg_id:
                    return
        except queue.Empty:
            return
