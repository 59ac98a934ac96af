"""``shaped(kind="weighted_sum")``: a weighted sum of rewards, each term a reward spec of its own.

Example:
    >>> import numpy as np
    >>> from rewardgym.core.transition import Transition
    >>> batch = Transition(np.zeros((2, 1)), np.zeros(2), np.zeros((2, 1)), np.array([-3.0, 0.5], np.float32),
    ...                    np.zeros(2, bool), np.zeros(2, bool), np.ones(2, bool))
    >>> WeightedSum(["scale(factor=2)", "shaped(kind='clip')"], weights=[1.0, 10.0]).reward(batch).tolist()
    [-16.0, 6.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from rewardgym.core.arrays import Array, as_reward_batch
from rewardgym.core.regime import EnvContext, Regime
from rewardgym.core.spec import RewardSpec, resolve_reward_spec
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_flag, check_number


class WeightedSum(Regime):
    """``r' = sum_i weights[i] * terms[i](batch)``, plus the incoming reward if ``include_input``.

    Each term is a reward spec (a spec string such as ``"shaped(kind='clip', high=0)"``, a
    callable of the batch, a regime, or a list of these applied left to right), resolved with
    :func:`rewardgym.resolve_reward_spec` and applied to the batch this layer receives. Terms are
    bound, reset (with their own seeds derived from the layer's), updated and switched between
    training and evaluation along with this layer.

    Args:
        terms: a non-empty list of reward specs.
        weights: one finite weight per term; None weighs every term 1.
        include_input: add the incoming reward (weight 1) to the sum.

    :meth:`info` reports each term's reward, keyed by the term's layer name (``name#2`` for a
    repeated one).

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> import rewardgym.wrappers.shaped
        >>> from rewardgym.wrappers.shaped import shaped
        >>> layer = shaped(kind="weighted_sum", terms=["scale(factor=2)", "shaped(kind='par')"],
        ...                weights=[0.5, 2.0])
        >>> env = gym.make("rewardgym/CartPole-v0", reward=layer)
        >>> _ = env.reset(seed=0)
        >>> _, proxy, *_, info = env.step(1)
        >>> terms = info["regime_info"]["shaped"]
        >>> round(proxy, 4), terms["scale"], round(terms["shaped"], 4)  # 0.5 * 2 + 2 * sigmoid(1)
        (2.4621, 2.0, 0.7311)
    """

    name = "shaped"

    def __init__(
        self,
        terms: Sequence[RewardSpec] = (),
        weights: Sequence[float] | None = None,
        include_input: bool = False,
    ) -> None:
        if isinstance(terms, (str, bytes)) or not isinstance(terms, (list, tuple)) or not terms:
            raise ValueError(
                f"shaped(kind='weighted_sum') parameter terms={terms!r} must be a non-empty list of "
                "reward specs (spec strings, callables or regimes)"
            )
        self.terms = [resolve_reward_spec(term) for term in terms]
        for index, chain in enumerate(self.terms):
            if not chain:
                raise ValueError(f"shaped(kind='weighted_sum') term {index} ({terms[index]!r}) names no reward")
        if weights is None:
            weights = [1.0] * len(terms)
        if not isinstance(weights, (list, tuple)) or len(weights) != len(terms):
            raise ValueError(
                f"shaped(kind='weighted_sum') parameter weights={weights!r} must be a list of "
                f"{len(terms)} numbers, one per term"
            )
        self.weights = [
            check_number(w, f"shaped(kind='weighted_sum') parameter weights[{i}]={w!r}") for i, w in enumerate(weights)
        ]
        self.include_input = check_flag(
            include_input, f"shaped(kind='weighted_sum') parameter include_input={include_input!r}"
        )
        self.term_names: list[str] = []
        for chain in self.terms:
            name = "+".join(regime.name for regime in chain)
            key, count = name, 1
            while key in self.term_names:
                count += 1
                key = f"{name}#{count}"
            self.term_names.append(key)
        self._values: list[Array] = []
        self._inputs: list[list[Transition]] = []

    def bind(self, context: EnvContext) -> None:
        for chain in self.terms:
            for regime in chain:
                regime.bind(context)

    def reset(self, mask: Array | None = None, *, seed: int | None = None) -> None:
        for t, chain in enumerate(self.terms):
            for j, regime in enumerate(chain):
                layer_seed = None
                if seed is not None:
                    layer_seed = int(np.random.SeedSequence([seed, t, j]).generate_state(1)[0])
                regime.reset(mask, seed=layer_seed)

    def reward(self, batch: Transition) -> Array:
        self._values, self._inputs = [], []
        total = batch.reward if self.include_input else 0.0
        for name, weight, chain in zip(self.term_names, self.weights, self.terms):
            value, inputs = batch.reward, []
            for regime in chain:
                layer_input = batch.replace(reward=value)
                inputs.append(layer_input)
                value = as_reward_batch(regime.reward(layer_input), like=batch.reward)
                if tuple(value.shape) != tuple(batch.reward.shape):
                    raise ValueError(
                        f"shaped(kind='weighted_sum') term {name!r} returned shape "
                        f"{tuple(value.shape)} for a batch of {batch.num_envs} envs; a term returns "
                        "one reward per env"
                    )
            self._values.append(value)
            self._inputs.append(inputs)
            total = total + weight * value
        return cast(Array, total)  # a batch: there is at least one term

    def update(self, batch: Transition) -> dict[str, float]:
        metrics: dict[str, float] = {}
        for name, chain, inputs in zip(self.term_names, self.terms, self._inputs):
            for regime, layer_input in zip(chain, inputs):
                if regime.training:
                    for key, value in regime.update(layer_input).items():
                        metrics[f"{name}/{key}"] = value
        return metrics

    def info(self) -> dict[str, Any]:
        return dict(zip(self.term_names, self._values))

    def _frozen_parts(self) -> dict[str, Any]:
        # Each term is frozen by its own kind's rules; the last step's values and inputs hold the
        # training envs' arrays.
        terms = [[regime.frozen_copy() for regime in chain] for chain in self.terms]
        return {"terms": terms, "_values": [], "_inputs": []}

    def train(self, mode: bool = True) -> Regime:
        for chain in self.terms:
            for regime in chain:
                regime.train(mode)
        return super().train(mode)
