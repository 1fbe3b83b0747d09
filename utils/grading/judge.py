"""The trusted judge: where verdicts are computed, in the grader's own process, never next to student code.

The student's code runs in a runner process (``runner.py``, inside the sandbox). For each exercise the judge
asks the runner for the answer the check cell names; a function comes back as a *stand-in*
(``RemoteCallable``) and the exercise's registered check runs here, unchanged, on that stand-in. Every call
the check makes goes to the runner with its arguments as plain data (``wire``), and the result comes back as
plain data: so the comparison, the references, numpy, torch and ``utils`` the check uses are the judge's
own, and nothing a student's cell patches on the other side can change a verdict.

- Arguments the check passes that are not data (an activation function, an ``nn.Linear``) stay here: the
  student's code gets a handle, and calling it, or reading a public data attribute of it, is answered by the
  judge (``_serve``). The student cannot change the judge's objects through it.
- An argument the student's function changes in place comes back changed (``_write_back``), so the check's
  "your code changed its argument in place" test sees what happened over there.
- A module the student builds stays in the runner; checks inspect it through ``utils.checks.modules``, whose
  probes then run over there and return data.
- Every wait has a deadline: past it the runner is killed (``RunnerLost``) and the grader restarts it.
"""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import wire

START_TIMEOUT = 180.0  # the zygote imports torch once per worker; a loaded machine may take a while
CALLBACK_ATTRIBUTES = ("forward",)  # methods of the judge's objects the student's code may call


class RunnerLost(BaseException):
    """The runner timed out or died. A BaseException: a check's ``except Exception`` must not swallow it."""

    def __init__(self, state: str, detail: str = ""):
        super().__init__(state, detail)
        self.state, self.detail = state, detail


# ---------------------------------------------------------------- the zygote, once per grading worker


class Host:
    """The runner zygote of one grading worker, in its sandbox; forks one runner per submission."""

    def __init__(self, sandbox=None, project_root: Path | None = None):
        self.sandbox = sandbox
        self.project_root = project_root or Path(__file__).resolve().parents[2]
        self.process: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.namespaces = False
        self.start_seconds = 0.0  # how long the zygote took to start (imports), the last time

    @property
    def sandbox_name(self) -> str:
        return getattr(self.sandbox, "name", "none")

    def start(self) -> None:
        self.stop()
        parent, child = socket.socketpair()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp", "MPLBACKEND": "Agg",
               "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "MPLCONFIGDIR": "/tmp/matplotlib",
               "PYDEVD_DISABLE_FILE_VALIDATION": "1", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
               "LANG": "C.UTF-8", "PYTHONPATH": str(self.project_root), "USER": "student", "LOGNAME": "student",
               "WORKBOOK_SANDBOX": self.sandbox_name}
        argv = [sys.executable, "-m", "utils.grading.runner"]
        if self.sandbox is not None and self.sandbox_name != "none":
            argv = self.sandbox.wrap(argv, env=env)
            popen_env = None
        else:
            popen_env = dict(env, TMPDIR=os.environ.get("TMPDIR", "/tmp"))
        self.process = subprocess.Popen(argv, stdin=child.fileno(), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, env=popen_env, start_new_session=True,
                                        cwd="/" if popen_env is None else None)
        child.close()
        self.control = parent
        started = time.monotonic()
        reply = self._receive(started + START_TIMEOUT)
        if reply.get("op") != "ready":
            raise RuntimeError(f"the runner did not start: {reply}")
        self.start_seconds = time.monotonic() - started

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _send(self, message: dict, fds=()) -> None:
        frame = wire.control_frame(message)
        if fds:
            socket.send_fds(self.control, [frame], list(fds))
        else:
            self.control.sendall(frame)

    def _receive(self, deadline: float) -> dict:
        try:
            size = wire.control_size(_recv_exactly(self.control, 4, deadline, self.alive))
        except wire.WireError:
            raise RunnerLost("dead", "the runner's control channel is broken") from None
        return wire.json_loads(_recv_exactly(self.control, size, deadline, self.alive))

    def fork(self, memory_mb: int, deadline: float) -> "Channel":
        if not self.alive():
            self.start()
        mine, theirs = socket.socketpair()
        try:
            self._send({"op": "fork", "memory_mb": int(memory_mb)}, [theirs.fileno()])
        finally:
            theirs.close()
        reply = self._receive(deadline)
        if reply.get("op") != "forked":
            raise RunnerLost("dead", f"the runner could not be started: {reply}")
        self.namespaces = bool(reply.get("namespaces"))
        return Channel(self, mine, reply["id"])

    def end(self, channel: "Channel") -> None:
        """Kill the submission's runner and everything it started; restart the zygote if it does not answer."""
        channel.close()
        try:
            self._send({"op": "end", "id": channel.child_id})
            self._receive(time.monotonic() + 30)
        except (RunnerLost, OSError, wire.WireError):
            self.stop()

    def stop(self) -> None:
        if self.control is not None:
            try:
                self._send({"op": "quit"})
            except OSError:
                pass
            self.control.close()
            self.control = None
        if self.process is not None:
            try:
                os.killpg(self.process.pid, 9)
            except OSError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self.process = None


