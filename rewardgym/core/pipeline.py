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
        """Reset every layer; with a seed, each layer gets its own stream derived from it
        (:func:`layer_seed`)."""
        for index, regime in enumerate(self.regimes):
            regime.reset(mask, seed=None if seed is None else layer_seed(seed, index))

    def apply(
        self, batch: Transition, trace: dict[str, Array] | None = None, computed: Array | None = None
    ) -> tuple[Array, dict[str, Array], dict[str, dict[str, Any]]]:
        """The proxy reward of the batch, ``trace`` extended with the reward after each layer, and
        what each layer reports (:meth:`Regime.info`, only for layers that report something).

        A layer whose name is already in the trace (a second ``scale``, say) is keyed ``name#2``.
        ``computed`` holds the outputs of the first ``len(computed)`` layers where they were
        already computed (inside the env's step kernel, :meth:`Regime.fused_layer`), one row per
        layer: those layers are checked and report, but are not called again.

        Raises:
            NonFiniteRewardError: the incoming reward (named by the trace's last key, ``"env"``)
                or a layer's output holds a NaN, even one a later layer would replace or delay:
                every output is checked on the step it is made. On the CPU a NaN layer stops the
                pass before it learns; on the GPU the checks are read once, after the pass (one
                device sync, not one per layer).
        """
        reward = batch.reward
        trace = dict(trace or {})
        if not self.regimes:  # a plain env, the most common case: its reward, checked
            if _has_nan(reward):
                _refuse(next(reversed(trace), "env"))
            return reward, trace, {}
        reports: dict[str, dict[str, Any]] = {}
        names = self._layer_names(trace)
        on_cpu = not is_torch(batch.valid)
        checks = _NanChecks(on_cpu)
        computed_rows: Any = () if computed is None else computed
        done = len(computed_rows)
        checks.add_rows([next(reversed(trace), "env"), *names[:done]], reward, computed_rows)
        for index in range(done):  # fused layers learn nothing (FusedLayer), so no update
            reward = trace[names[index]] = computed_rows[index]
            report = self.regimes[index].info()
            if report:
                reports[names[index]] = report
        every_step_real = None  # decided where a layer runs here: most stacks are fused or empty
        for regime, name in zip(self.regimes[done:], names[done:]):
            if every_step_real is None:
                # On the CPU, skipping the masked select when no step is an autoreset step saves a
                # pass over the batch; on the GPU the select is cheaper than the sync that would decide.
                every_step_real = on_cpu and bool(batch.valid.all())
            layer_input = batch._replace(reward=reward)
            new = regime.reward(layer_input)
            # A float32 numpy batch, what regimes return on the CPU, needs no conversion.
            if not (on_cpu and type(new) is np.ndarray and new.dtype == np.float32):
                # Converting would drop the imaginary part with no more than a warning.
                if new.is_complex() if is_torch(new) else np.iscomplexobj(new):
                    raise ValueError(
                        f"reward layer {name!r} returned complex rewards; a regime returns real numbers, one per env"
                    )
                new = as_reward_batch(new, like=reward)
            if new.shape != reward.shape:
                raise ValueError(
                    f"reward layer {name!r} returned shape {tuple(new.shape)} for a batch of "
                    f"{batch.num_envs} envs; a regime returns one reward per env"
                )
            # Autoreset steps are not transitions: their reward passes through untouched.
            reward = new if every_step_real else where(batch.valid, new, reward)
            trace[name] = reward
            checks.add(name, reward)
            report = regime.info()
            if report:
                reports[name] = report
            if regime.training:
                regime.update(layer_input)
        checks.settle()
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


_SEED_RANGE = 1 << 63


def layer_seed(seed: int, index: int) -> int:
    """The seed of layer ``index`` under the env seed ``seed``: ``seed`` plus a fixed offset per
    layer (a hash of ``index``), modulo ``2**63``.

    Additive so that env ``i`` of a vector env seeded ``s`` can draw exactly as a single env
    seeded ``s + i`` (docs/design.md, point 7): the layer seed of ``s + i`` is the layer seed of
    ``s`` plus ``i``, and :class:`~rewardgym.core.batch_random.BatchRandom` keys env ``i``'s
    stream by its seed plus ``i``. The offsets are 63-bit hashes, so layers' streams (and the
    dynamics', keyed by ``s + i`` itself) overlap only if two seeds lie that far apart.

    Example:
        >>> layer_seed(7, 0) + 3 == layer_seed(10, 0), layer_seed(7, 0) != layer_seed(7, 1)
        (True, True)
    """
    offset = int(np.random.SeedSequence(index).generate_state(1, np.uint64)[0]) % _SEED_RANGE
    return (int(seed) + offset) % _SEED_RANGE


class _NanChecks:
    """Whether each of a pass's rewards (the input, then each layer's output) holds a NaN.

    On the CPU each is checked when added (one compiled pass) and the first NaN raises at once;
    on the GPU the checks stay on the device until :meth:`settle` reads them all in one sync.
    """

    def __init__(self, on_cpu: bool) -> None:
        self.on_cpu = on_cpu
        self.pending: list[tuple[str, Any]] = []

    def add(self, name: str, reward: Array) -> None:
        if self.on_cpu or not is_torch(reward):
            if _has_nan(reward):
                _refuse(name)
        else:
            self.pending.append((name, reward.isnan().any()))

    def add_rows(self, names: list[str], reward: Array, rows: Array | tuple[()]) -> None:
        """``reward``, then each row of ``rows`` (one per layer, C-contiguous, or none), as
        :meth:`add` would each, named by ``names`` in that order: on the CPU in one compiled pass."""
        if not len(rows):
            self.add(names[0], reward)
        elif self.on_cpu or not is_torch(rows):
            if type(reward) is type(rows) is np.ndarray and reward.ndim == 1 and rows.shape[1] == reward.shape[0]:
                first = _first_nan_row(reward, rows)
            else:  # a torch reward on the CPU, or rows of another shape: read row by row
                first = next((k for k, row in enumerate((reward, *rows)) if _has_nan(row)), -1)
            if first >= 0:
                _refuse(names[first])
        else:
            self.add(names[0], reward)
            self.pending += [(name, flag) for name, flag in zip(names[1:], rows.isnan().any(dim=1))]

    def settle(self) -> None:
        if not self.pending:
            return
        import torch

        found = torch.stack([flag for _, flag in self.pending]).tolist()
        for (name, _), nan in zip(self.pending, found):
            if nan:
                _refuse(name)


def _refuse(name: str) -> None:
    source, advice = (
        ("the env's own reward", "Check the env.")
        if name == "env"
        else ("reward layer", "Check the regime's parameters and inputs.")
    )
    raise NonFiniteRewardError(
        f"{source} {name!r} produced NaN; rewardgym never passes a NaN reward on silently. {advice}"
    )


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


@njit(nogil=True, cache=True)
def _first_nan_row(reward: np.ndarray, rows: np.ndarray) -> int:  # pragma: no cover (compiled)
    """The first of ``reward`` (0) and the rows of ``rows`` (1, 2...) that holds a NaN, or -1:
    the fused layers' check in one call (a call costs as much as a short pass)."""
    if _has_nan_kernel(reward):
        return 0
    for k in range(rows.shape[0]):
        if _has_nan_kernel(rows[k]):
            return k + 1
    return -1


def _unused_key(name: str, taken: dict[str, Any]) -> str:
    key, count = name, 1
    while key in taken:
        count += 1
        key = f"{name}#{count}"
    return key
