"""The grading sandbox (utils/grading/sandbox.py): what a submission's process can and cannot reach.

Each isolation test runs a small Python program through ``Sandbox.wrap`` and reads the JSON line it prints;
most also run the same program without the sandbox, to show that the test sees the difference (a check that
cannot fail is a defect). Tests that need bubblewrap skip with the reason ``detect()`` gives.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from utils.grading import sandbox as sb

REPO_ROOT = Path(__file__).resolve().parents[2]
# The environment the grader gives its runner (the lead's list); the host's own variables must not leak in.
ENV = {
    "PATH": "/usr/bin:/bin", "HOME": "/tmp", "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1", "MPLCONFIGDIR": "/tmp/mpl",
}
UNSANDBOXED = sb.Sandbox("none", "the control run of each test")
TIMEOUT = 180  # seconds; only a guard against a hung test on a loaded machine


def run(sandbox: sb.Sandbox, program: str, *args: str, host_env: dict | None = None, edit=None, **wrap) -> dict:
    """Run ``program`` (which prints one JSON object last) in ``sandbox``; return that object.

    ``edit``: a change to the wrapped command line (the weakened sandboxes at the end of this file)."""
    argv = sandbox.wrap([sys.executable, "-c", textwrap.dedent(program), *args], env=ENV, **wrap)
    argv = edit(argv) if edit else argv
    # The control run gets ENV itself; the sandbox gets the host's environment plus a secret it must not see.
    env = dict(ENV) if sandbox.name == "none" else {**os.environ, **(host_env or {})}
    # Started from the project's folder, as a grader may be: the sandbox must not start there.
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                          cwd=REPO_ROOT, timeout=TIMEOUT, start_new_session=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def processes_with(token: str) -> list[int]:
    """Host PIDs whose command line contains ``token``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if token.encode() in f.read():
                    found.append(int(entry))
        except OSError:
            continue  # exited while we looked
    return found


def survivors_of(token: str, limit_s: float = 30) -> list[int]:
    """Processes with ``token`` still alive once they have had ``limit_s`` seconds to go.

    bwrap returns as soon as the sandboxed command exits; its init then tears the PID namespace down, which
    kills everything left in it a moment later. The limit is a guard for a loaded machine, not a pace: the
    answer comes as soon as the processes are gone.
    """
    deadline = time.monotonic() + limit_s
    survivors = processes_with(token)
    while survivors and time.monotonic() < deadline:
        time.sleep(0.02)
        survivors = processes_with(token)
    return survivors


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def detected() -> sb.Sandbox:
    found = sb.detect()
    if not found.name.startswith("bubblewrap"):
        pytest.skip(f"no bubblewrap sandbox here: {found.reason}")
    return found


@pytest.fixture(scope="module", params=["detected", "user namespace"])
def sandbox(request, detected) -> sb.Sandbox:
    """Both ways the sandbox runs: as detected here, and with a user namespace (what an unprivileged grader
    gets; as root it is chosen only by pretending to be another user)."""
    if request.param == "detected":
        return detected
    if os.geteuid() != 0:
        pytest.skip("not root: the detected sandbox is the user-namespace one")
    found = sb.probe(euid=1000)
    if "--unshare-user" not in found.options:
        pytest.skip(f"no user namespace here: {found.name} {found.reason}")
    return found


# --- detection, no sandbox needed --------------------------------------------------------------------------


def test_none_returns_the_command_unchanged():
    argv = [sys.executable, "-m", "utils.grading.runner"]
    wrapped = sb.Sandbox("none", "bwrap not found").wrap(argv, env=ENV)
    assert wrapped == argv and wrapped is not argv


def test_detect_probes_once():
    assert sb.detect() is sb.detect()
    assert sb.detect(REPO_ROOT) is sb.detect()


