"""Reference agents: the SB3 adapter, the native batched PPO, scripted policies, and ``train``.

- :func:`train` (:mod:`rewardgym.agents.train`): one algorithm on one env under one reward spec,
  with proxy and gold learning curves, in a :class:`TrainResult` (:mod:`rewardgym.agents.results`);
  :func:`evaluate` (:mod:`rewardgym.agents.evaluation`) scores a policy on whole episodes;
- :class:`SB3VecEnv`, :func:`make_sb3_env`, :class:`EpisodeReturnsLogger`
  (:mod:`rewardgym.agents.sb3`): any rewardgym vector env as a stable-baselines3 ``VecEnv``;
- :mod:`rewardgym.agents.ppo`: the native batched PPO; :mod:`rewardgym.agents.scripted`:
  random and hand-written policies.

``import rewardgym.agents`` stays cheap: SB3 and its adapter load on first use.
``rewardgym.agents.train`` is the function (its module's names import as usual: ``from
rewardgym.agents.train import reference_hyperparams``).

Example:
    >>> from rewardgym.agents import ALGOS
    >>> ALGOS[:2]
    ('ppo', 'sb3-ppo')
"""

from __future__ import annotations

import importlib
from typing import Any

from rewardgym.agents.evaluation import evaluate
from rewardgym.agents.results import TrainResult

# Imported here, not lazily: importing the submodule binds the package attribute "train" to the
# module, and this import binds it back to the function.
from rewardgym.agents.train import ALGOS, reference_hyperparams, train

_LAZY = {
    "SB3VecEnv": "rewardgym.agents.sb3",
    "make_sb3_env": "rewardgym.agents.sb3",
    "EpisodeReturnsLogger": "rewardgym.agents.sb3",
    "EpisodeLog": "rewardgym.agents.sb3",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rewardgym.agents' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = ["ALGOS", "TrainResult", "evaluate", "reference_hyperparams", "train", *_LAZY]
