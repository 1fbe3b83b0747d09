"""The sandbox around the process that runs students' code: bubblewrap on Linux, else none (and said so).

The grader starts the runner (``python -m utils.grading.runner``, the zygote that forks one runner per
submission) and talks to it over its standard input. ``detect()`` finds out once whether bubblewrap works
here; ``Sandbox.wrap(argv, env=...)`` turns the runner's command line into one that starts it in the sandbox.

Inside the bubblewrap sandbox the runner and everything it starts have:

- no network: a network namespace of their own, whose loopback is not the host's;
- their own PID, IPC, UTS and (where the kernel allows) cgroup namespaces, and a session of their own
  (``--new-session``: no typing into the grader's terminal). bubblewrap's init is PID 1: when the runner exits
  it tears the namespace down, killing whatever is left; ``--die-with-parent`` does the same when the process
  that started bubblewrap dies or kills it;
- an unprivileged identity, uid and gid 65534, without capabilities. A grader running as root starts bubblewrap
  without a user namespace and drops to 65534 with ``setpriv``: a user namespace made by root maps 65534 back to
  root outside, so root-only files would stay readable. A grader running as another user gets a user namespace
  (``--unshare-user --uid 65534 --gid 65534``) mapping the student to that user's own uid. Nested user
  namespaces stay allowed: the runner gives each submission one of its own;
- read-only views of the system's programs and libraries (/usr and the /bin, /lib... links or folders), the
  Python installation (``sys.base_prefix``) and virtual environment (``sys.prefix``), and the project's
  ``utils`` package at its own path (so the editable install's ``import utils`` works); of /etc only the
  loader's cache, the time zone and the font configuration;
- nothing else of the host: not the rest of the project (``solutions/``), other submissions, the report folder,
  anyone's home, /work or the host's /tmp; a root folder that is empty and read-only; a private /tmp (the
  working directory) and /dev/shm of limited size; their own /proc and a minimal /dev;
- exactly the environment variables the grader passes (``--clearenv``).

Where bubblewrap is missing or cannot run here (macOS, Windows, containers without namespaces),
``detect()`` returns ``Sandbox("none", reason)``, whose ``wrap`` returns the command unchanged; the caller then
passes the environment to ``Popen`` itself. ``probe`` lists the fallbacks and what each one lacks.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import site
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

STUDENT_UID = 65534  # "nobody" on Debian and most distributions
STUDENT_GID = 65534
TMP_SIZE = 256 * 1024 * 1024  # tmpfs pages are memory no rlimit of the runner counts
SHM_SIZE = 64 * 1024 * 1024  # /dev/shm: multiprocessing's semaphores and torch's worker tensors
RUNNER_PACKAGES = ("numpy", "torch", "matplotlib", "IPython")  # what the runner imports before any cell
PROBE_TIMEOUT = 60  # seconds; the first import of utils from a cold disk cache can be slow

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# System folders every dynamically linked program needs; each is bound read-only, or recreated as the same
# symbolic link where it is one (merged /usr: /bin -> usr/bin).
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Of /etc only what the loader, the clock and font lookup read: passwords, keys and host names stay out.
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts")


@dataclass(frozen=True)
class Sandbox:
    """How a runner process is started: ``name`` is "bubblewrap" (possibly with a qualifier) or "none"."""

    name: str
    reason: str = ""  # why "none", or what a qualified bubblewrap lacks
    bwrap: str = field(default="", repr=False)
    options: tuple[str, ...] = field(default=(), repr=False)  # bwrap options up to the environment
    visible: tuple[str, ...] = field(default=(), repr=False)  # host paths bound into the sandbox
    prefix: tuple[str, ...] = field(default=(), repr=False)  # run inside, before argv (the setpriv drop)

    def wrap(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        hide: Iterable[str | os.PathLike] = (),
        writable: Iterable[str | os.PathLike] = (),
    ) -> list[str]:
        """The command line that runs ``argv`` in this sandbox with exactly the environment ``env``.

        ``hide``: host paths to mask even where they lie inside a bound folder (e.g. a report folder placed in
        the virtual environment): a folder appears empty, a file cannot be opened. ``writable``: host folders
        to bind writable at their own paths (tests use one to see what the sandboxed process did); grading
        binds none.
        """
        if self.name == "none":
            return list(argv)
        command = [self.bwrap, *self.options]
        bound = list(self.visible)
        made: set[str] = set()
        for path in writable:
            path = os.path.realpath(path)
            command += [*_parents(path, made), "--bind", path, path]
            bound.append(path)
        for path in hide:
            for name in dict.fromkeys((os.path.abspath(path), os.path.realpath(path))):
                if not any(_inside(name, root) for root in bound):
                    continue  # not bound: already invisible
                if os.path.isdir(name):
                    command += ["--tmpfs", name]
                elif os.path.lexists(name):
                    command += ["--ro-bind", "/dev/null", name]
        # Last: the empty root stays empty (folders for the binds above are made before it turns read-only).
        command += ["--remount-ro", "/", "--clearenv"]
        for key, value in env.items():
            if not key or "=" in key:
                raise ValueError(f"invalid environment variable name {key!r}")
            command += ["--setenv", key, str(value)]
        return [*command, "--", *self.prefix, *argv]


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _bind_options(paths: Iterable[str], made: set[str]) -> tuple[list[str], list[str]]:
    """Read-only bind options for ``paths`` (parents before children, duplicates dropped), and the host
    paths they make visible. ``made``: folders already created inside (gains the new ones)."""
    options: list[str] = []
    visible: list[str] = []
    for path in paths:
        if not os.path.lexists(path) or path in visible:
            continue
        if os.path.islink(path) and path in SYSTEM_PATHS:
            options += ["--symlink", os.readlink(path), path]
            continue
        if any(_inside(path, root) for root in visible if os.path.isdir(root)):
            continue  # already visible through a bound parent
        options += [*_parents(path, made), "--ro-bind", path, path]
        visible.append(path)
    return options, visible


def _parents(path: str, made: set[str]) -> list[str]:
    """Options that create ``path``'s ancestors (those not in ``made``, which gains them) traversable by
    anyone: bwrap would make them 0700, which the student's unprivileged uid could not enter."""
    options = []
    parts = Path(path).parts[1:-1]
    for depth in range(1, len(parts) + 1):
        folder = "/" + "/".join(parts[:depth])
        if folder not in made:
            made.add(folder)
            options += ["--perms", "0755", "--dir", folder]
    return options


