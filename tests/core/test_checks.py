"""Tests of :func:`rewardgym.core.checks.check_vector_env`.

The checker passes every registered rewardgym vector env in every autoreset mode, gymnasium's own
vector envs behind rewardgym's shell, and an independent toy env (numpy and torch); and it fails,
naming the problem, on toy envs each broken in one way.
"""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numba
import numpy as np
import pytest
import rewardgym
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from rewardgym.core.checks import VectorEnvCheckError, check_vector_env
from rewardgym.core.info import FINAL_OBS, GOLD_REWARD, REWARD_TRACE, mask_key

MODES = list(AutoresetMode)


def check_without_warnings(envs: VectorEnv, **kwargs: Any) -> None:
    """Run the checker and fail on any of its warnings (e.g. autoreset left unchecked)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_vector_env(envs, **kwargs)
    messages = [str(w.message) for w in caught if "check_vector_env" in str(w.message)]
    assert not messages, messages


# Control tasks, plus one text task of each level (the others share their code).
CHECKED_IDS = sorted(i for i, e in rewardgym.envs.ENVS.items() if e.modality == "control") + [
    "rewardgym/TextAdd-v0",
    "rewardgym/TextCompletionAdd-v0",
]


# -- rewardgym's envs and gymnasium's ---------------------------------------------------------


@pytest.mark.parametrize("reward", [None, "scale(factor=2)"])
@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.name)
@pytest.mark.parametrize("env_id", CHECKED_IDS)
def test_registered_vector_envs_pass(env_id: str, mode: AutoresetMode, reward: str | None) -> None:
    info = rewardgym.envs.ENVS[env_id]
    # Enough steps for every env to reach its time limit at least once, so autoreset is checked.
    steps = max(300, (info.max_episode_steps or 0) + 2)
    envs = gym.make_vec(env_id, num_envs=8, autoreset_mode=mode, reward=reward)
    try:
        check_without_warnings(envs, seed=0, steps=steps)
    finally:
        envs.close()


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.name)
def test_gymnasium_cartpole_behind_the_shell_passes(mode: AutoresetMode) -> None:
    envs = gym.make_vec("CartPole-v1", num_envs=4, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode})
    envs = rewardgym.wrap(envs, None)  # the shell adds gold and the reward trace
    try:
        check_without_warnings(envs, seed=0, check_bad_input=False)
    finally:
        envs.close()


def test_gymnasium_cartpole_without_the_shell_lacks_gold() -> None:
    envs = gym.make_vec("CartPole-v1", num_envs=4, vectorization_mode="sync")
    with pytest.raises(VectorEnvCheckError, match=r"step 0: info has no 'gold_reward'"):
        check_vector_env(envs, check_bad_input=False)
    envs.close()


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.name)
def test_cuda_path_returns_torch_and_passes(mode: AutoresetMode) -> None:
    # tests/conftest.py turns on numba's CUDA simulator unless a GPU run asks for the real device.
    if not (numba.config.ENABLE_CUDASIM or torch.cuda.is_available()):
        pytest.skip("needs a GPU or numba's CUDA simulator")
    envs = gym.make_vec(
        "rewardgym/CartPole-v0",
        num_envs=4,
        device="cuda",
        autoreset_mode=mode,
        reward="scale(factor=2)",
    )
    assert isinstance(envs.reset(seed=0)[0], torch.Tensor)
    check_without_warnings(envs, seed=0, steps=40)


# -- an independent env, correct and then broken one way at a time ---------------------------


class ToyVectorEnv(VectorEnv):
    """A correct vector env that shares no code with rewardgym: a random walk on a line.

    Each env starts at a random position in [-1, 1), moves by +-0.5, is rewarded -|position|,
    terminates at |position| >= 2 and is truncated after ``max_steps`` steps. All three autoreset
    modes are implemented with whole-batch numpy operations.
    """

    def __init__(
        self,
        num_envs: int = 4,
        autoreset_mode: AutoresetMode = AutoresetMode.NEXT_STEP,
        max_steps: int = 8,
        random_start: bool = True,
    ) -> None:
        self.num_envs = num_envs
        self.metadata = {"autoreset_mode": autoreset_mode}
        self.autoreset_mode = autoreset_mode
        self.max_steps = max_steps
        self.random_start = random_start
        self.single_observation_space = spaces.Box(-10.0, 10.0, (2,), np.float32)
        self.single_action_space = spaces.Discrete(2)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._position = np.zeros(num_envs, np.float32)
        self._elapsed = np.zeros(num_envs, np.int64)
        self._needs_reset = np.zeros(num_envs, bool)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        mask = (options or {}).get("reset_mask", np.ones(self.num_envs, bool))
        self._start(np.asarray(mask))
        return self._observe(), {}

    def step(self, actions: Any):
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,) or actions.dtype.kind not in "iu":
            raise ValueError(f"want {self.num_envs} int actions, got {actions.dtype}{actions.shape}")
        if ((actions < 0) | (actions > 1)).any():
            raise ValueError("actions must be 0 or 1")
        if self.autoreset_mode is AutoresetMode.DISABLED and self._needs_reset.any():
            raise RuntimeError("reset the ended envs first")
        resetting = self._needs_reset.copy()
        self._position += np.where(actions == 1, 0.5, -0.5).astype(np.float32)
        self._elapsed += 1
        reward = -np.abs(self._position)
        terminated = np.abs(self._position) >= 2.0
        truncated = (self._elapsed >= self.max_steps) & ~terminated
        obs = self._observe()
        info: dict[str, Any] = {}
        done = terminated | truncated
        if self.autoreset_mode is AutoresetMode.NEXT_STEP:
            self._start(resetting)
            obs = self._observe()
            reward[resetting] = 0.0
            terminated[resetting] = truncated[resetting] = False
            self._needs_reset = (terminated | truncated) & ~resetting
        elif self.autoreset_mode is AutoresetMode.SAME_STEP:
            info[FINAL_OBS], info[mask_key(FINAL_OBS)] = obs, done
            self._start(done)
            obs = self._observe()
        else:
            self._needs_reset = done
        info[GOLD_REWARD] = reward.copy()
        info[REWARD_TRACE] = {"env": reward.copy()}
        return obs, reward, terminated, truncated, info

    def _start(self, mask: np.ndarray) -> None:
        count = int(mask.sum())
        start = self.np_random.uniform(-1.0, 1.0, count) if self.random_start else np.zeros(count)
        self._position[mask] = start
        self._elapsed[mask] = 0
        self._needs_reset[mask] = False

    def _observe(self) -> np.ndarray:
        return np.stack([self._position, self._elapsed.astype(np.float32)], axis=1)


class TorchToyVectorEnv(ToyVectorEnv):
    """The toy env as a GPU env would be: torch tensors out, torch tensors in (here on the CPU)."""

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if options and "reset_mask" in options:
            options = {"reset_mask": options["reset_mask"].numpy()}
        obs, info = super().reset(seed=seed, options=options)
        return torch.from_numpy(obs), info

    def step(self, actions: Any):
        if not isinstance(actions, torch.Tensor):
            raise TypeError(f"actions must be a torch tensor, got {type(actions).__name__}")
        out = super().step(actions.numpy())
        obs, reward, terminated, truncated, info = out
        info = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in info.items()}
        info[REWARD_TRACE] = {"env": torch.from_numpy(out[4][REWARD_TRACE]["env"])}
        batches = (torch.from_numpy(x) for x in (obs, reward, terminated, truncated))
        return (*batches, info)


@pytest.mark.parametrize("env_class", [ToyVectorEnv, TorchToyVectorEnv])
@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.name)
def test_an_independent_correct_env_passes(env_class: type, mode: AutoresetMode) -> None:
    check_without_warnings(env_class(autoreset_mode=mode), seed=3)


def test_a_deterministic_env_passes_the_seeding_check() -> None:
    check_without_warnings(ToyVectorEnv(random_start=False))


def test_no_episode_end_warns_that_autoreset_went_unchecked() -> None:
    with pytest.warns(UserWarning, match="no episode ended in 1 steps"):
        check_vector_env(ToyVectorEnv(max_steps=100), steps=1)


def test_envs_sharing_one_seed_warn() -> None:
    class SharedSeed(ToyVectorEnv):
        def _start(self, mask: np.ndarray) -> None:
            super()._start(mask)
            self._position[mask] = self.np_random.uniform(-1.0, 1.0)  # one draw for every env

    with pytest.warns(UserWarning, match="gave all 4 envs the same start"):
        check_vector_env(SharedSeed())


def _step_hook(edit):
    """A ToyVectorEnv subclass whose step output passes through ``edit(env, *output)``."""

    class Broken(ToyVectorEnv):
        def step(self, actions: Any):
            ended_before = self._needs_reset.copy()
            return edit(self, ended_before, *super().step(actions))

    return Broken


def _with_info(**changes: Any):
    def edit(env, ended, obs, reward, terminated, truncated, info):
        info = dict(info)
        for key, value in changes.items():
            if value is None:
                info.pop(key, None)
            else:
                info[key] = value(reward, terminated, truncated, info)
        return obs, reward, terminated, truncated, info

    return _step_hook(edit)


def _with(**changes: Any):
    def edit(env, ended, obs, reward, terminated, truncated, info):
        out = {"obs": obs, "reward": reward, "terminated": terminated, "truncated": truncated}
        for key, value in changes.items():
            out[key] = value(out[key], ended)
        if "reward" in changes:  # keep the trace honest, so that only the reward itself is wrong
            info = {**info, REWARD_TRACE: {"env": out["reward"]}}
        return out["obs"], out["reward"], out["terminated"], out["truncated"], info

    return _step_hook(edit)


def _set_first(value: float):
    def change(array: np.ndarray, ended: np.ndarray) -> np.ndarray:
        array = array.copy()
        array[1] = value
        return array

    return change


def _nonzero_where_ended(reward: np.ndarray, ended: np.ndarray) -> np.ndarray:
    return np.where(ended, np.float32(1.0), reward)


BROKEN_STEPS = {
    "wrong reward dtype": (
        _with(reward=lambda r, _: r.astype(np.int64)),
        r"step 0: rewards must have a float dtype, got dtype int64",
    ),
    "reward of wrong shape": (
        _with(reward=lambda r, _: r[:-1]),
        r"step 0: rewards must have shape \(4,\), got shape \(3,\)",
    ),
    "NaN reward": (
        _with(reward=_set_first(np.nan)),
        r"step 0: rewards of env 1 is NaN",
    ),
    "rewards as a list": (
        _with(reward=lambda r, _: r.tolist()),
        r"step 0: rewards must be a numpy array or torch tensor, got a list",
    ),
    "terminated as ints": (
        _with(terminated=lambda t, _: t.astype(np.int64)),
        r"step 0: terminated must have dtype bool, got dtype int64",
    ),
    "truncated of wrong shape": (
        _with(truncated=lambda t, _: t[:, None]),
        r"step 0: truncated must have shape \(4,\), got shape \(4, 1\)",
    ),
    "float64 observations": (
        _with(obs=lambda o, _: o.astype(np.float64)),
        r"step 0: obs must have dtype float32 \(the space's\), got dtype float64",
    ),
    "observation outside the space": (
        _with(obs=_set_first(99.0)),
        r"step 0: the observation of env 1 is outside single_observation_space",
    ),
    "missing gold_reward": (
        _with_info(gold_reward=None),
        r"step 0: info has no 'gold_reward'",
    ),
    "infinite gold_reward": (
        _with_info(gold_reward=lambda r, *_: np.where(np.arange(4) == 2, np.inf, r)),
        r"step 0: info\['gold_reward'\] of env 2 is inf; gold must be finite",
    ),
    "integer gold_reward": (
        _with_info(gold_reward=lambda r, *_: np.zeros(4, np.int64)),
        r"info\['gold_reward'\] must have a float dtype",
    ),
    "missing reward_trace": (
        _with_info(reward_trace=None),
        r"step 0: info has no 'reward_trace'",
    ),
    "reward_trace not starting with env": (
        _with_info(reward_trace=lambda r, *_: {"scale": r, "env": r}),
        r"info\['reward_trace'\] must start with the layer 'env'.*\['scale', 'env'\]",
    ),
    "reward_trace not ending with the proxy": (
        _with_info(reward_trace=lambda r, *_: {"env": r, "scale": 2 * r - 1}),
        r"the last layer of info\['reward_trace'\], 'scale', must equal the returned reward",
    ),
    "reward_trace layer of wrong shape": (
        _with_info(reward_trace=lambda r, *_: {"env": r[:2], "scale": r}),
        r"info\['reward_trace'\]\['env'\] must have shape \(4,\), got shape \(2,\)",
    ),
    "info not a dict": (
        _step_hook(lambda env, ended, *out: (*out[:4], [out[4]])),
        r"step 0: info must be a dict, got a list",
    ),
    "four-item step": (
        _step_hook(lambda env, ended, *out: out[:4]),
        r"step 0: step\(\) must return a tuple \(obs, rewards, terminated, truncated, info\), "
        r"got a tuple of 4",
    ),
    "NEXT_STEP nonzero reward on the reset step": (
        _with(reward=_nonzero_where_ended),
        r"NEXT_STEP autoreset: env \d+ ended its episode on the step before.*"
        r"reward 1\.0 \(must be exactly 0\)",
    ),
    "NEXT_STEP terminated again on the reset step": (
        _with(terminated=lambda t, ended: t | ended),
        r"NEXT_STEP autoreset: env \d+ .*terminated=True",
    ),
}


@pytest.mark.parametrize("broken, match", BROKEN_STEPS.values(), ids=list(BROKEN_STEPS))
def test_broken_step_is_caught(broken: type, match: str) -> None:
    with pytest.raises(VectorEnvCheckError, match=match):
        check_vector_env(broken(), seed=0)


def _same_step_with_info(**changes: Any) -> VectorEnv:
    return _with_info(**changes)(autoreset_mode=AutoresetMode.SAME_STEP)


@pytest.mark.parametrize(
    "envs, match",
    [
        pytest.param(
            _same_step_with_info(final_obs=None, _final_obs=None),
            r"SAME_STEP autoreset: env \d+ ended its episode but info has no 'final_obs'",
            id="no final_obs",
        ),
        pytest.param(
            _same_step_with_info(_final_obs=None),
            r"info has 'final_obs' but not its mask '_final_obs'",
            id="no mask",
        ),
        pytest.param(
            _same_step_with_info(_final_obs=lambda r, terminated, truncated, info: terminated),
            r"info\['_final_obs'\] must equal terminated \| truncated, "
            r"but env \d+ has False in the mask",
            id="mask misses truncations",
        ),
        pytest.param(
            _same_step_with_info(final_obs=lambda r, te, tr, info: info[FINAL_OBS] + 50),
            r"info\['final_obs'\] of env \d+ is outside single_observation_space",
            id="final obs outside the space",
        ),
    ],
)
def test_broken_same_step_is_caught(envs: VectorEnv, match: str) -> None:
    with pytest.raises(VectorEnvCheckError, match=match):
        check_vector_env(envs)


class ResetsEveryone(ToyVectorEnv):
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        return super().reset(seed=seed)  # ignores the reset_mask


class RefusesResetMask(ToyVectorEnv):
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if options:
            raise KeyError("reset_mask")
        return super().reset(seed=seed)


@pytest.mark.parametrize(
    "env_class, match",
    [
        (ResetsEveryone, r"DISABLED autoreset: reset\(options=.*\) changed the obs.* of env \d+"),
        (RefusesResetMask, r"DISABLED autoreset: envs \[.*\] ended and reset\(.*\) raised KeyError"),
    ],
)
def test_broken_disabled_reset_is_caught(env_class: type, match: str) -> None:
    with pytest.raises(VectorEnvCheckError, match=match):
        check_vector_env(env_class(autoreset_mode=AutoresetMode.DISABLED))


class IgnoresSeed(ToyVectorEnv):
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        return super().reset(seed=None, options=options)  # keeps drawing from one old stream


class NoisyReward(ToyVectorEnv):
    """Seeded starts but unseeded reward noise: only the rewards fail to reproduce."""

    _noise = np.random.default_rng()

    def __init__(self) -> None:
        super().__init__(autoreset_mode=AutoresetMode.SAME_STEP)  # no reset step to keep at 0

    def step(self, actions: Any):
        obs, reward, terminated, truncated, info = super().step(actions)
        reward = reward + self._noise.normal(size=self.num_envs).astype(np.float32)
        return obs, reward, terminated, truncated, {**info, REWARD_TRACE: {"env": reward}}


@pytest.mark.parametrize(
    "envs, match",
    [
        (IgnoresSeed(), r"seeding: two runs from reset\(seed=0\) .* at reset\(seed=0\): obs of env 0"),
        (NoisyReward(), r"seeding: two runs from reset\(seed=0\) .* at step 0: rewards of env 0"),
    ],
    ids=["seed ignored", "unseeded reward noise"],
)
def test_nondeterministic_seeding_is_caught(envs: VectorEnv, match: str) -> None:
    with pytest.raises(VectorEnvCheckError, match=match):
        check_vector_env(envs)


class AcceptsAnything(ToyVectorEnv):
    def step(self, actions: Any):
        actions = np.resize(np.asarray(actions, dtype=np.int64).clip(0, 1), self.num_envs)
        return super().step(actions)


class RaisesRuntimeError(ToyVectorEnv):
    def step(self, actions: Any):
        try:
            return super().step(actions)
        except ValueError as error:
            raise RuntimeError(str(error)) from None


def test_unvalidated_actions_are_caught_unless_opted_out() -> None:
    accepted = r"bad input: step\(\) accepted actions for 5 envs"
    with pytest.raises(VectorEnvCheckError, match=accepted):
        check_vector_env(AcceptsAnything())
    check_without_warnings(AcceptsAnything(), check_bad_input=False)


def test_bad_actions_refused_with_the_wrong_exception_are_caught() -> None:
    wrong_error = r"bad input: step\(\) with actions for 5 envs raised RuntimeError"
    with pytest.raises(VectorEnvCheckError, match=wrong_error):
        check_vector_env(RaisesRuntimeError())


class NoAutoresetMode(ToyVectorEnv):
    def __init__(self) -> None:
        super().__init__()
        self.metadata = {}


class ModeAsString(ToyVectorEnv):
    def __init__(self) -> None:
        super().__init__()
        self.metadata = {"autoreset_mode": "next_step"}


class UnbatchedObservationSpace(ToyVectorEnv):
    def __init__(self) -> None:
        super().__init__()
        self.observation_space = self.single_observation_space


class NoSingleActionSpace(ToyVectorEnv):
    def __init__(self) -> None:
        super().__init__()
        self.single_action_space = None


class ZeroEnvs(ToyVectorEnv):
    def __init__(self) -> None:
        super().__init__()
        self.num_envs = 0


class ResetWithoutInfo(ToyVectorEnv):
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        return super().reset(seed=seed, options=options)[0]


@pytest.mark.parametrize(
    "env_class, match",
    [
        (NoAutoresetMode, r"autoreset: metadata has no 'autoreset_mode'"),
        (ModeAsString, r"metadata\['autoreset_mode'\] must be a .*AutoresetMode, got 'next_step'"),
        (
            UnbatchedObservationSpace,
            r"spaces: observation_space must equal batch_space\(single_observation_space, num_envs=4\)",
        ),
        (NoSingleActionSpace, r"spaces: single_action_space must be a .*Space, got NoneType"),
        (ZeroEnvs, r"spaces: num_envs must be a positive int, got 0"),
        (ResetWithoutInfo, r"reset\(seed=0\) must return a tuple \(obs, info\), got a numpy array"),
    ],
)
def test_broken_declarations_are_caught(env_class: type, match: str) -> None:
    with pytest.raises(VectorEnvCheckError, match=match):
        check_vector_env(env_class())


def test_torch_env_is_checked_as_numpy() -> None:
    class Float64Torch(TorchToyVectorEnv):
        def step(self, actions: Any):
            obs, *rest = super().step(actions)
            return (obs.double(), *rest)

    check_without_warnings(TorchToyVectorEnv(num_envs=2))
    wrong_dtype = r"step 0: obs must have dtype float32 \(the space's\), got dtype float64"
    with pytest.raises(VectorEnvCheckError, match=wrong_dtype):
        check_vector_env(Float64Torch())


def test_check_error_is_an_assertion_error() -> None:
    assert issubclass(VectorEnvCheckError, AssertionError)


@pytest.mark.parametrize("kwargs", [{"seed": -1}, {"seed": 1.5}, {"steps": 0}, {"steps": True}])
def test_invalid_arguments_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="seed|steps"):
        check_vector_env(ToyVectorEnv(), **kwargs)


def test_the_checker_leaves_the_envs_action_space_rng_alone() -> None:
    envs = ToyVectorEnv()
    envs.action_space.seed(7)
    expected = ToyVectorEnv().action_space
    expected.seed(7)
    check_vector_env(envs)
    assert np.array_equal(envs.action_space.sample(), expected.sample())
