"""``shaped``: reward shaping (potential-based and naive) and the bounded reward transforms.

Kinds (``shaped(kind=..., ...)``; the default is ``"potential"``):

- ``potential``: ``r + scale * (gamma * Phi(s') - Phi(s))``, potential-based shaping (Ng, Harada &
  Russell 1999), which leaves optimal policies unchanged when ``gamma`` is the agent's discount.
- ``naive``: ``r + scale * Phi(s')``, a bonus for good states, which does not (the contrast).
- ``clip``: ``clip(r, low, high)``.
- ``par``: ``mean_m sigmoid(r - r_ref_m)``, Preference As Reward (Fu et al. 2025).
- ``log_sigmoid``: ``log sigmoid(r - r_ref)``, the LSC transform (Wang et al. 2024).
- ``delta_cap``: the reward, capped so that an episode's sum never exceeds ``cap`` (after the
  Clip and Delta mechanisms of Gao et al. 2024).
- ``weighted_sum``: ``sum_i w_i * term_i(batch)`` (plus the incoming reward if asked).

``Phi`` is a potential: a function of an observation batch returning one number per env. Each
control env has a built-in one (:data:`BUILTIN_POTENTIALS`), chosen by the env's id when
``potential`` is None.

Example:
    >>> import gymnasium as gym, rewardgym
    >>> import rewardgym.wrappers.shaped
    >>> env = gym.make("rewardgym/Pendulum-v0", reward="shaped(gamma=0.99)")
    >>> _ = env.reset(seed=0)
    >>> _, proxy, _, _, info = env.step([0.0])
    >>> list(info["reward_trace"]), info["gold_reward"] == info["reward_trace"]["env"]
    (['env', 'shaped'], True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from numba import njit

from rewardgym.core.arrays import (
    Array,
    as_reward_batch,
    is_torch,
    mask_like,
    minimum,
    where,
    zeros,
)
from rewardgym.core.regime import EnvContext, Regime
from rewardgym.core.registry import make_kind, register_regime
from rewardgym.core.spec import RewardSpec, resolve_reward_spec
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_number, is_real
from rewardgym.envs.control.cartpole import CartPoleParams
from rewardgym.envs.control.continuous_mountain_car import ContinuousMountainCarParams
from rewardgym.envs.control.mountain_car import MountainCarParams
from rewardgym.wrappers.shaped.text import (
    FormatReward,
    LengthPenalty,
    TokenFormatReward,
)

Potential = Callable[[Array], Array]
"""A potential: observations ``(num_envs, *obs_shape)`` to one potential per env ``(num_envs,)``."""


# ---------------------------------------------------------------------------------------------
# Built-in potentials: vectorised over the batch, for numpy arrays and torch tensors alike.
# ---------------------------------------------------------------------------------------------


def _sin(x: Array) -> Array:
    if is_torch(x):
        import torch

        return torch.sin(x)
    return np.sin(x)


def cartpole_potential(obs: Array) -> Array:
    """CartPole: uprightness and centring, ``1 - (|theta| / 12deg + |x| / 2.4) / 2``.

    1 with the pole upright over the track's centre, 0 where the episode would end on both counts
    (each term reaches 0 at its own termination threshold).

    Example:
        >>> import numpy as np
        >>> cartpole_potential(np.array([[0.0, 0.0, 0.0, 0.0], [1.2, 0.0, -np.pi / 30, 0.0]]))
        array([1. , 0.5])
    """
    params = CartPoleParams()
    tilt = abs(obs[:, 2]) / params.theta_threshold
    offset = abs(obs[:, 0]) / params.x_threshold
    return 1.0 - 0.5 * (tilt + offset)


def _mountain_car_energy(gravity: float, goal_position: float) -> Potential:
    # The hill's height is sin(3 p) / 3 in the units where its pull on the speed is
    # -gravity * cos(3 p) per step, so (gravity / 3) sin(3 p) + v**2 / 2 is the car's mechanical
    # energy: what pumping back and forth builds up, which position alone does not reward.
    low = -gravity / 3.0
    goal = gravity / 3.0 * math.sin(3.0 * goal_position)

    def potential(obs: Array) -> Array:
        position, velocity = obs[:, 0], obs[:, 1]
        energy = gravity / 3.0 * _sin(3.0 * position) + 0.5 * velocity * velocity
        return (energy - low) / (goal - low)

    return potential


_mountain_car = _mountain_car_energy(MountainCarParams().gravity, MountainCarParams().goal_position)
_continuous_mountain_car = _mountain_car_energy(
    ContinuousMountainCarParams().gravity, ContinuousMountainCarParams().goal_position
)


def mountain_car_potential(obs: Array) -> Array:
    """MountainCar: mechanical energy, 0 at rest in the valley and 1 at rest at the flag (x=0.5).

    ``(E - E_valley) / (E_flag - E_valley)`` with ``E = 0.0025 / 3 * sin(3 x) + v**2 / 2``, the
    height and speed terms in the env's own units, so swinging higher or faster is progress.

    Example:
        >>> import numpy as np
        >>> mountain_car_potential(np.array([[-np.pi / 6, 0.0], [0.5, 0.0]])).round(6)
        array([0., 1.])
    """
    return _mountain_car(obs)


def continuous_mountain_car_potential(obs: Array) -> Array:
    """MountainCarContinuous: the same energy as MountainCar, 1 at rest at its flag (x=0.45).

    Example:
        >>> import numpy as np
        >>> continuous_mountain_car_potential(np.array([[0.45, 0.0]])).round(6)
        array([1.])
    """
    return _continuous_mountain_car(obs)


def pendulum_potential(obs: Array) -> Array:
    """Pendulum: uprightness ``cos(theta)``, read from the observation ``(cos, sin, thetadot)``.

    Example:
        >>> import numpy as np
        >>> pendulum_potential(np.array([[1.0, 0.0, 3.0], [-1.0, 0.0, 0.0]]))
        array([ 1., -1.])
    """
    return obs[:, 0] * 1.0


def acrobot_potential(obs: Array) -> Array:
    """Acrobot: the tip's height ``-cos(t1) - cos(t1 + t2)``, in link lengths (-2 hanging, +2 up).

    The observation holds ``(cos t1, sin t1, cos t2, sin t2, dt1, dt2)``, so
    ``cos(t1 + t2) = cos t1 cos t2 - sin t1 sin t2`` needs no angles. The env terminates when this
    height exceeds 1.

    Example:
        >>> import numpy as np
        >>> acrobot_potential(np.array([[1.0, 0.0, 1.0, 0.0, 0.0, 0.0], [-1.0, 0.0, 1.0, 0.0, 0.0, 0.0]]))
        array([-2.,  2.])
    """
    cos1, sin1, cos2, sin2 = obs[:, 0], obs[:, 1], obs[:, 2], obs[:, 3]
    return -cos1 - (cos1 * cos2 - sin1 * sin2)


class BuiltinPotential(NamedTuple):
    """A built-in potential and the observation shape it reads (checked when a regime binds)."""

    function: Potential
    obs_shape: tuple[int, ...]


_CARTPOLE = BuiltinPotential(cartpole_potential, (4,))
_MOUNTAIN_CAR = BuiltinPotential(mountain_car_potential, (2,))
_CONTINUOUS_MOUNTAIN_CAR = BuiltinPotential(continuous_mountain_car_potential, (2,))
_PENDULUM = BuiltinPotential(pendulum_potential, (3,))
_ACROBOT = BuiltinPotential(acrobot_potential, (6,))

BUILTIN_POTENTIALS: dict[str, BuiltinPotential] = {
    "rewardgym/CartPole-v0": _CARTPOLE,
    "rewardgym/MountainCar-v0": _MOUNTAIN_CAR,
    "rewardgym/MountainCarContinuous-v0": _CONTINUOUS_MOUNTAIN_CAR,
    "rewardgym/Pendulum-v0": _PENDULUM,
    "rewardgym/Acrobot-v0": _ACROBOT,
    # gymnasium's own envs that rewardgym's reproduce: the same observations, so the same
    # potentials serve them through rewardgym.wrap.
    "CartPole-v0": _CARTPOLE,
    "CartPole-v1": _CARTPOLE,
    "MountainCar-v0": _MOUNTAIN_CAR,
    "MountainCarContinuous-v0": _CONTINUOUS_MOUNTAIN_CAR,
    "Pendulum-v1": _PENDULUM,
    "Acrobot-v1": _ACROBOT,
}
"""The built-in potential of each env id that has one (``potential=None`` picks it at bind)."""


# The built-in potentials once more, compiled: potential-based and naive shaping on a numpy batch
# in one pass (numpy's way is a dozen passes, ~50 us at 4096 envs). Each is a code for the
# kernel's switch and three constants; the tests check them against the functions above.
_CP = CartPoleParams()
_COMPILED_POTENTIALS: dict[Potential, tuple[int, float, float, float]] = {
    # Reciprocals: a float64 multiply where numpy divides in float32 (the same value to within
    # float32 rounding); unvectorised divisions were half the kernel's time.
    cartpole_potential: (0, 0.5 / _CP.theta_threshold, 0.5 / _CP.x_threshold, 0.0),
    pendulum_potential: (2, 0.0, 0.0, 0.0),
    acrobot_potential: (3, 0.0, 0.0, 0.0),
}
for _function, _params in (
    (mountain_car_potential, MountainCarParams()),
    (continuous_mountain_car_potential, ContinuousMountainCarParams()),
):
    _low = -_params.gravity / 3.0
    _goal = _params.gravity / 3.0 * math.sin(3.0 * _params.goal_position)
    _COMPILED_POTENTIALS[_function] = (1, _params.gravity / 3.0, _low, 1.0 / (_goal - _low))


@njit(nogil=True, cache=True, inline="always")
def _compiled_potential(code, c0, c1, c2, obs, i):  # pragma: no cover (compiled)
    if code == 0:  # CartPole: c0, c1 = half the reciprocal angle and position thresholds
        return 1.0 - (abs(float(obs[i, 2])) * c0 + abs(float(obs[i, 0])) * c1)
    if code == 1:  # MountainCar: c0 = gravity / 3, c1 = the valley's energy, c2 = 1 / (flag's - c1)
        energy = c0 * math.sin(3.0 * float(obs[i, 0])) + 0.5 * float(obs[i, 1]) * float(obs[i, 1])
        return (energy - c1) * c2
    if code == 2:  # Pendulum
        return float(obs[i, 0])
    cos1, sin1, cos2, sin2 = float(obs[i, 0]), float(obs[i, 1]), float(obs[i, 2]), float(obs[i, 3])
    return -cos1 - (cos1 * cos2 - sin1 * sin2)  # Acrobot


@njit(nogil=True, cache=True)
def _shape_kernel(
    code, c0, c1, c2, obs, next_obs, reward, terminated, gamma, scale, naive, out, added
):  # pragma: no cover
    """``added = scale * (gamma * Phi(s') [0 if terminated] - Phi(s))``, or ``scale * Phi(s')``
    when ``naive``; ``out = reward + added``, both float32."""
    for i in range(reward.shape[0]):
        phi_next = _compiled_potential(code, c0, c1, c2, next_obs, i)
        if naive:
            value = np.float32(scale * phi_next)
        else:
            phi_next = 0.0 if terminated[i] else phi_next  # a select, not a branch: it vectorises
            value = np.float32(scale * (gamma * phi_next - _compiled_potential(code, c0, c1, c2, obs, i)))
        added[i] = value
        out[i] = reward[i] + value


# ---------------------------------------------------------------------------------------------
# Parameter checks: every bad value is refused by name, with the valid range.
# ---------------------------------------------------------------------------------------------


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
        self._function: Potential | None = None
        self._function_name = ""
        self._compiled: tuple[int, float, float, float] | None = None
        self._obs_width = 0
        if callable(self.potential):
            self._function = self.potential
            self._function_name = getattr(self.potential, "__name__", type(self.potential).__name__)
        elif isinstance(self.potential, str):
            self._use_builtin(BUILTIN_POTENTIALS[self.potential])

    def _use_builtin(self, builtin: BuiltinPotential) -> None:
        self._function = builtin.function
        self._function_name = builtin.function.__name__
        self._compiled = _COMPILED_POTENTIALS.get(builtin.function)
        self._obs_width = builtin.obs_shape[0]

    def bind(self, context: EnvContext) -> None:
        if callable(self.potential):
            return
        env_id = self.potential if isinstance(self.potential, str) else context.env_id
        builtin = BUILTIN_POTENTIALS.get(env_id or "")
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
        self._use_builtin(builtin)

    def _compiled_shaping(self, batch: Transition, gamma: float, naive: bool) -> tuple[Array, Array] | None:
        """``(reward + added, added)`` in one compiled pass, for a built-in potential on a numpy
        batch of the potential's shape; None where the batch is any other (the numpy/torch path)."""
        obs, next_obs, reward = batch.obs, batch.next_obs, batch.reward
        if (
            self._compiled is None
            or type(reward) is not np.ndarray
            or type(obs) is not np.ndarray
            or type(next_obs) is not np.ndarray
            or obs.ndim != 2
            or obs.shape != next_obs.shape
            or obs.shape[1] != self._obs_width
            or reward.shape != (obs.shape[0],)
            or obs.dtype.kind != "f"
            or next_obs.dtype.kind != "f"
        ):
            return None
        out = np.empty(reward.shape, np.float32)
        added = np.empty(reward.shape, np.float32)
        _shape_kernel(
            *self._compiled,
            obs,
            next_obs,
            reward,
            np.asarray(batch.terminated),
            gamma,
            self.scale,
            naive,
            out,
            added,
        )
        return out, added

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
        potential: None for the bound env's built-in potential (:data:`BUILTIN_POTENTIALS`,
            chosen by env id at bind; an env without one is refused), a callable from an
            observation batch ``(num_envs, *obs_shape)`` to potentials ``(num_envs,)``, or the id
            of an env whose built-in potential to use.
        gamma: the agent's discount, in ``(0, 1]``.
        scale: the weight of ``F``; any finite number.

    :meth:`info` reports ``shaping``, the ``scale * F`` added to each env's reward.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> import rewardgym.wrappers.shaped
        >>> env = gym.make("rewardgym/CartPole-v0", reward="shaped(kind='potential', gamma=0.99)")
        >>> obs, _ = env.reset(seed=0)
        >>> next_obs, proxy, *_, info = env.step(1)
        >>> phi = rewardgym.wrappers.shaped.cartpole_potential
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
        compiled = self._compiled_shaping(batch, self.gamma, naive=False)
        if compiled is not None:
            shaped, self._shaping = compiled
            return shaped
        phi = self._phi(batch.obs, batch.reward)
        phi_next = where(batch.terminated, 0.0, self._phi(batch.next_obs, batch.reward))
        self._shaping = self.scale * (self.gamma * phi_next - phi)
        return batch.reward + self._shaping

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
        compiled = self._compiled_shaping(batch, 1.0, naive=True)
        if compiled is not None:
            shaped, self._bonus = compiled
            return shaped
        self._bonus = self.scale * self._phi(batch.next_obs, batch.reward)
        return batch.reward + self._bonus

    def info(self) -> dict[str, Any]:
        return {"bonus": self._bonus}


