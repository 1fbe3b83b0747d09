"""Answers that are not the student's: an exercise answered by calling the workbook's own implementation.

`utils` ships the workbook's implementations (``utils.layers``, ``utils.numpy_cnn``, the ``@reference``
fallbacks of the check modules, ...), so ``def max_pool2d(...): return max_pool_forward_fast(...)[0]`` would
pass its check. Each chapter's check module declares, next to the check, what implements an exercise
(``implemented_by``) and which helpers its spec allows (``may_use``); ``forbidden_references(id)`` and
``allowed_helpers(id)`` read them back. Two detectors use the declarations:

- ``static_uses(id, source)`` (judge side, authoritative for what the source shows): the forbidden names an
  exercise cell refers to, however imported or aliased, through ``getattr``/``importlib`` with literal names,
  ``get_reference``/``yours_or_reference``, or inside a wrapper function defined in the cell.
- ``Tripwire`` (student side): while ``watch(id)`` is active it records which forbidden functions actually ran
  (by code object), which also catches names built at run time. It runs in the student's process, so like
  everything there it is evidence against an answer, never for one.

A grader fails an answer that either detector reports: ``not_yours(id, source, setup, hits)`` gives the message.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import importlib.util
import sys
import threading
import types
from typing import Any, Iterable, Iterator, Sequence

from utils.checks.core import (_BUILDS_ON, _REFERENCES, REFERENCE_LOOKUPS, _load_chapter_checks, allowed_helpers,
                               dotted_name, forbidden_references)

__all__ = ["static_uses", "Tripwire", "forbidden_references", "allowed_helpers", "resolve", "not_yours",
           "not_yours_message", "TAMPERED"]

_MISSING = object()
# Parts of `utils` that a student's source must never make the judge import (a CLI entry point, the grader).
_NEVER_IMPORTED = ("utils.__main__", "utils.cli", "utils.grading")
_REFERENCE_PREFIX = "<reference>"  # stands for get_reference("<id>") while scanning a cell


def _importable(module: str) -> bool:
    if any(module == banned or module.startswith(banned + ".") for banned in _NEVER_IMPORTED):
        return False
    if any(part.startswith("_") for part in module.split(".")):
        return False
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@functools.lru_cache(maxsize=4096)
def resolve(dotted: str, may_import: bool = False) -> Any:
    """The object a dotted name under ``utils`` denotes, else None. Only the workbook's own declarations may
    import a module (``may_import``): a path from a student's source only reaches modules already loaded."""
    parts = dotted.split(".")
    if parts[0] != "utils":
        return None
    obj: Any = sys.modules.get("utils") or importlib.import_module("utils")
    for depth, part in enumerate(parts[1:], start=2):
        prefix = ".".join(parts[:depth])
        try:
            nxt = getattr(obj, part, _MISSING)
            if nxt is _MISSING and isinstance(obj, types.ModuleType):
                nxt = sys.modules.get(prefix, _MISSING)
                if nxt is _MISSING and may_import and _importable(prefix):
                    nxt = importlib.import_module(prefix)
        except Exception:  # a module that fails to import, a property that raises: not a reference
            return None
        if nxt is _MISSING:
            return None
        obj = nxt
    return obj


def _declared(name: str) -> Any:
    """The object a declared name stands for; a ``@reference`` that no import path reaches (a lambda) too."""
    obj = resolve(name, may_import=True)
    if obj is None:
        obj = next((ref for ref in list(_REFERENCES.values()) if dotted_name(ref) == name), None)
    return obj


def _forbidden_pairs(exercise_id: str) -> list[tuple[str, Any]]:
    """(name, object) of every forbidden reference; ``@reference`` objects by identity (two lambdas share a name)."""
    pairs, pending, seen = [], [exercise_id], set()
    while pending:
        current = pending.pop(0)
        if current not in seen:
            seen.add(current)
            ref = _REFERENCES.get(current)
            if dotted_name(ref):
                pairs.append((dotted_name(ref), ref))
            pending += _BUILDS_ON.get(current, [])
    return pairs + [(name, _declared(name)) for name in forbidden_references(exercise_id)]


def _forbidden_objects(exercise_id: str) -> dict[int, tuple[Any, str]]:
    found: dict[int, tuple[Any, str]] = {}
    for name, obj in _forbidden_pairs(exercise_id):
        if obj is not None and id(obj) not in found:
            found[id(obj)] = (obj, name)
    return found


