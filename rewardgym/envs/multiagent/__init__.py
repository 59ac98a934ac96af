"""Multi-agent mixed-motive games, batched, with PettingZoo's APIs.

Each game keeps the **payoff** (what the game gives each agent) apart from the **reward** it pays
(``reward_mode``: private, integrated or cooperative), and its gold is the group's **welfare**.
Made PettingZoo's way (``public_goods_v0.parallel_env()``, ``.env()`` for AEC) or by id
(``rewardgym.make_parallel``, ``rewardgym.make_parallel_vec`` for training).
"""

from rewardgym.envs.multiagent.game import REWARD_MODES, MultiAgentGame
from rewardgym.envs.multiagent.parallel_env import BatchedParallelEnv
from rewardgym.envs.multiagent.registration import (
    GAMES,
    MULTIAGENT_IDS,
    game_of,
    is_multiagent,
    make_parallel,
    make_parallel_vec,
)
from rewardgym.envs.multiagent.vector_env import PAYOFF, WELFARE, MultiAgentVectorEnv

__all__ = [
    "GAMES",
    "MULTIAGENT_IDS",
    "PAYOFF",
    "REWARD_MODES",
    "WELFARE",
    "BatchedParallelEnv",
    "MultiAgentGame",
    "MultiAgentVectorEnv",
    "game_of",
    "is_multiagent",
    "make_parallel",
    "make_parallel_vec",
]
