"""Building blocks for writing checks: call the student's code, convert its result, compare whole arrays.

Every helper raises ``CheckFailed`` with a message a student can act on: the case that failed,
expected vs got (a few numbers, not a wall of text) and a hint. Known mistakes can be recognised:
pass ``known_mistakes={"hint for that mistake": wrong_result}`` and the matching hint is shown.
"""

from __future__ import annotations

import copy
import numbers
from typing import Any, Callable, Mapping

import numpy as np

from .core import ATTEMPT, CheckFailed, NotAttempted

RTOL = 1e-4  # loose enough for float32 answers, far tighter than any planted bug
ATOL = 1e-5


def require_callable(answer: Any, what: str) -> Callable:
    """The answer must be a function (or any callable)."""
    if not callable(answer):
        raise CheckFailed(f"expected {what} (a function), got a {type(answer).__name__}.")
    return answer


def call(fn: Callable, *args, case: str, **kwargs) -> Any:
    """Call the student's ``fn``; its own exceptions become a verdict that names the case.

    The answer gets copies of the arrays, so it cannot spoil later cases; if it changes them anyway,
    that is reported too (a layer that overwrites its input breaks whoever uses that input next).
    """
    originals = (args, kwargs)
    args = tuple(_copy(a) for a in args)
    kwargs = {k: _copy(v) for k, v in kwargs.items()}
    try:
        result = fn(*args, **kwargs)
    except NotImplementedError:
        if ATTEMPT.returned:  # it answered earlier cases: a partly written answer is a wrong one
            raise CheckFailed(
                f"failed on case {case}:\n  your code raised NotImplementedError on this case, but returned a "
                "result for an earlier one: the answer is only partly written.\n  hint: handle this case too "
                "(the exercise's spec lists every case the function must accept)."
            ) from None
        raise NotAttempted() from None
    except CheckFailed:
        raise
    except Exception as error:  # the student's code crashed: report it like any other wrong answer
        raise CheckFailed(
            f"failed on case {case}:\n  your code raised {type(error).__name__}: {error}"
        ) from None
    ATTEMPT.returned += 1
    for position, (before, after) in enumerate(zip(originals[0], args)):
        if _changed(before, after):
            raise CheckFailed(f"failed on case {case}:\n  your code changed its argument number {position + 1} "
                              "in place.\n  hint: compute into a new array instead of writing into the input.")
    for name, before in originals[1].items():
        if _changed(before, kwargs[name]):
            raise CheckFailed(f"failed on case {case}:\n  your code changed its argument {name!r} in place.\n"
                              "  hint: compute into a new array instead of writing into the input.")
    return result


def _changed(before: Any, after: Any) -> bool:
    try:
        import torch

        if isinstance(before, torch.Tensor):
            return not torch.equal(before, after)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(before, np.ndarray):
        return not np.array_equal(before, after, equal_nan=before.dtype.kind == "f")
    if isinstance(before, (list, tuple, dict)):
        try:
            return bool(before != after)
        except (ValueError, TypeError):  # containers of arrays: compare element by element
            return any(_changed(b, a) for b, a in zip(before, after)) or len(before) != len(after)
    return False


def to_array(value: Any, *, case: str, what: str = "the result") -> np.ndarray:
    """Convert a numpy array, torch tensor, list or number to a float64 numpy array, or explain why not."""
    try:
        import torch

        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
    except ImportError:  # pragma: no cover - torch is a requirement
        pass
    if value is None:
        raise CheckFailed(f"failed on case {case}:\n  {what} is None. Did you forget to `return` it?")
    if isinstance(value, (numbers.Number, np.ndarray, np.generic)):
        array = np.asarray(value)
    elif isinstance(value, (list, tuple)):
        raise CheckFailed(
            f"failed on case {case}:\n  {what} is a Python {type(value).__name__}; return a numpy array "
            "(e.g. np.array(...)) so that code using it can rely on .shape, slicing and arithmetic."
        )
    else:
        raise CheckFailed(
            f"failed on case {case}:\n  {what} should be a numpy array (or torch tensor), got {type(value).__name__}."
        )
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise CheckFailed(f"failed on case {case}:\n  {what} has dtype {array.dtype}; expected numbers.")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise CheckFailed(f"failed on case {case}:\n  {what} is complex ({array.dtype}); expected real numbers.")
    return array.astype(np.float64)