def _recv_exactly(sock: socket.socket, n: int, deadline: float, alive=lambda: True) -> bytes:
    chunks, left = [], n
    while left:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RunnerLost("timeout")
        sock.settimeout(min(1.0, remaining))
        try:
            chunk = sock.recv(min(left, 1 << 20))
        except socket.timeout:
            if not alive():
                raise RunnerLost("dead") from None
            continue
        except OSError as error:
            raise RunnerLost("dead", str(error)) from None
        if not chunk:
            raise RunnerLost("dead")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# ---------------------------------------------------------------- one submission's runner


class Channel:
    """Requests to one runner. ``deadline`` (monotonic seconds) bounds every wait."""

    def __init__(self, host: Host | None, sock: socket.socket, child_id: int = 0):
        self.host, self.sock, self.child_id = host, sock, child_id
        self.handles = wire.Handles("judge")
        self.deadline = float("inf")
        self.exercise: str | None = None  # whose check is running: the runner watches for its references
        self.hits: set[str] = set()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    # -- frames

    def _handle_node(self, obj: Any) -> dict:
        if isinstance(obj, Remote):
            return {"$": "handle", "side": "runner", "id": obj._w_id}
        return {"$": "handle", "side": "judge", "id": self.handles.add(obj), "type": wire.type_paths(obj)[0],
                "callable": callable(obj)}

    def _decode_handle(self, node: dict) -> Any:
        if node.get("side") == "judge":
            return self.handles.get(node.get("id"))
        if type(node.get("id")) is not int:
            raise wire.WireError("bad handle")
        return _stand_in_class(str(node.get("type", "object")), node.get("callable") is True)(self, node)

    def send(self, header: dict, values: dict | None = None) -> None:
        encoder = wire.Encoder(self._handle_node)
        for key, value in (values or {}).items():
            header[key] = encoder.encode(value)
        data = wire.json_bytes(dict(header, blobs=[len(b) for b in encoder.blobs]))
        try:
            self.sock.settimeout(max(1.0, self.deadline - time.monotonic()) if self.deadline < float("inf") else None)
            self.sock.sendall(len(data).to_bytes(4, "big") + data + b"".join(encoder.blobs))
        except socket.timeout:
            raise RunnerLost("timeout") from None
        except OSError as error:
            raise RunnerLost("dead", str(error)) from None

    def receive(self) -> tuple[dict, list[bytes]]:
        alive = self.host.alive if self.host is not None else (lambda: True)
        size = wire.header_size(_recv_exactly(self.sock, 4, self.deadline, alive))
        header, sizes = wire.parse_header(_recv_exactly(self.sock, size, self.deadline, alive))
        return header, [_recv_exactly(self.sock, n, self.deadline, alive) for n in sizes]

    def decode(self, node: Any, blobs: list[bytes]) -> Any:
        return wire.Decoder(blobs, self._decode_handle).decode(node)

    def request(self, header: dict, values: dict | None = None) -> tuple[dict, list[bytes]]:
        """Send a request; serve the runner's callbacks until its answer comes; return the answer."""
        self.send(header, values)
        while True:
            try:
                reply, blobs = self.receive()
            except wire.WireError as error:
                raise RunnerLost("dead", f"the student's process sent a broken message ({error})") from None
            if reply.get("op") in ("callback", "callback_getattr"):
                self._serve(reply, blobs)
                continue
            return reply, blobs

    def _serve(self, header: dict, blobs: list[bytes]) -> None:
        """Answer the student's code calling (or reading an attribute of) one of the judge's objects."""
        try:
            target = self.handles.get(header.get("target"))
            args = self.decode(header.get("args"), blobs)
            kwargs = self.decode(header.get("kwargs"), blobs)
            if header["op"] == "callback":
                if not callable(target) or not isinstance(args, tuple) or not isinstance(kwargs, dict):
                    raise TypeError("this object of the grader cannot be called")
                value = target(*args, **{str(k): v for k, v in kwargs.items()})
            else:
                name = str(header.get("name"))
                if name.startswith("_"):
                    raise AttributeError(f"{name!r} is not available while grading")
                value = getattr(target, name)
                if callable(value) and not _is_data(value):
                    if name not in CALLBACK_ATTRIBUTES:
                        raise AttributeError(f"{name!r} of the grader's {type(target).__name__} is not available "
                                             "while grading: use its data attributes, or call it")
            encoder_values = {"value": value}
            try:
                self.send({"op": "reply"}, encoder_values)
            except wire.WireError as error:
                raise TypeError(f"the grader's result cannot be sent: {error}") from None
        except RunnerLost:
            raise
        except Exception as error:
            self.send({"op": "raised"}, {"error": error})

    # -- what checks and the grader ask

    def execute(self, code: str, watch: str | None = None) -> dict:
        """Run a cell; ``watch``: the exercise whose references the runner's tripwire watches meanwhile."""
        reply, _ = self.request({"op": "exec", "code": code, "watch": watch})
        if reply.get("op") != "done":
            raise RunnerLost("dead", f"unexpected reply {reply.get('op')!r} to a cell")
        return reply

    def get(self, expr: str) -> Any:
        """The value of ``expr`` in the student's namespace (raises what evaluating it raised there)."""
        reply, blobs = self.request({"op": "get", "expr": expr})
        return self._value(reply, blobs)

    def _value(self, reply: dict, blobs: list[bytes]) -> Any:
        try:
            if reply.get("op") == "raised":
                error = self.decode(reply.get("error"), blobs)
                raise error if isinstance(error, Exception) else RuntimeError(str(error))
            if reply.get("op") != "reply":
                raise RunnerLost("dead", f"unexpected reply {reply.get('op')!r}")
            return self.decode(reply.get("value"), blobs)
        except wire.WireError as error:
            raise TypeError(f"the answer could not be read: {error}") from None

    def call(self, target: "Remote", args: tuple, kwargs: dict) -> Any:
        reply, blobs = self.request({"op": "call", "target": target._w_id, "watch": self.exercise},
                                    {"args": args, "kwargs": kwargs})
        hits = reply.get("hits")
        if isinstance(hits, list):
            self.hits.update(str(h) for h in hits[:20])
        value = self._value(reply, blobs)
        try:
            after = self.decode(reply.get("args_after"), blobs)
            kwargs_after = self.decode(reply.get("kwargs_after"), blobs)
        except wire.WireError:
            after, kwargs_after = None, None
        if isinstance(after, tuple) and len(after) == len(args):
            for before, now in zip(args, after):
                _write_back(before, now)
        if isinstance(kwargs_after, dict):
            for name, now in kwargs_after.items():
                if name in kwargs:
                    _write_back(kwargs[name], now)
        return value

    def getattr(self, target: "Remote", name: str) -> Any:
        reply, blobs = self.request({"op": "getattr", "target": target._w_id, "name": name})
        return self._value(reply, blobs)

    def probe(self, target: "Remote", name: str, args: tuple, kwargs: dict) -> Any:
        reply, blobs = self.request({"op": "probe", "target": target._w_id, "name": name},
                                    {"args": tuple(args), "kwargs": dict(kwargs)})
        return self._value(reply, blobs)

    def install_tripwire(self, exercises: list[str]) -> bool:
        reply, blobs = self.request({"op": "tripwire", "exercises": list(exercises)})
        try:
            return bool(self._value(reply, blobs))
        except Exception:
            return False