def test_no_bwrap(monkeypatch):
    monkeypatch.setattr(sb.shutil, "which", lambda name: None)
    assert sb.probe() == sb.Sandbox("none", "bwrap not found (install the bubblewrap package)")
    assert sb.probe(bwrap="/nonexistent/bwrap").reason == "bwrap not found (install the bubblewrap package)"


def test_not_linux(monkeypatch):
    monkeypatch.setattr(sb.sys, "platform", "darwin")
    assert sb.probe() == sb.Sandbox("none", "bubblewrap needs Linux; this is darwin")


def test_no_utils_package(tmp_path):
    assert sb.probe(tmp_path, bwrap="/bin/true") == sb.Sandbox("none", f"no utils package in {tmp_path}")


def fake_bwrap(folder: Path, script: str) -> str:
    path = folder / "bwrap"
    path.write_text("#!/bin/sh\n" + textwrap.dedent(script))
    path.chmod(0o755)
    return str(path)


def test_bwrap_that_cannot_create_namespaces(tmp_path):
    message = "bwrap: No permissions to create new namespace, likely because the kernel does not allow it"
    bwrap = fake_bwrap(tmp_path, f"echo '{message}' >&2\nexit 1\n")
    for euid in (0, 1000):
        found = sb.probe(bwrap=bwrap, euid=euid)
        assert found == sb.Sandbox("none", f"bwrap cannot run the sandbox here: {message}")
        assert found.wrap(["python"], env=ENV) == ["python"]


def test_bwrap_that_runs_nothing_is_not_trusted(tmp_path):
    found = sb.probe(bwrap=fake_bwrap(tmp_path, "exit 0\n"), euid=1000)
    assert found.name == "none"
    assert found.reason.startswith("bwrap cannot run the sandbox here: the probe saw '', not utils in ")


def test_without_user_namespaces(tmp_path, detected):
    # A kernel that forbids user namespaces, with a bwrap that works without them (setuid bwrap).
    bwrap = fake_bwrap(tmp_path, """\
        for arg in "$@"; do
          if [ "$arg" = --unshare-user ]; then echo 'bwrap: setting up uid map: Permission denied' >&2; exit 1; fi
        done
        exec bwrap "$@"
        """)
    found = sb.probe(bwrap=bwrap, euid=1000)
    assert (found.name, found.reason) == (
        "bubblewrap (no user namespace)",
        "user namespaces are not available here: the student runs with the grader's uid",
    )
    assert "--unshare-user" not in found.options and "--unshare-net" in found.options


def test_a_package_the_sandbox_cannot_see(tmp_path, monkeypatch, detected):
    # Installed where the sandbox does not look (e.g. on PYTHONPATH): the runner could not import it.
    (tmp_path / "outside_package").mkdir()
    (tmp_path / "outside_package" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sb, "RUNNER_PACKAGES", ("numpy", "outside_package"))
    found = sb.probe()
    assert found.name == "none"
    assert "the sandbox cannot see outside_package (installed outside " in found.reason


def test_wrap_passes_exactly_the_environment_and_the_command():
    found = sb.Sandbox("bubblewrap", "", "/usr/bin/bwrap", ("--unshare-net",), ("/usr",), ("drop", "--"))
    wrapped = found.wrap(["python", "-c", "pass"], env={"A": "1", "B": "x y"})
    assert wrapped == [
        "/usr/bin/bwrap", "--unshare-net", "--remount-ro", "/",
        "--clearenv", "--setenv", "A", "1", "--setenv", "B", "x y",
        "--", "drop", "--", "python", "-c", "pass",
    ]
    with pytest.raises(ValueError, match="invalid environment variable name 'A=B'"):
        found.wrap(["python"], env={"A=B": "1"})
    # masking a path that is not bound adds nothing: it is invisible already
    assert found.wrap(["python"], env={}, hide=["/work/elsewhere"]) == found.wrap(["python"], env={})
    assert found.wrap(["python"], env={}, hide=["/usr/share"])[2:4] == ["--tmpfs", "/usr/share"]


