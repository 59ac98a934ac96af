"""``math`` for compiled dynamics that LLVM can vectorise across envs: ``sin`` and ``cos`` as
branch-free polynomials, every other name ``math``'s own.

A loop over envs vectorises (AVX2/AVX-512 lanes, one env each) only if its body has no calls
LLVM cannot widen. ``math.sin`` and ``math.cos`` are such calls: numba lowers them to libm, and
the SVML vector library that would widen them is not in llvmlite's wheels. Here they are
fdlibm's kernels (the polynomials behind glibc's and Python's), with a branch-free Cody-Waite
reduction by pi/2 and the quadrant picked by selects, so a vectorised loop runs them in every lane.

Accuracy, against libm (tested): for ``|x| <= 2**20`` radians, where the three-part pi/2
reduction is exact, each result is within one ulp of libm's (of 1.0, 2.2e-16, where the value is
smaller than 1); beyond, the reduction's error grows as ``|x| * 2**-53``, below the spacing of
floats at ``x`` itself. NaN and infinities give NaN, as libm's. The results may
differ from libm's in the last bit, which is why the engine keeps exact libm dynamics as an
option (``exact_math=True``).

:func:`with_fast_math` compiles a function written against ``math`` (a task's ``step``) with
this module in its place: the task's source stays plain ``math.sin``, as gymnasium's does.

Example:
    >>> import math
    >>> abs(sin(1.0) - math.sin(1.0)) < 1e-15, abs(cos(-3.0) - math.cos(-3.0)) < 1e-15
    (True, True)
    >>> from rewardgym.core import fast_math
    >>> fast_math.sqrt is math.sqrt, fast_math.pi == math.pi  # everything else is math's own
    (True, True)
"""

from __future__ import annotations

import math
import sys
import types
from collections.abc import Callable
from typing import Any

import numpy as np
from numba.extending import register_jitable

# fdlibm's __kernel_sin and __kernel_cos coefficients (minimax on |r| <= pi/4).
_S1, _S2, _S3 = -1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04
_S4, _S5, _S6 = 2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10
_C1, _C2, _C3 = 4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05
_C4, _C5, _C6 = -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11
# pi/2 in three parts whose products with a quadrant count below 2**20 are exact (fdlibm's).
_PIO2_1, _PIO2_2, _PIO2_3 = 1.57079632673412561417e00, 6.07710050630396597660e-11, 2.02226624871116645580e-21
_INV_PIO2 = 6.36619772367581382433e-01
# Adding and subtracting 1.5 * 2**52 rounds to the nearest integer without a call (round-half-even).
_ROUND = 6755399441055744.0


@register_jitable
def _reduced(x: float) -> tuple[float, float, int]:
    """``sin`` and ``cos`` of ``x`` less its nearest multiple ``k`` of pi/2, and ``k``."""
    k = (x * _INV_PIO2 + _ROUND) - _ROUND
    r = ((x - k * _PIO2_1) - k * _PIO2_2) - k * _PIO2_3
    z = r * r
    s = r + r * z * (_S1 + z * (_S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))))
    half = 0.5 * z
    w = 1.0 - half
    c = w + (((1.0 - w) - half) + z * z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6))))))
    # A NaN k (x infinite or NaN) converts to some integer; r is NaN then, so the result is too.
    return s, c, np.int64(k)


@register_jitable
def sin(x: float) -> float:
    """``math.sin(x)``, vectorisable (see the module docstring for its accuracy).

    Example:
        >>> sin(math.pi / 6)
        0.49999999999999994
    """
    s, c, quadrant = _reduced(x)
    value = c if quadrant & 1 else s
    return -value if quadrant & 2 else value


@register_jitable
def cos(x: float) -> float:
    """``math.cos(x)``, vectorisable (see the module docstring for its accuracy).

    Example:
        >>> cos(math.pi / 3)
        0.5000000000000001
    """
    s, c, quadrant = _reduced(x)
    value = s if quadrant & 1 else c
    return -value if (quadrant + 1) & 2 else value


def __getattr__(name: str) -> Any:
    """Every name this module does not define is ``math``'s (``sqrt``, ``pi``, ``atan2`` ...)."""
    return getattr(math, name)


_FAST: dict[Callable[..., Any], Callable[..., Any]] = {}


def with_fast_math(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` compiled with this module as its ``math``, as are the plain Python functions it
    calls that use ``math`` (a task's helpers), so a task's ``step`` written with ``math.sin``
    runs these ``sin`` and ``cos``. The result is a numba ``register_jitable`` function, built once.

    Functions that do not use ``math``, directly or through their helpers, come back unchanged.
    Helpers are followed through the function's globals (a closure's keep libm's functions: the
    results stay right, the loop may stay scalar).

    Example:
        >>> from numba import njit
        >>> def swing(angle):
        ...     return math.sin(angle) * math.sqrt(2.0)
        >>> fast = with_fast_math(swing)
        >>> njit(lambda a: fast(a))(0.5) == sin(0.5) * math.sqrt(2.0)
        True
    """
    if function not in _FAST:
        _FAST[function] = function  # while its helpers are rebound: helpers calling it get it as is
        rebound = _rebound_globals(function)
        if rebound is None:
            _FAST[function] = function
        else:
            copy = types.FunctionType(
                function.__code__, rebound, function.__name__, function.__defaults__, function.__closure__
            )
            copy.__kwdefaults__ = function.__kwdefaults__
            _FAST[function] = register_jitable(copy)
    return _FAST[function]


def _rebound_globals(function: Callable[..., Any]) -> dict[str, Any] | None:
    """``function``'s globals with ``math`` and its math-using helpers replaced, or None where it
    uses neither."""
    code = getattr(function, "__code__", None)
    if code is None:
        return None
    globals_ = function.__globals__
    replaced: dict[str, Any] = {}
    for name in _global_names(code):
        value = globals_.get(name)
        if value is math:
            replaced[name] = sys.modules[__name__]
        elif isinstance(value, types.FunctionType) and value is not function:
            fast = with_fast_math(value)
            if fast is not value:
                replaced[name] = fast
    return {**globals_, **replaced} if replaced else None


def _global_names(code: types.CodeType) -> set[str]:
    """The global names a code object and the functions nested in it may read."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _global_names(constant)
    return names
