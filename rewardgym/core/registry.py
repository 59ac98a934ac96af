"""The regime registry: reward regimes are made by name, with validated parameters."""

from __future__ import annotations

import difflib
import inspect
import keyword
from collections.abc import Callable, Mapping
from typing import Any

from rewardgym.core.regime import Regime

RegimeFactory = Callable[..., Regime]

_REGIMES: dict[str, RegimeFactory] = {}

NO_REGIME = "none"
"""The spec string for the env's own reward (what sweeps and the CLI call the plain baseline)."""


def register_regime(name: str, factory: RegimeFactory, *, override: bool = False) -> None:
    """Make a regime available by name in reward specs such as ``"name(key=value)"``.

    Args:
        name: the name used in specs; an identifier that a spec can name a regime by, so not
            ``"none"`` (the env's own reward) nor a Python keyword (``None``, ``True``, ``if``).
        factory: a :class:`Regime` subclass or a function returning one; its keyword parameters
            are the regime's parameters.
        override: replace an existing regime of the same name instead of raising.

    Example:
        >>> import rewardgym
        >>> class Clip(rewardgym.Regime):
        ...     name = "myclip"
        ...     def __init__(self, bound: float = 1.0):
        ...         self.bound = bound
        ...     def reward(self, batch):
        ...         return batch.reward.clip(-self.bound, self.bound)
        >>> rewardgym.register_regime("myclip", Clip)
        >>> rewardgym.make_regime("myclip", bound=0.5).bound
        0.5
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"a regime name must be an identifier, got {name!r}")
    # A spec could never reach these: "none" resolves to no regime before any lookup, and a
    # keyword is not a name to Python's parser (None, True, lambda...).
    if name == NO_REGIME:
        raise ValueError(f"regime name {name!r} is reserved: the spec {name!r} means the env's own reward")
    if keyword.iskeyword(name):
        raise ValueError(f"regime name {name!r} is reserved: it is a Python keyword, which no spec can name")
    if name in _REGIMES and not override:
        raise ValueError(f"regime {name!r} is already registered; pass override=True to replace it")
    if not callable(factory):
        raise TypeError(f"the factory of regime {name!r} must be callable")
    _REGIMES[name] = factory


def registered_regimes() -> list[str]:
    """The names that reward specs may use, sorted."""
    return sorted(_REGIMES)


def regime_parameters(name: str) -> list[str]:
    """The keyword parameters a registered regime accepts."""
    return _keyword_parameters(_lookup(name))


def _keyword_parameters(factory: RegimeFactory) -> list[str]:
    return [
        p.name
        for p in inspect.signature(factory).parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"
    ]


def make_regime(name: str, **params: Any) -> Regime:
    """Build a registered regime, refusing unknown parameters with the list of valid ones."""
    factory = _lookup(name)
    valid = regime_parameters(name)
    takes_any = any(p.kind is p.VAR_KEYWORD for p in inspect.signature(factory).parameters.values())
    unknown = [key for key in params if key not in valid]
    if unknown and not takes_any:
        raise ValueError(
            f"regime {name!r} has no parameter {unknown[0]!r}"
            f"{_suggest(unknown[0], valid)}; valid parameters: {', '.join(valid) or '(none)'}"
        )
    regime = factory(**params)
    if not isinstance(regime, Regime):
        raise TypeError(f"the factory of regime {name!r} returned {type(regime).__name__}, not a Regime")
    return regime


def make_kind(family: str, kinds: Mapping[str, RegimeFactory], kind: str, params: dict[str, Any]) -> Regime:
    """Build the ``kind`` variant of a regime family, refusing unknown kinds and parameters by name.

    A family (``noisy``, ``shaped``, ...) is registered as a function ``family(kind=..., **params)``
    that calls this with its table of kinds; each kind is a :class:`Regime` class whose keyword
    parameters are the ones that kind accepts.

    Example:
        >>> from rewardgym.wrappers.scale import Scale
        >>> make_kind("demo", {"scale": Scale}, "scale", {"factor": 2.0}).factor
        2.0
        >>> make_kind("demo", {"scale": Scale}, "scale", {"sigma": 1.0})
        Traceback (most recent call last):
        ...
        ValueError: demo(kind='scale') has no parameter 'sigma'; its parameters: factor
    """
    if not isinstance(kind, str):
        raise ValueError(
            f"the kind of regime {family!r} must be a string, got {kind!r}; valid kinds: {', '.join(kinds)}"
        )
    if kind not in kinds:
        raise ValueError(
            f"unknown kind {kind!r} of regime {family!r}{_suggest(kind, list(kinds))}; valid kinds: {', '.join(kinds)}"
        )
    factory = kinds[kind]
    valid = _keyword_parameters(factory)
    for key in params:
        if key not in valid:
            raise ValueError(
                f"{family}(kind={kind!r}) has no parameter {key!r}{_suggest(key, valid)}; "
                f"its parameters: {', '.join(valid) or '(none)'}"
            )
    regime = factory(**params)
    regime.name = family
    return regime


def _lookup(name: str) -> RegimeFactory:
    try:
        return _REGIMES[name]
    except KeyError:
        valid = registered_regimes()
        raise ValueError(
            f"unknown reward regime {name!r}{_suggest(name, valid)}; registered regimes: {', '.join(valid)}"
        ) from None


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