# ------------------------------------------------------------------------------------------ static detection
def _parse(source: str) -> ast.Module | None:
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError:
        return None
    except Exception:  # a transformer that chokes on odd input: read the source as plain Python
        try:
            return ast.parse(source)
        except SyntaxError:
            return None


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _target_names(target: ast.AST) -> list[str]:
    """Names an assignment target binds (not ``obj.attr`` or ``a[i]``, which bind nothing new)."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in _target_names(element)]
    return []


class _Bindings:
    """Which names a cell binds to which dotted paths (flow-insensitive: any binding counts)."""

    def __init__(self, inherited: dict[str, set[str]]):
        self.inherited = inherited
        self.dotted: dict[str, set[str]] = {}
        self.local: set[str] = set()  # names the cell binds to anything (shadowing the setup cells' imports)

    def lookup(self, name: str) -> set[str]:
        if name in self.dotted:
            return self.dotted[name]
        return set() if name in self.local else self.inherited.get(name, set())

    def bind(self, name: str, targets: set[str]) -> bool:
        self.local.add(name)
        known = self.dotted.setdefault(name, set())
        new = targets - known
        known |= new
        if not known:
            del self.dotted[name]
        return bool(new)


def _star_names(module: str) -> list[str]:
    obj = resolve(module)
    if not isinstance(obj, types.ModuleType):
        return []
    return list(getattr(obj, "__all__", None) or [n for n in vars(obj) if not n.startswith("_")])


def _import_bindings(node: ast.Import | ast.ImportFrom) -> list[tuple[str, str]]:
    """(bound name, dotted path) pairs of an import statement; ``utils`` imports only."""
    pairs = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                pairs.append((alias.asname, alias.name))
            else:
                root = alias.name.split(".")[0]
                pairs.append((root, root))
    elif node.level == 0 and node.module:
        for alias in node.names:
            if alias.name == "*":
                pairs += [(n, f"{node.module}.{n}") for n in _star_names(node.module)]
            else:
                pairs.append((alias.asname or alias.name, f"{node.module}.{alias.name}"))
    return pairs


def _imported_paths(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level or not node.module:
        return []
    return [node.module if a.name == "*" else f"{node.module}.{a.name}" for a in node.names]


class _Scanner:
    def __init__(self, exercise_id: str, bindings: _Bindings):
        self.exercise_id = exercise_id
        self.bindings = bindings
        self.forbidden = _forbidden_objects(exercise_id)
        self.lookups = {id(_declared(name)) for name in REFERENCE_LOOKUPS}
        self.registry = id(_REFERENCES)

    # ---- what an expression denotes, as dotted paths
    def paths(self, node: ast.AST) -> set[str]:
        if isinstance(node, ast.Name):
            return set(self.bindings.lookup(node.id))
        if isinstance(node, ast.Attribute):
            return {f"{base}.{node.attr}" for base in self.paths(node.value)}
        if isinstance(node, ast.Subscript):
            key = _literal(node.slice)
            if key is None:
                return set()
            found = set()
            for base in self.paths(node.value):
                if base == "sys.modules":
                    found.add(key)
                elif base.endswith(".__dict__"):
                    found.add(f"{base[:-len('.__dict__')]}.{key}")
                elif id(resolve(base)) == self.registry:
                    found.add(_REFERENCE_PREFIX + key)
            return found
        if isinstance(node, ast.Call):
            return self.call_paths(node)
        return set()

    def call_paths(self, node: ast.Call) -> set[str]:
        first = _literal(node.args[0]) if node.args else None
        found = set()
        for callee in self.paths(node.func):
            if callee == "getattr" and len(node.args) >= 2 and _literal(node.args[1]):
                found |= {f"{base}.{_literal(node.args[1])}" for base in self.paths(node.args[0])}
            elif callee in ("importlib.import_module", "__import__") and first:
                fromlist = any(k.arg == "fromlist" for k in node.keywords) or len(node.args) >= 4
                found.add(first if callee != "__import__" or fromlist else first.split(".")[0])
            elif first and (id(resolve(callee)) in self.lookups
                            or callee.endswith(".get") and id(resolve(callee[:-len(".get")])) == self.registry):
                found.add(_REFERENCE_PREFIX + first)
        return found

    # ---- which forbidden references a path names
    def forbidden_in(self, path: str) -> list[str]:
        if path.startswith(_REFERENCE_PREFIX):
            obj = _REFERENCES.get(path[len(_REFERENCE_PREFIX):])
            hit = self.forbidden.get(id(obj)) if obj is not None else None
            return [hit[1]] if hit else []
        parts = path.split(".")
        names = []
        for depth in range(1, len(parts) + 1):  # a prefix counts too: NumpyCNN.step is NumpyCNN's
            hit = self.forbidden.get(id(resolve(".".join(parts[:depth]))))
            if hit and hit[1] not in names:
                names.append(hit[1])
        return names

    # ---- two passes: bindings (to a fixed point, for chains of aliases), then uses
    def collect(self, tree: ast.Module) -> None:
        builtin_names = {"getattr": "getattr", "__import__": "__import__"}
        for name, path in builtin_names.items():
            if name not in self.bindings.inherited:
                self.bindings.inherited[name] = {path}
        for _ in range(5):
            changed = False
            for node in ast.walk(tree):
                changed |= self.bind(node)
            if not changed:
                break

    def bind(self, node: ast.AST) -> bool:
        changed = False
        if isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
            # a star import names nothing itself: like the setup cells', its names yield to the cell's own
            for name, path in _import_bindings(node):
                if path not in self.bindings.inherited.setdefault(name, set()):
                    self.bindings.inherited[name].add(path)
                    changed = True
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for name, path in _import_bindings(node):
                changed |= self.bindings.bind(name, {path})
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = self.paths(node.value) if node.value is not None else set()
            for target in targets:
                for name in _target_names(target):
                    # a tuple target takes no path: unpacking hides which element went where
                    changed |= self.bindings.bind(name, value if isinstance(target, ast.Name) else set())
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            changed |= self.bindings.bind(node.name, set())
        elif isinstance(node, ast.arguments):
            every = node.posonlyargs + node.args + node.kwonlyargs + [a for a in (node.vararg, node.kwarg) if a]
            for arg in every:
                changed |= self.bindings.bind(arg.arg, set())
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            for name in _target_names(node.target):
                changed |= self.bindings.bind(name, set())
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            value = self.paths(node.context_expr)
            for name in _target_names(node.optional_vars):
                changed |= self.bindings.bind(name, value if isinstance(node.optional_vars, ast.Name) else set())
        return changed

    def uses(self, tree: ast.Module) -> list[str]:
        found: list[str] = []
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                paths = set(_imported_paths(node))
            elif isinstance(node, (ast.Name, ast.Attribute, ast.Subscript, ast.Call)):
                paths = self.paths(node)
            else:
                continue
            for path in sorted(paths):
                found += [name for name in self.forbidden_in(path) if name not in found]
        return found


def _setup_bindings(exercise_id: str, setup: str | Sequence[str]) -> dict[str, set[str]]:
    """What the cells that ran before bind to `utils` paths (imports and aliases), for the cell to use."""
    sources = [setup] if isinstance(setup, str) else list(setup)
    inherited: dict[str, set[str]] = {}
    for source in sources:
        tree = _parse(source)
        if tree is None:
            continue
        scanner = _Scanner(exercise_id, _Bindings({}))
        scanner.collect(tree)
        for table in (scanner.bindings.inherited, scanner.bindings.dotted):
            for name, paths in table.items():
                inherited.setdefault(name, set()).update(paths)
    return inherited


def static_uses(exercise_id: str, source: str, setup: str | Sequence[str] = ()) -> list[str]:
    """Dotted names of the references forbidden for ``exercise_id`` that the exercise cell's ``source`` refers
    to, sorted ([] for a clean cell or one that does not parse). ``setup``: the sources of the cells that run
    before it (the setup cells; the submission's other exercise cells too), whose imports and aliases the cell
    may use by their bare names; names the cell binds itself take precedence."""
    _load_chapter_checks()
    tree = _parse(source)
    if tree is None:
        return []
    scanner = _Scanner(exercise_id, _Bindings(_setup_bindings(exercise_id, setup)))
    scanner.collect(tree)
    return sorted(scanner.uses(tree))


# ------------------------------------------------------------------------------------------ runtime tripwire
TAMPERED = "sys.setprofile (the tripwire was switched off during the call)"


def _codes(obj: Any, seen: set[int] | None = None) -> list[types.CodeType]:
    """The code objects whose running means ``obj`` (a function, class or module) was called."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, (staticmethod, classmethod)):
        return _codes(obj.__func__, seen)
    if isinstance(obj, property):
        return [c for f in (obj.fget, obj.fset, obj.fdel) if f is not None for c in _codes(f, seen)]
    if isinstance(obj, functools.partial):
        return _codes(obj.func, seen)
    if isinstance(obj, types.MethodType):
        return _codes(obj.__func__, seen)
    if isinstance(obj, types.FunctionType):
        found = [obj.__code__]
        wrapped = getattr(obj, "__wrapped__", None)
        return found + (_codes(wrapped, seen) if wrapped is not None else [])
    if isinstance(obj, type):
        return [c for member in vars(obj).values() for c in _codes(member, seen)]
    if isinstance(obj, types.ModuleType):
        own = [v for v in vars(obj).values()
               if isinstance(v, (types.FunctionType, type)) and getattr(v, "__module__", None) == obj.__name__]
        return [c for member in own for c in _codes(member, seen)]
    return []


def _code_table(pairs: Iterable[tuple[str, Any]]) -> dict[int, tuple[types.CodeType, str]]:
    table: dict[int, tuple[types.CodeType, str]] = {}
    for name, obj in pairs:
        for code in _codes(obj) if obj is not None else ():
            table.setdefault(id(code), (code, name))  # the table holds the code: its id stays unique
    return table


class Tripwire:
    """Records calls of an exercise's forbidden references while a student's function runs.

    ``install(ids)`` resolves every forbidden name of those exercises to code objects once;
    ``with tripwire.watch(id) as hits: fn(*args)`` fills the set ``hits`` with the dotted names of those
    that ran (not those reached only from inside a helper the spec allows). The previous profiler (of this
    thread and of new threads) is chained while watching and restored afterwards.
    """

    def __init__(self) -> None:
        self._forbidden: dict[str, dict[int, tuple[types.CodeType, str]]] = {}
        self._allowed: dict[str, dict[int, tuple[types.CodeType, str]]] = {}

    def install(self, exercise_ids: Iterable[str]) -> None:
        _load_chapter_checks()
        for exercise_id in exercise_ids:
            if exercise_id not in self._forbidden:
                self._forbidden[exercise_id] = _code_table(_forbidden_pairs(exercise_id))
                allowed = _code_table((name, _declared(name)) for name in allowed_helpers(exercise_id))
                self._allowed[exercise_id] = {k: v for k, v in allowed.items() if k not in self._forbidden[exercise_id]}

    def watched(self, exercise_id: str) -> list[str]:
        """The names whose code the tripwire knows for ``exercise_id`` (installing it if needed)."""
        self.install([exercise_id])
        return sorted({name for _, name in self._forbidden[exercise_id].values()})

    @contextlib.contextmanager
    def watch(self, exercise_id: str) -> Iterator[set[str]]:
        self.install([exercise_id])
        forbidden, allowed = self._forbidden[exercise_id], self._allowed[exercise_id]
        hits: set[str] = set()
        previous, previous_threads = sys.getprofile(), threading.getprofile()

        def record(frame: types.FrameType) -> None:
            caller = frame.f_back
            while allowed and caller is not None:  # reached from inside an allowed helper: the helper's business
                if id(caller.f_code) in allowed:
                    return
                caller = caller.f_back
            hits.add(forbidden[id(frame.f_code)][1])

        # Called on every call and return while watching: keep it to one test, with locals only.
        if previous is None:
            def profile(frame, event, arg, forbidden=forbidden, record=record, identity=id):
                if event == "call" and identity(frame.f_code) in forbidden:
                    record(frame)
        else:
            def profile(frame, event, arg, forbidden=forbidden, record=record, identity=id, previous=previous):
                if event == "call" and identity(frame.f_code) in forbidden:
                    record(frame)
                previous(frame, event, arg)

        threading.setprofile(profile)
        sys.setprofile(profile)
        try:
            yield hits
        finally:
            if sys.getprofile() is not profile:
                hits.add(TAMPERED)
            sys.setprofile(previous)
            threading.setprofile(previous_threads)


# ------------------------------------------------------------------------------------------------ verdicts
def not_yours_message(names: Iterable[str]) -> str:
    """The failure message (one line) of an answer that called the workbook's own implementation."""
    names = set(names)
    parts = []
    called = sorted(names - {TAMPERED})
    if called:
        listed = ", ".join(f"`{name}`" for name in called)
        parts.append(f"the answer uses the workbook's own implementation ({listed}) instead of computing the "
                     "result itself; the exercise's spec says which `utils` helpers you may use")
    if TAMPERED in names:
        parts.append("the answer switched off the grader's watch for the workbook's implementations "
                     "(sys.setprofile) while it ran")
    return "not credited: " + "; and ".join(parts) + "."


def not_yours(exercise_id: str, source: str, setup: str | Sequence[str] = (), hits: Iterable[str] = ()) -> str | None:
    """The failure message for an answer whose cell (static scan) or run (the tripwire's ``hits``, as the
    student's process reported them) used a forbidden reference, else None. Reported names that are not
    forbidden for this exercise are dropped: the student's process cannot put words into the message."""
    known = set(forbidden_references(exercise_id)) | {TAMPERED}
    names = set(static_uses(exercise_id, source, setup)) | {name for name in hits if name in known}
    return not_yours_message(names) if names else None
