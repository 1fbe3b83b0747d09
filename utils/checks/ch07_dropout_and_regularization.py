"""Checks for chapter 07 (dropout and regularization).

**The keep-vs-drop convention.** Every exercise of the chapter takes ``keep_prob``, the probability that a
unit is KEPT (the seed's p). PyTorch's ``F.dropout(x, p)`` and ``nn.Dropout2d(p)`` take the probability of
DROPPING. An answer that uses the other convention gets a hint that names it.

References are independent of the answer:

- masks: the exact mask the spec prescribes, drawn from a second ``np.random.default_rng(seed)`` with the same
  seed (``rng.random(shape) < keep_prob``), and statistics of large draws with wide bounds (a correct answer
  that drew its coins differently passes these and is then told which call the spec asks for);
- the scaling convention of inverted dropout is confirmed against PyTorch (``F.dropout``, ``F.dropout2d``:
  kept values are divided by 1 - p at training time, evaluation is the identity);
- gradients: PyTorch autograd in float64 (the L2 term also against one step of ``torch.optim.SGD`` with
  ``weight_decay``), the max-norm projection against ``torch.renorm``, the NWGM against its closed form and
  against f(E[S]) for a logistic unit.

The ``@reference`` functions at the end are the workbook's answers (``utils.layers.dropout``,
``utils.regularization``), which demonstrations use while the student's answer is missing or wrong.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F

from utils.layers.dropout import dropconnect_dense_forward, dropout_forward as _dropout_forward_layer
from utils.layers.dropout import spatial_dropout_forward as _spatial_layer
from utils.regularization import l2_gradient as _l2_ref, max_norm as _max_norm_ref

from .compare import (array_variants, assert_array_matches, call, require_callable, require_float, to_array,
                      unpack_results)
from .core import CheckFailed, implemented_by, reference, register

CONVENTION = ("keep_prob is the probability of KEEPING a unit (the seed's p); you used it as the probability "
              "of dropping, which is PyTorch's p in F.dropout(x, p) and nn.Dropout(p). Keep a unit where "
              "rng.random(...) < keep_prob and divide the kept values by keep_prob.")


def _t(a, grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _variant_hint(label: str, hint: str) -> str:
    if label != "float64":
        return f"the same case passed on a C-ordered float64 array; this input is {label}. " + hint
    return hint


def _matches(got, expected, *, case, what="the result", hint="", mistakes=None, label="float64"):
    assert_array_matches(got, expected, case=case, what=what, known_mistakes=mistakes,
                         hint=_variant_hint(label, hint))


def _torch_convention_guard(keep_prob: float) -> None:
    """PyTorch's dropout with p = 1 - keep_prob keeps values scaled by 1/keep_prob: the convention we check."""
    torch.manual_seed(0)
    out = F.dropout(torch.ones(2000, dtype=torch.float64), p=1 - keep_prob, training=True)
    kept = out[out != 0]
    if not torch.allclose(kept, torch.full_like(kept, 1 / keep_prob)):   # pragma: no cover - guard
        raise RuntimeError("PyTorch's dropout does not scale kept values by 1/keep_prob")
    if not torch.equal(F.dropout(torch.ones(5), p=0.3, training=False), torch.ones(5)):   # pragma: no cover
        raise RuntimeError("PyTorch's dropout is not the identity in eval mode")


def _mask_hints(shape, keep_prob, seed, batch_shape=None):
    """Masks that known mistakes draw from the same seed (computed only after a mismatch)."""
    batch_shape = batch_shape or shape
    m = {CONVENTION: np.random.default_rng(seed).random(shape) < 1 - keep_prob,
         "keep where rng.random(...) < keep_prob, not > keep_prob: with > the probability of keeping is "
         "1 - keep_prob, PyTorch's drop convention.": np.random.default_rng(seed).random(shape) > keep_prob,
         "the mask is True where a unit is KEPT; yours is True where it is dropped.":
             ~(np.random.default_rng(seed).random(shape) < keep_prob)}
    if shape[0] > 1:
        shared = np.random.default_rng(seed).random(batch_shape[1:]) < keep_prob
        m["one mask is shared by the whole batch: every example needs its own coins, so draw the full shape "
          f"{tuple(shape)}, including N."] = np.broadcast_to(shared, batch_shape)
    return m


