"""FastestKernel: the vector env runs whichever of its parallel and serial kernels is faster now."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the envs)
from rewardgym.envs.batched import fastest_kernel
from rewardgym.envs.batched.fastest_kernel import (
    FIRST_WINDOW,
    MAX_WINDOW,
    PROBE_CALLS,
    SETTLE_CALLS,
    FastestKernel,
)
from rewardgym.envs.batched.vector_env import SERIAL_BELOW


class Clock:
    """A fake ``time.perf_counter``: each kernel advances it by its current cost, so the timings
    FastestKernel sees are exact and the test does not depend on the machine's load."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(fastest_kernel.time, "perf_counter", clock)
    return clock


def kernel(clock: Clock, costs: dict[str, float], name: str, calls: list[str]):
    def run() -> None:
        calls.append(name)
        clock.now += costs[name]

    return run


def test_follows_the_faster_kernel_as_the_machine_changes(clock: Clock) -> None:
    costs = {"parallel": 1.0, "serial": 2.0}  # idle: the threads pay
    calls: list[str] = []
    run = FastestKernel([kernel(clock, costs, name, calls) for name in ("parallel", "serial")])
    for _ in range(2000):
        run()
    assert run.current == 0
    assert calls.count("serial") <= 5 * (SETTLE_CALLS + PROBE_CALLS) + 1  # probes only, ever rarer
    costs["parallel"] = 20.0  # a core got busy: the threads wait for a timeslice
    for _ in range(MAX_WINDOW):
        run()
    assert run.current == 1
    calls.clear()
    for _ in range(4 * MAX_WINDOW):
        run()
    # Probes of the slow kernel give up early: a few calls each, at most one per window.
    assert calls.count("parallel") <= 12 * (SETTLE_CALLS + 2)
    costs["parallel"] = 0.5  # the core is free again: a probe finds it
    for _ in range(2 * MAX_WINDOW):
        run()
    assert run.current == 0


def test_counts_stalls_not_just_typical_calls(clock: Clock) -> None:
    """A parallel kernel that is fast at the median but stalls one call in 20 (a thread waiting
    out another process's timeslice) costs more on average than the serial one: serial wins."""
    step = {"n": 0}
    calls: list[str] = []

    def parallel() -> None:
        step["n"] += 1
        calls.append("parallel")
        clock.now += 40.0 if step["n"] % 20 == 0 else 0.5  # mean 2.5

    run = FastestKernel([parallel, kernel(clock, {"serial": 1.5}, "serial", calls)])
    for _ in range(3000):
        run()
    assert run.current == 1
    assert run.seconds[0] == pytest.approx(2.5, rel=0.3)


def test_a_switch_that_a_probe_got_wrong_is_taken_back(clock: Clock) -> None:
    """A kernel whose rare stalls (one call in 100, 200x long) a probe's few dozen calls can miss
    wins probes now and then; the window after the switch sees its true mean and switches back."""
    step = {"n": 0}
    calls: list[str] = []

    def parallel() -> None:
        step["n"] += 1
        calls.append("parallel")
        clock.now += 100.0 if step["n"] % 100 == 0 else 0.5  # mean ~1.5, median 0.5

    run = FastestKernel([parallel, kernel(clock, {"serial": 1.0}, "serial", calls)])
    for _ in range(20_000):
        run()
    assert run.current == 1
    assert calls[-10_000:].count("parallel") < 1_500  # trials and probes only, ever rarer


def test_first_calls_are_compilations_not_timings(clock: Clock) -> None:
    costs = {"parallel": 1000.0, "serial": 1000.0}  # the first calls compile: slow, not counted
    calls: list[str] = []
    run = FastestKernel([kernel(clock, costs, name, calls) for name in ("parallel", "serial")])
    run()
    costs["parallel"] = 1.0
    for _ in range(FIRST_WINDOW):
        run()
    assert run.seconds[0] == pytest.approx(1.0) and calls[-1] == "parallel"
    run()  # the serial kernel's first call: a compilation
    costs["serial"] = 2.0
    for _ in range(SETTLE_CALLS + PROBE_CALLS):
        run()
    assert calls[-(SETTLE_CALLS + PROBE_CALLS + 1) :] == ["serial"] * (SETTLE_CALLS + PROBE_CALLS + 1)
    assert run.seconds[1] == pytest.approx(2.0) and run.current == 0


def test_one_kernel_never_probes(clock: Clock) -> None:
    calls: list[str] = []
    run = FastestKernel([kernel(clock, {"only": 1.0}, "only", calls)])
    for _ in range(100):
        run()
    assert calls == ["only"] * 100 and run.current == 0
    with pytest.raises(ValueError, match="at least one kernel"):
        FastestKernel([])


@pytest.mark.parametrize("autoreset_mode", ["NextStep", "SameStep"])
def test_parallel_and_serial_kernels_step_envs_identically(autoreset_mode: str) -> None:
    """Whichever kernel FastestKernel picks, a seeded run is the same bit for bit."""
    n = SERIAL_BELOW
    runs = []
    for forced in (0, 1):
        envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=n, autoreset_mode=autoreset_mode)
        chooser = envs.unwrapped._step_kernel
        assert isinstance(chooser, FastestKernel) and len(chooser.kernels) == 2
        chooser.kernels = [chooser.kernels[forced]]  # no probing: only this one runs
        rng = np.random.default_rng(0)
        obs, _ = envs.reset(seed=5)
        trajectory = [obs]
        for _ in range(60):
            obs, reward, terminated, truncated, info = envs.step(rng.integers(0, 2, n))
            trajectory += [obs, reward, terminated, truncated, info["gold_reward"]]
        runs.append(trajectory)
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_small_batches_hold_only_the_serial_kernel() -> None:
    envs = gym.make_vec("rewardgym/CartPole-v0", num_envs=SERIAL_BELOW - 1)
    assert not isinstance(envs.unwrapped._step_kernel, FastestKernel)


def test_multi_agent_games_choose_their_kernel_too() -> None:
    """From SERIAL_BELOW agent rows a game's vector env holds both loops, as the single-agent one."""
    envs = rewardgym.make_parallel_vec("rewardgym/PublicGoods-v0", num_envs=SERIAL_BELOW)
    assert isinstance(envs.unwrapped._step_kernel, FastestKernel)
