"""The checks API: verdict lines, not-attempted handling, failure messages and the comparison helpers."""

import numpy as np
import pytest
import torch

from utils.checks import (FAILED, NOT_ATTEMPTED, PASSED, CheckFailed, check, get_check, reference, register,
                          registered_ids, run_check)
from utils.checks.compare import assert_array_matches, assert_equal, call, to_array


def test_pass_prints_one_line(capsys):
    check("warmup.n_outputs", lambda n, k: n - k + 1)
    out = capsys.readouterr().out
    assert out == "\u2714 warmup.n_outputs passed (436 cases)\n"


def test_not_attempted_prints_guidance_without_raising(capsys):
    def answer(n, k):
        raise NotImplementedError()

    check("warmup.n_outputs", answer)
    out = capsys.readouterr().out
    assert "not implemented yet" in out and "raise NotImplementedError()" in out
    assert out.count("\n") == 1


def test_failure_raises_assertion_error_with_the_id():
    with pytest.raises(CheckFailed) as error:
        check("warmup.n_outputs", lambda n, k: n - k)
    assert isinstance(error.value, AssertionError)
    assert str(error.value).startswith("warmup.n_outputs failed on case n=5, k=3")


def test_unknown_id_is_a_clear_error():
    with pytest.raises(KeyError, match="no check is registered for exercise id 'nope.nothing'"):
        run_check("nope.nothing", 1)


def test_registering_two_checks_for_one_id_fails():
    from utils.checks.core import _REGISTRY

    def first(answer):
        return ""

    def second(answer):
        return ""

    try:
        register("test.only_once")(first)
        register("test.only_once")(first)  # the same function again is harmless
        with pytest.raises(ValueError, match="two checks"):
            register("test.only_once")(second)
    finally:
        _REGISTRY.pop("test.only_once", None)


def test_registered_ids_include_every_chapter_module():
    ids = registered_ids()
    assert {"warmup.n_outputs", "warmup.slide", "warmup.layer"} <= set(ids)
    assert callable(get_check("warmup.slide"))


def test_student_exception_becomes_a_failed_verdict():
    result = run_check("warmup.slide", lambda x, w: 1 / 0)
    assert result.status == FAILED
    assert "ZeroDivisionError" in result.message


def test_call_copies_arrays_and_reports_answers_that_change_their_input():
    x = np.arange(3.0)

    def mutating(a):
        a[:] = 0
        return a

    with pytest.raises(CheckFailed, match="changed its argument number 1 in place"):
        call(mutating, x, case="c")
    assert x.tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(CheckFailed, match="changed its argument 'w' in place"):
        call(lambda w: w.mul_(2), w=torch.ones(2), case="c")
    assert call(lambda a: a * 2, x, case="c").tolist() == [0.0, 2.0, 4.0]
    layers = [(3, 1), (3, 2)]
    with pytest.raises(CheckFailed, match="changed its argument number 1 in place"):
        call(lambda stack: stack.pop(), layers, case="c")
    assert layers == [(3, 1), (3, 2)]

@pytest.mark.parametrize("value", [np.array([1.0, 2.0]), torch.tensor([1.0, 2.0]),
                                  np.array([1, 2]), torch.tensor([1.0, 2.0], requires_grad=True)])
def test_to_array_accepts_numpy_and_torch(value):
    assert to_array(value, case="c").tolist() == [1.0, 2.0]


@pytest.mark.parametrize("value, words", [(None, "return"), ("12", "numpy array"), ([1.0, 2.0], "Python list; return a numpy array"),
                                          (np.array(["a"]), "dtype"), (np.array([1j]), "complex"),
                                          ({"a": 1}, "dict")])
def test_to_array_rejects_non_numbers_clearly(value, words):
    with pytest.raises(CheckFailed, match=words):
        to_array(value, case="c")


def test_assert_array_matches_reports_shape_first():
    with pytest.raises(CheckFailed, match=r"expected shape \(2, 3\), got \(3, 2\)"):
        assert_array_matches(np.zeros((3, 2)), np.zeros((2, 3)), case="c")


def test_assert_array_matches_compares_every_entry_not_a_summary():
    expected = np.array([1.0, -1.0, 2.0, -2.0])
    permuted = np.array([-1.0, 1.0, 2.0, -2.0])  # same sum, same mean, same norm
    with pytest.raises(CheckFailed, match="2 of 4 entries differ"):
        assert_array_matches(permuted, expected, case="c")


