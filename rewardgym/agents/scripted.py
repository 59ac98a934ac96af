"""Scripted reference policies: the floor (random) and, where a task has an obvious one, the
ceiling (a hand-written controller), so that sweeps can place every trained agent between them;
for the gridworlds, GoToShape and Code, the intended behaviour (oracle) and the hack (hacker).

A policy has the batched ``predict`` of SB3 and :class:`rewardgym.agents.ppo.ActorCritic`:
``predict(obs (n, obs_dim), deterministic=True) -> actions (n, ...)``.

Example:
    >>> import gymnasium as gym, rewardgym
    >>> from rewardgym.agents.scripted import SCRIPTED
    >>> envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=4, reward=[])
    >>> policy = SCRIPTED["linear"](envs)
    >>> obs, _ = envs.reset(seed=0)
    >>> policy.predict(obs)
    array([0, 0, 1, 1])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from rewardgym.agents.code import CodePolicy, code_policy
from rewardgym.agents.gridworld import GRIDWORLD_POLICIES, GridPolicy, gridworld_policy
from rewardgym.agents.scenes import SCENE_POLICIES, ScenePolicy, scene_policy, scene_task
from rewardgym.core.arrays import clip, is_torch
from rewardgym.core.batch_random import BatchRandom
from rewardgym.envs.code.code_env import ENV_ID as CODE_ENV_ID
from rewardgym.envs.registration import ENV_IDS, TASKS


@runtime_checkable
class Policy(Protocol):
    """Anything with a batched ``predict``; what :func:`rewardgym.agents.evaluation.evaluate` scores."""

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray: ...


class RandomPolicy:
    """Uniformly random actions from a bounded ``Discrete`` or ``Box`` space, seeded.

    It ignores the observations except for their number (``len(obs)`` actions per call) and their
    kind: a torch batch (a ``device="cuda"`` env's) gets a torch batch on the same device.

    Example:
        >>> import numpy as np
        >>> from gymnasium import spaces
        >>> RandomPolicy(spaces.Discrete(3), seed=0).predict(np.zeros((4, 2))).tolist()
        [1, 1, 1, 2]
    """

    def __init__(self, action_space: spaces.Space, seed: int = 0) -> None:
        if isinstance(action_space, spaces.Box):
            if not action_space.is_bounded("both"):
                raise ValueError(f"a random policy needs a bounded Box action space, got {action_space}")
        elif not isinstance(action_space, spaces.Discrete):
            raise TypeError(f"a random policy takes Discrete or Box action spaces, got {action_space}")
        self.action_space = action_space
        self.seed = seed
        self._rng = BatchRandom(seed)

    def predict(self, obs: Any, deterministic: bool = True) -> Any:
        """One random action per observation (``deterministic`` is ignored: random is the point)."""
        space, n = self.action_space, len(obs)
        if isinstance(space, spaces.Discrete):
            # float32 holds every integer below 2**24 exactly, far above any Discrete(n) here.
            draw = self._rng.uniform(obs, 0.0, float(space.n), shape=(n,))
            index = draw.floor().to(torch.int64) if is_torch(draw) else np.floor(draw).astype(np.int64)
            return clip(index, high=int(space.n) - 1) + int(space.start)
        unit = self._rng.uniform(obs, shape=(n, *space.shape))
        if is_torch(unit):
            low, high = (torch.as_tensor(b, device=unit.device) for b in (space.low, space.high))
            return low + (high - low) * unit
        return (space.low + (space.high - space.low) * unit).astype(space.dtype)


CARTPOLE_GAINS = np.array([0.05, 0.1, 1.0, 0.5], dtype=np.float32)
"""Weights on (cart position, cart velocity, pole angle, pole angular velocity): push right when
the pole leans or falls to the right; the small cart terms keep the cart from drifting off the
track over 500 steps. It balances every one of 1000 seeded starts for the full 500 steps."""


class CartPoleLinearPolicy:
    """CartPole's linear controller: push right (action 1) iff ``obs @ CARTPOLE_GAINS > 0``.

    Example:
        >>> import numpy as np
        >>> CartPoleLinearPolicy().predict(np.array([[0, 0, 0.1, 0], [0, 0, -0.1, 0]])).tolist()
        [1, 0]
    """

    gains = CARTPOLE_GAINS

    def predict(self, obs: Any, deterministic: bool = True) -> Any:
        """Actions for ``(n, 4)`` observations (or one ``(4,)`` observation), numpy or torch."""
        if is_torch(obs):
            gains = torch.as_tensor(self.gains, device=obs.device)
            return (obs.to(torch.float32) @ gains > 0).to(torch.int64)
        obs = np.asarray(obs, dtype=np.float32)
        if obs.shape[-1:] != (4,) or obs.ndim > 2:
            raise ValueError(f"the CartPole linear policy takes observations of shape (n, 4) or (4,), got {obs.shape}")
        return (obs @ self.gains > 0).astype(np.int64)


def random_policy(action_space: spaces.Space, seed: int = 0) -> RandomPolicy:
    """A seeded uniformly random policy over ``action_space``."""
    return RandomPolicy(action_space, seed)


def cartpole_linear_policy() -> CartPoleLinearPolicy:
    """The linear controller that balances CartPole for the full 500 steps."""
    return CartPoleLinearPolicy()


def _env_id(env: gym.Env | gym.vector.VectorEnv | str) -> str | None:
    if isinstance(env, str):
        return env
    spec = getattr(env, "spec", None)
    return spec.id if spec is not None else None


def _action_space(env: gym.Env | gym.vector.VectorEnv | str) -> spaces.Space:
    if isinstance(env, gym.vector.VectorEnv):
        return env.single_action_space
    if isinstance(env, gym.Env):
        return env.action_space
    if isinstance(env, str):
        for name, env_id in ENV_IDS.items():
            if env_id == env:
                return TASKS[name].action_space
        probe = gym.make(env)  # a foreign id: gymnasium raises, naming it, if it is unknown
        try:
            return probe.action_space
        finally:
            probe.close()
    raise TypeError(f"expected an env, a vector env or an env id, got {type(env).__name__}")


def _make_random(env: gym.Env | gym.vector.VectorEnv | str, seed: int = 0) -> RandomPolicy:
    return random_policy(_action_space(env), seed)


def _make_linear(env: gym.Env | gym.vector.VectorEnv | str, seed: int = 0) -> CartPoleLinearPolicy:
    env_id = _env_id(env)
    name = env_id.split("/")[-1] if env_id else ""
    if not name.startswith("CartPole"):
        raise ValueError(
            f"the 'linear' scripted policy exists for CartPole only, got env {env_id!r}; "
            "valid envs: rewardgym/CartPole-v0 (scripted policies for any env: 'random')"
        )
    return cartpole_linear_policy()


def _make_role(role: str, env: gym.Env | gym.vector.VectorEnv | str) -> GridPolicy | ScenePolicy | CodePolicy:
    """The ``role`` policy of a scene (:mod:`rewardgym.agents.scenes`), a gridworld
    (:mod:`rewardgym.agents.gridworld`) or ``rewardgym/Code-v0`` (:mod:`rewardgym.agents.code`);
    anything else is refused, naming every env that has one."""
    if scene_task(env) is not None:
        return scene_policy(role, env)
    env_id = _env_id(env)
    if env_id == CODE_ENV_ID:
        return code_policy(role)
    name = (env_id or "").split("/")[-1].rsplit("-v", 1)[0]
    if (env_id or "").startswith("rewardgym/") and name in GRIDWORLD_POLICIES:
        return gridworld_policy(role, env)
    valid = ", ".join(f"rewardgym/{n}-v0" for n in (*GRIDWORLD_POLICIES, *SCENE_POLICIES, "Code"))
    raise ValueError(
        f"the {role!r} scripted policy exists for the gridworlds, GoToShape and Code only, got env {env_id!r}; "
        f"valid: {valid}"
    )


def _make_oracle(env: gym.Env | gym.vector.VectorEnv | str, seed: int = 0) -> GridPolicy | ScenePolicy | CodePolicy:
    return _make_role("oracle", env)


def _make_hacker(env: gym.Env | gym.vector.VectorEnv | str, seed: int = 0) -> GridPolicy | ScenePolicy | CodePolicy:
    return _make_role("hacker", env)


SCRIPTED: dict[str, Callable[..., Policy]] = {
    "random": _make_random,
    "linear": _make_linear,
    "oracle": _make_oracle,
    "hacker": _make_hacker,
}
"""Scripted policies by name: ``SCRIPTED[name](env_or_env_id, seed=0) -> Policy``. ``oracle`` and
``hacker`` are the gridworlds' (:mod:`rewardgym.agents.gridworld`), GoToShape's
(:mod:`rewardgym.agents.scenes`) and Code's (:mod:`rewardgym.agents.code`: the reference solution,
and the hardcoder of the visible tests): the intended task, and the hack."""
