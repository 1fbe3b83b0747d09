"""Mutation tests of the chapter 07 checks: the solutions pass, "not implemented" is recognised, and every
planted bug is rejected with the hint written for it (keep and drop swapped, no rescaling or rescaling at
train and test, a new mask drawn in the backward pass, one mask shared by the whole batch, dropout active in
eval mode, max-norm on rows instead of each unit's incoming weights, the NWGM as an arithmetic mean, ...)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from utils.checks import FAILED, NOT_ATTEMPTED, PASSED, get_reference, run_check, yours_or_reference
from tests.checks.mutants import assert_rejected, partly_written


def _not_implemented(*args, **kwargs):
    raise NotImplementedError()


# ----------------------------------------------------------------------------- solutions (as a student writes them)
def _dropout(x, keep_prob, train, rng, *, keep=None, shared=False, scale="divide", eval_scale=None,
             eval_active=False, drop_mask=False, compare="<"):
    x = np.asarray(x, dtype=float)
    k = keep_prob if keep is None else keep
    if not train and not eval_active:
        return (x if eval_scale is None else x * eval_scale), None
    shape = x.shape[1:] if shared else x.shape
    u = rng.random(shape)
    mask = u < k if compare == "<" else u > k
    mask = np.broadcast_to(mask, x.shape)
    factor = {"divide": 1 / keep_prob, "none": 1.0, "multiply": keep_prob, "drop": 1 / (1 - keep_prob)
              if keep_prob < 1 else 1.0}[scale]
    out = x * mask * factor
    return out, ((~mask) if drop_mask else mask) if train else None


def dropout_forward(x, keep_prob, train, rng):
    return _dropout(x, keep_prob, train, rng)


def dropout_backward(dout, mask, keep_prob):
    dout = np.asarray(dout, dtype=float)
    if mask is None:
        return dout
    return dout * mask / keep_prob


def _spatial(x, keep_prob, train, rng, *, elementwise=False, shared=False, keep=None, scale=True,
             eval_active=False):
    x = np.asarray(x, dtype=float)
    if not train and not eval_active:
        return x, None
    N, C = x.shape[:2]
    k = keep_prob if keep is None else keep
    if elementwise:
        mask = rng.random(x.shape) < k
        return x * mask / keep_prob, mask
    mask = np.broadcast_to(rng.random(C) < k, (N, C)) if shared else rng.random((N, C)) < k
    out = x * mask[:, :, None, None] / (keep_prob if scale else 1)
    return out, mask if train else None


def spatial_dropout(x, keep_prob, train, rng):
    return _spatial(x, keep_prob, train, rng)


def _dropconnect(x, w, b, keep_prob, rng, *, shared=False, inputs=False, scale=True, bias_scaled=False,
                 keep=None, first_mask=False):
    x = np.asarray(x, dtype=float)
    k = keep_prob if keep is None else keep
    if inputs:
        mask = rng.random(x.shape) < k
        return (x * mask) @ w / keep_prob + b, mask
    if shared:
        mask = rng.random(w.shape) < k
        return x @ (w * mask) / keep_prob + b, mask
    mask = rng.random((len(x),) + w.shape) < k
    if first_mask:
        return x @ (w * mask[0]) / keep_prob + b, mask
    z = np.einsum("nd,ndm->nm", x, w * mask)
    if bias_scaled:
        return (z + b) / keep_prob, mask
    return (z / keep_prob if scale else z) + b, mask


def dropconnect_forward(x, w, b, keep_prob, rng):
    return _dropconnect(x, w, b, keep_prob, rng)


def l2_gradient(dw, w, weight_decay):
    return dw + weight_decay * np.asarray(w, dtype=float)


def _max_norm(w, c, *, axis="unit", always=False, clip=False):
    w = np.asarray(w, dtype=float)
    if clip:
        return np.clip(w, -c, c)
    if axis == "unit":
        norms = (np.linalg.norm(w, axis=0, keepdims=True) if w.ndim == 2
                 else np.linalg.norm(w.reshape(len(w), -1), axis=1).reshape(-1, 1, 1, 1))
    elif axis == "rows":
        norms = (np.linalg.norm(w, axis=1, keepdims=True) if w.ndim == 2
                 else np.sqrt((w ** 2).sum(axis=(0, 2, 3), keepdims=True)))
    else:
        norms = np.linalg.norm(w)
    return w * (c / norms if always else np.minimum(1, c / norms))


def max_norm(w, c):
    return _max_norm(w, c)


def _subnetworks(x, w, b, keep_prob, *, swap=False, little=False, inverted=False, sigmoid=True):
    n = len(x)
    masks = np.array(list(itertools.product((0, 1), repeat=n)))
    if little:
        masks = masks[:, ::-1]
    p = 1 - keep_prob if swap else keep_prob
    P = np.prod(np.where(masks == 1, p, 1 - p), axis=1)
    S = b + masks @ (np.asarray(w, float) * np.asarray(x, float)) / (keep_prob if inverted else 1)
    return P, S, (1 / (1 + np.exp(-S)) if sigmoid else S)


def subnetworks(x, w, b, keep_prob):
    return _subnetworks(x, w, b, keep_prob)


def nwgm(P, O):
    G = np.prod(O ** P)
    G_c = np.prod((1 - O) ** P)
    return float(G / (G + G_c))


SOLUTIONS = {
    "dropout.forward": dropout_forward,
    "dropout.backward": dropout_backward,
    "dropout.spatial": spatial_dropout,
    "dropout.dropconnect": dropconnect_forward,
    "reg.l2_gradient": l2_gradient,
    "reg.max_norm": max_norm,
    "dropout.subnetworks": subnetworks,
    "dropout.nwgm": nwgm,
}


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_solution_passes(exercise_id):
    result = run_check(exercise_id, SOLUTIONS[exercise_id])
    assert result.status == PASSED, result.message


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_not_implemented_is_not_attempted(exercise_id):
    assert run_check(exercise_id, _not_implemented).status == NOT_ATTEMPTED
    assert run_check(exercise_id, ...).status == NOT_ATTEMPTED


@pytest.mark.parametrize("exercise_id", sorted(SOLUTIONS))
def test_the_registered_reference_passes_its_check(exercise_id):
    result = run_check(exercise_id, get_reference(exercise_id))
    assert result.status == PASSED, result.message


# ----------------------------------------------------------------------------- mutants: dropout forward
def _fwd(**bug):
    return lambda x, keep_prob, train, rng: _dropout(x, keep_prob, train, rng, **bug)


def _binomial(x, keep_prob, train, rng):
    x = np.asarray(x, dtype=float)
    if not train:
        return x, None
    mask = rng.binomial(1, keep_prob, size=x.shape).astype(bool)
    return x * mask / keep_prob, mask


def _global_rng(x, keep_prob, train, rng):
    return _dropout(x, keep_prob, train, np.random.default_rng(12345))


def _integer_out(x, keep_prob, train, rng):
    out, mask = _dropout(x, keep_prob, train, rng)
    return out.astype(np.asarray(x).dtype), mask


FORWARD_MUTANTS = {
    "keep and drop swapped": (_fwd(keep=None, compare=">"), "PyTorch's drop convention"),
    "keep_prob used as the drop probability (mask and scale)": (
        lambda x, p, t, r: _dropout(x, p, t, r, keep=1 - p, scale="drop"), "PyTorch's p in F.dropout"),
    "no rescaling": (_fwd(scale="none"), "you did not rescale"),
    "multiplied by keep_prob at training time": (_fwd(scale="multiply"), "do not multiply"),
    "rescaled at train and test": (_fwd(eval_scale="keep"), "rescaling at both train and test"),
    "divided by 1 - keep_prob": (_fwd(scale="drop"), "you divided by 1 - keep_prob"),
    "one mask shared by the whole batch": (_fwd(shared=True), "shared by the whole batch"),
    "dropout active in eval mode": (_fwd(eval_active=True), "dropout is active in eval mode"),
    "mask True where dropped": (_fwd(drop_mask=True), "True where a unit is KEPT"),
    "coins from rng.binomial": (_binomial, "rng.random("),
    "its own generator instead of rng": (_global_rng, "exactly one call"),
    "integer out for integer x": (_integer_out, "floating-point"),
    "returns out only": (lambda x, p, t, r: _dropout(x, p, t, r)[0], "expected a tuple (out, mask)"),
    "eval mode returns a mask": (lambda x, p, t, r: (np.asarray(x, float), np.ones(np.shape(x), bool)) if not t
                                 else _dropout(x, p, t, r), "the mask should be None"),
}
FORWARD_MUTANTS["rescaled at train and test"] = (
    lambda x, p, t, r: _dropout(x, p, t, r, eval_scale=p), "rescaling at both train and test")


@pytest.mark.parametrize("name", sorted(FORWARD_MUTANTS))
def test_dropout_forward_mutants_rejected(name):
    mutant, hint = FORWARD_MUTANTS[name]
    assert_rejected("dropout.forward", mutant, hint)


def test_the_drop_convention_is_named():
    message = assert_rejected("dropout.forward", lambda x, p, t, r: _dropout(x, p, t, r, keep=1 - p), "PyTorch")
    assert "probability of KEEPING" in message


def test_the_statistics_of_a_large_draw_can_fail():
    # right on the small exact cases, wrong on large arrays: the statistics case catches it
    def drop_convention_when_large(x, p, t, r):
        return _dropout(x, p, t, r, keep=1 - p if np.size(x) > 10000 else None)
    message = assert_rejected("dropout.forward", drop_convention_when_large, "probability of KEEPING")
    assert "statistics" in message

    def not_rescaled_when_large(x, p, t, r):
        return _dropout(x, p, t, r, scale="none" if np.size(x) > 10000 else "divide")
    assert "statistics" in assert_rejected("dropout.forward", not_rescaled_when_large, "divide the kept values")


def test_the_dropconnect_statistics_can_fail():
    def shared_when_large(x, w, b, p, r):
        return _dropconnect(x, w, b, p, r, first_mask=len(x) > 100)
    assert "every example got the same output" in assert_rejected("dropout.dropconnect", shared_when_large, "shared")


# ----------------------------------------------------------------------------- mutants: dropout backward
def _new_mask_backward(dout, mask, keep_prob):
    if mask is None:
        return np.asarray(dout, float)
    return np.asarray(dout, float) * (np.random.default_rng(7).random(np.shape(dout)) < keep_prob) / keep_prob


BACKWARD_MUTANTS = {
    "a new mask drawn in the backward pass": (_new_mask_backward, "never draw a new one in the backward pass"),
    "no rescaling": (lambda d, m, p: np.asarray(d, float) * (1 if m is None else m), "divides by keep_prob in the "
                     "backward pass too"),
    "multiplied by keep_prob": (lambda d, m, p: np.asarray(d, float) * (1 if m is None else m * p), "do not multiply"),
    "keep and drop swapped": (lambda d, m, p: np.asarray(d, float) * (1 if m is None else m / (1 - p)) if p < 1
                              else np.asarray(d, float) * (1 if m is None else m), "you divided by 1 - keep_prob"),
    "mask inverted": (lambda d, m, p: np.asarray(d, float) * (1 if m is None else ~m / p), "not by ~mask"),
    "mask ignored": (lambda d, m, p: np.asarray(d, float) / p, "multiply by the mask"),
    "eval mode divides by keep_prob": (lambda d, m, p: np.asarray(d, float) / p if m is None
                                       else dropout_backward(d, m, p), "the layer is the identity"),
    "integer dx for an integer dout": (lambda d, m, p: dropout_backward(d, m, p).astype(np.asarray(d).dtype),
                                       "floating-point"),
}


@pytest.mark.parametrize("name", sorted(BACKWARD_MUTANTS))
def test_dropout_backward_mutants_rejected(name):
    mutant, hint = BACKWARD_MUTANTS[name]
    assert_rejected("dropout.backward", mutant, hint)


# ----------------------------------------------------------------------------- mutants: spatial dropout
def _sp(**bug):
    return lambda x, keep_prob, train, rng: _spatial(x, keep_prob, train, rng, **bug)


SPATIAL_MUTANTS = {
    "element-wise mask": (_sp(elementwise=True), "whole channels"),
    "one channel mask shared by the whole batch": (_sp(shared=True), "shared by the whole batch"),
    "keep and drop swapped": (lambda x, p, t, r: _spatial(x, p, t, r, keep=1 - p), "PyTorch's p in F.dropout"),
    "no rescaling": (_sp(scale=False), "you did not rescale"),
    "dropout active in eval mode": (_sp(eval_active=True), "dropout is active in eval mode"),
    "mask (N, C, 1, 1) but H and W dropped too": (
        lambda x, p, t, r: _dropout(x, p, t, r), "whole channels"),
}


@pytest.mark.parametrize("name", sorted(SPATIAL_MUTANTS))
def test_spatial_dropout_mutants_rejected(name):
    mutant, hint = SPATIAL_MUTANTS[name]
    assert_rejected("dropout.spatial", mutant, hint)


def test_spatial_accepts_a_mask_of_shape_n_c_1_1():
    def four_d(x, p, t, r):
        out, mask = spatial_dropout(x, p, t, r)
        return out, None if mask is None else mask[:, :, None, None]
    assert run_check("dropout.spatial", four_d).status == PASSED


# ----------------------------------------------------------------------------- mutants: DropConnect
def _dc(**bug):
    return lambda x, w, b, keep_prob, rng: _dropconnect(x, w, b, keep_prob, rng, **bug)


DROPCONNECT_MUTANTS = {
    "one mask shared by the whole batch": (_dc(shared=True), "shared by the whole batch"),
    "inputs dropped (dropout)": (_dc(inputs=True), "which is dropout"),
    "no rescaling": (_dc(scale=False), "divide by keep_prob"),
    "bias rescaled": (_dc(bias_scaled=True), "the bias is not dropped"),
    "keep and drop swapped": (lambda x, w, b, p, r: _dropconnect(x, w, b, p, r, keep=1 - p), "PyTorch's p"),
    "every example uses mask[0]": (_dc(first_mask=True), "each example uses its own mask"),
}


@pytest.mark.parametrize("name", sorted(DROPCONNECT_MUTANTS))
def test_dropconnect_mutants_rejected(name):
    mutant, hint = DROPCONNECT_MUTANTS[name]
    assert_rejected("dropout.dropconnect", mutant, hint)


# ----------------------------------------------------------------------------- mutants: L2, max-norm
L2_MUTANTS = {
    "weight_decay / 2": (lambda dw, w, wd: dw + wd / 2 * np.asarray(w, float), "you used weight_decay / 2"),
    "2 * weight_decay": (lambda dw, w, wd: dw + 2 * wd * np.asarray(w, float), "not 2 * weight_decay * w"),
    "sign reversed": (lambda dw, w, wd: dw - wd * np.asarray(w, float), "its gradient is ADDED"),
    "penalty alone": (lambda dw, w, wd: wd * np.asarray(w, float), "keep the loss's own gradient"),
    "dw scaled": (lambda dw, w, wd: dw * (1 + wd), "not dw scaled"),
    "integer result": (lambda dw, w, wd: l2_gradient(dw, w, wd).astype(np.asarray(w).dtype), "floating-point"),
}


@pytest.mark.parametrize("name", sorted(L2_MUTANTS))
def test_l2_mutants_rejected(name):
    mutant, hint = L2_MUTANTS[name]
    assert_rejected("reg.l2_gradient", mutant, hint)


MAX_NORM_MUTANTS = {
    "rows instead of each unit's incoming weights": (lambda w, c: _max_norm(w, c, axis="rows"),
                                                     "you normalised rows"),
    "one norm for the whole array": (lambda w, c: _max_norm(w, c, axis="all"), "not on the whole weight array"),
    "every unit scaled to norm c": (lambda w, c: _max_norm(w, c, always=True), "leaves vectors already inside"),
    "entries clipped": (lambda w, c: _max_norm(w, c, clip=True), "do not clip its entries"),
    "in place": (lambda w, c: np.multiply(w, np.minimum(1, c / np.linalg.norm(w.reshape(len(w), -1), axis=1)).reshape(
        (-1,) + (1,) * (w.ndim - 1)), out=w) if w.ndim == 4 else np.multiply(w, np.minimum(1, c / np.linalg.norm(
            w, axis=0)), out=w, casting="unsafe"), "in place"),
}


@pytest.mark.parametrize("name", sorted(MAX_NORM_MUTANTS))
def test_max_norm_mutants_rejected(name):
    mutant, hint = MAX_NORM_MUTANTS[name]
    assert_rejected("reg.max_norm", mutant, hint)


# ----------------------------------------------------------------------------- mutants: sub-networks, NWGM
def _sub(**bug):
    return lambda x, w, b, p: _subnetworks(x, w, b, p, **bug)


SUBNET_MUTANTS = {
    "keep and drop swapped": (_sub(swap=True), "probability of KEEPING"),
    "masks in little-endian order": (_sub(little=True), "most significant bit"),
    "inverted-dropout rescaling": (_sub(inverted=True), "no rescaling here"),
    "no sigmoid": (_sub(sigmoid=False), "O = 1 / (1 + exp(-S))"),
    "returns P and O only": (lambda x, w, b, p: subnetworks(x, w, b, p)[::2], "expected a tuple (P, S, O)"),
}


@pytest.mark.parametrize("name", sorted(SUBNET_MUTANTS))
def test_subnetworks_mutants_rejected(name):
    mutant, hint = SUBNET_MUTANTS[name]
    assert_rejected("dropout.subnetworks", mutant, hint)


NWGM_MUTANTS = {
    "arithmetic mean": (lambda P, O: float(np.sum(P * O)), "that is the arithmetic mean"),
    "G without normalisation": (lambda P, O: float(np.prod(O ** P)), "normalise"),
    "unweighted geometric mean": (lambda P, O: nwgm(np.full(len(O), 1 / len(O)), O), "weight each sub-network"),
    "returns G and G'": (lambda P, O: (np.prod(O ** P), np.prod((1 - O) ** P)), "expected one number"),
}


@pytest.mark.parametrize("name", sorted(NWGM_MUTANTS))
def test_nwgm_mutants_rejected(name):
    mutant, hint = NWGM_MUTANTS[name]
    assert_rejected("dropout.nwgm", mutant, hint)


# ----------------------------------------------------------------------------- partly written, demonstrations
PARTLY_WRITTEN = {
    "dropout.forward": partly_written(dropout_forward, lambda x, p, t, r: not t),
    "dropout.backward": partly_written(dropout_backward, lambda d, m, p: m is None),
    "dropout.spatial": partly_written(spatial_dropout, lambda x, p, t, r: x.shape[1] > 4),
    "dropout.dropconnect": partly_written(dropconnect_forward, lambda x, w, b, p, r: w.shape[1] > 5),
    "reg.l2_gradient": partly_written(l2_gradient, lambda dw, w, wd: np.ndim(w) == 4),
    "reg.max_norm": partly_written(max_norm, lambda w, c: np.ndim(w) == 4),
    "dropout.subnetworks": partly_written(subnetworks, lambda x, w, b, p: len(x) > 3),
    "dropout.nwgm": partly_written(nwgm, lambda P, O: len(P) == 10),
}


@pytest.mark.parametrize("exercise_id", sorted(PARTLY_WRITTEN))
def test_a_partly_written_answer_fails(exercise_id):
    result = run_check(exercise_id, PARTLY_WRITTEN[exercise_id])
    assert result.status == FAILED, result.message
    assert "partly written" in result.message and "failed on case" in result.message


def test_a_demonstration_uses_the_reference_until_the_answer_passes(capsys):
    ref = get_reference("dropout.forward")
    assert yours_or_reference("dropout.forward", _not_implemented, "dropout_forward") is ref
    assert "not written yet" in capsys.readouterr().out
    assert yours_or_reference("dropout.forward", _fwd(scale="none"), "dropout_forward") is ref
    assert "does not pass its check" in capsys.readouterr().out
    assert yours_or_reference("dropout.forward", dropout_forward) is dropout_forward
    assert "using your dropout_forward" in capsys.readouterr().out