def assert_array_matches(got: Any, expected: np.ndarray, *, case: str, hint: str = "",
                         known_mistakes: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
                         what: str = "the result",
                         rtol: float = RTOL, atol: float = ATOL, integer_hint: str = "") -> None:
    """Compare the whole ``got`` array with ``expected``: shape first, then every entry.

    An answer of integer dtype that lost fractions gets ``integer_hint`` (or a generic one) as its hint.
    ``known_mistakes`` may be a function returning the mapping: it is called only for a wrong answer (so
    expensive wrong results cost nothing when the answer is right).
    """
    expected = np.asarray(expected, dtype=np.float64)
    integer_answer = is_integer_array(got)
    got = to_array(got, case=case, what=what)
    if got.shape != expected.shape:
        raise CheckFailed(
            f"failed on case {case}:\n  expected shape {expected.shape}, got {got.shape}"
            + _hint(_diagnose(got, known_mistakes, expected) or hint)
        )
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    close = np.isclose(got, expected, rtol=rtol, atol=atol * scale) & ~np.isnan(got)
    if close.all():
        return
    bad = np.argwhere(~close)
    first = tuple(int(i) for i in bad[0])
    start = max(0, int(np.ravel_multi_index(first, expected.shape)) - 2) if expected.ndim else 0
    diff = np.abs(got - expected)
    lines = [
        f"failed on case {case}:",
        f"  {len(bad)} of {expected.size} entries differ; first at index {first}: "
        f"expected {_fmt(expected[first])}, got {_fmt(got[first])}",
        f"  expected: {_preview(expected, start)}",
        f"  got:      {_preview(got, start)}",
    ]
    if np.isfinite(diff).any():
        lines.insert(2, f"  largest difference: {_fmt(np.nanmax(diff))}")
    if integer_answer and not np.allclose(expected, np.round(expected)):
        hint = integer_hint or (f"{what} has an integer dtype, so fractions were cut off. Create the output with a float dtype, "
                "e.g. np.zeros(shape) rather than np.zeros(shape, dtype=x.dtype) or np.zeros_like(int_array).")
    raise CheckFailed("\n".join(lines) + _hint(_diagnose(got, known_mistakes, expected) or hint))


def unpack_results(got: Any, names: tuple[str, ...], *, case: str) -> tuple:
    """An answer that returns several results (``return dx, dw, db``) must return a tuple of that length."""
    if not isinstance(got, (tuple, list)) or len(got) != len(names):
        length = f" of length {len(got)}" if isinstance(got, (tuple, list)) else ""
        raise CheckFailed(f"failed on case {case}:\n  expected a tuple ({', '.join(names)}), got "
                          f"{type(got).__name__}{length}\n  hint: end with `return {', '.join(names)}`.")
    return tuple(got)


def is_integer_array(value: Any) -> bool:
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        return False
    try:
        return np.issubdtype(np.dtype(str(dtype).replace("torch.", "")), np.integer)
    except TypeError:
        return False


def require_float(got: Any, *, case: str, what: str = "the result") -> None:
    """Results of convolutions, padding, ... of real images are floats; an integer or boolean dtype means the
    answer truncated (typically ``np.zeros_like`` of an integer input, or ``dtype=x.dtype``)."""
    dtype = getattr(got, "dtype", None)
    if dtype is None:
        return
    name = str(dtype).replace("torch.", "")
    try:
        floating = np.issubdtype(np.dtype(name), np.floating)
    except TypeError:  # torch-only dtypes such as bfloat16
        floating = "float" in name
    if not floating:
        raise CheckFailed(
            f"failed on case {case}:\n  {what} has dtype {name}; expected a floating-point array, even when "
            "the input holds integers.\n  hint: convert the input first (np.asarray(x, dtype=float)) and "
            "create outputs with a float dtype (np.zeros(shape), not np.zeros(..., dtype=x.dtype) or "
            "np.zeros_like of an integer array)."
        )


def assert_equal(got: Any, expected: Any, *, case: str, hint: str = "", what: str = "the answer") -> None:
    """Exact comparison for integers, tuples, strings and other plain values.

    One rule for counts everywhere: an integer answer must be an integer, and NumPy's and torch's integer
    scalars count as integers (alone or inside a tuple); 4.0 and True are not counts.
    """
    got = _plain_int(got, expected)
    if isinstance(expected, tuple) and isinstance(got, tuple) and len(got) == len(expected):
        got = tuple(_plain_int(g, e) for g, e in zip(got, expected))
        for index, (g, e) in enumerate(zip(got, expected)):
            if isinstance(e, int) and not isinstance(e, bool) and type(g) is not int:
                raise CheckFailed(
                    f"failed on case {case}:\n  entry {index} of {what} should be an int, got "
                    f"{type(g).__name__} {g!r}" + _hint(hint or "sizes are whole numbers: use // or int(), not /")
                )
    if type(got) is not type(expected):
        article = "an" if type(expected).__name__[0] in "aeiou" else "a"
        raise CheckFailed(
            f"failed on case {case}:\n  {what} should be {article} {type(expected).__name__}, "
            f"got {type(got).__name__} {got!r}" + _hint(hint)
        )
    if got != expected:
        raise CheckFailed(f"failed on case {case}:\n  expected {expected!r}, got {got!r}" + _hint(hint))


