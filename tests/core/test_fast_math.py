"""The vectorisable ``sin`` and ``cos`` against libm's, and the rebinding of a task's ``math``."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit
from rewardgym.core import fast_math
from rewardgym.core.fast_math import with_fast_math


@njit
def _fast_sin_cos(x):
    s, c = np.empty_like(x), np.empty_like(x)
    for i in range(x.shape[0]):
        s[i] = fast_math.sin(x[i])
        c[i] = fast_math.cos(x[i])
    return s, c


def _ulps(ours, exact):
    """Each error in units of the last place of the exact value (of 1 below 1, for a fair count
    near zeros of sin and cos, where libm's own answer is tiny)."""
    spacing = np.spacing(np.maximum(np.abs(exact), 1.0))
    return np.abs(ours - exact) / spacing


@pytest.mark.parametrize("bound", [math.pi / 4, 2 * math.pi, 100.0, 2.0**20])
def test_sin_and_cos_are_within_one_ulp_of_libm_where_the_reduction_is_exact(bound):
    x = np.random.default_rng(0).uniform(-bound, bound, 200_000)
    x = np.concatenate([x, [0.0, -0.0, math.pi / 4, math.pi / 2, math.pi, -math.pi, 3 * math.pi / 2]])
    s, c = _fast_sin_cos(x)
    assert _ulps(s, np.array([math.sin(v) for v in x])).max() <= 1.0
    assert _ulps(c, np.array([math.cos(v) for v in x])).max() <= 1.0


def test_far_from_zero_the_error_stays_below_the_spacing_of_floats_at_x():
    x = np.random.default_rng(1).uniform(2.0**20, 2.0**40, 20_000) * np.random.default_rng(2).choice([-1, 1], 20_000)
    s, c = _fast_sin_cos(x)
    assert np.all(np.abs(s - np.sin(x)) <= np.spacing(np.abs(x)))
    assert np.all(np.abs(c - np.cos(x)) <= np.spacing(np.abs(x)))


def test_most_results_equal_libms_and_the_rest_differ_in_the_last_bit():
    # Why the engine keeps libm as an option: equal in most places, not all.
    x = np.random.default_rng(3).uniform(-1.0, 1.0, 100_000)
    s, _ = _fast_sin_cos(x)
    exact = np.array([math.sin(v) for v in x])
    assert 0.5 < np.mean(s == exact) < 1.0


def test_nan_and_infinities_give_nan_like_libm():
    s, c = _fast_sin_cos(np.array([np.nan, np.inf, -np.inf]))
    assert np.isnan(s).all() and np.isnan(c).all()


def test_every_other_name_is_maths_own():
    assert fast_math.sqrt is math.sqrt and fast_math.atan2 is math.atan2 and fast_math.pi == math.pi
    with pytest.raises(AttributeError):
        fast_math.no_such_function  # noqa: B018


# Module-level, as a task's are: with_fast_math rebinds the globals a function reads.
def _helper(angle):
    return math.cos(angle) * 2.0


def _dynamics(state):
    state[0] = math.sin(state[0]) + _helper(state[1])


def _no_math(state):
    state[0] += 1.0


def test_a_function_and_its_helpers_run_the_fast_functions_and_functions_without_math_stay():
    fast = with_fast_math(_dynamics)
    assert fast is not _dynamics and with_fast_math(_dynamics) is fast  # built once
    assert with_fast_math(_no_math) is _no_math

    @njit
    def run(state):
        fast(state)

    x = np.random.default_rng(4).uniform(-1.0, 1.0, 2000)
    y = np.random.default_rng(5).uniform(-1.0, 1.0, 2000)
    results, expected_fast, expected_libm = [], [], []
    for a, b in zip(x, y):
        state = np.array([a, b])
        run(state)
        results.append(state[0])
        s, _ = _fast_sin_cos(np.array([a]))
        _, c = _fast_sin_cos(np.array([b]))
        expected_fast.append(s[0] + c[0] * 2.0)
        expected_libm.append(math.sin(a) + math.cos(b) * 2.0)
    assert results == expected_fast  # the helper's cos is the fast one too
    assert results != expected_libm


def _ping(x, depth):
    return math.sin(x) if depth == 0 else _pong(x, depth - 1)


def _pong(x, depth):
    return _ping(x, depth)


def test_mutually_recursive_helpers_do_not_loop_the_rebinding():
    # _pong, reached while _ping is being rebound, keeps the _ping it had (and libm's sin there).
    assert with_fast_math(_ping) is not _ping and with_fast_math(_pong) is _pong