# --- what the sandboxed process gets ----------------------------------------------------------------------


def test_python_numpy_torch_matplotlib_ipython_and_utils_work(detected):
    result = run(detected, """\
        import json, numpy, torch, matplotlib, IPython, utils
        import matplotlib.pyplot as plt
        from IPython.core.interactiveshell import InteractiveShell
        x = torch.arange(2 * 3 * 5 * 6, dtype=torch.float64).reshape(2, 3, 5, 6)
        w = torch.ones(4, 3, 2, 3, dtype=torch.float64)
        y = torch.nn.functional.conv2d(x, w, stride=(2, 1), padding=1)
        plt.plot([0, 1]); plt.savefig("/tmp/figure.png")
        shell = InteractiveShell.instance()
        cell = shell.run_cell("%time total = sum(range(10))", silent=True)
        print(json.dumps({"y": y.numpy().tolist(), "utils": utils.__file__, "magic": cell.success,
                          "total": shell.user_ns.get("total"), "backend": matplotlib.get_backend()}))
        """)
    x = torch_free_conv(2, 3, 5, 6)
    assert result["y"] == x
    assert result["utils"] == str(REPO_ROOT / "utils" / "__init__.py")
    assert (result["magic"], result["total"], result["backend"].lower()) == (True, 45, "agg")


def torch_free_conv(n, c, h, w):
    """The expected output of the program above: all-ones 2x3 filters, stride (2, 1), padding 1, in numpy."""
    import numpy as np

    x = np.arange(n * c * h * w, dtype=np.float64).reshape(n, c, h, w)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    rows = range(0, padded.shape[2] - 2 + 1, 2)
    cols = range(0, padded.shape[3] - 3 + 1)
    out = np.array([[[padded[i, :, r:r + 2, q:q + 3].sum() for q in cols] for r in rows] for i in range(n)])
    return np.repeat(out[:, None], 4, axis=1).tolist()


NETWORK = """\
    import json, socket, sys
    result = {"interfaces": sorted(name for _, name in socket.if_nameindex())}
    targets = [("host", ("127.0.0.1", int(sys.argv[1]))), ("outside", ("192.0.2.1", 80))]
    for name, address in targets[: len(sys.argv) - 1]:
        s = socket.socket(); s.settimeout(5)
        try:
            s.connect(address); result[name] = "connected"
        except OSError as error:
            result[name] = type(error).__name__
    print(json.dumps(result))
    """


