"""Shells: the thin wrappers that apply a reward pipeline to each env API, with gold untouched.

A shell knows nothing of any regime family: it resolves a reward spec through the registry in
:mod:`rewardgym.core` and runs the resulting :class:`~rewardgym.core.pipeline.RewardPipeline` on
every step, reporting the proxy, the trace and the episode returns. This layer sits just above
``core`` so that the env registry (``gym.make(id, reward=...)``) and the reward models (which
record rollouts through a shell) can use it without reaching up to the regime families.

- :class:`~rewardgym.shells.env_shell.RewardShell`: a ``gymnasium.Env``;
- :class:`~rewardgym.shells.vector_shell.VectorRewardShell`: a ``gymnasium.vector.VectorEnv``;
- :mod:`~rewardgym.shells.monitor`: the per-episode proxy, gold and gap.
"""

from __future__ import annotations

import gymnasium as gym

from rewardgym.core.spec import RewardSpec, resolve_reward_spec
from rewardgym.shells.env_shell import RewardShell
from rewardgym.shells.vector_shell import VectorRewardShell


def wrap(env: gym.Env | gym.vector.VectorEnv, reward: RewardSpec) -> gym.Env | gym.vector.VectorEnv:
    """Apply a reward spec to any supported env, keeping its gold reward untouched.

    Args:
        env: a ``gymnasium.Env`` or ``gymnasium.vector.VectorEnv`` (rewardgym's or anyone's; an env
            without ``info["gold_reward"]`` gets its own reward as gold).
        reward: a regime, a callable of the transition batch, a spec string such as
            ``"scale(factor=2)+scale(factor=-1)"``, or a list of these. Names in a string resolve
            through :func:`rewardgym.register_regime`'s registry (``import rewardgym`` fills it).

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
    raise TypeError(f"rewardgym.wrap takes a gymnasium.Env or gymnasium.vector.VectorEnv, got {type(env).__name__}")


__all__ = ["RewardShell", "VectorRewardShell", "wrap"]
