"""CPU throughput of the multi-agent games: agent-steps per second at 1,024 game instances.

An agent-step is one agent's action in one round, so a round of ``G`` games of ``N`` agents is
``G * N`` agent-steps. Contenders, for each game at its default parameters (PublicGoods and
CommonsHarvest: 4 agents, Coopetition: 2), stepping the same pregenerated random actions:

- ``batched``: ``rewardgym.make_parallel_vec(id, num_envs=1024)``, a vector env with a row per
  agent (4,096 or 2,048 rows), one kernel call per round, through its reward shell as a user
  gets it (the engine picks its parallel kernel from 512 rows on);
- ``batched-serial``: the same with the engine's single-threaded kernel swapped in (benchmark
  only): the public step's cost without numba's thread pool, whose threads stall whenever another
  process takes a core (on a busy 2-core machine a step can then take milliseconds);
- ``reference``: a Python loop over 1,024 plain-Python PettingZoo ParallelEnvs
  (``rewardgym.envs.multiagent.reference``), the peer: what a game written the usual
  PettingZoo way costs. A game whose episode has ended is reset in its next round, as the
  vector env's NEXT_STEP autoreset does, and that round counts as steps on both sides.

The actions of the reference loop are pregenerated as per-game dicts, so neither side's timing
includes building its actions. Rounds of ``K`` steps are calibrated to about 0.2 s; the rate is
taken from the median of 5 rounds after one warm-up round. The target, ``batched`` >= 50x
``reference`` (checked for either kernel), is printed PASS/MISS, never asserted.

Run it with ``python -m pytest benchmarks/test_multiagent_throughput.py -q -p no:cacheprovider
--benchmark-only`` (the table prints at the end of the session), or as a script:
``python benchmarks/test_multiagent_throughput.py`` (the same measurements, no pytest-benchmark).
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import rewardgym
from rewardgym.envs.multiagent.kernels import kernels
from rewardgym.envs.multiagent.reference import (
    CommonsHarvestReference,
    CoopetitionReference,
    PublicGoodsReference,
)

NUM_GAMES = 1024
GAMES = {
    "PublicGoods": ("rewardgym/PublicGoods-v0", PublicGoodsReference),
    "CommonsHarvest": ("rewardgym/CommonsHarvest-v0", CommonsHarvestReference),
    "Coopetition": ("rewardgym/Coopetition-v0", CoopetitionReference),
}
CONTENDERS = ["batched", "batched-serial", "reference"]
BATCHED = {"batched": "batched/ref", "batched-serial": "serial/ref"}
"""The batched contenders, and the labels of their ratios over the reference loop."""
TARGET_RATIO = 50.0
ACTION_ROWS = 16
"""Distinct rounds of actions, cycled through; enough that no contender sees a constant."""
SEED = 0
ROUND_SECONDS, ROUNDS, WARMUP_ROUNDS = 0.2, 5, 1
NOISY_SPREAD = 1.5
RATES: dict[str, dict[str, float]] = {}
NOISY: set[tuple[str, str]] = set()
"""(game, contender) whose best round beat its median by ``NOISY_SPREAD``: something else ran."""


def action_rows(num_rows: int, num_actions: int) -> list[np.ndarray]:
    """``ACTION_ROWS`` seeded rounds of random actions, one per row (game-major, as the vector env's)."""
    rng = np.random.default_rng([SEED, num_rows])
    return list(rng.integers(0, num_actions, size=(ACTION_ROWS, num_rows), dtype=np.int64))


def cycle(call: Callable[[Any], object], items: list) -> Callable[[int], None]:
    """``run_steps(k)``: ``call(item)`` k times, cycling through ``items`` across rounds."""
    position = [0]

    def run_steps(k: int) -> None:
        i = position[0]
        for _ in range(k):
            call(items[i])
            i = (i + 1) % len(items)
        position[0] = i

    return run_steps


def contender_steps(game: str, contender: str) -> tuple[Callable[[int], None], int]:
    """``(run_steps, agent-steps per round)`` for one contender, reset and warmed up."""
    env_id, reference = GAMES[game]
    envs = rewardgym.make_parallel_vec(env_id, num_envs=NUM_GAMES)
    rows = action_rows(envs.num_envs, int(envs.single_action_space.n))
    if contender in BATCHED:
        if contender == "batched-serial":
            engine = envs.unwrapped
            engine._step_kernel, engine._reset_kernel = kernels(engine.game, "serial", engine.params)
        envs.reset(seed=SEED)
        envs.step(rows[0])  # warm-up: numba compiles the kernels on their first call
        return cycle(envs.step, rows), envs.num_envs

    agents = envs.unwrapped.possible_agents
    games = [reference() for _ in range(NUM_GAMES)]
    for k, env in enumerate(games):
        env.reset(seed=SEED + k)
    by_game = [[dict(zip(agents, actions)) for actions in row.reshape(NUM_GAMES, -1).tolist()] for row in rows]

    def step_all(actions_by_game: list[dict[str, int]]) -> None:
        for env, actions in zip(games, actions_by_game):
            if env.agents:
                env.step(actions)
            else:  # the episode ended last round: this round starts the next (NEXT_STEP's way)
                env.reset()

    return cycle(step_all, by_game), envs.num_envs


def measure(benchmark, game: str, contender: str) -> float:
    """Times rounds of ``K`` steps (``K`` calibrated to ~0.2 s) and records the median agent-steps/s.

    ``benchmark`` is pytest-benchmark's fixture, or None to time the rounds directly (the script).
    """
    run_steps, agent_steps = contender_steps(game, contender)
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < ROUND_SECONDS / 4:
        run_steps(1)
        calls += 1
    per_round = max(1, math.ceil(ROUND_SECONDS / ((time.perf_counter() - start) / calls)))
    durations: list[float] = []

    def one_round() -> None:
        t0 = time.perf_counter()
        run_steps(per_round)
        durations.append(time.perf_counter() - t0)

    if benchmark is None:
        for _ in range(WARMUP_ROUNDS + ROUNDS):
            one_round()
    else:
        benchmark.pedantic(one_round, rounds=ROUNDS, warmup_rounds=WARMUP_ROUNDS, iterations=1)
    measured = durations[WARMUP_ROUNDS:]
    rate = agent_steps * per_round / statistics.median(measured)
    if statistics.median(measured) > NOISY_SPREAD * min(measured):
        NOISY.add((game, contender))
    if benchmark is not None:
        benchmark.extra_info.update(num_games=NUM_GAMES, agent_steps_per_s=rate, steps_per_round=per_round)
    RATES.setdefault(game, {})[contender] = rate
    return rate


def table() -> list[str]:
    """The rates and the ratio against the target, one line each."""
    load = f", 1-min load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
    lines = [f"{NUM_GAMES} games, {os.cpu_count()} CPU cores{load} (a load above the core count disturbs the numbers)"]
    header = ["game", *CONTENDERS, *BATCHED.values()]
    rows = []
    for game, rates in RATES.items():
        ratios = ratios_of(rates)
        rows.append(
            [
                game,
                *(f"{rates[c]:.3g}" + ("*" if (game, c) in NOISY else "") if c in rates else "-" for c in CONTENDERS),
                *(f"{ratios[c]:.0f}x" if c in ratios else "-" for c in BATCHED),
            ]
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(cells, widths)) for cells in [header, *rows]]
    lines.append("ratios: " + "; ".join(f"{label} = {c} / reference" for c, label in BATCHED.items()))
    if NOISY:
        lines.append(
            f"* its best round was over {NOISY_SPREAD}x its median: the CPU was busy; rerun on an idle machine"
        )
    for game, rates in RATES.items():
        ratios = ratios_of(rates)
        if ratios:
            verdict = "PASS" if max(ratios.values()) >= TARGET_RATIO else "MISS"
            detail = ", ".join(f"{c} {ratio:.0f}x" for c, ratio in ratios.items())
            lines.append(f"{verdict}  {game}: batched >= {TARGET_RATIO:.0f}x the reference loop: {detail}")
    return lines


def ratios_of(rates: dict[str, float]) -> dict[str, float]:
    """Each batched contender's rate over the reference loop's, where both were measured."""
    if "reference" not in rates:
        return {}
    return {c: rates[c] / rates["reference"] for c in BATCHED if c in rates}


class _Summary:
    """Prints the table after pytest-benchmark's own (a test module cannot define hooks, but it
    can register a plugin object that does)."""

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter) -> None:
        if RATES:
            terminalreporter.section("multi-agent games: agent-steps/s (median round)", sep="=")
            for line in table():
                terminalreporter.write_line(line)


@pytest.fixture(scope="module", autouse=True)
def summary(request):
    plugin = _Summary()
    if not request.config.pluginmanager.is_registered(plugin):
        request.config.pluginmanager.register(plugin, "rewardgym-multiagent-throughput")
    yield


@pytest.mark.parametrize("contender", CONTENDERS)
@pytest.mark.parametrize("game", list(GAMES))
def test_game_step(benchmark, game, contender):
    benchmark.group = f"multiagent-{game}"
    measure(benchmark, game, contender)


if __name__ == "__main__":
    for game in GAMES:
        for contender in CONTENDERS:
            measure(None, game, contender)
    print("\n".join(table()))