@pytest.fixture
def port():
    """A port a server listens on at the host's 127.0.0.1."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        yield server.getsockname()[1]


def test_no_network(sandbox, port):
    inside = run(sandbox, NETWORK, str(port), "and outside")
    control = run(UNSANDBOXED, NETWORK, str(port))  # the host itself only: outside may be reachable
    assert inside["interfaces"] == ["lo"]
    assert inside["host"] == "ConnectionRefusedError"  # the sandbox's own loopback: nobody listens there
    assert inside["outside"] in ("OSError", "TimeoutError")  # network unreachable: no route out
    assert control["host"] == "connected"


@pytest.fixture
def host_paths(tmp_path):
    """Host files a submission must not see: another submission, a report folder, a file in the home folder."""
    other = tmp_path / "submissions" / "other_student.ipynb"
    other.parent.mkdir()
    other.write_text("{}")
    out = tmp_path / "out"
    out.mkdir()
    (out / "grades.csv").write_text("student,points\n")
    home = Path(tempfile.mkdtemp(prefix=".sandbox-test-", dir=Path.home()))
    (home / "notes.txt").write_text("instructor")
    paths = {
        "solutions": str(REPO_ROOT / "solutions" / "00_getting_started.ipynb"),
        "readme": str(REPO_ROOT / "README.md"),
        "tests": str(REPO_ROOT / "tests" / "grading" / "test_sandbox.py"),
        "other submission": str(other),
        "report folder": str(out / "grades.csv"),
        "home": str(home / "notes.txt"),
        "host tmp": str(tmp_path),
        "shadow": "/etc/shadow",
        "hosts": "/etc/hosts",
    }
    yield {name: path for name, path in paths.items() if os.path.exists(path)}  # a minimal system may lack some
    (home / "notes.txt").unlink()
    home.rmdir()


LOOK = """\
    import json, os, sys
    paths = json.loads(sys.argv[1])
    listed = {}
    for folder in sys.argv[2:]:
        try:
            listed[folder] = sorted(os.listdir(folder))
        except OSError as error:
            listed[folder] = type(error).__name__
    print(json.dumps({"exists": {name: os.path.exists(path) for name, path in paths.items()},
                      "listed": listed}))
    """


def test_sees_only_the_system_python_and_utils(sandbox, host_paths):
    folders = [str(REPO_ROOT), str(REPO_ROOT.parent), "/etc", "/"]
    inside = run(sandbox, LOOK, json.dumps(host_paths), *folders)
    control = run(UNSANDBOXED, LOOK, json.dumps(host_paths), *folders)
    assert inside["exists"] == dict.fromkeys(host_paths, False)
    assert control["exists"] == dict.fromkeys(host_paths, True)
    # Of the project only utils and the virtual environment (when it lives there) are visible.
    venv = {Path(p).relative_to(REPO_ROOT).parts[0] for p in sb._python_paths() if sb._inside(p, str(REPO_ROOT))}
    assert inside["listed"][str(REPO_ROOT)] == sorted({"utils"} | venv)
    assert inside["listed"][str(REPO_ROOT.parent)] == [REPO_ROOT.name]
    assert inside["listed"]["/etc"] == sorted(Path(p).name for p in sb.ETC_FILES if os.path.exists(p))
    assert set(inside["listed"]["/"]) <= {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc",
                                          "sbin", "tmp", "usr", *(Path(p).parts[1] for p in sb._python_paths()),
                                          REPO_ROOT.parts[1]}


def test_python_and_utils_are_read_only_tmp_is_private(sandbox):
    targets = write_targets()
    name = Path(targets["utils"]).name
    result = run(sandbox, WRITE, json.dumps(targets), name)
    leaked = [path for path in [*targets.values(), os.path.join(tempfile.gettempdir(), name)] if os.path.exists(path)]
    remove(leaked)
    assert leaked == []
    assert result.pop("tmp") == "scratch"
    assert set(result.values()) <= {"OSError", "PermissionError"}, result  # EROFS is a plain OSError


def write_targets() -> dict[str, str]:
    """Where a submission would plant code: utils, site-packages, the Python installation, the system.
    Hidden names that nothing imports or runs (not .py, not .pth), in case a sandbox lets one through."""
    name = f".sandbox-write-test-{uuid.uuid4().hex}"
    return {
        "utils": str(REPO_ROOT / "utils" / name),
        "utils checks": str(REPO_ROOT / "utils" / "checks" / name),
        "site-packages": os.path.join(sysconfig.get_paths()["purelib"], name),
        "python": os.path.join(sys.base_prefix, "lib", name),
        "usr": f"/usr/{name}",
        "etc": f"/etc/{name}",
        "root folder": f"/{name}",
    }


WRITE = """\
    import json, os, sys
    result = {}
    for label, path in json.loads(sys.argv[1]).items():
        try:
            with open(path, "w") as f:
                f.write("planted")
            result[label] = "written"
        except OSError as error:
            result[label] = type(error).__name__
    with open("/tmp/" + sys.argv[2], "w") as f:
        f.write("scratch")
    result["tmp"] = open("/tmp/" + sys.argv[2]).read()
    print(json.dumps(result))
    """


def remove(paths):
    for path in paths:
        os.unlink(path)


ENVIRONMENT = """\
    import json, os, socket
    st, shm = os.statvfs("/tmp"), os.statvfs("/dev/shm")
    import multiprocessing.synchronize
    lock = multiprocessing.Lock()  # a POSIX semaphore: needs a writable /dev/shm
    namespaces = {}
    for kind in ("net", "pid", "ipc", "uts", "mnt", "cgroup"):
        namespaces[kind] = os.readlink(f"/proc/self/ns/{kind}")
    print(json.dumps({"env": dict(os.environ), "hostname": socket.gethostname(), "cwd": os.getcwd(),
                      "session": os.getsid(0), "tmp bytes": st.f_blocks * st.f_frsize,
                      "shm bytes": shm.f_blocks * shm.f_frsize,
                      "namespaces": namespaces}))
    """


def test_environment_namespaces_and_tmp(sandbox):
    inside = run(sandbox, ENVIRONMENT, host_env={"GRADER_SECRET": "do not leak"})
    assert environment_properties(inside) == dict.fromkeys(environment_properties(inside), True)


@functools.cache
def host_namespaces() -> dict[str, str]:
    return run(UNSANDBOXED, ENVIRONMENT)["namespaces"]


def environment_properties(inside: dict) -> dict[str, bool]:
    """Which of the sandbox's promises the ENVIRONMENT program's findings keep."""
    env = dict(inside["env"])
    env.pop("LC_CTYPE", None)  # Python's own C-locale coercion (PEP 538) may add it
    pwd = env.pop("PWD", None)  # bwrap's --chdir sets it
    host = host_namespaces()
    found = {
        "exactly the grader's variables": env == ENV and pwd in (None, inside["cwd"]),
        "hostname": inside["hostname"] == "sandbox",
        "working directory": inside["cwd"] == "/tmp",
        # --new-session: the sandbox's own session (its init's), not the grader's terminal session
        "session": inside["session"] == 1,
        "tmp size": inside["tmp bytes"] == sb.TMP_SIZE,
        "shm size": inside["shm bytes"] == sb.SHM_SIZE,
    }
    for kind in ("net", "pid", "ipc", "uts", "mnt"):
        found[f"{kind} namespace"] = inside["namespaces"][kind] != host[kind]
    return found


IDENTITY = """\
    import json, os, sys
    result = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups()}
    result["capabilities"] = [line.split()[1] for line in open("/proc/self/status")
                              if line.startswith(("CapEff", "CapPrm", "CapBnd"))]
    for name in ("secret.txt", "public.txt"):
        try:
            result[name] = open(os.path.join(sys.argv[1], name)).read()
        except OSError as error:
            result[name] = type(error).__name__
    print(json.dumps(result))
    """


@pytest.fixture
def shared(tmp_path, detected) -> Path:
    """A folder, bound into the sandbox for the test, with a root-only file and a public one."""
    if os.geteuid() != 0:
        pytest.skip("needs root to make a root-only file")
    if detected.name != "bubblewrap":
        pytest.skip(f"{detected.name}: {detected.reason}")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    (shared / "secret.txt").write_text("root only")
    (shared / "secret.txt").chmod(0o600)
    (shared / "public.txt").write_text("anyone")
    return shared


def test_runs_as_an_unprivileged_user(detected, shared):
    inside = run(detected, IDENTITY, str(shared), writable=[shared])
    control = run(UNSANDBOXED, IDENTITY, str(shared))
    assert (inside["uid"], inside["gid"]) == (sb.STUDENT_UID, sb.STUDENT_GID)
    assert inside["groups"] in ([], [sb.STUDENT_GID])
    assert inside["capabilities"] == ["0000000000000000"] * 3
    assert (inside["secret.txt"], inside["public.txt"]) == ("PermissionError", "anyone")
    assert control["secret.txt"] == "root only"


NESTED = """\
    import ctypes, json, os
    libc = ctypes.CDLL(None, use_errno=True)
    pid = os.fork()
    if pid == 0:  # what the runner does for each submission: a user and PID namespace of its own
        os._exit(0 if libc.unshare(0x10000000 | 0x20000000) == 0 else ctypes.get_errno())
    print(json.dumps({"unshare errno": os.waitpid(pid, 0)[1] >> 8}))
    """


def test_the_runner_can_give_each_submission_namespaces_of_its_own(sandbox):
    assert run(sandbox, NESTED) == {"unshare errno": 0}


def test_with_nested_user_namespaces_disabled_the_runner_could_not(detected):
    found = sb.probe(euid=1000)
    if "--unshare-user" not in found.options:
        pytest.skip(f"no user namespace here: {found.name} {found.reason}")
    assert run(weakened(found, add=("--disable-userns",)), NESTED)["unshare errno"] != 0


# A process that leaves a detached grandchild behind (double fork, new session) and reports what it sees.
DETACH = """\
    import json, os, sys, time
    ready_r, ready_w = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)  # a daemon's habit; it also keeps the caller from waiting for its output
            os.write(ready_w, b"r")
            time.sleep(120)
        os._exit(0)
    os.read(ready_r, 1)
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    init = open("/proc/1/cmdline", "rb").read().split(b"\\0")[0].decode()
    print(json.dumps({"pid": os.getpid(), "init": init, "processes": len(pids)}), flush=True)
    if len(sys.argv) > 2:
        time.sleep(120)
