"""Compiles a :class:`MultiAgentGame` into step and reset kernels, as the single-agent engine does.

One per-instance body holds the engine's logic for a game instance and all its agents: the time
limit (``max_cycles``), the three autoreset modes, the final observations, and the reward layer
that turns payoffs into rewards (:data:`~rewardgym.envs.multiagent.game.REWARD_MODES`) and into
gold (welfare, shared equally). The loops over instances are those of
:mod:`rewardgym.envs.batched.kernels`: serial, ``prange`` and one CUDA thread per instance, all
compiled from this one source.

Arrays arrive shaped by game: outputs ``(num_games, num_agents[, obs_size])``, views of the vector
env's row-major buffers (row ``game * num_agents + agent``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# A module-level import: numba's CUDA simulator finds ``cuda`` in a kernel's globals.
from numba import cuda, njit, prange
from numba.extending import register_jitable

from rewardgym.envs.batched.kernels import CPU_OPTIONS, SAME_STEP, check_target, cuda_launcher, reset_loop
from rewardgym.envs.multiagent.game import COOPERATIVE, INTEGRATED, MultiAgentGame

_CACHE: dict[tuple[str, str, tuple], tuple[Callable[..., Any], Callable[..., Any]]] = {}


@register_jitable
def paid(payoff: float, welfare: float, mode: int, weight: float) -> float:
    """What an agent is paid under a reward mode, from its payoff and the group's welfare."""
    if mode == COOPERATIVE:
        return welfare
    if mode == INTEGRATED:
        return payoff + weight * (welfare - payoff)
    return payoff


def kernels(game: MultiAgentGame, target: str, params: tuple) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The ``(step_kernel, reset_kernel)`` of a game for a target and parameters, built once."""
    key = (game.name, target, params)
    if key not in _CACHE:
        check_target(target)
        step_one, reset_one = _instance_bodies(game, params)
        step_kernel = _cuda_step_loop(step_one) if target == "cuda" else _cpu_step_loop(step_one, target == "parallel")
        _CACHE[key] = step_kernel, reset_loop(reset_one, target)
    return _CACHE[key]


def _instance_bodies(game: MultiAgentGame, params: tuple) -> tuple[Callable[..., Any], Callable[..., Any]]:
    step, reset, observe = game.step, game.reset, game.observe
    num_agents = params.num_agents  # type: ignore[attr-defined]  # every game's params have it
    max_cycles = params.max_cycles  # type: ignore[attr-defined]

    @register_jitable(inline="always")
    def start(k, state, rng, elapsed, needs_reset, obs):
        reset(state[k], rng[k], params)
        elapsed[k] = 0
        needs_reset[k] = False
        for a in range(num_agents):
            observe(state[k], a, obs[k, a], params)

    @register_jitable(inline="always")
    def step_one(
        k,
        state,
        rng,
        elapsed,
        needs_reset,
        payoff,
        actions,
        autoreset,
        mode,
        weight,
        obs,
        final_obs,
        reward,
        gold,
        welfare,
        payoff_out,
        terminated,
        truncated,
    ):
        if needs_reset[k]:
            # NEXT_STEP autoreset: this step only starts the next episode; its actions are ignored.
            start(k, state, rng, elapsed, needs_reset, obs)
            for a in range(num_agents):
                reward[k, a] = 0.0
                gold[k, a] = 0.0
                welfare[k, a] = 0.0
                payoff_out[k, a] = 0.0
                terminated[k, a] = False
                truncated[k, a] = False
            return
        term = step(state[k], actions[k], payoff[k], params)
        elapsed[k] += 1
        # PettingZoo's convention: a game that ends on its last round is terminated, not truncated.
        trunc = elapsed[k] >= max_cycles and not term
        total = 0.0
        for a in range(num_agents):
            total += payoff[k, a]
        for a in range(num_agents):
            observe(state[k], a, obs[k, a], params)
            if autoreset == SAME_STEP:
                for j in range(obs.shape[2]):
                    final_obs[k, a, j] = obs[k, a, j]
            reward[k, a] = paid(payoff[k, a], total, mode, weight)
            gold[k, a] = total / num_agents
            welfare[k, a] = total
            payoff_out[k, a] = payoff[k, a]
            terminated[k, a] = term
            truncated[k, a] = trunc
        if term or trunc:
            if autoreset == SAME_STEP:
                start(k, state, rng, elapsed, needs_reset, obs)
            else:
                # NEXT_STEP resets on the next call; DISABLED refuses a step until reset().
                needs_reset[k] = True

    @register_jitable(inline="always")
    def reset_one(k, state, rng, elapsed, needs_reset, mask, obs):
        if mask[k]:
            start(k, state, rng, elapsed, needs_reset, obs)
        else:
            for a in range(num_agents):
                observe(state[k], a, obs[k, a], params)

    return step_one, reset_one


def _cpu_step_loop(step_one, parallel: bool):
    @njit(parallel=parallel, **CPU_OPTIONS)
    def step_kernel(
        state,
        rng,
        elapsed,
        needs_reset,
        payoff,
        actions,
        autoreset,
        mode,
        weight,
        obs,
        final_obs,
        reward,
        gold,
        welfare,
        payoff_out,
        terminated,
        truncated,
    ):  # pragma: no cover - compiled
        for k in prange(state.shape[0]):
            step_one(
                k,
                state,
                rng,
                elapsed,
                needs_reset,
                payoff,
                actions,
                autoreset,
                mode,
                weight,
                obs,
                final_obs,
                reward,
                gold,
                welfare,
                payoff_out,
                terminated,
                truncated,
            )

    return step_kernel


def _cuda_step_loop(step_one):
    @cuda.jit
    def step_kernel(
        state,
        rng,
        elapsed,
        needs_reset,
        payoff,
        actions,
        autoreset,
        mode,
        weight,
        obs,
        final_obs,
        reward,
        gold,
        welfare,
        payoff_out,
        terminated,
        truncated,
    ):
        k = cuda.grid(1)
        if k < state.shape[0]:
            step_one(
                k,
                state,
                rng,
                elapsed,
                needs_reset,
                payoff,
                actions,
                autoreset,
                mode,
                weight,
                obs,
                final_obs,
                reward,
                gold,
                welfare,
                payoff_out,
                terminated,
                truncated,
            )

    return cuda_launcher(step_kernel)