def test_assert_array_matches_rejects_nan():
    with pytest.raises(CheckFailed):
        assert_array_matches(np.array([np.nan]), np.array([np.nan]), case="c")


def test_known_mistake_hint_wins_over_generic_hint():
    with pytest.raises(CheckFailed, match="hint: flipped") as error:
        assert_array_matches(np.array([3.0, 2.0, 1.0]), np.array([1.0, 2.0, 3.0]), case="c", hint="generic",
                             known_mistakes={"flipped": np.array([3.0, 2.0, 1.0])})
    assert "generic" not in str(error.value)


def test_tolerance_accepts_float32_rounding_but_not_small_bugs():
    expected = np.linspace(-5, 5, 11)
    assert_array_matches(expected.astype(np.float32), expected, case="c")
    with pytest.raises(CheckFailed):
        assert_array_matches(expected + 1e-2, expected, case="c")


def test_assert_equal_types_and_values():
    assert_equal(np.int64(4), 4, case="c")
    assert_equal(torch.tensor(4), 4, case="c")
    with pytest.raises(CheckFailed, match="should be an int, got float 4.0"):
        assert_equal(4.0, 4, case="c")
    with pytest.raises(CheckFailed, match="should be an int"):
        assert_equal("4", 4, case="c")
    with pytest.raises(CheckFailed, match="expected 4, got 5"):
        assert_equal(5, 4, case="c")
    with pytest.raises(CheckFailed):
        assert_equal(4.5, 4, case="c")


def test_statuses_are_the_documented_strings():
    assert (PASSED, FAILED, NOT_ATTEMPTED) == ("passed", "failed", "not attempted")


def test_integer_result_gets_a_dtype_hint():
    with pytest.raises(CheckFailed, match="integer dtype, so fractions were cut off"):
        assert_array_matches(np.array([0, 1]), np.array([0.5, 1.5]), case="c", hint="generic")


def test_a_mistake_that_gives_the_right_answer_is_never_named():
    expected = np.array([1.0, 2.0])
    with pytest.raises(CheckFailed) as error:
        assert_array_matches(np.array([0.0, 0.0]), expected, case="c", hint="generic",
                             known_mistakes={"harmless here": expected.copy(), "other": np.array([5.0, 5.0])})
    assert "hint: generic" in str(error.value) and "harmless" not in str(error.value)


def test_mistakes_that_look_alike_on_a_case_are_all_named():
    same_wrong = np.array([0.0, 0.0])
    with pytest.raises(CheckFailed) as error:
        assert_array_matches(same_wrong, np.array([1.0, 2.0]), case="c", hint="generic",
                             known_mistakes={"first cause": same_wrong, "second cause": same_wrong.copy()})
    assert "hint: first cause\n  or: second cause" in str(error.value)


def test_require_float_explains_truncation():
    from utils.checks.compare import require_float

    require_float(np.zeros(2), case="c")
    require_float(torch.zeros(2), case="c")
    with pytest.raises(CheckFailed, match="dtype int64; expected a floating-point array"):
        require_float(np.zeros(2, dtype=np.int64), case="c")
    with pytest.raises(CheckFailed, match="dtype uint8"):
        require_float(torch.zeros(2, dtype=torch.uint8), case="c")


def test_an_answer_that_gives_up_on_some_cases_only_is_failed_not_unattempted():
    def partly(n, k):
        if n != 5:  # the first case is n=5, k=3
            raise NotImplementedError()
        return n - k + 1

    result = run_check("warmup.n_outputs", partly)
    assert result.status == FAILED
    assert result.message.startswith("failed on case n=") and "only partly written" in result.message
    # and the counter is reset for the next check: an untouched answer is still "not attempted"
    def untouched(n, k):
        raise NotImplementedError()
    assert run_check("warmup.n_outputs", untouched).status == NOT_ATTEMPTED


