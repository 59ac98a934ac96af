"""The info keys of the reward contract (docs/design.md, "The reward contract").

Every rewardgym env puts these in the ``info`` dict of every ``step``. Use the constants rather
than the strings so a typo fails at import time instead of silently reading nothing.

Example:
    >>> import gymnasium as gym, rewardgym
    >>> from rewardgym.core.info import GOLD_REWARD, REWARD_TRACE
    >>> env = gym.make("rewardgym/CartPole-v0", reward="scale(factor=2.0)")
    >>> _ = env.reset(seed=0)
    >>> _, proxy, *_, info = env.step(0)
    >>> info[GOLD_REWARD], proxy, list(info[REWARD_TRACE])
    (1.0, 2.0, ['env', 'scale'])
"""

from __future__ import annotations

GOLD_REWARD = "gold_reward"
"""The true objective of the step. No wrapper ever changes it."""

REWARD_TRACE = "reward_trace"
"""Maps each layer's name to the reward after that layer, in order, starting with ``"env"``."""

REGIME_INFO = "regime_info"
"""Maps a layer's name to what it reports about the step (e.g. an attack's budget spent), for the
layers that report something (:meth:`rewardgym.Regime.info`)."""

EPISODE_RETURNS = "episode_returns"
"""At an episode's end: its proxy and gold returns, their gap and its length (the monitor)."""

FINAL_OBS = "final_obs"
"""Vector envs in SAME_STEP autoreset mode: the real last observation of an episode that ended."""


def mask_key(key: str) -> str:
    """Gymnasium's vector-info convention: ``info["_key"]`` says which envs ``info["key"]`` covers."""
    return "_" + key