def array_variants(x: np.ndarray, *, integer: bool = True, float32: bool = True) -> list[tuple[str, np.ndarray]]:
    """``x`` in the dtypes and memory layouts a spec that accepts arrays must handle, as ``(label, array)``.

    - "float64": ``x`` itself;
    - "float32": single precision (checks compare with RTOL, which float32 rounding meets);
    - "integer": whole numbers of dtype int64 (new values: recompute the reference from the variant); an
      answer that allocates its output with ``np.zeros_like(x)`` or ``dtype=x.dtype`` truncates here;
    - "non-contiguous": a strided view into a larger array (catches strides computed from the shape);
    - "Fortran order": column-major memory.
    Put each label in the case name, so a failure says which variant it was.
    """
    x = np.asarray(x, dtype=np.float64)
    variants = [("float64", x)]
    if float32:
        variants.append(("float32", x.astype(np.float32)))
    if integer:
        variants.append(("integer", np.rint(3 * x).astype(np.int64)))
    wide = np.zeros(x.shape[:-1] + (2 * x.shape[-1],)) if x.ndim else np.zeros(2)
    if x.ndim:
        wide[..., ::2] = x
        variants.append(("non-contiguous", wide[..., ::2]))
        variants.append(("Fortran order", np.asfortranarray(x)))
    return variants


def _plain_int(got: Any, expected: Any) -> Any:
    """A NumPy or torch integer scalar as a Python int, where an int is expected; anything else unchanged."""
    if not isinstance(expected, numbers.Integral) or isinstance(expected, bool):
        return got
    if hasattr(got, "item") and getattr(got, "ndim", None) == 0 and is_integer_array(got):
        got = got.item()
    if isinstance(got, numbers.Integral) and not isinstance(got, bool):
        return int(got)
    return got


def _diagnose(got: np.ndarray, known_mistakes: Mapping[str, Any] | None, expected: np.ndarray) -> str:
    """The hints of the known mistakes whose result the answer reproduces.

    A mistake whose result equals the correct one on this case (or is not finite) tells nothing and is skipped.
    When several mistakes give the same wrong result here, the student is shown each possibility.
    """
    if callable(known_mistakes):
        known_mistakes = known_mistakes()
    matches = []
    for mistake_hint, wrong in (known_mistakes or {}).items():
        if wrong is None:
            continue
        wrong = np.asarray(wrong, dtype=np.float64)
        if not np.all(np.isfinite(wrong)) or _same(wrong, expected):
            continue
        if _same(got, wrong):
            matches.append(mistake_hint)
    return "\n  or: ".join(matches)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=RTOL, atol=ATOL))


def _hint(text: str) -> str:
    return f"\n  hint: {text}" if text else ""


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return str(float(x))
    # + 0.0 turns a value that rounds to -0 into 0: "-0.0" next to an expected 0 would look like a bug
    return np.format_float_positional(round(float(x), 4) + 0.0, precision=4, trim="0")


def _preview(a: np.ndarray, start: int = 0, n: int = 6) -> str:
    """A few entries of the flattened array from ``start`` on (near the first mismatch)."""
    flat = a.ravel()
    shown = " ".join(_fmt(v) for v in flat[start:start + n])
    before = "... " if start > 0 else ""
    after = " ..." if flat.size > start + n else ""
    where = f" (flat entries {start}-{min(flat.size, start + n) - 1} of shape {a.shape})" if a.ndim > 1 or start else ""
    return f"[{before}{shown}{after}]{where}"


def _copy(value: Any) -> Any:
    try:
        import torch

        if isinstance(value, torch.Tensor):
            return _clone_keeping_layout(value)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, np.ndarray):
        return _copy_keeping_layout(value)
    if isinstance(value, (list, tuple, dict)):
        return copy.deepcopy(value)
    return value


def _clone_keeping_layout(t):
    """``t.clone()`` keeps the strides of dense tensors (channels-last, transposed) but makes a strided slice
    contiguous; rebuild such a slice as a view into a wider buffer, as ``_copy_keeping_layout`` does."""
    clone = t.clone()
    if clone.stride() == t.stride() or t.dim() == 0 or t.requires_grad:  # a leaf that needs .grad stays a leaf
        return clone
    wide = t.new_zeros(t.shape[:-1] + (2 * t.shape[-1],))
    view = wide[..., ::2]
    view.copy_(t)
    return view


def _copy_keeping_layout(a: np.ndarray) -> np.ndarray:
    """A copy in the same kind of memory layout as ``a`` (C order, Fortran order or a strided view), so that
    the layout cases of ``array_variants`` reach the answer as they are (``a.copy()`` would make them C order)."""
    if a.flags.c_contiguous or a.ndim == 0:
        return a.copy()
    if a.flags.f_contiguous:
        return a.copy(order="F")
    wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
    view = wide[..., ::2]
    view[...] = a
    return view
