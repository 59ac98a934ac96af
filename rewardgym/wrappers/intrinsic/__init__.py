"""``intrinsic``: the agent is paid an exploration bonus on top of the reward entering the layer.

One family, chosen with ``kind=...`` (default ``"rnd"``): four kinds for vector observations,
and ``ngram`` for text completions (:mod:`~rewardgym.wrappers.intrinsic.text`).

=======  =====================================================================================
kind     the bonus of a transition ``(s, a, s')``
=======  =====================================================================================
count    ``1 / sqrt(n(s'))``: visits of ``s'``'s bin, counted under a seeded hash
rnd      the error of a predictor trained to match a fixed random network at ``s'`` (RND)
icm      the error of a forward model predicting ``s'``'s learned features from ``s``, ``a`` (ICM)
e3b      an elliptical bonus ``phi(s')^T C^-1 phi(s')``: episodic (E3B), global, or their product
=======  =====================================================================================

Each kind has its module (``count``, ``rnd``, ``icm``, ``e3b``, ``text``); what they share sits
beside them: :mod:`~rewardgym.wrappers.intrinsic.base` (coefficient, normalization, seeds,
device), :mod:`~rewardgym.wrappers.intrinsic.networks` (online training, shared by the kinds with
networks) and :mod:`~rewardgym.wrappers.intrinsic.encoding` (how spaces enter a network). This
module holds the family: its table of kinds, :data:`KINDS`, and :func:`intrinsic`.

Every kind pays ``r + coef * bonus``, where ``r`` is the reward entering the layer (the
*extrinsic* reward, kept separate: it is the previous entry of ``info["reward_trace"]``) and

- ``coef = beta * (1 - kappa) ** t`` decays with ``t``, the number of valid transitions the layer
  has trained on (transitions, not vector steps, so the schedule does not depend on
  ``num_envs``);
- ``bonus`` is the raw bonus divided by the running root mean square of the raw bonuses of the
  earlier training steps (``normalize=True``, the default). The RMS rather than the standard
  deviation: bonuses are non-negative, and a standard deviation near zero (every early bonus
  alike, as the first visits of a count bonus are) would blow the bonus up.

``info["regime_info"]["intrinsic"]`` reports ``extrinsic``, the raw ``bonus``, the
``bonus_normalized`` and the ``coef`` of each step (plus ``episodic_bonus`` and ``global_bonus``
for ``e3b(variant='product')``), so the proxy can always be explained. ``extrinsic=False`` pays
the bonus alone (pure exploration).

**Learning online.** Learning happens in :meth:`~rewardgym.core.regime.Regime.update`, which the
shells call on every step while the layer is ``training``; entries with ``valid=False`` (the
autoreset step of a NEXT_STEP vector env) are weighted 0, never used. Counts, the normalizers
and the decay clock update on every training step. The networks of ``rnd``, ``icm`` and ``e3b`` are
trained from a buffer: each step's rows are appended, and once ``train_every`` rows are in, one
Adam step is taken on all of them and the buffer is emptied. A vector env with at least
``train_every`` envs thus trains on every step; a single env every ``train_every`` steps (one
optimizer step per 32 transitions by default keeps the per-step cost of a single env low).
Observations are normalized by running mean and standard deviation (clipped to ``[-5, 5]``, as
in RND) before they enter a network, once 64 valid transitions are in (raw until then).

**Torch, batched, CPU or GPU.** Every kind computes over the whole batch at once, never per env.
The networks run in torch: a numpy batch (``device="cpu"``) is viewed with ``torch.from_numpy``
(no copy) and the reward is returned as numpy; a torch batch (``device="cuda"``) is used where it
lives, without copies, and the reward stays a tensor on its device. ``count`` hashes and counts
in the batch's own kind (numpy or torch, the same bits either way). Networks are built in
``bind`` from the observation and action spaces, on the CPU from a seed (so every device starts
from the same weights), and move to the batch's device on the first step.

**Seeds.** ``seed=None`` (the default) lets a seeded reset of the env restart the layer: its
networks, counts, normalizers, decay clock and buffers start afresh from that seed, so the same
env seed gives the same bonuses. ``seed=<int>`` fixes the layer's initialization instead, and
seeded resets then leave its learning in place.

Example:
    >>> import gymnasium as gym, numpy as np, rewardgym, rewardgym.wrappers.intrinsic
    >>> envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=4, reward="intrinsic(kind='rnd')")
    >>> _ = envs.reset(seed=0)
    >>> _, proxy, _, _, info = envs.step(np.array([0, 1, 0, 1]))
    >>> report = info["regime_info"]["intrinsic"]
    >>> sorted(report)
    ['bonus', 'bonus_normalized', 'coef', 'extrinsic']
    >>> bool(np.allclose(proxy, report["extrinsic"] + report["coef"] * report["bonus_normalized"]))
    True
"""

from __future__ import annotations

from typing import Any

from rewardgym.core.regime import Regime
from rewardgym.core.registry import RegimeFactory, make_kind, register_regime
from rewardgym.wrappers.intrinsic.count import Count
from rewardgym.wrappers.intrinsic.e3b import E3B
from rewardgym.wrappers.intrinsic.icm import ICM
from rewardgym.wrappers.intrinsic.rnd import RND
from rewardgym.wrappers.intrinsic.text import NgramNovelty

__all__ = ["KINDS", "Count", "E3B", "ICM", "RND", "intrinsic"]


KINDS: dict[str, RegimeFactory] = {
    "count": Count,
    "rnd": RND,
    "icm": ICM,
    "e3b": E3B,
    "ngram": NgramNovelty,
}
"""The kinds of the ``intrinsic`` family, by name."""


def intrinsic(kind: str = "rnd", **params: Any) -> Regime:
    """The ``intrinsic`` family: the ``kind`` variant with its parameters (see :data:`KINDS`).

    Unknown kinds and parameters are refused with the valid choices.

    Example:
        >>> import gymnasium as gym, numpy as np, rewardgym, rewardgym.wrappers.intrinsic
        >>> envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=3,
        ...                     reward="intrinsic(kind='count', resolution=[0.1, 0.1, 0.05, 0.1])")
        >>> _ = envs.reset(seed=0)
        >>> _, proxy, _, _, info = envs.step(np.array([0, 1, 0]))
        >>> info["gold_reward"].tolist(), bool((proxy > 1.0).all())
        ([1.0, 1.0, 1.0], True)
        >>> intrinsic("curiosity")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: unknown kind 'curiosity' of regime 'intrinsic'; valid kinds: count, rnd, icm, e3b, ...
    """
    return make_kind("intrinsic", KINDS, kind, params)


register_regime("intrinsic", intrinsic, override=True)
