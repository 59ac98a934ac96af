"""Reward regimes (one module per family) and the shells that apply them to each env API."""

from __future__ import annotations

import gymnasium as gym

from rewardgym.core.registry import register_regime
from rewardgym.core.spec import RewardSpec, resolve_reward_spec

# Each family module registers its family by name when imported (e.g. "noisy(sigma=0.5)").
from rewardgym.wrappers import adversarial, intrinsic, learned, noisy, shaped  # noqa: F401
# The text variants of the families (format, length, ngram, ...) register into their KINDS.
from rewardgym.wrappers import text  # noqa: F401,E402
from rewardgym.wrappers.env_shell import RewardShell
from rewardgym.wrappers.scale import Scale
from rewardgym.wrappers.vector_shell import VectorRewardShell

register_regime("scale", Scale, override=True)


def wrap(env: gym.Env | gym.vector.VectorEnv, reward: RewardSpec) -> gym.Env | gym.vector.VectorEnv:
    """Apply a reward spec to any supported env, keeping its gold reward untouched.

    Args:
        env: a ``gymnasium.Env`` or ``gymnasium.vector.VectorEnv`` (rewardgym's or anyone's; an env
            without ``info["gold_reward"]`` gets its own reward as gold).
        reward: a regime, a callable of the transition batch, a spec string such as
            ``"scale(factor=2)+scale(factor=-1)"``, or a list of these.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> env = rewardgym.wrap(gym.make("rewardgym/MountainCar-v0"), "scale(factor=0.5)")
        >>> _ = env.reset(seed=0)
        >>> env.step(2)[1]
        -0.5
    """
    regimes = resolve_reward_spec(reward)
    if isinstance(env, gym.vector.VectorEnv):
        return VectorRewardShell(env, regimes)
    if isinstance(env, gym.Env):
        return RewardShell(env, regimes)
    raise TypeError(
        f"rewardgym.wrap takes a gymnasium.Env or gymnasium.vector.VectorEnv, got {type(env).__name__}"
    )


__all__ = ["RewardShell", "Scale", "VectorRewardShell", "wrap"]
