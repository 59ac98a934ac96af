"""The MuJoCo envs' built-in potentials: what they measure, and ``shaped`` using them."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from rewardgym.envs.mujoco import MUJOCO_TASKS, mujoco_env_id
from rewardgym.wrappers.shaped import BUILTIN_POTENTIALS

pytest.importorskip("mujoco")

# The -v5 env each task's observation equals, and what its potential reads from the simulator.
PEERS = {
    "Hopper": ("Hopper-v5", lambda data: data.qpos[1]),
    "Walker2d": ("Walker2d-v5", lambda data: data.qpos[1]),
    "Ant": ("Ant-v5", lambda data: data.qpos[2]),
    "HalfCheetah": ("HalfCheetah-v5", lambda data: np.cos(data.qpos[2])),
}


def test_every_mujoco_task_has_a_documented_builtin_potential() -> None:
    for name, task in MUJOCO_TASKS.items():
        assert task.potential is not None and task.potential.__doc__, name  # what it measures
        builtin = BUILTIN_POTENTIALS[mujoco_env_id(name)]
        assert builtin.obs_shape == (task.observation_size,)


@pytest.mark.parametrize("name", sorted(PEERS))
def test_potential_reads_the_simulators_posture(name: str) -> None:
    """Along a seeded random walk in gymnasium's -v5 env, the potential of each observation is the
    torso height (the pitch's cosine for HalfCheetah) in the simulator's state."""
    peer_id, truth = PEERS[name]
    peer = gym.make(peer_id)
    peer.action_space.seed(0)
    obs, _ = peer.reset(seed=0)
    phi = BUILTIN_POTENTIALS[mujoco_env_id(name)].function
    for _ in range(30):
        assert phi(obs[None])[0] == pytest.approx(truth(peer.unwrapped.data), abs=1e-12)
        obs, *_ = peer.step(peer.action_space.sample())


def test_potential_follows_the_observation_layout() -> None:
    """With the positions kept in the observation the coordinate moves; the task's function reads
    it from its params (the registry's potential, for the default layout, refuses the other)."""
    hopper = MUJOCO_TASKS["Hopper"]
    obs = np.array([[3.0, 1.2] + [0.0] * 10])  # x, z, ...
    kept = hopper.params._replace(exclude_current_positions_from_observation=False)
    assert hopper.potential(obs, kept).tolist() == [1.2]
    with pytest.raises(ValueError, match=r"reads observations of shape \(11,\).*shape \(12,\)"):
        gym.make("rewardgym/Hopper-v0", reward="shaped", exclude_current_positions_from_observation=False)


@pytest.mark.parametrize("name", sorted(MUJOCO_TASKS))
@pytest.mark.parametrize("kind", ["potential", "naive"])
def test_shaped_with_the_builtin_potential_on_every_mujoco_env(name: str, kind: str) -> None:
    """``shaped`` on a vector env pays gold plus ``0.97 * Phi(s') - Phi(s)`` (``Phi(s') = 0`` where
    the step terminated), or plus ``Phi(s')`` (naive), through terminations and autoresets."""
    env_id = mujoco_env_id(name)
    spec = "shaped(gamma=0.97)" if kind == "potential" else "shaped(kind='naive')"
    envs = gym.make_vec(env_id, num_envs=4, reward=spec, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    phi = BUILTIN_POTENTIALS[env_id].function
    envs.action_space.seed(1)
    obs, _ = envs.reset(seed=2)
    ended = 0
    for _ in range(60):
        next_obs, proxy, terminated, truncated, info = envs.step(envs.action_space.sample())
        real_next = (
            np.where((terminated | truncated)[:, None], info["final_obs"], next_obs)
            if "final_obs" in info
            else next_obs
        )
        raw = info["reward_trace"]["env"]
        if kind == "potential":
            expected = raw + 0.97 * np.where(terminated, 0.0, phi(real_next)) - phi(obs)
        else:
            expected = raw + phi(real_next)
        np.testing.assert_allclose(proxy, expected, rtol=1e-5, atol=1e-5)
        ended += int(terminated.sum())
        obs = next_obs
    envs.close()
    if name in ("Hopper", "HopperHeight"):
        assert ended > 0  # random actions topple a hopper: the terminal case ran


def test_a_regime_bound_again_uses_the_new_envs_potential() -> None:
    """shaped with potential=None bound to CartPole, then to Hopper, shapes with Hopper's."""
    from rewardgym.core.regime import EnvContext
    from rewardgym.wrappers.shaped import shaped

    regime = shaped(gamma=1.0)
    cartpole = gym.make("rewardgym/CartPole-v0")
    regime.bind(EnvContext(1, cartpole.observation_space, cartpole.action_space, env_id="rewardgym/CartPole-v0"))
    hopper = gym.make("rewardgym/Hopper-v0")
    regime.bind(EnvContext(1, hopper.observation_space, hopper.action_space, env_id="rewardgym/Hopper-v0"))
    from rewardgym.core.transition import Transition

    obs, next_obs = np.array([[1.25] + [0.0] * 10]), np.array([[1.0] + [0.0] * 10])
    no = np.zeros(1, bool)
    batch = Transition(obs, np.zeros((1, 3)), next_obs, np.zeros(1, np.float32), no, no, ~no)
    assert regime.reward(batch).tolist() == [-0.25]  # Hopper's torso height: 1.0 - 1.25
