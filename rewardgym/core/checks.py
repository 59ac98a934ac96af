"""A checker for ``gymnasium.vector.VectorEnv``: gymnasium checks single envs but not vector ones.

:func:`check_vector_env` runs any vector env (rewardgym's or anyone's) through the checks that
gymnasium's ``check_env`` runs on a single env, plus rewardgym's reward contract (docs/design.md, "The
reward contract", points 1, 2, 6, 7 and 8): spaces, the declared autoreset mode and its semantics,
the ``gold_reward`` and ``reward_trace`` info keys, seeding, and refusing bad actions. It uses only
gymnasium's public API, so it works on any vector env; torch tensors (envs on ``device="cuda"``)
are copied to numpy for the checks.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

import numpy as np
from gymnasium import logger, spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space, iterate

from rewardgym.core.info import FINAL_OBS, GOLD_REWARD, REWARD_TRACE, mask_key

OTHER_SEED_OFFSET = 10_007
"""The second seed of the seeding check is ``seed + OTHER_SEED_OFFSET``: far from ``seed + i``,
the seed that vector envs conventionally give sub-env ``i``."""


class VectorEnvCheckError(AssertionError):
    """A vector env breaks gymnasium's vector API or rewardgym's reward contract.

    The message names the check, the step and the env index where the problem showed.
    """


def check_vector_env(
    envs: VectorEnv,
    *,
    seed: int = 0,
    steps: int = 300,
    check_bad_input: bool = True,
) -> None:
    """Check that a vector env follows gymnasium's vector API and rewardgym's reward contract.

    The checks, in order:

    1. **Spaces**: ``num_envs`` is a positive int; ``single_observation_space`` and
       ``single_action_space`` are gymnasium spaces, and ``observation_space``/``action_space``
       equal ``batch_space(single, num_envs)``.
    2. **Autoreset mode**: ``metadata["autoreset_mode"]`` is a ``gymnasium.vector.AutoresetMode``.
    3. **Reset and step**: ``reset(seed=seed)`` returns ``(obs, info)``, then ``steps`` steps with
       random actions (from a copy of ``action_space`` seeded with ``seed``) each return
       ``(obs, rewards, terminated, truncated, info)`` with obs in ``observation_space`` (exact
       shape and dtype), float rewards of shape ``(num_envs,)`` without NaN, and bool
       ``terminated``/``truncated`` of shape ``(num_envs,)``.
    4. **Reward contract**: every step's ``info["gold_reward"]`` is a finite float array of shape
       ``(num_envs,)``; ``info["reward_trace"]`` is a dict whose first key is ``"env"``, whose
       values have shape ``(num_envs,)`` and whose last value equals the returned reward.
    5. **Autoreset semantics** of the declared mode. NEXT_STEP: the step after an env's episode
       ended returns reward 0 and neither terminated nor truncated for it. SAME_STEP: on a step
       where episodes end, ``info["final_obs"]`` and ``info["_final_obs"]`` are there, the mask
       equals ``terminated | truncated`` and the final observations are in the single observation
       space. DISABLED: ``reset(options={"reset_mask": ended})`` resets the ended envs and keeps
       the others' observations. If no episode ends within ``steps`` steps, these checks cannot run
       and a warning says so.
    6. **Seeding**: the same seed and actions reproduce observations, rewards, terminated,
       truncated and gold exactly. Different seeds are expected to give different starts; an env
       whose starts do not depend on the seed is deterministic, which is allowed.
    7. **Bad input** (``check_bad_input=True``): ``step`` refuses, with ``ValueError`` or
       ``TypeError``, actions for too many or too few envs, an unbatched action and, for
       ``Discrete``/``MultiDiscrete``/``MultiBinary``/``Box`` action spaces, out-of-range
       (or NaN) and fractional actions. gymnasium's own vector envs do not validate actions, so
       pass ``check_bad_input=False`` for them.

    The env is stepped and reset; it is left open, in no particular state.

    Args:
        envs: the vector env to check. It may return numpy arrays or torch tensors; with torch
            tensors, actions are passed as tensors on the observations' device.
        seed: the seed of the resets and of the random actions.
        steps: how many steps to run; enough for some episodes to end, or autoreset goes unchecked.
        check_bad_input: whether to check that ``step`` refuses malformed actions.

    Raises:
        VectorEnvCheckError: the first problem found, named in the message.
        ValueError: ``seed`` or ``steps`` is not a valid value.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> from rewardgym.core.checks import check_vector_env
        >>> envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=4, reward="scale(factor=2)")
        >>> check_vector_env(envs, seed=0)
        >>> foreign = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync")
        >>> foreign = rewardgym.wrap(foreign, None)  # the shell adds gold and the reward trace
        >>> check_vector_env(foreign, check_bad_input=False)
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    seed, steps = int(seed), int(steps)

    _check_spaces(envs)
    mode = _check_autoreset_mode(envs)
    actions = _random_actions(envs.action_space, seed, steps)
    first = _rollout(envs, mode, seed, actions)
    if not first.episode_ended:
        logger.warn(
            f"check_vector_env: no episode ended in {steps} steps of random actions, so the "
            f"{mode.name} autoreset semantics were not checked; pass a larger `steps`.",
            stacklevel=2,
        )
    _check_seeding(envs, mode, seed, actions, first)
    if check_bad_input:
        _check_bad_input(envs, seed)


