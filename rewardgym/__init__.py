"""rewardgym: a Gymnasium testbed for studying rewards.

Importing it registers every env under the ``rewardgym/`` namespace.

Example:
    >>> import gymnasium as gym, rewardgym
    >>> env = gym.make("rewardgym/CartPole-v0", reward="scale(factor=2)")
    >>> obs, info = env.reset(seed=0)
    >>> _, proxy, _, _, info = env.step(1)
    >>> proxy, info["gold_reward"]
    (2.0, 1.0)
"""

from rewardgym import envs, epic
from rewardgym.core import (
    EPISODE_RETURNS,
    FINAL_OBS,
    GOLD_REWARD,
    REGIME_INFO,
    REWARD_TRACE,
    CallableRegime,
    EnvContext,
    Regime,
    Transition,
    make_regime,
    parse_reward_spec,
    register_regime,
    registered_regimes,
    resolve_reward_spec,
)
from rewardgym.envs.multiagent import MULTIAGENT_IDS, is_multiagent, make_parallel, make_parallel_vec
from rewardgym.epic import epic_distance
from rewardgym.wrappers import wrap

__version__ = "0.1.0"

__all__ = [
    "EPISODE_RETURNS",
    "FINAL_OBS",
    "GOLD_REWARD",
    "MULTIAGENT_IDS",
    "REGIME_INFO",
    "REWARD_TRACE",
    "CallableRegime",
    "EnvContext",
    "Regime",
    "Transition",
    "envs",
    "epic",
    "epic_distance",
    "is_multiagent",
    "make_parallel",
    "make_parallel_vec",
    "make_regime",
    "parse_reward_spec",
    "register_regime",
    "registered_regimes",
    "resolve_reward_spec",
    "wrap",
]
