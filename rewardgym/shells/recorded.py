"""What a shell records of its reward spec, so that ``gym.make(env.spec)`` can build it again.

A shell is one of gymnasium's ``RecordConstructorArgs`` wrappers: its reward spec lands in
``env.spec.additional_wrappers``, and ``gym.make(env.spec)`` (and ``check_env``, which calls it)
wraps the recreated env in a new shell built from it. The spec must then make *fresh* regimes,
not share the ones the original env is running (their budgets, tables and weights are that
env's). So a shell records:

- a spec string, ``None`` or a list of them: as given (each recreation parses it anew);
- a plain function of the batch (``def``, ``lambda``): the function itself, by reference (it
  holds no state of the run; a fresh :class:`~rewardgym.core.regime.CallableRegime` wraps it);
- a :class:`~rewardgym.core.regime.Regime` object or another callable object: an
  :class:`UnrecreatableReward` naming it. Wrapping works as ever; recreating from the spec is
  refused by name, since rewardgym cannot know how that object was built.

Example:
    >>> import gymnasium as gym, rewardgym
    >>> env = rewardgym.wrap(gym.make("CartPole-v1"), "scale(factor=-1)")
    >>> env.spec.additional_wrappers[-1].kwargs
    {'reward': 'scale(factor=-1)'}
    >>> twin = gym.make(env.spec)
    >>> _ = twin.reset(seed=0)
    >>> twin.step(0)[1]
    -1.0
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from typing import Any

from rewardgym.core.regime import Regime
from rewardgym.core.spec import RewardSpec


class UnrecreatableReward:
    """Stands in a recorded spec for a reward layer that cannot be rebuilt from it.

    Two stand-ins for layers of the same name and type are equal, so that gymnasium finds the
    wrapper specs of an env and of its recreation alike.
    """

    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnrecreatableReward) and (self.name, self.kind) == (other.name, other.kind)

    def __hash__(self) -> int:
        return hash((self.name, self.kind))

    def __repr__(self) -> str:
        return f"<reward layer {self.name!r} ({self.kind}): cannot be recreated from a spec>"


def recordable(reward: RewardSpec) -> Any:
    """The form of ``reward`` a shell records for ``gym.make(env.spec)`` (see the module).

    Example:
        >>> recordable(["scale(factor=2)", "noisy"])
        ['scale(factor=2)', 'noisy']
        >>> from rewardgym.wrappers.scale import Scale
        >>> recordable(Scale(2.0))
        <reward layer 'scale' (a Scale object): cannot be recreated from a spec>
    """
    if reward is None or isinstance(reward, (str, UnrecreatableReward)):
        return reward
    if isinstance(reward, Regime):
        return UnrecreatableReward(reward.name, f"a {type(reward).__name__} object")
    if isinstance(reward, Sequence):
        return [recordable(item) for item in reward]
    if isinstance(reward, (types.FunctionType, types.BuiltinFunctionType)):
        return reward
    name = getattr(reward, "__name__", None) or type(reward).__name__
    return UnrecreatableReward(name, f"a callable {type(reward).__name__} object")


def refuse_unrecreatable(reward: Any) -> None:
    """Raise a ValueError naming the first layer of ``reward`` that a spec could not rebuild.

    Example:
        >>> refuse_unrecreatable(["scale", UnrecreatableReward("bonus", "a Bonus object")])
        Traceback (most recent call last):
        ...
        ValueError: reward layer 'bonus' (a Bonus object) cannot be recreated from an env spec: ...
    """
    if isinstance(reward, UnrecreatableReward):
        raise ValueError(
            f"reward layer {reward.name!r} ({reward.kind}) cannot be recreated from an env spec: "
            "rewardgym records spec strings and plain functions, not objects. Make the env from "
            "its id and wrap it again with the object (or a fresh one): rewardgym.wrap(env, reward)"
        )
    if isinstance(reward, Sequence) and not isinstance(reward, str):
        for item in reward:
            refuse_unrecreatable(item)