# -- 1, 2: spaces and the autoreset mode ------------------------------------------------------


def _check_spaces(envs: VectorEnv) -> None:
    num_envs = getattr(envs, "num_envs", None)
    if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
        _fail(f"spaces: num_envs must be a positive int, got {num_envs!r}")
    for kind in ("observation", "action"):
        single = getattr(envs, f"single_{kind}_space", None)
        if not isinstance(single, spaces.Space):
            _fail(f"spaces: single_{kind}_space must be a gymnasium.spaces.Space, got {type(single).__name__}")
        batched = getattr(envs, f"{kind}_space", None)
        try:
            expected = batch_space(single, int(num_envs))
        except Exception as error:  # a custom space that gymnasium cannot batch
            _fail(f"spaces: batch_space cannot batch single_{kind}_space {single}: {error}")
        if batched != expected:
            _fail(
                f"spaces: {kind}_space must equal batch_space(single_{kind}_space, num_envs="
                f"{num_envs}) = {expected}, got {batched}"
            )


def _check_autoreset_mode(envs: VectorEnv) -> AutoresetMode:
    metadata = getattr(envs, "metadata", None)
    if not isinstance(metadata, Mapping):
        _fail(f"autoreset: metadata must be a dict, got {type(metadata).__name__}")
    if "autoreset_mode" not in metadata:
        _fail(
            "autoreset: metadata has no 'autoreset_mode'; a vector env declares one of "
            f"{[m.name for m in AutoresetMode]} (gymnasium.vector.AutoresetMode)"
        )
    mode = metadata["autoreset_mode"]
    if not isinstance(mode, AutoresetMode):
        _fail(
            "autoreset: metadata['autoreset_mode'] must be a gymnasium.vector.AutoresetMode, got "
            f"{mode!r} ({type(mode).__name__})"
        )
    return mode


# -- 3, 4, 5: one checked rollout -------------------------------------------------------------


@dataclass
class _Trajectory:
    """What a rollout returned, as numpy copies, to compare two rollouts with the same seed."""

    records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    episode_ended: bool = False

    @property
    def reset_obs(self) -> Any:
        return self.records[0][1]["obs"]


def _rollout(envs: VectorEnv, mode: AutoresetMode, seed: int, actions: list[Any]) -> _Trajectory:
    """Reset with ``seed``, take ``actions`` and check every step, handling autoreset per ``mode``."""
    num_envs = envs.num_envs
    trajectory = _Trajectory()
    where = f"reset(seed={seed})"
    result: Any = envs.reset(seed=seed)
    if not isinstance(result, tuple) or len(result) != 2:
        _fail(f"{where} must return a tuple (obs, info), got {_describe(result)}")
    obs, info = result
    _check_info_is_dict(info, where)
    obs_np = _check_obs(envs, obs, where)
    trajectory.records.append((where, {"obs": obs_np}))
    device = _torch_device(obs)

    previous_done = np.zeros(num_envs, dtype=bool)
    for t, action in enumerate(actions):
        where = f"step {t}"
        result = envs.step(_like(action, device))
        if not isinstance(result, tuple) or len(result) != 5:
            _fail(
                f"{where}: step() must return a tuple (obs, rewards, terminated, truncated, info), "
                f"got {_describe(result)}"
            )
        obs, rewards, terminated, truncated, info = result
        obs_np = _check_obs(envs, obs, where)
        rewards_np = _check_rewards(rewards, num_envs, where)
        terminated_np = _check_flags(terminated, "terminated", num_envs, where)
        truncated_np = _check_flags(truncated, "truncated", num_envs, where)
        _check_info_is_dict(info, where)
        gold_np = _check_gold(info, num_envs, where)
        _check_reward_trace(info, rewards_np, num_envs, where)
        trajectory.records.append(
            (
                where,
                {
                    "obs": obs_np,
                    "rewards": rewards_np,
                    "terminated": terminated_np,
                    "truncated": truncated_np,
                    "gold_reward": gold_np,
                },
            )
        )

        done = terminated_np | truncated_np
        if mode is AutoresetMode.NEXT_STEP:
            _check_next_step_autoreset(previous_done, rewards_np, terminated_np, truncated_np, where)
        elif mode is AutoresetMode.SAME_STEP:
            _check_same_step_final_obs(envs, info, done, where)
        elif mode is AutoresetMode.DISABLED and done.any():
            reset_obs = _reset_ended(envs, terminated | truncated, done, obs_np, where)
            label = f"reset(options={{'reset_mask': ...}}) after {where}"
            trajectory.records.append((label, {"obs": reset_obs}))
        previous_done = done
        trajectory.episode_ended |= bool(done.any())
    return trajectory