class ClipReward(Regime):
    """``r' = clip(r, low, high)``, as DQN clips Atari rewards to ``[-1, 1]`` (Mnih et al. 2015).

    Args:
        low: the lower bound (``-inf`` for none); the default is DQN's, so set it when giving
            only ``high``.
        high: the upper bound (``inf`` for none); ``low < high``.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> import rewardgym.wrappers.shaped
        >>> env = gym.make("rewardgym/CartPole-v0", reward="shaped(kind='clip', low=-0.5, high=0.5)")
        >>> _ = env.reset(seed=0)
        >>> env.step(1)[1]
        0.5
    """

    name = "shaped"

    def __init__(self, low: float = -1.0, high: float = 1.0) -> None:
        for key, value in (("low", low), ("high", high)):
            check_number(value, f"shaped(kind='clip') parameter {key}={value!r}", allow_inf=True)
        if not low < high:
            raise ValueError(f"shaped(kind='clip') needs low < high, got low={low!r}, high={high!r}")
        self.low, self.high = float(low), float(high)

    def reward(self, batch: Transition) -> Array:
        return batch.reward.clip(self.low, self.high)


def _sigmoid(x: Array) -> Array:
    if is_torch(x):
        import torch

        return torch.sigmoid(x)
    # exp(-softplus(-x)): no overflow for large |x| and full precision in both tails.
    return np.exp(-np.logaddexp(np.float32(0.0), -x))