def _python_paths() -> list[str]:
    """The Python installation, the virtual environment and (where Python uses it) the user's site-packages,
    as the interpreter names them and resolved."""
    paths = []
    prefixes = [sys.base_prefix, sys.prefix, os.path.dirname(os.path.dirname(sys.executable))]
    user_site = site.getusersitepackages() if site.ENABLE_USER_SITE else None
    if user_site and user_site in sys.path and os.path.isdir(user_site):
        prefixes.append(user_site)  # ``pip install --user`` without a virtual environment
    for prefix in prefixes:
        for path in (os.path.abspath(prefix), os.path.realpath(prefix)):
            if path not in paths:
                paths.append(path)
    return paths


def _layout(project_root: Path) -> tuple[list[str], list[str]]:
    """The filesystem options every candidate shares, and the host paths they make visible."""
    root = os.path.realpath(project_root)
    # utils where the editable install may name it: the path as given and the resolved one
    utils_dirs = list(dict.fromkeys((os.path.abspath(os.path.join(project_root, "utils")),
                                     os.path.join(root, "utils"))))
    python = sorted(_python_paths(), key=len)
    outside = [path for path in python if not _inside(path, root)]
    made: set[str] = {"/tmp"}
    options, visible = _bind_options([*SYSTEM_PATHS, *ETC_FILES, *outside], made)
    # an empty root: only what is added below exists; /tmp comes first, so that a project or an environment
    # that lives under the host's /tmp (a CI checkout) is bound on top of it, not hidden by it
    options = ["--tmpfs", "/", "--perms", "1777", "--size", str(TMP_SIZE), "--tmpfs", "/tmp", *options]
    if any(_inside(root, path) for path in visible):
        # The project lies inside a bound folder (e.g. under /usr): mask all of it before utils comes back.
        options += ["--tmpfs", root]
        made = {folder for folder in made if not _inside(folder, root)}
    inside, inside_visible = _bind_options([path for path in python if _inside(path, root)], made)
    options += inside
    visible += inside_visible
    for utils_dir in utils_dirs:
        options += [*_parents(utils_dir, made), "--ro-bind", utils_dir, utils_dir]
        visible.append(utils_dir)
    options += [
        "--proc", "/proc",
        "--dev", "/dev",
        "--perms", "1777", "--size", str(SHM_SIZE), "--tmpfs", "/dev/shm",  # the student's uid must write it
        "--chdir", "/tmp",
    ]
    return options, visible


def _namespace_options(user_namespace: bool) -> list[str]:
    options = [
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--hostname", "sandbox",
        "--die-with-parent", "--new-session",
    ]
    if user_namespace:
        options += ["--unshare-user", "--uid", str(STUDENT_UID), "--gid", str(STUDENT_GID)]
    return options


class _Candidate(NamedTuple):
    name: str
    reason: str
    options: list[str]  # namespaces and capabilities
    prefix: tuple[str, ...]  # run inside before the command
    uid: int | None  # the uid the probe must see inside (None: whatever the grader's is)


