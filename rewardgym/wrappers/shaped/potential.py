"""Shaping by a potential: potential-based (``kind="potential"``) and naive (``kind="naive"``).

A potential ``Phi`` maps an observation batch to one number per env. It is a user's callable, or
an env's built-in one, written beside its dynamics and found through the env registry by the
env's id when the regime binds: the ``potential`` of a batched env's
:class:`~rewardgym.envs.batched.BatchedTask`, which runs compiled
(:mod:`rewardgym.wrappers.shaped.kernels`), or of a MuJoCo env's
:class:`~rewardgym.envs.mujoco.MujocoTask`, a numpy function of the observation batch (MuJoCo's
batches are small and on the CPU). Callables run on whole numpy or torch batches.

Example:
    >>> import numpy as np
    >>> BUILTIN_POTENTIALS["rewardgym/Acrobot-v0"].function(np.array([[-1.0, 0.0, 1.0, 0.0, 0.0, 0.0]]))
    array([2.])
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from rewardgym.core.arrays import Array, as_reward_batch, to_numpy, where, zeros
from rewardgym.core.regime import EnvContext, FusedLayer, Regime
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_number
from rewardgym.envs.batched.task import BatchedTask
from rewardgym.envs.mujoco import MUJOCO_TASKS, mujoco_env_id
from rewardgym.envs.registration import ENV_IDS, TASKS
from rewardgym.wrappers.shaped.kernels import CompiledPotential

Potential = Callable[[Array], Array]
"""A potential: observations ``(num_envs, *obs_shape)`` to one potential per env ``(num_envs,)``."""


class BuiltinPotential(NamedTuple):
    """A built-in potential over batches and the observation shape it reads (checked at bind)."""

    function: Potential
    obs_shape: tuple[int, ...]


def _tasks_by_id() -> dict[str, BatchedTask]:
    """Each env id that has a built-in potential, and the task it comes from, read from the env
    registry now (so a task registered later counts): rewardgym's ids first, then gymnasium's own
    envs that the tasks reproduce, whose observations are the same, for ``rewardgym.wrap``."""
    tasks = [task for task in TASKS.values() if task.potential is not None]
    by_id = {ENV_IDS[task.name]: task for task in tasks}
    for task in tasks:
        # A task's reference names gymnasium's env where it reproduces one ("CartPole-v1"), and
        # describes its source otherwise (a paper): only registered ids are env ids.
        for env_id in (*task.aliases, task.reference):
            if env_id and (env_id in task.aliases or env_id in gym.registry):
                by_id.setdefault(env_id, task)
    return by_id


def _mujoco_potentials() -> dict[str, BuiltinPotential]:
    """Each MuJoCo env id with a built-in potential: the task's numpy function of the observation
    batch under the task's default params, and the default observation's shape."""
    return {
        mujoco_env_id(task.name): BuiltinPotential(_bound(task.potential, task.params), (task.observation_size,))
        for task in MUJOCO_TASKS.values()
        if task.potential is not None
    }


def _bound(potential: Callable[[np.ndarray, Any], np.ndarray], params: Any) -> Potential:
    return lambda obs: potential(to_numpy(obs), params)


def _builtin(env_id: str) -> CompiledPotential | BuiltinPotential | None:
    """The built-in potential of ``env_id``: compiled for a batched task, a numpy function for a
    MuJoCo task, None for an env without one."""
    task = _tasks_by_id().get(env_id)
    if task is not None:
        return CompiledPotential(task)
    return _mujoco_potentials().get(env_id)


class _BuiltinPotentials(Mapping[str, BuiltinPotential]):
    def __getitem__(self, env_id: str) -> BuiltinPotential:
        builtin = _builtin(env_id)
        if builtin is None:
            raise KeyError(env_id)
        if isinstance(builtin, CompiledPotential):
            return BuiltinPotential(builtin.values, builtin.obs_shape)
        return builtin

    def __iter__(self) -> Iterator[str]:
        return iter([*_tasks_by_id(), *_mujoco_potentials()])

    def __len__(self) -> int:
        return len(_tasks_by_id()) + len(_mujoco_potentials())

    def __repr__(self) -> str:
        return f"BUILTIN_POTENTIALS({list(self)})"


BUILTIN_POTENTIALS: Mapping[str, BuiltinPotential] = _BuiltinPotentials()
"""The built-in potential of each env id that has one (``potential=None`` picks it at bind): its
``function`` gives a batch's potentials as float64, computed by the compiled loop."""