def _log_sigmoid(x: Array) -> Array:
    if is_torch(x):
        import torch

        return torch.nn.functional.logsigmoid(x)
    return -np.logaddexp(np.float32(0.0), -x)


def _references(r_ref: Any) -> tuple[float, ...]:
    values = r_ref if isinstance(r_ref, (list, tuple)) else [r_ref]
    if not values or not all(is_real(v) and math.isfinite(v) for v in values):
        raise ValueError(
            f"shaped(kind='par') parameter r_ref={r_ref!r} must be a finite number or a non-empty list of them"
        )
    return tuple(float(v) for v in values)


class PreferenceAsReward(Regime):
    """PAR, Preference As Reward (Fu et al. 2025, "Reward Shaping to Mitigate Reward Hacking in
    RLHF", arXiv:2502.18770): ``r' = (1/M) sum_m sigmoid(r - r_ref_m)``.

    Under a Bradley-Terry reward model, ``sigmoid(r - r_ref)`` is the modelled probability that
    this outcome is preferred to a reference one, so the reward is bounded in ``(0, 1)``, centred
    (``0.5`` at ``r = r_ref``), grows fastest near the reference and saturates above it: the
    properties the paper finds curb reward hacking. With several reference rewards PAR averages
    the preferences (as the paper's code does); the paper finds one reference enough.

    Args:
        r_ref: the reference (centring) reward: the reward of a reference outcome, e.g. a
            baseline policy's typical step reward; a number, or a list of numbers to average over.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> import rewardgym.wrappers.shaped
        >>> env = gym.make("rewardgym/CartPole-v0", reward="shaped(kind='par', r_ref=1.0)")
        >>> _ = env.reset(seed=0)
        >>> env.step(1)[1]
        0.5
    """

    name = "shaped"

    def __init__(self, r_ref: float | Sequence[float] = 0.0) -> None:
        self.r_ref = _references(r_ref)

    def reward(self, batch: Transition) -> Array:
        # A loop over the few references, not over envs: each pass is one batched sigmoid.
        total = 0.0
        for ref in self.r_ref:
            total = total + _sigmoid(batch.reward - ref)
        return total / len(self.r_ref)


