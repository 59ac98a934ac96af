"""``adversarial``: reward poisoning, ``r' = r + delta`` with ``|delta| <= delta_max`` and a budget.

An attacker stands between the env and the agent and perturbs each reward it passes on, as in
the reward-poisoning literature (Ma et al., NeurIPS 2019, "Policy Poisoning in Batch
Reinforcement Learning and Control"; Zhang, Ma, Singla and Zhu, ICML 2020, "Adaptive
Reward-Poisoning Attacks against Reinforcement Learning"). Every numeric kind shares three limits
(:class:`RewardPoisoning`, in :mod:`~rewardgym.wrappers.adversarial.poisoning`):

- ``delta_max`` (the paper's Delta): the per-step bound, ``|delta_t| <= delta_max``.
- ``budget`` (B): the total ``sum_t |delta_t|`` the attacker may ever spend, **per env** (each env
  of a vector env is its own attacker, as a vector env seeded ``s`` runs env ``i`` like a single
  env seeded ``s + i``) and **for the whole run**, as the total budget over training of Zhang et
  al. and Ma et al.: episode ends and unseeded resets never refill it. A seeded reset starts a
  new run and refills the envs it resets (gymnasium's rule that the same seed and actions give
  the same rewards; ``check_env`` tests it); :meth:`RewardPoisoning.refill` refills without
  reseeding, and a frozen copy, which evaluation attacks with, starts with the whole budget. The budget is never exceeded: the last
  delta is clamped to what remains, and after that the reward passes through unchanged.
  ``None`` (the default) means no limit.
- ``rate``: the probability that a step is attacked at all, drawn per env and per step from a
  :class:`~rewardgym.core.batch_random.BatchRandom` reseeded by ``reset(seed=...)``.

The kinds differ in the delta they aim for before those limits apply:

========== =====================================================================================
kind       delta on an attacked step (then clamped to the budget left)
========== =====================================================================================
untargeted ``clip(-2 (r - c), -delta_max, delta_max)``: flip the reward around a centre ``c``
           as far as ``delta_max`` allows (``c = 0``, or the running mean of the env's rewards);
           :mod:`~rewardgym.wrappers.adversarial.untargeted`.
targeted   ``+delta_max`` where the action is the target policy's ``pi_dagger(obs)``,
           ``-delta_max`` elsewhere (non-adaptive: a function of ``(s, a)`` only);
           :mod:`~rewardgym.wrappers.adversarial.targeted`.
adaptive   as ``targeted``, but only where the learner's current choice in ``s`` is not yet
           ``pi_dagger(s)``; nothing is spent where it already is (Zhang et al. 2020);
           :mod:`~rewardgym.wrappers.adversarial.targeted`.
========== =====================================================================================

``info()`` reports, per env: ``spent`` (cumulative), ``remaining`` (``budget - spent``, ``inf``
without a limit), ``delta`` (this step's) and ``attacked`` (a nonzero delta was applied: the rate
draw chose the step, and budget was left to spend on a reward worth changing). The
shells put it in ``info["regime_info"]["adversarial"]``. Gold is never read or changed.

The ``text`` kind attacks completion envs another way: it pays an inner reward spec on a
gold-preserving perturbation of the completion (:mod:`~rewardgym.wrappers.adversarial.text`).

Example:
    >>> import gymnasium as gym, rewardgym
    >>> env = gym.make("rewardgym/CartPole-v0", reward="adversarial(delta_max=0.5, budget=1.2)")
    >>> _ = env.reset(seed=0)
    >>> [env.step(0)[1] for _ in range(4)]
    [0.5, 0.5, 0.800000011920929, 1.0]
    >>> info = env.step(0)[4]
    >>> info["gold_reward"], info["regime_info"]["adversarial"]["spent"]
    (1.0, 1.2)
"""

from __future__ import annotations

from typing import Any

from rewardgym.core.regime import Regime
from rewardgym.core.registry import RegimeFactory, make_kind, register_regime
from rewardgym.wrappers.adversarial.poisoning import RewardPoisoning
from rewardgym.wrappers.adversarial.targeted import Adaptive, PolicyFn, Targeted, TargetSpec
from rewardgym.wrappers.adversarial.text import TextPerturbation
from rewardgym.wrappers.adversarial.untargeted import Untargeted

__all__ = [
    "KINDS",
    "Adaptive",
    "PolicyFn",
    "RewardPoisoning",
    "TargetSpec",
    "Targeted",
    "TextPerturbation",
    "Untargeted",
    "adversarial",
]

KINDS: dict[str, RegimeFactory] = {
    "untargeted": Untargeted,
    "targeted": Targeted,
    "adaptive": Adaptive,
    "text": TextPerturbation,
}
"""The kinds of the ``adversarial`` family, by name."""


def adversarial(kind: str = "untargeted", **params: Any) -> Regime:
    """The ``adversarial`` family: reward poisoning within a per-step bound and a total budget.

    Args:
        kind: ``"untargeted"`` (default), ``"targeted"``, ``"adaptive"`` or ``"text"``; see the
            module's docstring and each kind's class for its rule and parameters.
        **params: the kind's parameters; an unknown one is refused with the valid ones.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> env = rewardgym.wrap(gym.make("rewardgym/CartPole-v0"), "adversarial(budget=0.2)")
        >>> _ = env.reset(seed=0)
        >>> env.step(0)[1], env.step(0)[1]  # 0.2 spent on the first step; then no budget left
        (0.800000011920929, 1.0)
    """
    return make_kind("adversarial", KINDS, kind, params)


register_regime("adversarial", adversarial, override=True)
