"""Shells: the thin wrappers that apply a reward pipeline to each env API, with gold untouched.

A shell knows nothing of any regime family: it resolves a reward spec through the registry in
:mod:`rewardgym.core` and runs the resulting :class:`~rewardgym.core.pipeline.RewardPipeline` on
every step, reporting the proxy, the trace and the episode returns. This layer sits just above
``core`` so that the env registry (``gym.make(id, reward=...)``) and the reward models (which
record rollouts through a shell) can use it without reaching up to the regime families.

- :class:`~rewardgym.shells.env_shell.RewardShell`: a ``gymnasium.Env``;
- :class:`~rewardgym.shells.vector_shell.VectorRewardShell`: a ``gymnasium.vector.VectorEnv``;
- :class:`~rewardgym.shells.sb3_shell.SB3RewardShell`: a stable-baselines3 ``VecEnv``;
- :class:`~rewardgym.shells.parallel_shell.ParallelRewardShell`: a PettingZoo ``ParallelEnv``,
  batched over its agents;
- :mod:`~rewardgym.shells.recorded`: what a shell records for ``gym.make(env.spec)``;
- :mod:`~rewardgym.shells.monitor`: the per-episode proxy, gold and gap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

import gymnasium as gym
from pettingzoo import AECEnv, ParallelEnv

from rewardgym.core.spec import RewardSpec
from rewardgym.core.validation import check_flag
from rewardgym.shells.env_shell import RewardShell
from rewardgym.shells.parallel_shell import ParallelRewardShell
from rewardgym.shells.vector_shell import VectorRewardShell

if TYPE_CHECKING:
    from stable_baselines3.common.vec_env import VecEnv

    from rewardgym.shells.sb3_shell import SB3RewardShell


@overload
def wrap(env: gym.vector.VectorEnv, reward: RewardSpec, *, fuse: bool = True) -> VectorRewardShell: ...
@overload
def wrap(env: gym.Env, reward: RewardSpec, *, fuse: bool = True) -> RewardShell: ...
@overload
def wrap(env: VecEnv, reward: RewardSpec, *, fuse: bool = True) -> SB3RewardShell: ...
@overload
def wrap(env: ParallelEnv, reward: RewardSpec, *, fuse: bool = True) -> ParallelRewardShell: ...
def wrap(env: Any, reward: RewardSpec, *, fuse: bool = True) -> Any:
    """Apply a reward spec to any supported env, keeping its gold reward untouched.

    Args:
        env: a ``gymnasium.Env``, a ``gymnasium.vector.VectorEnv``, a stable-baselines3
            ``VecEnv`` or a PettingZoo ``ParallelEnv`` (rewardgym's or anyone's; an env without
            ``info["gold_reward"]``, or ``infos[agent]["gold_reward"]``, gets its own reward as
            gold). Returns the same kind of env. A PettingZoo ``ParallelEnv`` gets one pipeline
            per group of agents with the same spaces, a row per agent
            (:class:`~rewardgym.shells.parallel_shell.ParallelRewardShell`); an AEC env is refused
            with the conversion to use (``pettingzoo.utils.conversions.aec_to_parallel``).
        reward: a regime, a callable of the transition batch, a spec string such as
            ``"scale(factor=2)+scale(factor=-1)"``, or a list of these. Names in a string resolve
            through :func:`rewardgym.register_regime`'s registry (``import rewardgym`` fills it).
        fuse: on rewardgym's own vector envs, run the stack's fusable leading layers inside the
            step kernel (the same results, faster; :class:`VectorRewardShell`). Other envs ignore it.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> env = rewardgym.wrap(gym.make("rewardgym/MountainCar-v0"), "scale(factor=0.5)")
        >>> _ = env.reset(seed=0)
        >>> env.step(2)[1]
        -0.5
    """
    fuse = check_flag(fuse, "fuse")  # other envs ignore it, but a bad value is still refused
    if isinstance(env, gym.vector.VectorEnv):
        return VectorRewardShell(env, reward, fuse=fuse)
    if isinstance(env, gym.Env):
        return RewardShell(env, reward)
    if isinstance(env, (ParallelEnv, AECEnv)):  # an AEC env is refused with the conversion to use
        return ParallelRewardShell(env, reward)
    # Imported here: SB3 takes a second to import, and most users of this layer never need it.
    from stable_baselines3.common.vec_env import VecEnv

    if isinstance(env, VecEnv):
        from rewardgym.shells.sb3_shell import SB3RewardShell

        return SB3RewardShell(env, reward)
    raise TypeError(
        "rewardgym.wrap takes a PettingZoo ParallelEnv, a gymnasium.Env, a gymnasium.vector.VectorEnv or a "
        f"stable-baselines3 VecEnv, got {type(env).__name__}"
    )


__all__ = ["ParallelRewardShell", "RewardShell", "VectorRewardShell", "wrap"]