def _check_obs(envs: VectorEnv, obs: Any, where: str) -> Any:
    """The observations as numpy, once they have the batched space's structure and are inside it."""
    space = envs.observation_space
    obs_np = _snapshot(obs)
    _check_structure(obs_np, space, f"{where}: obs")
    if not space.contains(obs_np):
        single = envs.single_observation_space
        for index, row in enumerate(iterate(space, obs_np)):
            if not single.contains(row):
                _fail(
                    f"{where}: the observation of env {index} is outside single_observation_space "
                    f"{single}: {_show(row)}"
                )
        _fail(f"{where}: obs is not in observation_space {space}")
    return obs_np


def _check_structure(value: Any, space: spaces.Space, name: str) -> None:
    """Exact container types, shapes and dtypes, which ``space.contains`` checks only loosely."""
    if isinstance(space, spaces.Dict):
        if not isinstance(value, Mapping) or set(value) != set(space.spaces):
            _fail(f"{name} must be a dict with keys {sorted(space.spaces)}, got {_describe(value)}")
        for key, subspace in space.spaces.items():
            _check_structure(value[key], subspace, f"{name}[{key!r}]")
    elif isinstance(space, spaces.Tuple):
        if not isinstance(value, tuple) or len(value) != len(space.spaces):
            _fail(f"{name} must be a tuple of {len(space.spaces)} items, got {_describe(value)}")
        for index, subspace in enumerate(space.spaces):
            _check_structure(value[index], subspace, f"{name}[{index}]")
    elif isinstance(space, (spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)):
        if not isinstance(value, np.ndarray):
            _fail(f"{name} must be a numpy array or torch tensor, got {_describe(value)}")
        if value.shape != space.shape:
            _fail(f"{name} must have shape {space.shape}, got shape {value.shape}")
        if value.dtype != space.dtype:
            _fail(f"{name} must have dtype {space.dtype} (the space's), got dtype {value.dtype}")


def _check_rewards(rewards: Any, num_envs: int, where: str) -> np.ndarray:
    rewards = _snapshot(rewards)
    _check_batch(rewards, "rewards", num_envs, where)
    if rewards.dtype.kind != "f":
        _fail(f"{where}: rewards must have a float dtype, got dtype {rewards.dtype}")
    nan = np.flatnonzero(np.isnan(rewards))
    if nan.size:
        _fail(f"{where}: rewards of env {nan[0]} is NaN; a NaN reward must never be returned")
    return rewards


def _check_flags(flags: Any, name: str, num_envs: int, where: str) -> np.ndarray:
    flags = _snapshot(flags)
    _check_batch(flags, name, num_envs, where)
    if flags.dtype != np.bool_:
        _fail(f"{where}: {name} must have dtype bool, got dtype {flags.dtype}")
    return flags


def _check_gold(info: dict[str, Any], num_envs: int, where: str) -> np.ndarray:
    if GOLD_REWARD not in info:
        _fail(
            f"{where}: info has no {GOLD_REWARD!r}; every step of every env puts the true objective "
            f"there, an array of shape ({num_envs},) (the reward contract, point 1)"
        )
    gold = _snapshot(info[GOLD_REWARD])
    _check_batch(gold, f"info[{GOLD_REWARD!r}]", num_envs, where)
    if gold.dtype.kind != "f":
        _fail(f"{where}: info[{GOLD_REWARD!r}] must have a float dtype, got dtype {gold.dtype}")
    bad = np.flatnonzero(~np.isfinite(gold))
    if bad.size:
        _fail(f"{where}: info[{GOLD_REWARD!r}] of env {bad[0]} is {_show(gold[bad[0]])}; gold must be finite")
    return gold