class LogSigmoidReward(Regime):
    """The LSC transform of Wang et al. 2024 ("Transforming and Combining Rewards for Aligning
    Large Language Models", ICML): ``r' = log sigmoid(r - r_ref)``.

    For a Bradley-Terry reward, ``log sigmoid(r - r_ref)`` is the log-probability that the outcome
    beats the reference ``r_ref``: at most 0, with diminishing returns above the reference (less
    to gain from pushing an already good reward higher, so less to gain from hacking it) and close
    to ``r - r_ref`` below it. Sums of these transformed rewards are log-probabilities that every
    property is "good", which is how the paper combines rewards (see ``weighted_sum``).

    Args:
        r_ref: the reference (centring) reward, the paper's ``r_ref(x)``, e.g. a high quantile of
            a baseline's rewards; a finite number.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> import rewardgym.wrappers.shaped
        >>> env = gym.make("rewardgym/CartPole-v0", reward="shaped(kind='log_sigmoid', r_ref=1.0)")
        >>> _ = env.reset(seed=0)
        >>> round(env.step(1)[1], 6)  # log(1/2)
        -0.693147
    """

    name = "shaped"

    def __init__(self, r_ref: float = 0.0) -> None:
        self.r_ref = check_number(r_ref, f"shaped(kind='log_sigmoid') parameter r_ref={r_ref!r}")

    def reward(self, batch: Transition) -> Array:
        return _log_sigmoid(batch.reward - self.r_ref)


