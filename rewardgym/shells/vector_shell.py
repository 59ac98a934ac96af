"""The shell that applies reward regimes to a ``gymnasium.vector.VectorEnv``."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorWrapper

from rewardgym.core.arrays import as_reward_batch, first_leaf, is_torch, select_rows, zeros
from rewardgym.core.info import (
    EPISODE_RETURNS,
    FINAL_OBS,
    GOLD_REWARD,
    REGIME_INFO,
    REWARD_TRACE,
    mask_key,
)
from rewardgym.core.pipeline import RewardPipeline
from rewardgym.core.regime import EnvContext, FusedLayer, Regime
from rewardgym.core.spec import RewardSpec, resolve_reward_spec
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_flag
from rewardgym.shells.monitor import EpisodeReturns

# The info keys, spelled once rather than on every step.
_GOLD_MASK, _TRACE_MASK, _FINAL_MASK, _EPISODE_MASK = (
    mask_key(GOLD_REWARD),
    mask_key(REWARD_TRACE),
    mask_key(FINAL_OBS),
    mask_key(EPISODE_RETURNS),
)


class VectorRewardShell(VectorWrapper):
    """Applies regimes to a vector env's whole batch at once, keeping gold untouched.

    It honours the env's ``autoreset_mode``: regimes get the real final observation at an
    episode's end (from ``info["final_obs"]`` in SAME_STEP mode), the autoreset step of NEXT_STEP
    mode is marked ``valid=False`` (its reward passes through, nothing learns from it), and
    :meth:`Regime.reset` is called with the envs whose episode just ended. Episodes that end
    report their proxy and gold returns in ``info["episode_returns"]`` (mask
    ``info["_episode_returns"]``; see :mod:`rewardgym.shells.monitor`).

    On rewardgym's own vector envs (the engine, on the CPU or the GPU) the leading layers of the
    stack that have a :class:`~rewardgym.core.regime.FusedLayer` (``scale``, ``shaped`` with a
    built-in potential, ``noisy(kind='gaussian')``, ``adversarial(kind='untargeted')``) run inside
    the env's step kernel, one compiled call for dynamics and layers; the rest follow as usual.
    Results are the same bit for bit either way (``fuse=False`` turns it off, to compare).

    Args:
        env: the vector env.
        reward: the reward spec (see :func:`rewardgym.wrap`).
        fuse: run fusable leading layers inside the engine's step kernel (default True).

    Example:
        >>> import gymnasium as gym, numpy as np, rewardgym
        >>> envs = rewardgym.wrap(gym.make_vec("rewardgym/CartPole-v0", num_envs=2), "scale(factor=3)")
        >>> _ = envs.reset(seed=0)
        >>> _, proxy, _, _, info = envs.step(np.array([0, 1]))
        >>> proxy.tolist(), info["gold_reward"].tolist()
        ([3.0, 3.0], [1.0, 1.0])
    """

    def __init__(self, env: gym.vector.VectorEnv, reward: RewardSpec = None, *, fuse: bool = True) -> None:
        super().__init__(env)
        self.fuse = check_flag(fuse, "fuse")
        # rewardgym's engine, where the shell wraps it directly (None for any other env).
        self._engine: Any = env if hasattr(type(env), "step_with_layers") else None
        self.pipeline = RewardPipeline(resolve_reward_spec(reward))
        self.autoreset_mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        spec = env.spec
        self.pipeline.bind(
            EnvContext(
                num_envs=env.num_envs,
                observation_space=env.single_observation_space,
                action_space=env.single_action_space,
                device=getattr(env.unwrapped, "device", "cpu"),
                env_id=spec.id if spec else None,
            )
        )
        self._obs: Any = None
        self._prev_done: Any = None
        self._episode = EpisodeReturns()
        self._all_valid: np.ndarray | None = None  # SAME_STEP on the CPU: one read-only all-True mask

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)  # type: ignore[arg-type]  # a list seeds each env
        mask = (options or {}).get("reset_mask")
        if isinstance(seed, (list, tuple, np.ndarray)):
            seed = int(np.random.SeedSequence([int(s) for s in seed]).generate_state(1)[0])
        self.pipeline.reset(mask, seed=seed)
        self._obs = obs
        none_done = zeros(first_leaf(obs), (self.num_envs,), "bool")
        if self._prev_done is None or mask is None:
            self._prev_done = none_done
        else:
            self._prev_done = self._prev_done & ~mask
        self._episode.reset(none_done, mask)
        return obs, info

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        layers = self._fusable_layers()
        computed = None
        if layers:
            obs, reward, terminated, truncated, info, computed = self._engine.step_with_layers(actions, layers)
        else:
            obs, reward, terminated, truncated, info = self.env.step(actions)
        info = dict(info)
        if GOLD_REWARD not in info:  # a foreign env: its own reward is the true objective
            info[GOLD_REWARD] = reward.clone() if is_torch(reward) else np.array(reward, copy=True)
        if _GOLD_MASK not in info:  # gold covers every env
            info[_GOLD_MASK] = np.ones(self.num_envs, dtype=bool)
        if not (type(reward) is np.ndarray and reward.dtype == np.float32):
            reward = as_reward_batch(reward, like=reward)
        trace = info.get(REWARD_TRACE) or {"env": reward}
        next_obs = obs
        if self.autoreset_mode is AutoresetMode.SAME_STEP and FINAL_OBS in info:
            next_obs = _dense_final_obs(obs, info[FINAL_OBS], info[_FINAL_MASK])
        if self.autoreset_mode is AutoresetMode.NEXT_STEP:
            valid = ~self._prev_done
        else:
            valid = self._every_step_valid(obs)
        batch = Transition(
            obs=self._obs,
            action=actions if is_torch(actions) else np.asarray(actions),
            next_obs=next_obs,
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            valid=valid,
            gold=info[GOLD_REWARD],
        )
        proxy, info[REWARD_TRACE], reports = self.pipeline.apply(batch, trace, computed)
        if reports:
            info[REGIME_INFO] = reports
        if _TRACE_MASK not in info:
            info[_TRACE_MASK] = info[_GOLD_MASK]
        done = terminated | truncated
        episode = self._episode.step(proxy, info[GOLD_REWARD], valid, done)
        if episode is not None:
            info[EPISODE_RETURNS], info[_EPISODE_MASK] = episode, done
        self.pipeline.reset(done)
        self._prev_done = done
        self._obs = obs
        return obs, proxy, terminated, truncated, info

    def _fusable_layers(self) -> list[FusedLayer]:
        """The fused layers of the stack's leading regimes, which the env's step kernel applies
        itself: only where the env is rewardgym's engine, wrapped by this shell alone
        (a wrapper in between would see the reward before them), and while ``fuse`` is on."""
        if not self.fuse or self._engine is None:
            return []
        layers = []
        for regime in self.pipeline.regimes:
            # A kind that learns is never fused (its update needs the pipeline's batch), even a
            # subclass of a fused kind that adds learning.
            layer = regime.fused_layer() if type(regime).update is Regime.update else None
            if layer is None:
                break
            layers.append(layer)
        return layers

    def _every_step_valid(self, obs: Any) -> Any:
        """All True: without a NEXT_STEP autoreset step, every step is a real transition."""
        if is_torch(first_leaf(obs)):
            return zeros(first_leaf(obs), (self.num_envs,), "bool") | True
        if self._all_valid is None:
            self._all_valid = np.ones(self.num_envs, dtype=bool)
            self._all_valid.flags.writeable = False  # shared by every step's batch
        return self._all_valid


def _dense_final_obs(obs: Any, final_obs: Any, mask: Any) -> Any:
    """The real next observation of every env: the final one where an episode ended (per key of
    a ``Dict`` observation)."""
    if isinstance(obs, dict):
        if isinstance(final_obs, np.ndarray) and final_obs.dtype == object:
            # gymnasium's Sync/AsyncVectorEnv keep one dict per ended env: regroup them by key.
            ended = np.flatnonzero(mask)
            empty = np.empty(len(final_obs), dtype=object)
            per_key = {key: empty.copy() for key in obs}
            for i in ended:
                for key in obs:
                    per_key[key][i] = final_obs[i][key]
            return {key: _dense_final_obs(obs[key], per_key[key], mask) for key in obs}
        return {key: _dense_final_obs(obs[key], final_obs[key], mask) for key in obs}
    if isinstance(final_obs, np.ndarray) and final_obs.dtype == object:
        # gymnasium's Sync/AsyncVectorEnv keep final observations per env, None elsewhere. Strings
        # (a completion env's prompts) stay Python objects: a fixed-width copy would cut longer ones.
        if isinstance(obs, np.ndarray):
            dense = np.array(obs, copy=True)
        else:
            dense = np.empty(len(obs), dtype=object)
            dense[:] = list(obs)
        ended = np.flatnonzero(mask)
        if ended.size:
            dense[ended] = np.stack(list(final_obs[ended]))
        return dense
    return select_rows(mask, final_obs, obs)
