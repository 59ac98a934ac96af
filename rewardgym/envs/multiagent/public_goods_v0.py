"""``public_goods_v0``, PettingZoo's way: ``parallel_env(**kwargs)``, ``env(**kwargs)`` (AEC), ``raw_env``.

The game and its parameters: :mod:`rewardgym.envs.multiagent.public_goods`. Keyword arguments are its
parameters plus ``reward_mode`` and ``weight`` (and ``reward``, a reward spec).
"""

from __future__ import annotations

from typing import Any

from pettingzoo.utils.conversions import parallel_to_aec

from rewardgym.envs.multiagent.parallel_env import BatchedParallelEnv
from rewardgym.envs.multiagent.public_goods import PUBLIC_GOODS
from rewardgym.envs.multiagent.registration import make_parallel


def raw_env(**kwargs: Any) -> BatchedParallelEnv:
    """The bare game as a ``ParallelEnv``, outside any reward shell."""
    return BatchedParallelEnv(PUBLIC_GOODS, **kwargs)


def parallel_env(**kwargs: Any) -> Any:
    """The game as a ``ParallelEnv`` in a reward shell (``reward=`` a spec; none by default)."""
    return make_parallel("rewardgym/PublicGoods-v0", **kwargs)


def env(**kwargs: Any) -> Any:
    """The game as an AEC env, through PettingZoo's own ``parallel_to_aec``."""
    return parallel_to_aec(parallel_env(**kwargs))
