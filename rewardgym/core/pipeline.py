"""The reward pipeline: applies a stack of regimes to a batch and explains the result.

This is the one place where regimes meet the reward contract. The shells (one per env API) only
adapt their env's step to a :class:`Transition` and hand it here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rewardgym.core.arrays import Array, any_nan, as_reward_batch, is_torch, where
from rewardgym.core.regime import EnvContext, Regime
from rewardgym.core.transition import Transition


class NonFiniteRewardError(ValueError):
    """A reward layer produced NaN: refused loudly rather than passed to the agent."""


class RewardPipeline:
    """Regimes applied left to right, each seeing the reward after the ones before it.

    Example:
        >>> import numpy as np, rewardgym
        >>> from rewardgym.core.pipeline import RewardPipeline
        >>> from rewardgym.core.transition import Transition
        >>> pipe = RewardPipeline(rewardgym.resolve_reward_spec("scale(factor=2)+scale(factor=3)"))
        >>> batch = Transition(np.zeros((1, 1)), np.zeros(1), np.zeros((1, 1)),
        ...                    np.ones(1, np.float32), np.zeros(1, bool), np.zeros(1, bool),
        ...                    np.ones(1, bool))
        >>> reward, trace, _ = pipe.apply(batch, {"env": batch.reward})
        >>> reward.tolist(), {k: v.tolist() for k, v in trace.items()}
        ([6.0], {'env': [1.0], 'scale': [2.0], 'scale#2': [6.0]})
    """

    def __init__(self, regimes: list[Regime]) -> None:
        self.regimes = list(regimes)

    def bind(self, context: EnvContext) -> None:
        for regime in self.regimes:
            regime.bind(context)

    def reset(self, mask: Array | None = None, *, seed: int | None = None) -> None:
        """Reset every layer; with a seed, each layer gets its own stream derived from it."""
        for index, regime in enumerate(self.regimes):
            layer_seed = None
            if seed is not None:
                layer_seed = int(np.random.SeedSequence([seed, index]).generate_state(1)[0])
            regime.reset(mask, seed=layer_seed)

    def apply(
        self, batch: Transition, trace: dict[str, Array] | None = None
    ) -> tuple[Array, dict[str, Array], dict[str, dict[str, Any]]]:
        """The proxy reward of the batch, ``trace`` extended with the reward after each layer, and
        what each layer reports (:meth:`Regime.info`, only for layers that report something).

        A layer whose name is already in the trace (a second ``scale``, say) is keyed ``name#2``.
        """
        reports: dict[str, dict[str, Any]] = {}
        reward = batch.reward
        trace = dict(trace or {})
        layers: dict[str, Array] = {}
        # On the CPU, skipping the masked select when no step is an autoreset step saves a pass
        # over the batch; on the GPU the select is cheaper than the device sync that would decide.
        every_step_real = not is_torch(batch.valid) and bool(batch.valid.all())
        for regime in self.regimes:
            name = _unused_key(regime.name, trace)
            layer_input = batch.replace(reward=reward)
            new = as_reward_batch(regime.reward(layer_input), like=reward)
            if tuple(new.shape) != tuple(reward.shape):
                raise ValueError(
                    f"reward layer {name!r} returned shape {tuple(new.shape)} for a batch of "
                    f"{batch.num_envs} envs; a regime returns one reward per env"
                )
            # Autoreset steps are not transitions: their reward passes through untouched.
            reward = new if every_step_real else where(batch.valid, new, reward)
            trace[name] = layers[name] = reward
            report = regime.info()
            if report:
                reports[name] = report
            if regime.training:
                regime.update(layer_input)
        if layers and any_nan(reward):
            first = next(name for name, value in layers.items() if any_nan(value))
            raise NonFiniteRewardError(
                f"reward layer {first!r} produced NaN; rewardgym never passes a NaN reward on "
                "silently. Check the regime's parameters and inputs."
            )
        return reward, trace, reports


def _unused_key(name: str, taken: dict[str, Array]) -> str:
    key, count = name, 1
    while key in taken:
        count += 1
        key = f"{name}#{count}"
    return key