def _scale_hints(x, mask_b, keep_prob):
    return {"inverted dropout divides the kept values by keep_prob at training time (so that the expected "
            "output equals the input); you did not rescale.": x * mask_b,
            "divide the kept values by keep_prob, do not multiply: multiplying by keep_prob is the old rule "
            "for TEST time, and inverted dropout rescales at training time only.": x * mask_b * keep_prob,
            CONVENTION + " (Here: you divided by 1 - keep_prob.)": x * mask_b / (1 - keep_prob)
            if keep_prob < 1 else None}


def _eval_hints(x, train_out, keep_prob):
    return {"dropout is active in eval mode: with train=False (model.eval()) return x unchanged, as floats.":
            train_out,
            "rescaling at both train and test: inverted dropout already divided by keep_prob during training, "
            "so eval mode returns x itself, not x * keep_prob.": x * keep_prob,
            "eval mode returns x itself; do not divide by keep_prob there.": x / keep_prob}


def _exact_draw_hint(call_text: str) -> str:
    return (f"draw the mask with exactly one call, {call_text}, from the generator passed in (not np.random "
            "and not rng.binomial): the check draws the same call from the same seed and compares masks.")


# ============================================================================================== dropout
DROPOUT_CASES = [   # shape, keep_prob, seed
    ((2, 5), 0.8, 0),
    ((3, 4, 5), 0.5, 1),
    ((2, 3, 4, 6), 0.7, 2),
    ((4, 3, 5, 2), 0.25, 3),
    ((6, 7), 0.9, 4),
    ((3, 2, 3, 3), 1.0, 5),        # keep everything
]


def _dropout_statistics(fn):
    keep, shape = 0.6, (200, 300)
    case = f"statistics: x = ones {shape}, keep_prob {keep}, train=True, seed 100"
    got = unpack_results(call(fn, np.ones(shape), keep, True, np.random.default_rng(100), case=case),
                       ("out", "mask"), case=case)
    out = to_array(got[0], case=case, what="out")
    if out.shape != shape:
        raise CheckFailed(f"failed on case {case}:\n  expected out of shape {shape}, got {out.shape}")
    kept = float(np.mean(out != 0))
    mean = float(out.mean())
    if abs(kept - (1 - keep)) < 0.03 and abs(kept - keep) > 0.1:
        raise CheckFailed(f"failed on case {case}:\n  expected about {keep:.0%} of the units kept, got "
                          f"{kept:.1%}\n  hint: {CONVENTION}")
    if abs(kept - keep) > 0.03:
        raise CheckFailed(f"failed on case {case}:\n  expected about {keep:.0%} of the units kept (non-zero), "
                          f"got {kept:.1%}\n  hint: keep each unit independently with probability keep_prob.")
    if abs(mean - 1) > 0.05:
        raise CheckFailed(
            f"failed on case {case}:\n  the mean of out should be about 1 (inverted dropout keeps the expected "
            f"value), got {mean:.3f}\n  hint: divide the kept values by keep_prob"
            + (" (not by 1 - keep_prob)." if abs(mean - keep / (1 - keep)) < 0.05 else "."))


def _check_mask(got_mask, expected, *, case, hints, call_text):
    if expected is None:
        if got_mask is not None:
            raise CheckFailed(f"failed on case {case}:\n  in eval mode (train=False) the mask should be None, "
                              f"got {type(got_mask).__name__}\n  hint: eval mode draws no mask; return (x, None).")
        return
    if got_mask is None:
        raise CheckFailed(f"failed on case {case}:\n  the mask is None, but train=True\n  hint: return the "
                          "boolean keep mask you drew, (out, mask).")
    got_mask = to_array(got_mask, case=case, what="the mask")
    if got_mask.size == expected.size and got_mask.shape != expected.shape and got_mask.ndim > expected.ndim:
        got_mask = got_mask.reshape(expected.shape)      # (N, C, 1, 1) for an (N, C) mask is fine
    _matches(got_mask, expected.astype(float), case=case, what="the mask", mistakes=hints,
             hint=_exact_draw_hint(call_text) + f" Your mask keeps {np.mean(got_mask != 0):.0%} of the entries "
             f"of this case, the expected one {np.mean(expected):.0%}.")


