"""The MuJoCo vector env: ``num_envs`` ``MjData`` of one ``MjModel``, stepped by a thread pool.

**Why a thread pool over ``mj_step`` and not ``mujoco.rollout``.** ``rollout`` takes and returns
only the physics *state* (``mjSTATE_FULLPHYSICS``): it cannot hand back the warm start
(``qacc_warmstart``) a persistent ``MjData`` carries from step to step, nor the ``MjData``
quantities gymnasium's ``-v5`` envs read after ``mj_step`` (Ant's torso ``xpos``, which lags the
last substep, and ``cfrc_ext`` after ``mj_rnePostConstraint``). So every env keeps its own
``MjData``, and threads (the calling one and ``nthread - 1`` of a pool) run
``mujoco.mj_step(model, data, nstep=frame_skip)`` on the envs, each thread taking the next env from
one shared list; the bindings release the GIL inside ``mj_step``, so the envs step in parallel in
MuJoCo's C code. The stepping threads run no other Python: before, the calling thread writes every
env's ``ctrl`` (a slice assignment to a view made once), and after, it copies ``qpos``/``qvel``
(and Ant's ``xpos``/``cfrc_ext``, and MuJoCo's warning counts) of all the envs into the batch
arrays, one ``np.concatenate`` per quantity; everything else (observations, health, reward terms,
ends, autoreset) is numpy over the whole batch.

**Unstable simulations.** After every step, an env whose ``qpos``/``qvel`` is not finite or whose
``MjData`` raised MuJoCo's ``BADQACC``, ``BADQPOS`` or ``BADQVEL`` warning (MuJoCo then resets
its state to the model's rest pose) ends its episode: ``truncated`` is True, ``terminated`` False,
``info["unstable"]`` True for it, its reward, gold and reward terms are 0 and its observation is
the last one it had before the bad step, so no NaN (and no teleport) reaches an agent.
MuJoCo's warning text comes as a :class:`~rewardgym.envs.mujoco.mujoco_warnings.MujocoWarning`
(never in ``MUJOCO_LOG.TXT`` in the working directory, where MuJoCo would write it).

**Seeding.** Env ``i`` of a vector env seeded ``s`` draws its starts from gymnasium's generator
seeded ``s + i`` (``gymnasium.utils.seeding.np_random``), exactly as gymnasium's own env seeded
``s + i`` does: the same start states, draw for draw, so the two can be compared step by step.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import EnvSpec
from gymnasium.utils.seeding import np_random
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from rewardgym.core.info import FINAL_OBS, GOLD_REWARD, REWARD_TRACE, mask_key
from rewardgym.core.rng import per_env_seeds
from rewardgym.core.validation import check_integer
from rewardgym.envs.batched import parse_autoreset_mode
from rewardgym.envs.mujoco.task import (
    MISSING_MUJOCO,
    REWARD_COMPONENTS,
    REWARD_VECTOR,
    UNSTABLE,
    MujocoTask,
    SimBatch,
    check_params,
    model_path,
)

try:
    import mujoco
except ImportError as error:  # the optional extra is not installed
    raise ModuleNotFoundError(MISSING_MUJOCO, name="mujoco") from error

from rewardgym.envs.mujoco.mujoco_warnings import routed_warnings

__all__ = ["PARALLEL_FROM", "REWARD_COMPONENTS", "REWARD_VECTOR", "UNSTABLE", "MujocoVectorEnv", "load_model"]

_BAD_WARNINGS = np.array(
    [
        int(mujoco.mjtWarning.mjWARN_BADQACC),
        int(mujoco.mjtWarning.mjWARN_BADQPOS),
        int(mujoco.mjtWarning.mjWARN_BADQVEL),
    ]
)

PARALLEL_FROM = 8
"""Batches smaller than this step on the calling thread: waking the pool costs more there."""


def load_model(xml_file: str) -> mujoco.MjModel:
    """The compiled model of ``xml_file`` (a path, or a file in gymnasium's assets folder).

    A file that is not there or does not compile is refused with a ValueError naming it. MuJoCo's
    compiler warnings come as :class:`~rewardgym.envs.mujoco.mujoco_warnings.MujocoWarning`, not
    in ``MUJOCO_LOG.TXT`` in the working directory.

    Example:
        >>> load_model("half_cheetah.xml").nu
        6
    """
    path = model_path(xml_file)
    try:
        with routed_warnings():
            return mujoco.MjModel.from_xml_path(str(path))
    except ValueError as error:
        raise ValueError(f"MuJoCo model file {str(path)!r} does not compile: {error}") from None


class MujocoVectorEnv(VectorEnv):
    """``num_envs`` envs of a MuJoCo task, stepped in parallel in MuJoCo's C code.

    Every step's ``info`` holds the reward contract's ``gold_reward`` and ``reward_trace`` (float32,
    as the reward), ``reward_components`` (float64 terms summing to the reward),
    ``reward_vector`` (MO-Gymnasium's), ``unstable``, and gymnasium's ``-v5`` info terms
    (``x_position``, ``x_velocity``, ...), each with gymnasium's ``_key`` mask. In NEXT_STEP mode
    the step that restarts an ended env returns its start observation, reward 0, neither flag,
    and zeros for its terms (masked out). In SAME_STEP mode ``info["final_obs"]`` is a dense
    ``(num_envs, obs_size)`` array with the real last observation where ``info["_final_obs"]``.

    Args:
        task: the task (e.g. :data:`~rewardgym.envs.mujoco.hopper.HOPPER`).
        num_envs: how many envs.
        autoreset_mode: NEXT_STEP (default), SAME_STEP or DISABLED (restart with
            ``reset(options={"reset_mask": mask})``).
        max_episode_steps: the time limit; the task's (gymnasium's 1000) if None.
        nthread: threads stepping the batch (the calling thread and ``nthread - 1`` pool threads);
            the number of CPUs this process may run on if None.
        params: the task's parameters, replacing its defaults.
        **param_fields: single parameters by name (``ctrl_cost_weight=0.2``); unknown names are refused.

    Example:
        >>> import numpy as np
        >>> from rewardgym.envs.mujoco.hopper import HOPPER
        >>> envs = MujocoVectorEnv(HOPPER, 3)
        >>> obs, _ = envs.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = envs.step(np.zeros((3, 3), np.float32))
        >>> obs.shape, reward.dtype, info["gold_reward"].shape
        ((3, 11), dtype('float32'), (3,))
    """

    _spec: EnvSpec | None = None

    def __init__(
        self,
        task: MujocoTask,
        num_envs: int = 1,
        *,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        max_episode_steps: int | None = None,
        nthread: int | None = None,
        params: Any = None,
        **param_fields: Any,
    ) -> None:
        self.task = task
        self.num_envs = check_integer(num_envs, "num_envs", low=1, high=2**20)
        limit = task.max_episode_steps if max_episode_steps is None else max_episode_steps
        self.max_episode_steps = check_integer(limit, "max_episode_steps", low=1, high=2**62)
        if params is not None and not isinstance(params, type(task.params)):
            raise TypeError(
                f"params of {task.name} must be a {type(task.params).__name__}, got {type(params).__name__}"
            )
        self.params = check_params(task.name, task.params if params is None else params, param_fields)
        self.autoreset_mode = parse_autoreset_mode(autoreset_mode)
        self.nthread = check_integer(_usable_cpus() if nthread is None else nthread, "nthread", low=1, high=1024)
        self.metadata = {"render_modes": [], "autoreset_mode": self.autoreset_mode}

        self.model = load_model(self.params.xml_file)
        n = self.num_envs
        self.datas = [mujoco.MjData(self.model) for _ in range(n)]
        self.init_qpos = self.datas[0].qpos.copy()
        self.init_qvel = self.datas[0].qvel.copy()
        self.frame_skip = int(self.params.frame_skip)
        self.dt = float(self.model.opt.timestep * self.frame_skip)
        body = getattr(self.params, "main_body", task.position_body) if task.position_body is not None else None
        if body is not None:
            body = check_integer(body, "main_body", low=0, high=self.model.nbody - 1)
        self._body = body
        self._post = task.uses_cfrc_ext

        m = self.model
        self._qpos = np.zeros((n, m.nq))
        self._qvel = np.zeros((n, m.nv))
        self._xy = np.zeros((n, 2))
        self._cfrc = np.zeros((n, m.nbody if self._post else 0, 6))
        self._warnings = np.zeros((n, len(self.datas[0].warning.number)), dtype=np.int32)
        # Views of every MjData's arrays, made once: ``d.qpos`` builds a new numpy view on every
        # attribute access (a bindings call, and ``d.warning.number`` several), which cost more
        # than the copy itself. A view stays valid as long as its MjData (kept in ``self.datas``).
        self._ctrl_views = [d.ctrl for d in self.datas]
        # Per quantity: each env's flat view, and the batch array it goes to as (n, k) rows and
        # flat; ``np.concatenate(views, out=flat)`` then copies all the envs in one C loop.
        sources = [
            ([d.qpos for d in self.datas], self._qpos),
            ([d.qvel for d in self.datas], self._qvel),
            ([d.warning.number for d in self.datas], self._warnings),
        ]
        if body is not None:  # else the position is qpos[:2], taken from the gathered qpos
            sources.append(([d.xpos[body, :2] for d in self.datas], self._xy))
        if self._post:
            sources.append(([d.cfrc_ext.reshape(-1) for d in self.datas], self._cfrc))
        self._gathers = [(views, batch.reshape(n, -1), batch.reshape(-1)) for views, batch in sources]
        self._elapsed = np.zeros(n, dtype=np.int64)
        self._needs_reset = np.zeros(n, dtype=bool)
        self._rngs: list[np.random.Generator | None] = [None] * n
        self._has_reset = False
        self._pool: ThreadPoolExecutor | None = None

        bounds = m.actuator_ctrlrange.copy().astype(np.float32)
        self.single_action_space = gym.spaces.Box(low=bounds[:, 0], high=bounds[:, 1], dtype=np.float32)
        obs = task.observe(self._sim(np.arange(1), np.zeros((1, m.nu), np.float32), np.zeros((1, 2))), self.params)
        self.single_observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(obs.shape[1],), dtype=np.float64)
        self.action_space = batch_space(self.single_action_space, n)
        self.observation_space = batch_space(self.single_observation_space, n)
        self._obs = np.zeros((n, obs.shape[1]))
        self._everyone = np.ones(n, dtype=bool)
        self._everyone.flags.writeable = False

    # -- spec, as the batched envs report it --------------------------------------------------

    @property
    def spec(self) -> EnvSpec | None:
        """gymnasium's spec, reporting the env's own time limit as ``max_episode_steps``.

        Example:
            >>> from rewardgym.envs.mujoco.hopper import HOPPER
            >>> MujocoVectorEnv(HOPPER, 1).spec is None
            True
        """
        return self._spec

    @spec.setter
    def spec(self, value: EnvSpec | None) -> None:
        if value is not None and value.max_episode_steps != self.max_episode_steps:
            value = dataclasses.replace(value, max_episode_steps=self.max_episode_steps)
        self._spec = value

    # -- reset --------------------------------------------------------------------------------

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start all envs, or those in ``options["reset_mask"]``; env ``i`` is seeded ``seed + i``.

        Example:
            >>> from rewardgym.envs.mujoco.half_cheetah import HALF_CHEETAH
            >>> envs = MujocoVectorEnv(HALF_CHEETAH, 2)
            >>> a, _ = envs.reset(seed=3)
            >>> b, _ = MujocoVectorEnv(HALF_CHEETAH, 1).reset(seed=4)
            >>> bool((a[1] == b[0]).all())
            True
        """
        seeds = None if seed is None else per_env_seeds(seed, self.num_envs)
        super().reset(seed=None if seeds is None else int(seeds[0]))
        mask = self._reset_mask(options)
        index = np.flatnonzero(mask)
        if seeds is None and not self._has_reset:
            seeds = per_env_seeds(int(self.np_random.integers(2**62)), self.num_envs)
        if seeds is not None:
            for i in index.tolist():
                self._rngs[i] = np_random(int(seeds[i]))[0]
        with routed_warnings():
            self._restart(index)
        self._has_reset = True
        return self._obs.copy(), {}

    def _reset_mask(self, options: dict[str, Any] | None) -> np.ndarray:
        options = options or {}
        unknown = set(options) - {"reset_mask"}
        if unknown:
            raise ValueError(f"unknown reset option {sorted(unknown)[0]!r}; valid options: reset_mask")
        if "reset_mask" not in options:
            return np.ones(self.num_envs, dtype=bool)
        mask = np.asarray(options["reset_mask"])
        if mask.shape != (self.num_envs,) or mask.dtype != np.bool_:
            raise ValueError(
                f"reset_mask must be a bool array of shape ({self.num_envs},), got {mask.dtype} of shape {mask.shape}"
            )
        if not self._has_reset and not mask.all():
            raise RuntimeError("the first reset() must reset every env; pass no reset_mask")
        return mask

    def _restart(self, index: np.ndarray) -> None:
        """Start the envs in ``index`` from their generators (gymnasium's ``reset_model``)."""
        m = self.model
        for i in index.tolist():
            d = self.datas[i]
            mujoco.mj_resetData(m, d)
            rng = self._rngs[i]
            assert rng is not None
            qpos, qvel = self.task.reset_noise(rng, self.init_qpos, self.init_qvel, self.params)
            d.qpos[:] = qpos
            d.qvel[:] = qvel
            mujoco.mj_forward(m, d)
        self._gather(index)
        self._elapsed[index] = 0
        self._needs_reset[index] = False
        if len(index):
            self._obs[index] = self.task.observe(self._sim(index, None, self._xy[index]), self.params)

    def _gather(self, index: np.ndarray | None = None) -> None:
        """Copy the envs' ``MjData`` results (all, or those in ``index``) into the batch arrays."""
        for views, batch, flat in self._gathers:
            if index is None:
                np.concatenate(views, out=flat)
            elif len(index):
                batch[index] = np.stack([views[i] for i in index.tolist()])
        if self._body is None:
            envs = slice(None) if index is None else index
            self._xy[envs] = self._qpos[envs, :2]

    def _unstable(self, index: np.ndarray, sim: SimBatch) -> np.ndarray:
        """Which envs of ``index`` (``sim``) went unstable: MuJoCo warned BADQ* or a value is not finite."""
        warned = self._warnings[index][:, _BAD_WARNINGS].any(axis=1)
        return warned | ~(np.isfinite(sim.qpos).all(1) & np.isfinite(sim.qvel).all(1))

    def _sim(self, index: np.ndarray, action: np.ndarray | None, xy_before: np.ndarray) -> SimBatch:
        return SimBatch(
            qpos=self._qpos[index],
            qvel=self._qvel[index],
            cfrc_ext=self._cfrc[index],
            xy_before=xy_before,
            xy_after=self._xy[index],
            action=action,  # type: ignore[arg-type]  # None where no step was taken (a reset)
            init_qpos=self.init_qpos,
            dt=self.dt,
        )

    # -- step ---------------------------------------------------------------------------------

    def _check_actions(self, actions: Any) -> np.ndarray:
        space = self.single_action_space
        assert isinstance(space, gym.spaces.Box)
        expected = (self.num_envs, *space.shape)
        array = np.asarray(actions)
        if array.shape != expected:
            raise ValueError(
                f"actions must have shape {expected} (num_envs={self.num_envs}, one action of {space} each), "
                f"got shape {array.shape}"
            )
        if array.dtype.kind != "f":
            raise TypeError(f"actions of {space} must be floats, got dtype {array.dtype}")
        bad = ~np.isfinite(array)
        if bad.any():
            env = int(np.flatnonzero(bad.any(axis=1))[0])
            raise ValueError(f"action of env {env} is not finite (NaN or inf): {array[env].tolist()}")
        outside = (array < space.low) | (array > space.high)
        if outside.any():
            env = int(np.flatnonzero(outside.any(axis=1))[0])
            raise ValueError(
                f"action {array[env].tolist()} of env {env} is outside {space}; clip actions to the bounds "
                "(e.g. gymnasium.wrappers.vector.ClipAction)"
            )
        return array if array.dtype in (np.float32, np.float64) else array.astype(np.float32)

    def _advance(self, index: np.ndarray, actions: np.ndarray) -> None:
        """Step the envs in ``index`` by their actions, then gather every env's results.

        The controls are written and the results gathered on the calling thread, so that the
        stepping threads run no Python per env but the ``mj_step`` call itself: Python there
        holds the GIL the other threads need between their steps, and measured more costly than
        the same work done serially (a C loop over cached views, see :meth:`_gather`).
        """
        if len(index) == self.num_envs:
            ctrls, datas = self._ctrl_views, self.datas
        else:
            ctrls = [self._ctrl_views[i] for i in index.tolist()]
            datas = [self.datas[i] for i in index.tolist()]
        # float64 rows (ctrl's dtype) and ``[...]``: the cheapest numpy assignment per env.
        for ctrl, action in zip(ctrls, actions[index].astype(np.float64)):
            ctrl[...] = action
        threads = min(self.nthread, len(datas))
        if threads <= 1 or len(datas) < PARALLEL_FROM:
            self._step_datas(iter(datas))
        else:
            # One iterator shared by the calling thread and ``threads - 1`` pool threads: each
            # takes the next env when it is done with its last (``next`` on a list iterator is
            # atomic under the GIL), so a thread that starts late or is preempted by other work
            # on the machine takes fewer envs instead of holding the batch up.
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.nthread - 1, thread_name_prefix="rewardgym-mujoco")
            # (Measured: static chunks, one per thread, were slower whenever another process
            # took a core for a while.)
            shared = iter(datas)
            helpers = [self._pool.submit(self._step_datas, shared) for _ in range(threads - 1)]
            try:
                self._step_datas(shared)
            finally:  # never return (or raise) while a helper still steps an env
                wait(helpers)
            for helper in helpers:
                helper.result()
        # Envs not stepped (restarting ones) still hold what was gathered from them last.
        self._gather()

    def _step_datas(self, datas: Iterator[mujoco.MjData]) -> None:
        """``frame_skip`` MuJoCo steps of each ``MjData``: one ``mj_step(m, d, nstep)`` call, which
        releases the GIL (and costs less than ``nstep`` calls of one step)."""
        m, nstep = self.model, self.frame_skip
        if self._post:
            for d in datas:
                mujoco.mj_step(m, d, nstep)
                mujoco.mj_rnePostConstraint(m, d)  # cfrc_ext, as gymnasium's -v5 envs compute it
        else:
            for d in datas:
                mujoco.mj_step(m, d, nstep)

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every env by one action (``frame_skip`` MuJoCo steps); see the class for ``info``.

        Example:
            >>> import numpy as np
            >>> from rewardgym.envs.mujoco.half_cheetah import HALF_CHEETAH
            >>> envs = MujocoVectorEnv(HALF_CHEETAH, 2)
            >>> _ = envs.reset(seed=0)
            >>> envs.step(np.full((2, 6), np.nan, np.float32))
            Traceback (most recent call last):
            ...
            ValueError: action of env 0 is not finite (NaN or inf): [nan, nan, nan, nan, nan, nan]
        """
        if not self._has_reset:
            raise RuntimeError("call reset() before step() on a rewardgym vector env")
        actions = self._check_actions(actions)
        if self.autoreset_mode is AutoresetMode.DISABLED and self._needs_reset.any():
            raise RuntimeError(
                "autoreset_mode is DISABLED and some episodes have ended; reset them with "
                "reset(options={'reset_mask': mask}) before stepping again"
            )
        n = self.num_envs
        restarting = self._needs_reset.copy() if self.autoreset_mode is AutoresetMode.NEXT_STEP else np.zeros(n, bool)
        stepping = ~restarting
        index = np.flatnonzero(stepping)
        last_obs = self._obs[index]
        xy_before = self._xy[index]  # a copy (an index array)
        if len(index):
            with routed_warnings():  # an unstable step's warning: not into MUJOCO_LOG.TXT
                self._advance(index, actions)

        task, params = self.task, self.params
        sim = self._sim(index, actions[index], xy_before)
        obs = task.observe(sim, params)
        unstable_rows = self._unstable(index, sim)
        healthy = task.is_healthy(sim, params)
        parts = task.reward_components(sim, healthy, params)
        vector = task.reward_vector(parts, sim, params)
        extra = task.step_info(sim, params)
        reward64 = sum(parts.values(), np.zeros(len(index)))
        gold64 = reward64 if task.gold is None else task.gold(parts, sim, healthy, params)
        if unstable_rows.any():
            obs[unstable_rows] = last_obs[unstable_rows]
            for values in (*parts.values(), *extra.values(), reward64, gold64, vector):
                values[unstable_rows] = 0.0
            if task.gold is None:
                gold64 = reward64

        self._elapsed[index] += 1
        terminated = np.zeros(n, dtype=bool)
        truncated = np.zeros(n, dtype=bool)
        unstable = np.zeros(n, dtype=bool)
        unstable[index] = unstable_rows
        if task.terminates(params):
            terminated[index] = ~healthy & ~unstable_rows
        truncated[index] = (self._elapsed[index] >= self.max_episode_steps) | unstable_rows
        self._obs[index] = obs

        reward = np.zeros(n, dtype=np.float32)
        reward[index] = reward64
        gold = np.zeros(n, dtype=np.float32)
        gold[index] = gold64
        components = {name: _spread(values, index, n) for name, values in parts.items()}
        info: dict[str, Any] = {
            GOLD_REWARD: gold,
            mask_key(GOLD_REWARD): self._everyone,
            REWARD_TRACE: {"env": reward},
            mask_key(REWARD_TRACE): self._everyone,
            REWARD_COMPONENTS: components,
            mask_key(REWARD_COMPONENTS): stepping,
            REWARD_VECTOR: _spread(vector, index, n),
            mask_key(REWARD_VECTOR): stepping,
            UNSTABLE: unstable,
            mask_key(UNSTABLE): self._everyone,
        }
        for name, values in extra.items():
            info[name] = _spread(values, index, n)
            info[mask_key(name)] = stepping

        done = terminated | truncated
        if self.autoreset_mode is AutoresetMode.SAME_STEP:
            info[FINAL_OBS] = np.where(done[:, None], self._obs, 0.0)
            info[mask_key(FINAL_OBS)] = done
            restart = np.flatnonzero(done)
        else:
            restart = np.flatnonzero(restarting)
            self._needs_reset = done
        if len(restart):
            with routed_warnings():
                self._restart(restart)
        return self._obs.copy(), reward, terminated, truncated, info

    def close_extras(self, **kwargs: Any) -> None:
        """Shut the thread pool down.

        Example:
            >>> from rewardgym.envs.mujoco.hopper import HOPPER
            >>> MujocoVectorEnv(HOPPER, 1).close()
        """
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


def _usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, e.g. a container's or ``taskset``'s share)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _spread(values: np.ndarray, index: np.ndarray, n: int) -> np.ndarray:
    """``values`` of the envs in ``index`` in an ``(n, ...)`` float64 array, 0 elsewhere."""
    if len(index) == n:
        return np.asarray(values, dtype=np.float64)
    full = np.zeros((n, *values.shape[1:]), dtype=np.float64)
    full[index] = values
    return full
