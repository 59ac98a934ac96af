"""``public_goods_v0``, PettingZoo's way: ``parallel_env(**kwargs)``, ``env(**kwargs)`` (AEC), ``raw_env``.

The game and its parameters: :mod:`rewardgym.envs.multiagent.public_goods`. Keyword arguments are its
parameters plus ``reward_mode`` and ``weight`` (and ``reward``, a reward spec, except for
``raw_env``); :func:`~rewardgym.envs.multiagent.registration.pettingzoo_module` makes the three.
"""

from rewardgym.envs.multiagent.registration import pettingzoo_module

raw_env, parallel_env, env = pettingzoo_module("rewardgym/PublicGoods-v0")

__all__ = ["env", "parallel_env", "raw_env"]