def _check_masked_layer(fn, cases, *, seed_offset, coins, expand, describe, call_text, shape_check=None) -> int:
    """The exact cases of a dropout-like layer (train and eval, every array variant): `coins(shape)` is the
    shape of the mask drawn, `expand(mask)` broadcasts it onto x."""
    n = 0
    for shape, keep, seed in cases:
        base = np.random.default_rng(seed_offset + seed).normal(size=shape)
        base[base == 0] = 0.5
        for label, x in array_variants(base):
            xf = np.asarray(x, dtype=np.float64)
            for train in (True, False):
                case = f"{describe} {shape} ({label}), keep_prob {keep}, train={train}, rng = default_rng({seed})"
                got = unpack_results(call(fn, x, keep, train, np.random.default_rng(seed), case=case),
                                   ("out", "mask"), case=case)
                mask = np.random.default_rng(seed).random(coins(shape)) < keep
                require_float(got[0], case=case, what="out")
                if train:
                    if shape_check is not None:
                        shape_check(got[1], shape, case)
                    _check_mask(got[1], mask, case=case, hints=lambda: _mask_hints(coins(shape), keep, seed),
                                call_text=call_text)
                    _matches(got[0], xf * expand(mask) / keep, case=case, what="out", label=label,
                             mistakes=lambda: _scale_hints(xf, expand(mask), keep),
                             hint=f"out = x * {'mask' if call_text.startswith('mask = rng.random(x') else 'mask[:, :, None, None]'}"
                                  " / keep_prob at training time.")
                else:
                    _matches(got[0], xf, case=case, what="out", label=label,
                             mistakes=lambda: _eval_hints(xf, xf * expand(mask) / keep, keep),
                             hint="with train=False dropout is off: return x itself (as floats) and None.")
                    _check_mask(got[1], None, case=case, hints=None, call_text="")
                n += 1
    return n


implemented_by("dropout.forward", "utils.layers.dropout.dropout_forward", "utils.layers.dropout._masked")


@register("dropout.forward")
def check_dropout_forward(answer) -> str:
    fn = require_callable(answer, "dropout_forward(x, keep_prob, train, rng)")
    _torch_convention_guard(0.7)
    n = 1 + _check_masked_layer(fn, DROPOUT_CASES, seed_offset=50, coins=lambda shape: shape, expand=lambda m: m,
                                describe="x", call_text="mask = rng.random(x.shape) < keep_prob")
    _dropout_statistics(fn)     # a large draw last: the fraction kept and the mean of out
    return f"{n} cases: exact masks from the same seed, statistics of 60000 units, train and eval"


# --------------------------------------------------------------------------------------- dropout backward
BACKWARD_CASES = [((2, 5), 0.8, 10), ((3, 4, 5), 0.5, 11), ((2, 3, 4, 6), 0.7, 12), ((5, 2, 3, 4), 0.3, 13),
                  ((4, 6), 1.0, 14)]


def _torch_dropout_grad(dout, mask, keep):
    xt = _t(np.ones(mask.shape), True)
    (xt * _t(mask) / keep).backward(_t(dout))
    return xt.grad.numpy()


def _new_mask_hint(got, mask, dout) -> str:
    got = np.asarray(got, dtype=np.float64)
    if got.shape != mask.shape:
        return ""
    elsewhere = np.any((got != 0) & ~mask) or np.any((got == 0) & mask & (dout != 0))
    if elsewhere:
        return ("the zeros of dx must sit exactly where the forward pass dropped units: use the mask the forward "
                "pass returned, never draw a new one in the backward pass (a new mask sends gradient to units "
                "that took no part in the forward pass and none to some that did).")
    return ""


implemented_by("dropout.backward", "utils.checks.ch07_dropout_and_regularization._torch_dropout_grad",
               "utils.layers.dropout.dropout_backward", "utils.layers.dropout.spatial_dropout_backward",
               "utils.layers.dropout._masked_backward")


