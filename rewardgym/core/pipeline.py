"""The reward pipeline: applies a stack of regimes to a batch and explains the result.

This is the one place where regimes meet the reward contract. The shells (one per env API) only
adapt their env's step to a :class:`Transition` and hand it here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

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
        self._names: dict[tuple[Any, ...], list[str]] = {}  # layer names, by the trace's keys

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
        names = self._layer_names(trace)
        # On the CPU, skipping the masked select when no step is an autoreset step saves a pass
        # over the batch; on the GPU the select is cheaper than the device sync that would decide.
        on_cpu = not is_torch(batch.valid)
        every_step_real = on_cpu and bool(batch.valid.all())
        for regime, name in zip(self.regimes, names):
            layer_input = batch._replace(reward=reward)
            new = regime.reward(layer_input)
            # A float32 numpy batch, what regimes return on the CPU, needs no conversion.
            if not (on_cpu and type(new) is np.ndarray and new.dtype == np.float32):
                new = as_reward_batch(new, like=reward)
            if new.shape != reward.shape:
                raise ValueError(
                    f"reward layer {name!r} returned shape {tuple(new.shape)} for a batch of "
                    f"{batch.num_envs} envs; a regime returns one reward per env"
                )
            # Autoreset steps are not transitions: their reward passes through untouched.
            reward = new if every_step_real else where(batch.valid, new, reward)
            trace[name] = reward
            report = regime.info()
            if report:
                reports[name] = report
            if regime.training:
                regime.update(layer_input)
        if names and _has_nan(reward):
            first = next(name for name in names if any_nan(trace[name]))
            raise NonFiniteRewardError(
                f"reward layer {first!r} produced NaN; rewardgym never passes a NaN reward on "
                "silently. Check the regime's parameters and inputs."
            )
        return reward, trace, reports

    def _layer_names(self, trace: dict[str, Array]) -> list[str]:
        """Each layer's key in the trace: its name, or ``name#2`` and so on where it is taken."""
        keys = (*trace, *map(id, self.regimes))  # a regime appended later gets its own names
        names = self._names.get(keys)
        if names is None:
            taken = dict.fromkeys(trace)
            names = []
            for regime in self.regimes:
                name = _unused_key(regime.name, taken)
                taken[name] = None
                names.append(name)
            self._names[keys] = names
        return names


def _has_nan(reward: Array) -> bool:
    if is_torch(reward) or reward.ndim != 1:
        return any_nan(reward)
    return _has_nan_kernel(reward)


@njit(nogil=True, cache=True)
def _has_nan_kernel(x: np.ndarray) -> bool:  # pragma: no cover (compiled)
    """One compiled pass (``x != x`` only for NaN): a third of the numpy reduction's cost."""
    found = False
    for i in range(x.shape[0]):
        found |= x[i] != x[i]
    return found


def _unused_key(name: str, taken: dict[str, Any]) -> str:
    key, count = name, 1
    while key in taken:
        count += 1
        key = f"{name}#{count}"
    return key