class DeltaCap(Regime):
    """Caps an episode's cumulative reward at ``cap``: ``r'_t = min(r_t, cap - sum_{k<t} r'_k)``.

    Gao et al. 2024 ("On Designing Effective RL Reward at Training Time for LLM Reasoning",
    arXiv:2410.15115) found agents hacking a process reward by repeating rewarded steps, and bound
    every trajectory's accumulated reward from above with two mechanisms: **Clip**,
    ``min(r_t - eta, 0)``, and **Delta**, ``r_t - r_{t+1}`` (the last step keeps ``r_T``), whose sum
    telescopes to the first step's reward. Delta needs the next step's reward, which an online env
    does not have yet, so this layer bounds the sum causally instead: it passes each reward
    through while the episode's running sum of what it emitted stays at or below ``cap``, and emits
    only what is left (``cap - sum``) otherwise. Negative rewards pass unchanged and make room
    again. The episode's sum then never exceeds ``cap`` after any step (by induction: the sum
    plus ``min(r, cap - sum)`` is at most ``cap``), so a hacker who repeats a rewarded step gains
    nothing past the cap. The paper's Clip bounds each step instead (every reward at most 0).

    The running sum is per env, kept where the batch lives, cleared by ``reset(mask)`` at each
    episode's start, and never counts an autoreset step (``valid=False``).

    Args:
        cap: the most an episode's emitted rewards may sum to; a finite number.

    :meth:`info` reports ``episode_sum`` (the running sum after this step) and ``removed``
    (``r - r'``, what the cap took).

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> import rewardgym.wrappers.shaped
        >>> env = gym.make("rewardgym/CartPole-v0", reward="shaped(kind='delta_cap', cap=2.5)")
        >>> _ = env.reset(seed=0)
        >>> [env.step(i % 2)[1] for i in range(4)]
        [1.0, 1.0, 0.5, 0.0]
    """

    name = "shaped"

    def __init__(self, cap: float = 1.0) -> None:
        self.cap = check_number(cap, f"shaped(kind='delta_cap') parameter cap={cap!r}")
        self._sum: Array | None = None
        self._removed: Array | None = None

    def reset(self, mask: Array | None = None, *, seed: int | None = None) -> None:
        if mask is None or self._sum is None:
            self._sum = None  # made again, in the batch's kind and device, on the next step
            return
        self._sum = where(mask_like(mask, self._sum), 0.0, self._sum)

    def reward(self, batch: Transition) -> Array:
        reward = batch.reward
        if self._sum is None or is_torch(self._sum) != is_torch(reward):
            self._sum = zeros(reward)
        emitted = minimum(reward, self.cap - self._sum)
        self._sum = self._sum + where(batch.valid, emitted, 0.0)
        self._removed = reward - emitted
        return emitted

    def info(self) -> dict[str, Any]:
        return {"episode_sum": self._sum, "removed": self._removed}


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
        if not isinstance(include_input, (bool, np.bool_)):
            raise ValueError(
                f"shaped(kind='weighted_sum') parameter include_input={include_input!r} must be True or False"
            )
        self.include_input = bool(include_input)
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
        return total

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

    def train(self, mode: bool = True) -> Regime:
        for chain in self.terms:
            for regime in chain:
                regime.train(mode)
        return super().train(mode)