@register("dropout.backward")
def check_dropout_backward(answer) -> str:
    fn = require_callable(answer, "dropout_backward(dout, mask, keep_prob)")
    n = 0
    for shape, keep, seed in BACKWARD_CASES:
        mask = np.random.default_rng(seed).random(shape) < keep
        base = np.random.default_rng(seed + 100).normal(size=shape)
        base[base == 0] = 0.5
        expected_fn = _torch_dropout_grad
        for label, dout in array_variants(base):
            df = np.asarray(dout, dtype=np.float64)
            case = f"dout {shape} ({label}), keep_prob {keep}, mask from default_rng({seed})"
            got = call(fn, dout, mask.copy(), keep, case=case)
            require_float(got, case=case, what="dx")
            expected = expected_fn(df, mask, keep)
            mistakes = lambda: {
                "inverted dropout divides by keep_prob in the backward pass too (out = x * mask / keep_prob, "
                "so dx = dout * mask / keep_prob).": df * mask,
                "divide by keep_prob, do not multiply.": df * mask * keep,
                CONVENTION + " (Here: you divided by 1 - keep_prob.)": df * mask / (1 - keep) if keep < 1 else None,
                "the mask is True where the unit was kept: multiply by mask, not by ~mask.": df * ~mask / keep,
                "multiply by the mask: dropped units received no input in the forward pass, so they get no "
                "gradient.": df / keep,
            }
            try:
                assert_array_matches(got, expected, case=case, what="dx")
            except CheckFailed:
                assert_array_matches(got, expected, case=case, what="dx", known_mistakes=mistakes(),
                                     hint=_new_mask_hint(got, mask, df) or _variant_hint(
                                         label, "dx = dout * mask / keep_prob."))
            n += 1
    case = "eval mode: mask None, dout (3, 4)"
    dout = np.random.default_rng(7).normal(size=(3, 4))
    got = call(fn, dout, None, 0.5, case=case)
    _matches(got, dout, case=case, what="dx", hint="in eval mode (mask None) the layer is the identity: dx = dout.",
             mistakes={"in eval mode the layer is the identity: dx = dout, not divided by keep_prob.": dout / 0.5})
    return f"{n + 1} cases against autograd, eval mode included"


# --------------------------------------------------------------------------------------- spatial dropout
SPATIAL_CASES = [((2, 3, 4, 5), 0.5, 20), ((3, 4, 2, 6), 0.75, 21), ((4, 6, 5, 3), 0.3, 22),
                 ((1, 5, 3, 3), 0.6, 23), ((5, 2, 3, 4), 1.0, 24)]


def _torch_spatial_guard(keep):
    torch.manual_seed(0)
    out = F.dropout2d(torch.ones(50, 8, 3, 4, dtype=torch.float64), p=1 - keep, training=True)
    per_channel = out.reshape(50, 8, -1)
    whole = (per_channel == 0).all(-1) | torch.isclose(per_channel, torch.tensor(1 / keep, dtype=torch.float64)).all(-1)
    if not bool(whole.all()):   # pragma: no cover - guard on the convention
        raise RuntimeError("F.dropout2d does not keep or drop whole channels scaled by 1/keep_prob")


def _not_element_wise(got_mask, shape, case):
    if got_mask is not None and np.shape(got_mask) == shape:
        raise CheckFailed(f"failed on case {case}:\n  expected a mask of shape (N, C) = {shape[:2]}, got {shape}\n"
                          "  hint: spatial dropout keeps or drops whole channels: one coin per (example, channel), "
                          "mask = rng.random((N, C)) < keep_prob, broadcast over H and W.")


implemented_by("dropout.spatial", "utils.layers.dropout.spatial_dropout_forward", "utils.layers.dropout._masked")


@register("dropout.spatial")
def check_spatial(answer) -> str:
    fn = require_callable(answer, "spatial_dropout(x, keep_prob, train, rng)")
    _torch_spatial_guard(0.6)
    n = _check_masked_layer(fn, SPATIAL_CASES, seed_offset=60, coins=lambda shape: shape[:2],
                            expand=lambda m: m[:, :, None, None], describe="x (N, C, H, W) =",
                            call_text="mask = rng.random((N, C)) < keep_prob", shape_check=_not_element_wise)
    return f"{n} cases: whole channels, exact masks from the same seed, train and eval"


# ------------------------------------------------------------------------------------------- DropConnect
DROPCONNECT_CASES = [((3, 4), 2, 0.5, 30), ((2, 5), 3, 0.8, 31), ((4, 3), 6, 0.6, 32), ((5, 6), 4, 0.3, 33)]


implemented_by("dropout.dropconnect", "utils.layers.dropout.dropconnect_dense_forward")