def _is_data(value: Any) -> bool:
    import torch

    return isinstance(value, (np.ndarray, np.generic, torch.Tensor, int, float, bool, str, tuple, list, dict))


def _write_back(before: Any, now: Any) -> None:
    """Make the judge's copy of an argument look as the student's function left it (in place)."""
    import torch

    try:
        if isinstance(before, torch.Tensor) and isinstance(now, torch.Tensor):
            if before.shape == now.shape and not torch.equal(before, now.to(before.dtype)):
                with torch.no_grad():
                    before.copy_(now)
        elif isinstance(before, np.ndarray) and isinstance(now, np.ndarray):
            if before.shape == now.shape and before.flags.writeable and not np.array_equal(before, now, equal_nan=True):
                before[...] = now
        elif isinstance(before, dict) and isinstance(now, dict):
            for key in list(before):
                if key not in now:
                    del before[key]
            for key, value in now.items():
                if key in before and _same_kind(before[key], value):
                    _write_back(before[key], value)
                else:
                    before[key] = value
        elif isinstance(before, list) and isinstance(now, list):
            if len(before) == len(now):
                for index, value in enumerate(now):
                    if _same_kind(before[index], value):
                        _write_back(before[index], value)
                    else:
                        before[index] = value
            else:
                before[:] = now
        elif isinstance(before, np.random.Generator) and isinstance(now, np.random.Generator):
            before.bit_generator.state = now.bit_generator.state
        elif isinstance(before, torch.Generator) and isinstance(now, torch.Generator):
            before.set_state(now.get_state())
    except (ValueError, TypeError, RuntimeError):
        pass  # a result that cannot be written back is judged as it came