def _check_reward_trace(info: dict[str, Any], rewards: np.ndarray, num_envs: int, where: str) -> None:
    name = f"info[{REWARD_TRACE!r}]"
    if REWARD_TRACE not in info:
        _fail(
            f"{where}: info has no {REWARD_TRACE!r}; every step maps each reward layer's name to "
            "its reward, starting with 'env' (the reward contract, point 2)"
        )
    trace = info[REWARD_TRACE]
    if not isinstance(trace, Mapping) or not trace:
        _fail(f"{where}: {name} must be a non-empty dict of layer name to reward, got {_describe(trace)}")
    layers = list(trace)
    if layers[0] != "env":
        _fail(f"{where}: {name} must start with the layer 'env' (the env's own reward), got {layers}")
    for layer in layers:
        _check_batch(_snapshot(trace[layer]), f"{name}[{layer!r}]", num_envs, where)
    last = _snapshot(trace[layers[-1]])
    equal = last == rewards.astype(last.dtype) if last.dtype.kind == "f" else last == rewards
    if not np.all(equal):
        index = int(np.flatnonzero(~equal)[0])
        _fail(
            f"{where}: the last layer of {name}, {layers[-1]!r}, must equal the returned reward "
            f"(the proxy), but env {index} has {_show(last[index])} in the trace and "
            f"{_show(rewards[index])} returned"
        )


def _check_next_step_autoreset(
    previous_done: np.ndarray,
    rewards: np.ndarray,
    terminated: np.ndarray,
    truncated: np.ndarray,
    where: str,
) -> None:
    for index in np.flatnonzero(previous_done):
        problems = []
        if rewards[index] != 0:
            problems.append(f"reward {_show(rewards[index])} (must be exactly 0)")
        if terminated[index]:
            problems.append("terminated=True")
        if truncated[index]:
            problems.append("truncated=True")
        if problems:
            _fail(
                f"{where}: NEXT_STEP autoreset: env {index} ended its episode on the step before, so "
                f"this step only resets it, yet it returned {', '.join(problems)}"
            )


def _check_same_step_final_obs(envs: VectorEnv, info: dict[str, Any], done: np.ndarray, where: str) -> None:
    mask_name = mask_key(FINAL_OBS)
    if FINAL_OBS not in info:
        if done.any():
            _fail(
                f"{where}: SAME_STEP autoreset: env {np.flatnonzero(done)[0]} ended its episode but "
                f"info has no {FINAL_OBS!r} (the real last observation) and {mask_name!r}"
            )
        return
    if mask_name not in info:
        _fail(f"{where}: SAME_STEP autoreset: info has {FINAL_OBS!r} but not its mask {mask_name!r}")
    mask = _snapshot(info[mask_name])
    _check_batch(mask, f"info[{mask_name!r}]", envs.num_envs, where)
    if mask.dtype != np.bool_:
        _fail(f"{where}: SAME_STEP autoreset: info[{mask_name!r}] must have dtype bool, got {mask.dtype}")
    if not np.array_equal(mask, done):
        index = int(np.flatnonzero(mask != done)[0])
        _fail(
            f"{where}: SAME_STEP autoreset: info[{mask_name!r}] must equal terminated | truncated, "
            f"but env {index} has {bool(mask[index])} in the mask and {bool(done[index])} ended"
        )
    final = info[FINAL_OBS]
    if isinstance(final, np.ndarray) and final.dtype == object:
        rows = list(final)  # gymnasium's Sync/AsyncVectorEnv: one observation per env, else None
    else:
        final = _snapshot(final)
        _check_structure(final, envs.observation_space, f"{where}: info[{FINAL_OBS!r}]")
        rows = list(iterate(envs.observation_space, final))
    single = envs.single_observation_space
    for index in np.flatnonzero(done).tolist():
        row = _snapshot(rows[index])
        if not single.contains(row):
            _fail(
                f"{where}: SAME_STEP autoreset: info[{FINAL_OBS!r}] of env {index} is outside "
                f"single_observation_space {single}: {_show(row)}"
            )