@register("dropout.dropconnect")
def check_dropconnect(answer) -> str:
    fn = require_callable(answer, "dropconnect_forward(x, w, b, keep_prob, rng)")
    n = 1
    for (N, D), M, keep, seed in DROPCONNECT_CASES:
        r = np.random.default_rng(seed + 70)
        base, w, b = r.normal(size=(N, D)), r.normal(size=(D, M)), r.normal(size=M)
        for label, x in array_variants(base):
            xf = np.asarray(x, dtype=np.float64)
            case = f"x (N, D) = {(N, D)} ({label}), w {(D, M)}, keep_prob {keep}, rng = default_rng({seed})"
            got = unpack_results(call(fn, x, w, b, keep, np.random.default_rng(seed), case=case), ("out", "mask"),
                                 case=case)
            require_float(got[0], case=case, what="out")
            mask = np.random.default_rng(seed).random((N, D, M)) < keep
            got_mask = got[1]
            if got_mask is not None and np.shape(got_mask) in ((D, M), (N, D)):
                what = ("one mask on w shared by the whole batch: DropConnect draws a mask per example, shape "
                        "(N, D, M)") if np.shape(got_mask) == (D, M) else \
                    ("a mask of shape (N, D) drops inputs, which is dropout: DropConnect drops weights, a mask "
                     "of shape (N, D, M)")
                raise CheckFailed(f"failed on case {case}:\n  expected a mask of shape {(N, D, M)}, got "
                                  f"{np.shape(got_mask)}\n  hint: {what}, mask = rng.random((N,) + w.shape) < keep_prob.")
            _check_mask(got_mask, mask, case=case, hints=lambda: _mask_hints((N, D, M), keep, seed),
                        call_text="mask = rng.random((N,) + w.shape) < keep_prob")
            expected = np.einsum("nd,ndm->nm", xf, w * mask) / keep + b
            mistakes = lambda: {
                "divide by keep_prob (inverted DropConnect): out[n] = x[n] @ (w * mask[n]) / keep_prob + b.":
                    np.einsum("nd,ndm->nm", xf, w * mask) + b,
                "the bias is not dropped and not rescaled: add b after dividing by keep_prob.":
                    (np.einsum("nd,ndm->nm", xf, w * mask) + b) / keep,
                CONVENTION + " (Here: you divided by 1 - keep_prob.)": np.einsum("nd,ndm->nm", xf, w * mask)
                / (1 - keep) + b,
                "each example uses its own mask: out[n] = x[n] @ (w * mask[n]); example n must not use mask[0].":
                    xf @ (w * mask[0]) / keep + b,
            }
            _matches(got[0], expected, case=case, what="out", label=label, mistakes=mistakes,
                     hint="out[n] = x[n] @ (w * mask[n]) / keep_prob + b (np.einsum('nd,ndm->nm', ...)).")
            n += 1
    # statistics: the average over many examples of the same input approaches the full layer's output
    rng = np.random.default_rng(99)
    x1, w, b = rng.normal(size=5), rng.normal(size=(5, 3)), rng.normal(size=3)
    case = "statistics: the same x (5,) in 4000 rows, w (5, 3), keep_prob 0.5, seed 98"
    got = unpack_results(call(fn, np.tile(x1, (4000, 1)), w, b, 0.5, np.random.default_rng(98), case=case),
                       ("out", "mask"), case=case)
    out = to_array(got[0], case=case, what="out")
    if out.shape != (4000, 3):
        raise CheckFailed(f"failed on case {case}:\n  expected out of shape (4000, 3), got {out.shape}")
    if np.allclose(out, out[0]):
        raise CheckFailed(f"failed on case {case}:\n  every example got the same output\n  hint: one mask is "
                          "shared by the whole batch: DropConnect draws a new mask on w for every example.")
    scale = 1 + np.abs(x1 @ w + b).max()
    if not np.allclose(out.mean(axis=0), x1 @ w + b, atol=0.15 * scale):
        raise CheckFailed(f"failed on case {case}:\n  the mean output over the 4000 examples should be close "
                          f"to x @ w + b = {np.round(x1 @ w + b, 3)}, got {np.round(out.mean(axis=0), 3)}\n"
                          "  hint: divide by keep_prob (inverted DropConnect keeps the expected output).")
    return f"{n} cases: exact masks per example, and the mean over 4000 examples"


# ================================================================================================ L2
L2_CASES = [((3, 4), 0.1), ((2, 3, 3, 3), 0.01), ((5,), 0.5), ((6, 2), 1.0), ((4, 3, 2, 2), 0.05)]