def _candidates(euid: int, setpriv: str | None) -> list[_Candidate]:
    """The ways to run bubblewrap here, best first."""
    found = []
    if euid == 0 and setpriv:
        # Root: no user namespace (root's would map the student back to root outside); setpriv drops to the
        # student's uid, clears every capability set and needs only these three until then.
        caps = ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                "--cap-add", "CAP_SETPCAP"]
        drop = (setpriv, f"--reuid={STUDENT_UID}", f"--regid={STUDENT_GID}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--")
        found.append(_Candidate("bubblewrap", "", _namespace_options(False) + caps, drop, STUDENT_UID))
    if euid != 0:
        # Not --disable-userns: the runner gives each submission a nested user and PID namespace of its own.
        found.append(_Candidate("bubblewrap", "", _namespace_options(True), (), STUDENT_UID))
    else:
        found.append(_Candidate(
            "bubblewrap (uid 65534 is root outside)",
            "no setpriv drop to an unprivileged uid here: the student's uid 65534 is the grader's root outside"
            " the sandbox (without capabilities), so root-only files in its read-only view are readable",
            _namespace_options(True), (), STUDENT_UID,
        ))
    found.append(_Candidate(
        "bubblewrap (no user namespace)",
        "user namespaces are not available here: the student runs with the grader's uid"
        + (" (root, without capabilities)" if euid == 0 else ""),
        _namespace_options(False) + (["--cap-drop", "ALL"] if euid == 0 else []), (), None,
    ))
    return found


def probe(project_root: Path | None = None, *, bwrap: str | None = None, euid: int | None = None) -> Sandbox:
    """Find the best sandbox that works here by running a small Python program in each candidate.

    Not cached (``detect`` is); ``bwrap`` and ``euid`` default to the real ones (tests pass others).
    """
    if not sys.platform.startswith("linux"):
        return Sandbox("none", f"bubblewrap needs Linux; this is {sys.platform}")
    bwrap = bwrap or shutil.which("bwrap")
    if not bwrap or not os.access(bwrap, os.X_OK):
        return Sandbox("none", "bwrap not found (install the bubblewrap package)")
    root = Path(project_root) if project_root is not None else PROJECT_ROOT
    if not (root / "utils" / "__init__.py").is_file():
        return Sandbox("none", f"no utils package in {root}")
    euid = os.geteuid() if euid is None else euid
    if os.path.realpath(root) in _python_paths():
        return Sandbox("none", f"the Python environment is the project folder {root}: solutions/ would be visible")
    layout, visible = _layout(root)
    expected = {os.path.join(os.path.abspath(root), "utils", "__init__.py"),
                os.path.join(os.path.realpath(root), "utils", "__init__.py")}
    # What the runner depends on: Python starts, imports utils from the bound package, finds (without importing
    # them: that takes seconds) the packages this Python has, cannot see the project's other folders, and runs
    # as the intended uid.
    wanted = [name for name in RUNNER_PACKAGES if importlib.util.find_spec(name) is not None]
    program = (
        "import importlib.util, os, sys, utils; "
        f"missing = [n for n in {wanted!r} if importlib.util.find_spec(n) is None]; "
        f"sys.stdout.write(utils.__file__ + ' ' + str(os.path.exists({os.fspath(root / 'solutions')!r})) "
        "+ ' ' + str(os.getuid()) + ' ' + (','.join(missing) or '-'))"
    )
    errors = []
    for candidate in _candidates(euid, shutil.which("setpriv")):
        sandbox = Sandbox(candidate.name, candidate.reason, bwrap, tuple(candidate.options + layout),
                          tuple(visible), candidate.prefix)
        argv = sandbox.wrap([sys.executable, "-c", program], env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"})
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=PROBE_TIMEOUT, start_new_session=True)
        except (OSError, subprocess.TimeoutExpired) as error:
            errors.append(f"{type(error).__name__}: {error}")
            continue
        if done.returncode != 0:
            lines = (done.stderr or "").strip().splitlines()
            errors.append(lines[-1] if lines else f"exit status {done.returncode}")
            continue
        words = done.stdout.split()
        uid = "any" if candidate.uid is None else str(candidate.uid)
        if len(words) == 4 and words[3] != "-":
            errors.append(f"the sandbox cannot see {words[3].replace(',', ', ')} (installed outside "
                          f"{', '.join(_python_paths())})")
            continue
        if len(words) != 4 or words[0] not in expected or words[1] != "False" or uid not in ("any", words[2]):
            errors.append(f"the probe saw {done.stdout.strip()!r}, not utils in {root}, no solutions/, uid {uid}")
            continue
        return sandbox
    detail = "; ".join(dict.fromkeys(errors))
    return Sandbox("none", f"bwrap cannot run the sandbox here: {detail}")


@functools.lru_cache(maxsize=None)
def _detect(project_root: Path) -> Sandbox:
    return probe(project_root)


def detect(project_root: Path | None = None) -> Sandbox:
    """The sandbox to use for this project on this machine (probed once per project root, then cached)."""
    return _detect(Path(project_root).resolve() if project_root is not None else PROJECT_ROOT)