def _potential_arg(kind: str, potential: Any) -> Potential | str | None:
    if potential is None or callable(potential):
        return potential
    if isinstance(potential, str) and potential in BUILTIN_POTENTIALS:
        return potential
    raise ValueError(
        f"shaped(kind={kind!r}) parameter potential={potential!r} must be None (the bound env's "
        f"built-in potential), a callable obs_batch -> (num_envs,) potentials, or the id of an env "
        f"with a built-in potential: {', '.join(BUILTIN_POTENTIALS)}"
    )


class _PotentialRegime(Regime):
    """What potential-based and naive shaping share: choosing and calling the potential."""

    name = "shaped"
    kind = ""

    def __init__(self, potential: Potential | str | None, scale: float) -> None:
        self.potential = _potential_arg(self.kind, potential)
        self.scale = check_number(scale, f"shaped(kind={self.kind!r}) parameter scale={scale!r}")
        # Exactly one of these is set once the potential is known: a function of batches (a
        # user's callable, or a MuJoCo task's built-in one), or the compiled built-in potential
        # of a batched env's task (named now, or the bound env's at bind).
        self._function: Potential | None = None
        self._function_name = ""
        self._compiled: CompiledPotential | None = None
        if callable(self.potential):
            self._function = self.potential
            self._function_name = getattr(self.potential, "__name__", type(self.potential).__name__)
        elif isinstance(self.potential, str):
            self._use_builtin(self.potential, _builtin(self.potential))

    def bind(self, context: EnvContext) -> None:
        if callable(self.potential):
            return
        env_id = self.potential if isinstance(self.potential, str) else context.env_id
        builtin = _builtin(env_id or "")
        if builtin is None:
            raise ValueError(
                f"shaped(kind={self.kind!r}) has no built-in potential for env {context.env_id!r}; "
                f"envs with one: {', '.join(BUILTIN_POTENTIALS)}. Pass potential=<a callable "
                "obs_batch -> (num_envs,) potentials> for any other env."
            )
        shape = tuple(getattr(context.observation_space, "shape", None) or ())
        if shape != builtin.obs_shape:
            raise ValueError(
                f"the built-in potential of {env_id!r} reads observations of shape "
                f"{builtin.obs_shape}, but this env's observations have shape {shape}; pass "
                "potential=<a callable> for a changed observation"
            )
        self._use_builtin(env_id or "", builtin)

    def _use_builtin(self, env_id: str, builtin: CompiledPotential | BuiltinPotential | None) -> None:
        # One or the other, never both: a regime bound again, to another env, forgets the first.
        if isinstance(builtin, CompiledPotential):
            self._compiled, self._function = builtin, None
        elif builtin is not None:
            self._compiled, self._function = None, builtin.function
            self._function_name = f"the built-in potential of {env_id}"

    def _phi(self, obs: Array, like: Array) -> Array:
        if self._function is None:
            raise RuntimeError(
                f"shaped(kind={self.kind!r}) with potential=None is not bound to an env yet; wrap an "
                "env with it (gym.make(id, reward=...) or rewardgym.wrap) or pass a potential"
            )
        value = as_reward_batch(self._function(obs), like=like)
        if tuple(value.shape) != tuple(like.shape):
            raise ValueError(
                f"potential {self._function_name!r} returned shape {tuple(value.shape)} for "
                f"observations of shape {tuple(obs.shape)}; a potential returns one value per env, "
                f"shape {tuple(like.shape)}"
            )
        return value