def _torch_l2(dw, w, wd):
    wt = _t(w, True)
    ((_t(dw) * wt).sum() + wd / 2 * (wt ** 2).sum()).backward()
    # the same as one step of torch.optim.SGD(weight_decay=wd) with lr = 1: w - (dw + wd * w)
    ws = torch.nn.Parameter(_t(w))
    opt = torch.optim.SGD([ws], lr=1.0, weight_decay=wd)
    ws.grad = _t(dw)
    opt.step()
    if not torch.allclose(_t(w) - ws.detach(), wt.grad):   # pragma: no cover - guard on the convention
        raise RuntimeError("torch.optim.SGD's weight_decay does not add weight_decay * w")
    return wt.grad.numpy()


implemented_by("reg.l2_gradient", "utils.checks.ch07_dropout_and_regularization._torch_l2")


@register("reg.l2_gradient")
def check_l2(answer) -> str:
    fn = require_callable(answer, "l2_gradient(dw, w, weight_decay)")
    n = 0
    for shape, wd in L2_CASES:
        r = np.random.default_rng(len(shape) * 10 + int(wd * 100))
        dw, base = r.normal(size=shape), r.normal(size=shape)
        for label, w in array_variants(base):
            wf = np.asarray(w, dtype=np.float64)
            case = f"w {shape} ({label}), weight_decay {wd}"
            got = call(fn, dw, w, wd, case=case)
            require_float(got, case=case)
            mistakes = lambda: {
                "the penalty (weight_decay / 2) * sum(w**2) has gradient weight_decay * w: the 1/2 cancels the 2 "
                "of the square; you used weight_decay / 2.": dw + wd / 2 * wf,
                "the 1/2 in (weight_decay / 2) * sum(w**2) cancels the 2: the term is weight_decay * w, not "
                "2 * weight_decay * w.": dw + 2 * wd * wf,
                "the penalty adds to the loss, so its gradient is ADDED: dw + weight_decay * w.": dw - wd * wf,
                "keep the loss's own gradient: return dw + weight_decay * w, not the penalty's gradient alone.": wd * wf,
                "the gradient is dw + weight_decay * w (an extra term), not dw scaled by (1 + weight_decay).":
                    dw * (1 + wd),
            }
            _matches(got, _torch_l2(dw, wf, wd), case=case, label=label, mistakes=mistakes,
                     hint="the gradient of L + (weight_decay / 2) * sum(w**2) is dw + weight_decay * w.")
            n += 1
    return f"{n} cases against autograd and torch.optim.SGD(weight_decay=...)"


# ============================================================================================ max-norm
def _max_norm_cases():
    cases = []
    w = np.array([[3.0, 0.1, 1.0], [4.0, 0.2, -1.0], [0.0, -0.3, 1.0], [1.0, 0.1, 0.5]])   # column norms 5.1, .39, 1.8
    cases.append(("dense w (D, M) = (4, 3), one column inside the ball", w, 1.0))
    r = np.random.default_rng(40)
    cases.append(("dense w (6, 5)", r.normal(size=(6, 5)) * np.array([0.4, 1, 2, 0.5, 3]), 1.5))
    cases.append(("dense w (3, 7)", r.normal(size=(3, 7)) * np.linspace(0.2, 2, 7), 1.0))
    cases.append(("dense w (8, 2), every column too long", r.normal(size=(8, 2)) + 2, 0.5))
    cases.append(("conv w (K, C, F_h, F_w) = (4, 3, 3, 2)", r.normal(size=(4, 3, 3, 2)) * np.array([0.4, 1, 0.5, 2])[:, None, None, None], 1.2))
    cases.append(("conv w (2, 2, 3, 3)", r.normal(size=(2, 2, 3, 3)), 2.0))
    for _, w, _ in cases:   # no unit without weights in any variant (its norm 0 would make c / norm infinite)
        assert np.all(np.abs(np.rint(3 * w)).reshape(len(w), -1).sum(1) > 0) and np.all(np.abs(np.rint(3 * w)).sum(0) > 0)
    return cases


def _renorm(w, c):
    return torch.renorm(_t(w), 2, 1 if w.ndim == 2 else 0, c).numpy()