def test_counts_follow_one_integer_rule_alone_or_in_tuples():
    assert_equal(np.int64(3), 3, case="c")
    assert_equal((np.int64(2), 3, torch.tensor(4)), (2, 3, 4), case="c")
    for wrong in [(2.0, 3, 4), (2, True, 4), (2, 3, np.float64(4.0))]:
        with pytest.raises(CheckFailed, match="should be an int"):
            assert_equal(wrong, (2, 3, 4), case="c")
    with pytest.raises(CheckFailed, match="should be a int|should be an int"):
        assert_equal(3.0, 3, case="c")


def test_yours_or_reference_uses_the_answer_only_once_it_passes(monkeypatch, capsys):
    import utils.checks.core as core
    from utils.checks import get_reference, yours_or_reference

    def reference_n_outputs(n, k):
        return n - k + 1

    registered_ids()  # load every chapter first, so that ours replaces the chapter's reference
    monkeypatch.setitem(core._REFERENCES, "warmup.n_outputs", reference("warmup.n_outputs")(reference_n_outputs))

    def untouched(n, k):
        raise NotImplementedError()

    def wrong(n, k):
        return n - k

    def right(n, k):
        return n - k + 1

    assert yours_or_reference("warmup.n_outputs", untouched) is get_reference("warmup.n_outputs")
    assert capsys.readouterr().out == ("(your untouched is not written yet: this cell uses the workbook's "
                                       "reference instead)\n")
    assert yours_or_reference("warmup.n_outputs", wrong) is reference_n_outputs
    assert "does not pass its check yet" in capsys.readouterr().out
    assert yours_or_reference("warmup.n_outputs", right) is right
    assert capsys.readouterr().out == "(using your right: it passes its check)\n"


def test_yours_or_reference_reuses_the_check_cells_verdict(monkeypatch, capsys):
    import utils.checks.fallback as fallback
    from utils.checks import yours_or_reference

    def right(n, k):
        return n - k + 1

    check("warmup.n_outputs", right)
    monkeypatch.setattr(fallback, "run_check", lambda *a: pytest.fail("the check ran a second time"))
    assert yours_or_reference("warmup.n_outputs", right) is right
    other = lambda n, k: n - k + 1  # noqa: E731 - a new object: its verdict is not known yet
    with pytest.raises(pytest.fail.Exception):
        yours_or_reference("warmup.n_outputs", other)


def test_array_variants_cover_dtypes_and_layouts():
    from utils.checks.compare import array_variants

    x = np.arange(12.0).reshape(3, 4) / 3
    variants = dict(array_variants(x))
    assert list(variants) == ["float64", "float32", "integer", "non-contiguous", "Fortran order"]
    assert variants["float32"].dtype == np.float32 and variants["integer"].dtype == np.int64
    assert not variants["non-contiguous"].flags.c_contiguous and variants["Fortran order"].flags.f_contiguous
    for label in ("float64", "non-contiguous", "Fortran order"):
        assert np.array_equal(variants[label], x), label


def test_call_hands_the_answer_tensors_in_their_own_memory_layout():
    seen = []
    sliced = torch.arange(24.0).reshape(2, 12)[:, ::2]
    channels_last = torch.randn(2, 3, 4, 5).to(memory_format=torch.channels_last)
    call(lambda a, b: seen.extend([a, b]), sliced, channels_last, case="c")
    assert not seen[0].is_contiguous() and torch.equal(seen[0], sliced) and seen[0] is not sliced
    assert seen[1].stride() == channels_last.stride()


def test_known_mistakes_given_as_a_function_are_computed_only_for_a_wrong_answer():
    calls = []

    def mistakes():
        calls.append(1)
        return {"you doubled it": np.array([2.0, 4.0])}

    assert_array_matches(np.array([1.0, 2.0]), np.array([1.0, 2.0]), case="c", known_mistakes=mistakes)
    assert calls == []
    with pytest.raises(CheckFailed, match="you doubled it"):
        assert_array_matches(np.array([2.0, 4.0]), np.array([1.0, 2.0]), case="c", known_mistakes=mistakes)
    assert calls == [1]


def test_unpack_results_names_what_was_expected():
    from utils.checks.compare import unpack_results

    assert unpack_results([1, 2], ("a", "b"), case="c") == (1, 2)
    with pytest.raises(CheckFailed, match=r"expected a tuple \(dx, dw, db\), got tuple of length 2"):
        unpack_results((1, 2), ("dx", "dw", "db"), case="c")