KINDS: dict[str, type[Regime]] = {
    "potential": PotentialShaping,
    "naive": NaiveShaping,
    "clip": ClipReward,
    "par": PreferenceAsReward,
    "log_sigmoid": LogSigmoidReward,
    "delta_cap": DeltaCap,
    "weighted_sum": WeightedSum,
    "format": FormatReward,
    "length": LengthPenalty,
    "token_format": TokenFormatReward,
}
"""The variants of the ``shaped`` family, by kind name."""


def shaped(kind: str = "potential", **params: Any) -> Regime:
    """The ``shaped`` family: reward shaping and bounded reward transforms, chosen by ``kind``.

    Kinds: ``potential`` (default), ``naive``, ``clip``, ``par``, ``log_sigmoid``, ``delta_cap``,
    ``weighted_sum``; see :data:`KINDS` and each class for its parameters. Unknown kinds and
    parameters are refused with the valid choices.

    Example:
        >>> import gymnasium as gym, numpy as np, rewardgym
        >>> import rewardgym.wrappers.shaped
        >>> envs = gym.make_vec("rewardgym/MountainCar-v0", num_envs=2, reward="shaped(gamma=1.0)")
        >>> _ = envs.reset(seed=0)
        >>> _, proxy, _, _, info = envs.step(np.array([2, 0]))
        >>> list(info["reward_trace"]), info["gold_reward"].tolist()
        (['env', 'shaped'], [-1.0, -1.0])
        >>> shaped(kind="clip", low=1.0, high=0.0)
        Traceback (most recent call last):
        ...
        ValueError: shaped(kind='clip') needs low < high, got low=1.0, high=0.0
    """
    return make_kind("shaped", KINDS, kind, params)


register_regime("shaped", shaped, override=True)

__all__ = [
    "BUILTIN_POTENTIALS",
    "KINDS",
    "BuiltinPotential",
    "ClipReward",
    "DeltaCap",
    "LogSigmoidReward",
    "NaiveShaping",
    "PotentialShaping",
    "PreferenceAsReward",
    "WeightedSum",
    "acrobot_potential",
    "cartpole_potential",
    "continuous_mountain_car_potential",
    "mountain_car_potential",
    "pendulum_potential",
    "shaped",
]