def _max_norm_mistakes(w, c):
    def per(norms):
        return w * np.minimum(1.0, c / np.maximum(norms, 1e-300))
    if w.ndim == 2:
        rows = np.linalg.norm(w, axis=1, keepdims=True)
        cols = np.linalg.norm(w, axis=0, keepdims=True)
    else:
        flat = w.reshape(w.shape[0], w.shape[1], -1)
        rows = np.linalg.norm(flat, axis=(0, 2))[None, :, None, None]   # across filters, per input channel
        cols = np.linalg.norm(w.reshape(len(w), -1), axis=1).reshape(-1, 1, 1, 1)
    return {
        "max-norm constrains each unit's INCOMING weights: for a dense layer out = x @ w with w (D, M) that is "
        "the column w[:, j] (norm over axis 0), for a convolution the filter w[k]; you normalised rows.": per(rows),
        "the constraint is per unit, not on the whole weight array: compute one norm per unit.":
            per(np.linalg.norm(w)),
        "a projection leaves vectors already inside the ball alone: scale only the units whose norm exceeds c "
        "(factor min(1, c / norm)).": w * c / cols,
        "project the whole vector, do not clip its entries: w_j * min(1, c / ||w_j||).": np.clip(w, -c, c),
    }


@register("reg.max_norm")
def check_max_norm(answer) -> str:
    fn = require_callable(answer, "max_norm(w, c)")
    n = 0
    for name, base, c in _max_norm_cases():
        for label, w in array_variants(base):
            wf = np.asarray(w, dtype=np.float64)
            case = f"{name} ({label}), c {c}"
            got = call(fn, w, c, case=case)
            require_float(got, case=case)
            _matches(got, _renorm(wf, c), case=case, label=label, mistakes=lambda: _max_norm_mistakes(wf, c),
                     hint="scale each unit's incoming weight vector by min(1, c / its norm).")
            n += 1
    return f"{n} cases against torch.renorm"


# ================================================================================================ NWGM
SUBNET_CASES = [(1, 0.5, 0.3), (2, 0.8, -0.2), (3, 0.5, 0.0), (4, 0.7, 0.5), (5, 0.6, -1.0), (3, 0.25, 1.5)]


def _subnets(x, w, b, p, *, swap=False, little=False, inverted=False, sigmoid=True):
    n = len(x)
    masks = np.array(list(itertools.product((0, 1), repeat=n)), dtype=float)
    if little:
        masks = masks[:, ::-1]
    keep = 1 - p if swap else p
    P = np.prod(np.where(masks == 1, keep, 1 - keep), axis=1)
    S = b + masks @ (np.asarray(w, float) * np.asarray(x, float)) / (p if inverted else 1)
    O = 1 / (1 + np.exp(-S)) if sigmoid else S
    return P, S, O


implemented_by("dropout.subnetworks", "utils.checks.ch07_dropout_and_regularization._subnets")


@register("dropout.subnetworks")
def check_subnetworks(answer) -> str:
    fn = require_callable(answer, "subnetworks(x, w, b, keep_prob)")
    count = 0
    for n, p, b in SUBNET_CASES:
        r = np.random.default_rng(80 + n)
        base, w = r.normal(size=n), r.normal(size=n)
        base[base == 0] = 0.5
        for label, x in array_variants(base):
            xf = np.asarray(x, dtype=np.float64)
            case = f"n = {n} inputs ({label}), keep_prob {p}, b {b}"
            got = call(fn, x, w, b, p, case=case)
            got = unpack_results(got, ("P", "S", "O"), case=case)
            # the reference, written differently: bit k of mask index m (most significant first) keeps input k
            m = np.arange(2 ** n)[:, None] >> np.arange(n - 1, -1, -1)[None, :] & 1
            P = p ** m.sum(1) * (1 - p) ** (n - m.sum(1))
            S = b + (m * (w * xf)).sum(1)
            O = 1 / (1 + np.exp(-S))
            for what, g, e, key in (("P", got[0], P, "P"), ("S", got[1], S, "S"), ("O", got[2], O, "O")):
                mistakes = lambda key=key: {
                    CONVENTION.replace("and divide the kept values by keep_prob", "so P = keep_prob**kept * "
                                       "(1 - keep_prob)**dropped"): _subnets(xf, w, b, p, swap=True)[ "PSO".index(key)],
                    "order the 2**n masks as itertools.product((0, 1), repeat=n): the FIRST input is the most "
                    "significant bit (mask 1 = only the last input kept).": _subnets(xf, w, b, p, little=True)["PSO".index(key)],
                    "no rescaling here: the seed's thinned unit computes S = b + sum of the kept w_i x_i (the "
                    "1/keep_prob of inverted dropout is a separate convention).":
                        _subnets(xf, w, b, p, inverted=True)["PSO".index(key)],
                    "O is the logistic unit's output, O = 1 / (1 + exp(-S)).": S if key == "O" else None,
                }
                _matches(g, e, case=case, what=what, label=label, mistakes=mistakes,
                         hint="P[m] = prod of keep_prob (kept) or 1 - keep_prob (dropped); S[m] = b + sum over the "
                              "kept inputs of w_i x_i; O = sigmoid(S).")
            count += 1
    return f"{count} units, all 2**n sub-networks each"