def _reset_ended(envs: VectorEnv, native_mask: Any, done: np.ndarray, obs_before: Any, where: str) -> Any:
    """DISABLED mode: reset the envs that ended (mask as the env returned it, numpy or torch)."""
    call = "reset(options={'reset_mask': terminated | truncated})"
    try:
        result = envs.reset(options={"reset_mask": native_mask})
    except Exception as error:
        _fail(
            f"{where}: DISABLED autoreset: envs {np.flatnonzero(done).tolist()} ended and {call} "
            f"raised {type(error).__name__}: {error}"
        )
    if not isinstance(result, tuple) or len(result) != 2:
        _fail(f"{where}: {call} must return a tuple (obs, info), got {_describe(result)}")
    obs, info = result
    _check_info_is_dict(info, f"{where}: {call}")
    obs_np = _check_obs(envs, obs, f"{where}: {call}")
    space = envs.observation_space
    for index, (before, after) in enumerate(zip(iterate(space, obs_before), iterate(space, obs_np))):
        if not done[index] and _difference(before, after, "obs") is not None:
            _fail(
                f"{where}: DISABLED autoreset: {call} changed the observation of env {index}, "
                "which was not in the mask and must be left as it was"
            )
    return obs_np


# -- 6: seeding -------------------------------------------------------------------------------


def _check_seeding(envs: VectorEnv, mode: AutoresetMode, seed: int, actions: list[Any], first: _Trajectory) -> None:
    second = _rollout(envs, mode, seed, actions)
    for (where, record_1), (_, record_2) in zip(first.records, second.records):
        for name in record_1:
            difference = _difference(record_1[name], record_2[name], name)
            if difference is not None:
                _fail(
                    f"seeding: two runs from reset(seed={seed}) with the same actions differ at "
                    f"{where}: {difference}; the same seed must reproduce a trajectory exactly"
                )
    if len(first.records) != len(second.records):
        _fail(f"seeding: two runs from reset(seed={seed}) with the same actions differ in length")

    other_seed = seed + OTHER_SEED_OFFSET
    other_obs = _snapshot(envs.reset(seed=other_seed)[0])
    if _difference(first.reset_obs, other_obs, "obs") is None:
        return  # starts do not depend on the seed: a deterministic env
    rows = list(iterate(envs.observation_space, first.reset_obs))
    if len(rows) > 1 and all(_difference(rows[0], row, "obs") is None for row in rows[1:]):
        logger.warn(
            f"check_vector_env: reset(seed={seed}) gave all {len(rows)} envs the same start while "
            f"reset(seed={other_seed}) gave another; do the sub-envs share one seed? (gymnasium's "
            "convention seeds env i with seed + i)",
            stacklevel=3,
        )


# -- 7: bad input -----------------------------------------------------------------------------


def _check_bad_input(envs: VectorEnv, seed: int) -> None:
    device = _torch_device(envs.reset(seed=seed)[0])
    num_envs = envs.num_envs
    single = envs.single_action_space
    rng = np.random.default_rng(seed)
    cases: list[tuple[str, Any]] = [
        (f"actions for {num_envs + 1} envs", _sample(batch_space(single, num_envs + 1), seed)),
        ("a single unbatched action", _sample(single, seed)),
    ]
    if num_envs > 1:
        too_few = _sample(batch_space(single, num_envs - 1), seed)
        cases.append((f"actions for {num_envs - 1} envs", too_few))
    shape = (num_envs, *(single.shape or ()))
    if isinstance(single, (spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)):
        if isinstance(single, spaces.Discrete):
            too_high = np.full(shape, int(single.start) + int(single.n), dtype=np.int64)
        elif isinstance(single, spaces.MultiDiscrete):
            too_high = np.broadcast_to(single.start + single.nvec, shape).astype(np.int64)
        else:
            too_high = np.full(shape, 2, dtype=np.int64)
        cases.append(("out-of-range actions", too_high))
        cases.append(("fractional (float) actions", rng.random(shape) * 0.5 + 0.25))
    elif isinstance(single, spaces.Box):
        cases.append(("NaN actions", np.full(shape, np.nan, dtype=single.dtype)))
        if np.all(np.isfinite(single.high)):
            too_high = np.broadcast_to(single.high + 1, shape).astype(single.dtype)
            cases.append(("out-of-range actions", too_high))
    for what, actions in cases:
        try:
            envs.step(_like(actions, device))
        except (ValueError, TypeError):
            continue
        except Exception as error:
            _fail(
                f"bad input: step() with {what} raised {type(error).__name__} ({error}); refuse bad "
                "actions with ValueError or TypeError"
            )
        _fail(
            f"bad input: step() accepted {what} (shape {np.shape(actions)}) for num_envs={num_envs} "
            f"and single_action_space {single}; it must raise ValueError or TypeError (pass "
            "check_bad_input=False for envs that do not validate actions)"
        )


