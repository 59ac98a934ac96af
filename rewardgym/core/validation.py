"""Checks of the values that regimes and envs take as parameters, refusing a bad one by name.

Each check takes the ``subject`` to name in its error (the regime, its kind and the parameter,
worded by each family) and returns the value converted (a float, an int, a bool).

Example:
    >>> from rewardgym.core.validation import check_number
    >>> check_number(2, "noisy(kind='gaussian'): sigma", low=0.0)
    2.0
"""

from __future__ import annotations

import math

import numpy as np


def is_real(value: object) -> bool:
    """Whether ``value`` is a Python or numpy int or float (a bool is not a number here)."""
    real = isinstance(value, (int, float, np.integer, np.floating))
    return real and not isinstance(value, (bool, np.bool_))


def check_number(
    value: object,
    subject: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_inf: bool = False,
    valid: str | None = None,
) -> float:
    """``value`` as a float if it is a real number (not a bool, not NaN) within the bounds.

    ``low`` and ``high`` bound the value, inclusive unless ``low_open`` or ``high_open``; an
    infinite value is refused unless ``allow_inf``. Anything else raises ``ValueError(f"{subject}
    must be {valid}, got {value!r}")``: ``subject`` names the regime, its kind and the parameter
    (each regime family words it its own way), ``valid`` is the valid range, described from the
    bounds unless given.

    Example:
        >>> check_number(0.5, "noisy(kind='flip'): e_plus", low=0.0, high=0.5, high_open=True)
        Traceback (most recent call last):
        ...
        ValueError: noisy(kind='flip'): e_plus must be in [0, 0.5), got 0.5
        >>> check_number(float("inf"), "adversarial(budget=...)", low=0.0, allow_inf=True)
        inf
    """
    ok = is_real(value)
    if ok:
        value = float(value)  # type: ignore[arg-type]
        ok = not math.isnan(value) and (allow_inf or math.isfinite(value))
        ok = ok and (low is None or (value > low if low_open else value >= low))
        ok = ok and (high is None or (value < high if high_open else value <= high))
    if not ok:
        if valid is None:
            number = "a number" if allow_inf else "a finite number"
            if low is not None and high is not None:
                valid = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
            elif low is not None:
                valid = f"{number} {'>' if low_open else '>='} {low:g}"
            elif high is not None:
                valid = f"{number} {'<' if high_open else '<='} {high:g}"
            else:
                valid = number
        raise ValueError(f"{subject} must be {valid}, got {value!r}")
    return value  # type: ignore[return-value]


def is_integer(value: object) -> bool:
    """Whether ``value`` is a Python or numpy int (a bool is not an integer here)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_integer(value: object, subject: str, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an int if it is an integer (not a bool) within ``[low, high]``.

    Example:
        >>> check_integer(0, "intrinsic(kind='rnd'): hidden", low=1)
        Traceback (most recent call last):
        ...
        ValueError: intrinsic(kind='rnd'): hidden must be an integer >= 1, got 0
    """
    ok = is_integer(value)
    ok = ok and (low is None or value >= low) and (high is None or value <= high)  # type: ignore[operator]
    if not ok:
        if low is not None and high is not None:
            valid = f"an integer in [{low}, {high}]"
        elif low is not None:
            valid = f"an integer >= {low}"
        elif high is not None:
            valid = f"an integer <= {high}"
        else:
            valid = "an integer"
        raise ValueError(f"{subject} must be {valid}, got {value!r}")
    return int(value)  # type: ignore[call-overload]


def check_flag(value: object, subject: str) -> bool:
    """``value`` as a bool if it is one (Python's or numpy's); 0, 1 and strings are refused.

    Example:
        >>> check_flag(1, "noisy(kind='delay'): episode")
        Traceback (most recent call last):
        ...
        ValueError: noisy(kind='delay'): episode must be True or False, got 1
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{subject} must be True or False, got {value!r}")
    return bool(value)