def _nwgm_cases():
    cases = []
    for n, p, b in SUBNET_CASES[1:]:
        r = np.random.default_rng(90 + n)
        x, w = r.normal(size=n), 2 * r.normal(size=n)
        P, S, O = _subnets(x, w, b, p)
        # for a logistic unit NWGM = f(E[S]) with E[S] = b + keep_prob * sum w_i x_i (the seed's identity)
        cases.append((f"a logistic unit, n = {n}, keep_prob {p}", P, O, 1 / (1 + np.exp(-(b + p * w @ x)))))
    r = np.random.default_rng(95)
    for m in (3, 6, 10):
        P = r.dirichlet(np.ones(m))
        O = r.uniform(0.05, 0.95, size=m)
        G, Gc = np.prod(O ** P), np.prod((1 - O) ** P)
        cases.append((f"arbitrary P (m = {m}, summing to 1) and O in (0, 1)", P, O, G / (G + Gc)))
    return cases


@register("dropout.nwgm")
def check_nwgm(answer) -> str:
    fn = require_callable(answer, "nwgm(P, O)")
    for name, P, O, expected in _nwgm_cases():
        for label, o in (("float64", O), ("non-contiguous", array_variants(O)[3][1])):
            case = f"{name} ({label} O)"
            got = call(fn, P, o, case=case)
            if isinstance(got, (tuple, list)) or np.ndim(got) != 0:
                raise CheckFailed(f"failed on case {case}:\n  expected one number, got {type(got).__name__} of shape "
                                  f"{np.shape(got)}\n  hint: return G / (G + G') as a float.")
            G, Gc = np.prod(O ** P), np.prod((1 - O) ** P)
            mistakes = {
                "that is the arithmetic mean sum(P * O); the NWGM uses the weighted GEOMETRIC means G = prod(O**P) "
                "and G' = prod((1 - O)**P), then G / (G + G').": float(P @ O),
                "normalise: NWGM = G / (G + G'), with G' = prod((1 - O)**P), the geometric mean of the complements.": G,
                "weight each sub-network by its probability: G = prod(O**P), not the plain geometric mean.":
                    np.prod(O) ** (1 / len(O)) / (np.prod(O) ** (1 / len(O)) + np.prod(1 - O) ** (1 / len(O))),
            }
            _matches(got, expected, case=case, what="the NWGM", mistakes=mistakes,
                     hint="G = prod(O**P), G' = prod((1 - O)**P), NWGM = G / (G + G').")
    return f"{2 * len(_nwgm_cases())} cases: f(E[S]) for logistic units, the closed form otherwise"


# ========================================================================================== references
@reference("dropout.forward")
def _dropout_forward_reference(x, keep_prob, train, rng):
    out, cache = _dropout_forward_layer(x, keep_prob, train, rng)
    return out, cache["mask"]


@reference("dropout.backward")
def _dropout_backward_reference(dout, mask, keep_prob):
    dout = np.asarray(dout, dtype=np.float64)
    return dout.copy() if mask is None else dout * mask / keep_prob


@reference("dropout.spatial")
def _spatial_reference(x, keep_prob, train, rng):
    out, cache = _spatial_layer(x, keep_prob, train, rng)
    return out, cache["mask"]


@reference("dropout.dropconnect")
def _dropconnect_reference(x, w, b, keep_prob, rng):
    return dropconnect_dense_forward(x, w, b, keep_prob, rng)


reference("reg.l2_gradient")(_l2_ref)
reference("reg.max_norm")(_max_norm_ref)


@reference("dropout.subnetworks")
def _subnetworks_reference(x, w, b, keep_prob):
    return _subnets(np.asarray(x, float), np.asarray(w, float), b, keep_prob)


@reference("dropout.nwgm")
def _nwgm_reference(P, O):
    G, Gc = np.prod(np.asarray(O, float) ** P), np.prod((1 - np.asarray(O, float)) ** P)
    return float(G / (G + Gc))