# -- helpers ----------------------------------------------------------------------------------


def _fail(message: str) -> NoReturn:
    raise VectorEnvCheckError(message)


def _check_info_is_dict(info: Any, where: str) -> None:
    if not isinstance(info, dict):
        _fail(f"{where}: info must be a dict, got {_describe(info)}")


def _check_batch(value: Any, name: str, num_envs: int, where: str) -> None:
    if not isinstance(value, np.ndarray):
        _fail(f"{where}: {name} must be a numpy array or torch tensor, got {_describe(value)}")
    if value.shape != (num_envs,):
        _fail(f"{where}: {name} must have shape ({num_envs},), got shape {value.shape}")


def _random_actions(space: spaces.Space, seed: int, steps: int) -> list[Any]:
    """``steps`` batches of actions from a seeded copy of ``space``, leaving the env's RNG alone."""
    space = copy.deepcopy(space)
    space.seed(seed)
    return [space.sample() for _ in range(steps)]


def _sample(space: spaces.Space, seed: int) -> Any:
    space = copy.deepcopy(space)
    space.seed(seed)
    return space.sample()


def _is_torch(value: Any) -> bool:
    return type(value).__module__.startswith("torch")


def _snapshot(value: Any) -> Any:
    """A numpy copy of a batch (numpy or torch, possibly nested in dicts and tuples)."""
    if isinstance(value, Mapping):
        return {key: _snapshot(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(_snapshot(item) for item in value)
    if _is_torch(value):
        return value.detach().cpu().numpy().copy()
    if isinstance(value, (np.ndarray, np.generic)):
        return np.array(value, copy=True)
    return value


def _torch_device(value: Any) -> Any:
    """The device of the first torch tensor in ``value``, or None for a numpy env."""
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, (tuple, list)):
        for item in value:
            device = _torch_device(item)
            if device is not None:
                return device
        return None
    return value.device if _is_torch(value) else None


def _like(actions: Any, device: Any) -> Any:
    """Actions as the env takes them: numpy, or torch tensors on ``device`` for a torch env."""
    if device is None:
        return actions
    if isinstance(actions, Mapping):
        return {key: _like(item, device) for key, item in actions.items()}
    if isinstance(actions, tuple):
        return tuple(_like(item, device) for item in actions)
    import torch

    return torch.as_tensor(np.ascontiguousarray(actions), device=device)


def _difference(a: Any, b: Any, name: str) -> str | None:
    """Where two snapshots differ, in words (naming the env index), or None if they are equal."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        if set(a) != set(b):
            return f"{name} has keys {sorted(a)} and then {sorted(b)}"
        return _first_difference((a[k], b[k], f"{name}[{k!r}]") for k in a)
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return _first_difference((x, y, f"{name}[{i}]") for i, (x, y) in enumerate(zip(a, b)))
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.shape != b.shape or a.dtype != b.dtype:
            return f"{name} has shape {a.shape} {a.dtype} and then {b.shape} {b.dtype}"
        if a.dtype == object:
            pairs = enumerate(zip(a, b))
            return _first_difference((x, y, f"{name} of env {i}") for i, (x, y) in pairs)
        unequal = a != b
        if a.dtype.kind in "fc":
            unequal &= ~(np.isnan(a) & np.isnan(b))
        if not unequal.any():
            return None
        if a.ndim == 0:
            return f"{name} is {_show(a)} and then {_show(b)}"
        index = int(np.argwhere(unequal)[0][0])
        return f"{name} of env {index} is {_show(a[index])} and then {_show(b[index])}"
    if type(a) is not type(b) or a != b:
        return f"{name} is {a!r} and then {b!r}"
    return None


def _first_difference(triples: Any) -> str | None:
    return next((d for a, b, name in triples if (d := _difference(a, b, name)) is not None), None)


def _show(value: Any) -> str:
    """A value for a message: plain Python numbers and lists rather than numpy reprs."""
    return repr(value.tolist() if isinstance(value, (np.ndarray, np.generic)) else value)


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} items"
    return f"a {type(value).__name__}"


__all__ = ["VectorEnvCheckError", "check_vector_env"]