def _same_kind(a: Any, b: Any) -> bool:
    import torch

    kinds = (np.ndarray, torch.Tensor, dict, list, np.random.Generator, torch.Generator)
    return any(isinstance(a, k) and isinstance(b, k) for k in kinds)


class Remote:
    """Stand-in for an object that lives in the student's process (a module, a value that is not data)."""

    def __init__(self, channel: Channel, node: dict):
        self._w_channel, self._w_id = channel, node["id"]
        self._w_type = str(node.get("type", "object"))[:200]
        mro = node.get("mro")
        self._w_mro = tuple(str(m)[:200] for m in mro[:16]) if isinstance(mro, list) else (self._w_type,)
        self._w_repr = str(node.get("repr") or "")[:300]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._w_channel.getattr(self, name)

    def __repr__(self) -> str:  # as the student's notebook would show it (text only, made over there)
        return self._w_repr or f"<{self._w_type.rsplit('.', 1)[-1]} (in the student's process)>"

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def _workbook_probe(self, name: str, args: tuple, kwargs: dict) -> Any:  # used by utils.checks.modules
        return self._w_channel.probe(self, name, args, kwargs)


class RemoteCallable(Remote):
    """Stand-in for the student's function (or class): calling it runs it in the student's process."""

    def __call__(self, *args, **kwargs):
        return self._w_channel.call(self, args, kwargs)


_STAND_IN_CLASSES: dict[tuple[str, bool], type] = {}


def _stand_in_class(type_path: str, is_callable: bool) -> type:
    """A stand-in class named as the student's object's class, so that messages such as "expected a numpy
    array, got Sequential" read as they do in the student's notebook."""
    name = type_path.rsplit(".", 1)[-1]
    name = name if name.isidentifier() else "object"
    key = (name, is_callable)
    if key not in _STAND_IN_CLASSES:
        base = RemoteCallable if is_callable else Remote
        _STAND_IN_CLASSES[key] = type(name, (base,), {"__module__": "student"})
    return _STAND_IN_CLASSES[key]


# ---------------------------------------------------------------- check cells


def parse_check_cell(source: str) -> list[tuple[str, str]]:
    """``[(exercise id, answer expression)]`` of the ``check("id", answer)`` calls in a canonical check cell."""
    calls = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "check"
                and len(node.args) >= 2 and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)):
            calls.append((node.args[0].value, ast.get_source_segment(source, node.args[1]) or ""))
    return calls