"""


def test_nothing_survives_the_process(sandbox):
    token = f"sandbox-survivor-{uuid.uuid4().hex}"
    try:
        inside = run(sandbox, DETACH, token)
        survivors = survivors_of(token)
    finally:
        kill_all(processes_with(token))
    assert survivors == []
    assert os.path.basename(inside["init"]) == "bwrap"  # bubblewrap's init reaps as PID 1
    assert inside["pid"] != os.getpid() and inside["processes"] <= 4  # init, the program, its grandchild
    try:
        run(UNSANDBOXED, DETACH, token)
        escaped = processes_with(token)
    finally:
        kill_all(processes_with(token))
    assert len(escaped) == 1  # without the sandbox the grandchild outlives its parent


def test_killing_the_sandbox_kills_everything_in_it(detected):
    # The grader kills a runner that ran past its limit; whatever the submission started must go with it.
    token = f"sandbox-killed-{uuid.uuid4().hex}"
    argv = detected.wrap([sys.executable, "-c", textwrap.dedent(DETACH), token, "stay"], env=ENV)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        json.loads(proc.stdout.readline())  # everything has started
        assert len(processes_with(token)) >= 2
        proc.kill()  # only bwrap itself: --die-with-parent takes the namespace down
        proc.wait(timeout=TIMEOUT)
        survivors = survivors_of(token)
    finally:
        proc.stdout.close()
        kill_all(processes_with(token))
    assert survivors == []


def test_hide_masks_paths_inside_what_is_bound(detected, tmp_path):
    shared = tmp_path / "shared"
    (shared / "out").mkdir(parents=True)
    (shared / "out" / "grades.csv").write_text("student,points\n")
    (shared / "answers.py").write_text("secret")
    (shared / "visible.txt").write_text("shown")
    result = run(detected, """\
        import json, os, sys
        folder = sys.argv[1]
        try:
            answers = open(os.path.join(folder, "answers.py")).read()
        except OSError as error:
            answers = type(error).__name__
        print(json.dumps({"out": os.listdir(os.path.join(folder, "out")), "answers": answers,
                          "visible": open(os.path.join(folder, "visible.txt")).read()}))
        """, str(shared), writable=[shared], hide=[shared / "out", shared / "answers.py"])
    assert result == {"out": [], "answers": "PermissionError", "visible": "shown"}


# --- each test catches the sandbox that lacks what it tests ---------------------------------------------------
# One option taken out, or one folder bound in, at a time: the test of that promise must then see the hole.


def weakened(sandbox: sb.Sandbox, *, drop: tuple[str, ...] = (), add: tuple[str, ...] = (), prefix=None):
    options = list(sandbox.options)
    if drop:
        starts = [i for i in range(len(options)) if tuple(options[i:i + len(drop)]) == drop]
        assert starts, f"{drop} is not among the sandbox's options"
        del options[starts[0]:starts[0] + len(drop)]
    return dataclasses.replace(sandbox, options=(*options, *add),
                               prefix=sandbox.prefix if prefix is None else tuple(prefix))


def test_without_a_network_namespace_the_host_is_reachable(detected, port):
    assert run(weakened(detected, drop=("--unshare-net",)), NETWORK, str(port))["host"] == "connected"


def test_without_a_pid_namespace_a_detached_process_survives(detected):
    token = f"sandbox-survivor-{uuid.uuid4().hex}"
    try:
        run(weakened(detected, drop=("--unshare-pid",)), DETACH, token)
        escaped = processes_with(token)
    finally:
        kill_all(processes_with(token))
    assert len(escaped) == 1


def test_without_setpriv_root_only_files_are_readable(detected, shared):
    inside = run(weakened(detected, prefix=()), IDENTITY, str(shared), writable=[shared])
    assert (inside["uid"], inside["secret.txt"]) == (0, "root only")


@pytest.mark.parametrize("folder, seen", [
    (str(REPO_ROOT), ["solutions", "readme", "tests"]),
    (str(Path.home()), ["home"]),
    ("/tmp", ["other submission", "report folder", "host tmp"]),
    ("/etc", ["shadow", "hosts"]),
], ids=["project", "home", "tmp", "etc"])
def test_with_a_host_folder_bound_its_files_are_visible(detected, host_paths, folder, seen):
    # As root: the student's uid alone would hide the root-only folders among these; this is about the mounts.
    inside = run(weakened(detected, add=("--ro-bind", folder, folder), prefix=()), LOOK, json.dumps(host_paths))
    # a checkout under the bound folder (CI clones into /tmp) shows its files too
    expected = [n for n, path in host_paths.items() if n in seen or path.startswith(folder.rstrip("/") + "/")]
    assert [name for name, exists in inside["exists"].items() if exists] == expected


def test_with_utils_bound_writable_code_can_be_planted(detected):
    utils_dir = str(REPO_ROOT / "utils")
    targets = write_targets()
    try:
        # As root, as a grader's own uid in a user namespace is: only the read-only mount protects utils.
        result = run(weakened(detected, add=("--bind", utils_dir, utils_dir), prefix=()), WRITE,
                     json.dumps(targets), Path(targets["utils"]).name)
    finally:
        remove([path for path in targets.values() if os.path.exists(path)])
    assert (result["utils"], result["utils checks"]) == ("written", "written")


def without(*words: str):
    """An edit of the wrapped command line that removes one run of ``words``."""
    def edit(argv: list[str]) -> list[str]:
        start = next(i for i in range(len(argv)) if tuple(argv[i:i + len(words)]) == words)
        return argv[:start] + argv[start + len(words):]
    return edit


@pytest.mark.parametrize("edit, broken", [
    (without("--clearenv"), "exactly the grader's variables"),
    (without("--new-session"), "session"),
    (without("--unshare-ipc"), "ipc namespace"),
    (without("--chdir", "/tmp"), "working directory"),
    (without("--size", str(sb.TMP_SIZE)), "tmp size"),
], ids=["clearenv", "new-session", "unshare-ipc", "chdir", "tmp size"])
def test_each_environment_promise_is_tested(detected, edit, broken):
    inside = run(detected, ENVIRONMENT, host_env={"GRADER_SECRET": "do not leak"}, edit=edit)
    found = environment_properties(inside)
    assert not found.pop(broken)
    assert all(found.values()), found  # only the promise that was broken
