"""The shell that applies reward regimes to a stable-baselines3 ``VecEnv``.

SB3's vector envs reset an env on the step that ends its episode: the returned observation is
the next episode's first, and ``infos[i]["terminal_observation"]`` holds the real last one, with
``infos[i]["TimeLimit.truncated"]`` telling a truncation from a termination. Every step is thus a
real transition (as gymnasium's SAME_STEP mode), and regimes get the real last observation as
``next_obs``. The contract's keys go in each env's info dict: ``gold_reward`` (the env's own
reward where it reports none), ``reward_trace``, ``regime_info`` and, at an episode's end,
``episode_returns``.

Example:
    >>> import gymnasium as gym, numpy as np, rewardgym
    >>> from stable_baselines3.common.env_util import make_vec_env
    >>> venv = rewardgym.wrap(make_vec_env("CartPole-v1", n_envs=2, seed=0), "scale(factor=-1)")
    >>> _ = venv.reset()
    >>> _, proxy, _, infos = venv.step(np.array([0, 1]))
    >>> proxy.tolist(), infos[0]["gold_reward"], infos[0]["reward_trace"]
    ([-1.0, -1.0], 1.0, {'env': 1.0, 'scale': -1.0})
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from rewardgym.core.info import EPISODE_RETURNS, GOLD_REWARD, REGIME_INFO, REWARD_TRACE
from rewardgym.core.pipeline import RewardPipeline
from rewardgym.core.regime import EnvContext
from rewardgym.core.spec import RewardSpec, resolve_reward_spec
from rewardgym.core.transition import Transition
from rewardgym.shells.monitor import EpisodeReturns

_TERMINAL_OBS = "terminal_observation"
_TRUNCATED = "TimeLimit.truncated"


class SB3RewardShell(VecEnvWrapper):
    """Applies regimes to an SB3 ``VecEnv``'s batches, keeping gold untouched (see the module).

    ``venv.seed(s)`` before ``reset()`` seeds the regimes as a gymnasium vector env seeded ``s``
    would: SB3 seeds env ``i`` with ``s + i``, and regime draws follow the same rule.
    """

    def __init__(self, venv: VecEnv, reward: RewardSpec = None) -> None:
        super().__init__(venv)
        self.pipeline = RewardPipeline(resolve_reward_spec(reward))
        spec = getattr(venv, "spec", None) or _first_spec(venv)
        self.pipeline.bind(
            EnvContext(
                num_envs=venv.num_envs,
                observation_space=venv.observation_space,
                action_space=venv.action_space,
                env_id=getattr(spec, "id", None),
            )
        )
        self._obs: Any = None
        self._actions: Any = None
        self._episode = EpisodeReturns()
        self._seed: int | None = None
        self._valid = np.ones(venv.num_envs, dtype=bool)

    def seed(self, seed: int | None = None) -> Any:
        self._seed = None if seed is None else int(seed)
        return self.venv.seed(seed)

    def reset(self) -> Any:
        obs = self.venv.reset()
        self.pipeline.reset(None, seed=self._seed)
        self._seed = None  # as SB3's seeds, used by the next reset only
        self._episode.reset(np.zeros(self.num_envs))
        self._obs = obs
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions
        self.venv.step_async(actions)

    def step_wait(self) -> Any:
        obs, reward, dones, infos = self.venv.step_wait()
        dones = np.asarray(dones, dtype=bool)
        reward = np.asarray(reward, dtype=np.float32)
        infos = [dict(info) for info in infos]
        gold = np.array([info.get(GOLD_REWARD, r) for info, r in zip(infos, reward.tolist())], np.float64)
        truncated = dones & np.array([bool(info.get(_TRUNCATED, False)) for info in infos])
        next_obs: Any = obs  # dict and tuple observations pass as SB3 gives them
        ended = np.flatnonzero(dones).tolist()
        if ended and isinstance(obs, np.ndarray):
            next_obs = np.array(obs, copy=True)
            for i in ended:  # only the envs that ended: a handful per step
                next_obs[i] = infos[i][_TERMINAL_OBS]
        batch = Transition(
            obs=self._obs,
            action=np.asarray(self._actions),
            next_obs=next_obs,
            reward=reward,
            terminated=dones & ~truncated,
            truncated=truncated,
            valid=self._valid,
            gold=gold,
        )
        proxy, trace, reports = self.pipeline.apply(batch, {"env": reward})
        episode = self._episode.step(proxy, gold, self._valid, dones)
        for j, info in enumerate(infos):
            info[GOLD_REWARD] = float(gold[j])
            info[REWARD_TRACE] = {name: float(values[j]) for name, values in trace.items()}
            if reports:
                info[REGIME_INFO] = {
                    layer: {k: _entry(v, j) for k, v in report.items()} for layer, report in reports.items()
                }
        if episode is not None:
            for i in ended:
                infos[i][EPISODE_RETURNS] = {k: float(v[i]) for k, v in episode.items()}
                infos[i][EPISODE_RETURNS]["length"] = int(episode["length"][i])
        self.pipeline.reset(dones)
        self._obs = obs
        return obs, proxy, dones, infos


def _first_spec(venv: VecEnv) -> Any:
    """The spec of the first env inside, where the VecEnv can say (DummyVecEnv, SubprocVecEnv)."""
    try:
        return venv.get_attr("spec", [0])[0]
    except Exception:  # a VecEnv that cannot answer: regimes then go without the env id
        return None


def _entry(value: Any, i: int) -> Any:
    """Env ``i``'s entry of a per-env report, as a plain number; a scalar as it is."""
    if isinstance(value, np.ndarray) and value.ndim >= 1:
        item = value[i]
        return item.item() if isinstance(item, np.generic) else item
    return value
