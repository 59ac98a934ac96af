"""Reward specs: the string grammar ``name(key=value, ...)+name2`` and its resolution to regimes.

A spec is a :class:`Regime`, a callable of the transition batch, a string, or a list of these.
The string ``"none"`` (like ``[]``) means the env's own reward, with no regime on top.
Strings are parsed with :mod:`ast` and their values read with :func:`ast.literal_eval`: only
Python literals are accepted and nothing is ever evaluated. A string longer than
:data:`MAX_SPEC_LENGTH` characters, with more than :data:`MAX_SPEC_LAYERS` layers or a value nested
deeper than :data:`MAX_SPEC_DEPTH` is refused before anything recursive reads it.

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
from rewardgym.core.registry import NO_REGIME as NO_REGIME  # re-exported: specs and the CLI name it
from rewardgym.core.registry import make_regime

RewardSpec = Regime | RewardFn | str | Sequence[Regime | RewardFn | str] | None

MAX_SPEC_LENGTH = 2000
"""The longest spec string read, in characters. Python's parser recurses once per nesting level
(``---1`` is three), so an unbounded string ends in a RecursionError or an empty MemoryError from
inside the parser; 2000 characters stays inside its stack (CPython 3.11 parses a 2500-deep ``-``
chain), while the specs in the README run to a hundred or so."""

MAX_SPEC_LAYERS = 64
"""The most layers one spec string may join with ``+``."""

MAX_SPEC_DEPTH = 64
"""The deepest a layer may nest, in syntax nodes: ``scale(factor=[-1])`` is 5 (the call, its
keyword, the list, the minus sign and the number)."""


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
    if len(text) > MAX_SPEC_LENGTH:
        raise RewardSpecError(
            f"reward spec {text[:60]!r}... is {len(text)} characters long; the limit is {MAX_SPEC_LENGTH}"
        )
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise RewardSpecError(
            f"cannot parse reward spec {text!r}: {exc.msg}; expected layers like 'name(key=value)' joined by '+'"
        ) from None
    except (RecursionError, MemoryError):
        # The parser's way of saying "nested too deeply" (a RecursionError when the caller's own
        # stack is already deep, a MemoryError for its fixed-size stack), not a real shortage.
        raise RewardSpecError(
            f"reward spec {text[:60]!r}... is nested too deeply to parse; the limit is {MAX_SPEC_DEPTH} levels"
        ) from None
    layers = _layers(tree, text)
    for node in layers:
        depth = _depth(node)
        if depth > MAX_SPEC_DEPTH:
            raise RewardSpecError(
                f"a layer of reward spec {text[:60]!r}... is nested {depth} deep; the limit is {MAX_SPEC_DEPTH}"
            )
    return [_parse_layer(node, text) for node in layers]


def _layers(tree: ast.expr, text: str) -> list[ast.expr]:
    """The operands of the ``+`` chain, left to right, read with a stack rather than recursion
    (the ``+`` chain is the one nesting :data:`MAX_SPEC_DEPTH` does not bound)."""
    layers: list[ast.expr] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            stack += [node.right, node.left]
        else:
            layers.append(node)
    if len(layers) > MAX_SPEC_LAYERS:
        raise RewardSpecError(f"reward spec {text[:60]!r}... has {len(layers)} layers; the limit is {MAX_SPEC_LAYERS}")
    return layers


def _depth(node: ast.AST) -> int:
    """How deeply ``node``'s expressions nest, measured with a stack, so that :func:`ast.literal_eval`
    and :func:`ast.unparse` (both recursive) only ever see nodes within :data:`MAX_SPEC_DEPTH`."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack += [(child, depth + 1) for child in ast.iter_child_nodes(node) if not isinstance(child, ast.expr_context)]
    return deepest


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
            # Python's parser accepts f(a=1, a=2) (only compiling it fails); a dict would keep
            # the last value without a word.
            if keyword.arg in params:
                raise RewardSpecError(f"parameter {keyword.arg!r} of regime {name!r} is given twice in {text!r}")
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
