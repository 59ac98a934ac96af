"""Reward specs: the string grammar ``name(key=value, ...)+name2`` and its resolution to regimes.

A spec is a :class:`Regime`, a callable of the transition batch, a string, or a list of these.
The string ``"none"`` (like ``[]``) means the env's own reward, with no regime on top.
Strings are parsed with :mod:`ast` and their values read with :func:`ast.literal_eval`: only
Python literals are accepted and nothing is ever evaluated.

Example:
    >>> from rewardgym.core.spec import parse_reward_spec
    >>> parse_reward_spec("scale(factor=2.0)+scale(factor=-1)")
    [('scale', {'factor': 2.0}), ('scale', {'factor': -1})]
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

from rewardgym.core.regime import CallableRegime, Regime, RewardFn
from rewardgym.core.registry import make_regime

RewardSpec = Regime | RewardFn | str | Sequence[Regime | RewardFn | str] | None


NO_REGIME = "none"
"""The spec string for the env's own reward (what sweeps and the CLI call the plain baseline)."""


class RewardSpecError(ValueError):
    """A reward spec string that does not follow the grammar."""


def parse_reward_spec(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Split a spec string into ``(name, params)`` layers, left to right.

    Raises:
        RewardSpecError: naming what is wrong and where, for anything but
            ``name``, ``name()`` or ``name(key=literal, ...)`` joined by ``+``.
    """
    if not isinstance(text, str) or not text.strip():
        raise RewardSpecError(f"a reward spec must be a non-empty string, got {text!r}")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise RewardSpecError(
            f"cannot parse reward spec {text!r}: {exc.msg}; expected layers like 'name(key=value)' joined by '+'"
        ) from None
    return [_parse_layer(node, text) for node in _layers(tree)]


def _layers(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _layers(node.left) + _layers(node.right)
    return [node]


def _parse_layer(node: ast.expr, text: str) -> tuple[str, dict[str, Any]]:
    if isinstance(node, ast.Name):
        return node.id, {}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if node.args:
            raise RewardSpecError(f"regime {name!r} in {text!r} takes keyword arguments only, e.g. {name}(key=value)")
        params: dict[str, Any] = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                raise RewardSpecError(f"'**' is not allowed in reward spec {text!r}")
            try:
                params[keyword.arg] = ast.literal_eval(keyword.value)
            except ValueError:
                raise RewardSpecError(
                    f"parameter {keyword.arg!r} of regime {name!r} in {text!r} must be a Python "
                    f"literal (number, string, bool, None, tuple, list or dict), got "
                    f"{ast.unparse(keyword.value)!r}"
                ) from None
        return name, params
    raise RewardSpecError(
        f"cannot read {ast.unparse(node)!r} in reward spec {text!r}; expected 'name' or 'name(key=value, ...)'"
    )


def resolve_reward_spec(spec: RewardSpec) -> list[Regime]:
    """Turn any reward spec into the list of regimes it names, in the order they apply.

    Example:
        >>> [r.name for r in resolve_reward_spec(["scale(factor=2)", lambda batch: batch.reward])]
        ['scale', 'custom']
        >>> resolve_reward_spec("none")
        []
    """
    if spec is None:
        return []
    if isinstance(spec, Regime):
        return [spec]
    if isinstance(spec, str):
        if spec.strip() == NO_REGIME:
            return []
        return [make_regime(name, **params) for name, params in parse_reward_spec(spec)]
    if isinstance(spec, Sequence):
        return [regime for item in spec for regime in resolve_reward_spec(item)]
    if callable(spec):
        return [CallableRegime(spec)]
    raise TypeError(
        f"a reward spec must be a Regime, a callable, a string or a list of these, got {type(spec).__name__}"
    )
