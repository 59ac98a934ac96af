"""The shell that applies reward regimes to a single ``gymnasium.Env``."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import concatenate, create_empty_array

from rewardgym.core.info import EPISODE_RETURNS, GOLD_REWARD, REGIME_INFO, REWARD_TRACE
from rewardgym.core.pipeline import RewardPipeline
from rewardgym.core.regime import EnvContext
from rewardgym.core.spec import RewardSpec, resolve_reward_spec
from rewardgym.core.transition import Transition
from rewardgym.shells.monitor import EpisodeReturns
from rewardgym.shells.recorded import recordable, refuse_unrecreatable


class RewardShell(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Applies regimes to a ``gymnasium.Env`` as a batch of one, keeping gold untouched.

    The returned reward is the proxy. ``info["gold_reward"]`` is passed through (for an env that
    has none, such as a plain gymnasium env, it is the env's own reward),
    ``info["reward_trace"]`` gains one entry per layer, and the step that ends an episode carries
    its proxy and gold returns in ``info["episode_returns"]`` (see :mod:`rewardgym.shells.monitor`).
    ``rewardgym.wrap(env, None)`` adds only that monitoring.

    The shell records its reward spec in ``env.spec`` (gymnasium's ``RecordConstructorArgs``), so
    ``gym.make(env.spec)`` builds the same stack afresh; see :mod:`rewardgym.shells.recorded` for
    what a spec can and cannot rebuild.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> env = rewardgym.wrap(gym.make("CartPole-v1"), "scale(factor=-1)")
        >>> _ = env.reset(seed=0)
        >>> _, proxy, _, _, info = env.step(0)
        >>> proxy, info["gold_reward"], info["reward_trace"]
        (-1.0, 1.0, {'env': 1.0, 'scale': -1.0})
    """

    def __init__(self, env: gym.Env, reward: RewardSpec = None) -> None:
        refuse_unrecreatable(reward)
        # Recorded before the regimes exist, as what makes fresh ones (never the live objects).
        gym.utils.RecordConstructorArgs.__init__(self, reward=recordable(reward), _disable_deepcopy=True)
        gym.Wrapper.__init__(self, env)
        self.pipeline = RewardPipeline(resolve_reward_spec(reward))
        spec = env.spec
        self.pipeline.bind(
            EnvContext(
                num_envs=1,
                observation_space=env.observation_space,
                action_space=env.action_space,
                env_id=spec.id if spec else None,
            )
        )
        self._obs: Any = None
        self._episode = EpisodeReturns()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self.pipeline.reset(None, seed=seed)
        self._episode.reset(np.zeros(1))
        self._obs = obs
        return obs, info

    def step(self, action: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        info = dict(info)
        info.setdefault(GOLD_REWARD, float(reward))
        trace = info.get(REWARD_TRACE) or {"env": float(reward)}
        batch = Transition(
            obs=_batch_of_one(self.observation_space, self._obs),
            action=_batch_of_one(self.action_space, action),
            next_obs=_batch_of_one(self.observation_space, obs),
            reward=np.array([reward], dtype=np.float32),
            terminated=np.array([terminated]),
            truncated=np.array([truncated]),
            valid=np.ones(1, dtype=bool),
            gold=np.array([info[GOLD_REWARD]], dtype=np.float64),
        )
        proxy, trace, reports = self.pipeline.apply(batch, {k: np.array([v], np.float32) for k, v in trace.items()})
        info[REWARD_TRACE] = {k: float(v[0]) for k, v in trace.items()}
        if reports:
            info[REGIME_INFO] = {
                layer: {k: _unbatch(v) for k, v in report.items()} for layer, report in reports.items()
            }
        episode = self._episode.step(
            proxy, np.array([info[GOLD_REWARD]]), batch.valid, np.array([terminated or truncated])
        )
        if episode is not None:
            info[EPISODE_RETURNS] = {k: float(v[0]) for k, v in episode.items()}
            info[EPISODE_RETURNS]["length"] = int(episode["length"][0])
        self._obs = obs
        return obs, float(proxy[0]), terminated, truncated, info


_ARRAY_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiBinary, spaces.MultiDiscrete)


def _batch_of_one(space: gym.Space, item: Any) -> Any:
    """``item`` as a batch of one, in gymnasium's batched layout for ``space``."""
    if isinstance(space, _ARRAY_SPACES):
        return np.asarray(item)[None]  # a view: the common case, and 10x cheaper than below
    return concatenate(space, [item], create_empty_array(space, 1))  # type: ignore[arg-type]


def _unbatch(value: Any) -> Any:
    """A batch-of-one value as a plain number; anything else as it is."""
    if isinstance(value, np.ndarray) and value.shape == (1,):
        return value[0].item()
    return value