class PotentialShaping(_PotentialRegime):
    """Potential-based shaping (Ng, Harada & Russell 1999): ``r' = r + scale * F`` with
    ``F = gamma * Phi(s') - Phi(s)``.

    ``s`` is the observation before the step and ``s'`` the real one after it, also the final
    observation at an episode's end in every autoreset mode. ``Phi(s') = 0`` where the step
    *terminated*: a terminal state is absorbing, its value is 0 under any policy, and only then
    does the shaping telescope. On a *truncation* (a time limit) the state is not terminal and the
    agent bootstraps from it, so ``Phi(s')`` stays; zeroing it would add a spurious penalty
    ``-Phi(s)`` at whatever step the clock ran out.

    **Why gamma must be the agent's discount.** Along any trajectory the discounted shaping sums
    to ``sum_t gamma^t F_t = gamma^T Phi(s_T) - Phi(s_0)`` (``-Phi(s_0)`` once it terminates), so
    every shaped action value is ``Q'(s, a) = Q(s, a) - Phi(s)``: the same optimal actions in every
    state, for every potential (the theorem's guarantee, checked on random MDPs in the tests).
    The sum telescopes only if the agent discounts with the same ``gamma``. With
    ``gamma_shaping != gamma_agent`` the shaping is ``gamma_agent * Phi(s') - Phi(s)`` plus
    ``(gamma_shaping - gamma_agent) * Phi(s')``: a potential term plus a naive bonus for reaching
    ``s'``, which can change the optimal policy (also shown in the tests).

    Args:
        potential: None for the bound env's built-in potential (:data:`BUILTIN_POTENTIALS`, the
            ``potential`` of the env's task, found by env id at bind; an env without one is
            refused), a callable from an observation batch ``(num_envs, *obs_shape)`` to
            potentials ``(num_envs,)``, or the id of an env whose built-in potential to use.
        gamma: the agent's discount, in ``(0, 1]``.
        scale: the weight of ``F``; any finite number.

    :meth:`info` reports ``shaping``, the ``scale * F`` added to each env's reward.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> from rewardgym.wrappers.shaped import BUILTIN_POTENTIALS
        >>> env = gym.make("rewardgym/CartPole-v0", reward="shaped(kind='potential', gamma=0.99)")
        >>> obs, _ = env.reset(seed=0)
        >>> next_obs, proxy, *_, info = env.step(1)
        >>> phi = BUILTIN_POTENTIALS["rewardgym/CartPole-v0"].function
        >>> expected = 1.0 + 0.99 * phi(next_obs[None])[0] - phi(obs[None])[0]
        >>> bool(abs(proxy - expected) < 1e-5), info["gold_reward"]
        (True, 1.0)
    """

    kind = "potential"

    def __init__(self, potential: Potential | str | None = None, gamma: float = 0.99, scale: float = 1.0) -> None:
        super().__init__(potential, scale)
        self.gamma = check_number(
            gamma,
            f"shaped(kind='potential') parameter gamma={gamma!r}",
            low=0.0,
            high=1.0,
            low_open=True,
            valid="in (0, 1] and equal the agent's discount (only then does potential-based "
            "shaping keep optimal policies)",
        )
        self._shaping: Array | None = None

    def reward(self, batch: Transition) -> Array:
        layer = self.fused_layer()
        if layer is not None:
            return self._compiled.shaping(batch, layer)  # type: ignore[union-attr]  # a layer means a compiled potential
        phi = self._phi(batch.obs, batch.reward)
        phi_next = self._phi(batch.next_obs, batch.reward)
        phi_next = where(batch.terminated, zeros(phi_next), phi_next)
        self._shaping = self.scale * (self.gamma * phi_next - phi)
        return batch.reward + self._shaping

    def fused_layer(self) -> FusedLayer | None:
        """The built-in potential of a batched env, compiled; None for a callable's or MuJoCo's."""
        if self._compiled is None:
            return None
        return self._compiled.layer(self.gamma, self.scale, naive=False, report=self._keep_shaping)

    def _keep_shaping(self, shaping: Array) -> None:
        self._shaping = shaping

    def info(self) -> dict[str, Any]:
        return {"shaping": self._shaping}


class NaiveShaping(_PotentialRegime):
    """Naive shaping: ``r' = r + scale * Phi(s')``, a bonus for reaching good states.

    The contrast to :class:`PotentialShaping`: the bonus does not telescope, so it changes what is
    optimal, e.g. it pays for circling through high-potential states instead of finishing the task
    (Randlov & Alstrom's bicycle that rode in circles; Ng et al. 1999). The tests show an MDP whose
    optimal policy it changes. ``Phi(s')`` is used as is, terminal or not.

    Args:
        potential: as for :class:`PotentialShaping`.
        scale: the weight of the bonus; any finite number.

    :meth:`info` reports ``bonus``, the ``scale * Phi(s')`` added to each env's reward.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> import rewardgym.wrappers.shaped
        >>> env = gym.make("rewardgym/Pendulum-v0", reward="shaped(kind='naive', scale=2.0)")
        >>> _ = env.reset(seed=0)
        >>> next_obs, proxy, *_, info = env.step([0.0])
        >>> bool(abs(proxy - (info["gold_reward"] + 2.0 * next_obs[0])) < 1e-5)
        True
    """

    kind = "naive"

    def __init__(self, potential: Potential | str | None = None, scale: float = 1.0) -> None:
        super().__init__(potential, scale)
        self._bonus: Array | None = None

    def reward(self, batch: Transition) -> Array:
        layer = self.fused_layer()
        if layer is not None:
            return self._compiled.shaping(batch, layer)  # type: ignore[union-attr]  # a layer means a compiled potential
        self._bonus = self.scale * self._phi(batch.next_obs, batch.reward)
        return batch.reward + self._bonus

    def fused_layer(self) -> FusedLayer | None:
        """The built-in potential of a batched env, compiled; None for a callable's or MuJoCo's."""
        if self._compiled is None:
            return None
        return self._compiled.layer(1.0, self.scale, naive=True, report=self._keep_bonus)

    def _keep_bonus(self, bonus: Array) -> None:
        self._bonus = bonus

    def info(self) -> dict[str, Any]:
        return {"bonus": self._bonus}
