"""The reference agents against issue 5's targets, on ``rewardgym/CartPole-v0`` with its own reward.

1. ``test_sb3_ppo_reference_hyperparams_reach_475``: SB3 PPO with the shipped reference
   hyperparameters (rl-baselines3-zoo's CartPole-v1 entry) reaches a gold return >= 475 within
   100k steps on at least 4 of 5 seeds. "Reaches" means some evaluation (every 5k steps, 10
   episodes from the fixed evaluation seeds, deterministic actions) has a mean gold >= 475; the
   final evaluation is reported too.
2. ``test_sb3_ppo_steps_per_second_adapter_vs_dummyvecenv``: env steps/s of SB3 PPO learning
   (``model.learn``, zoo hyperparameters) on rewardgym's CartPole through the adapter, against
   the same PPO on gymnasium's ``CartPole-v1`` in SB3's ``DummyVecEnv``, at the same number of
   envs; rounds alternate between the two, so the ratio comes from one run. Target: ratio >= 1
   at the zoo's 8 envs.
3. ``test_native_ppo_time_to_475_vs_sb3_ppo``: wall-clock seconds of training until the gold
   return first reaches 475, native PPO (``hyperparams/ppo.yaml``) against SB3 PPO (zoo),
   evaluating both every 2048 env steps with the clock stopped during evaluations. Envs are made
   and numba's kernels compiled before the clock starts. Target: native / SB3 <= 1/5.
4. ``test_native_ppo_gpu_time_to_475``: the native PPO with ``device="cuda"`` envs and networks;
   the clock includes making the envs and compiling the CUDA kernels. Target: < 30 s. Skipped
   without a CUDA GPU that torch and numba can use.

Every contender runs torch on one thread (``torch.set_num_threads(1)``): these networks are tiny,
and on a shared 2-core machine a second torch thread makes SB3 several times slower. Targets are
printed as PASS/MISS at the end, never asserted.

Run it with ``python -m pytest benchmarks/test_agents.py -q -p no:cacheprovider --benchmark-only``.
``REWARDGYM_BENCH_SEEDS`` (default 5) sets target 1's seeds, ``REWARDGYM_BENCH_TTT_SEEDS``
(default 3) target 3's; ``REWARDGYM_BENCH_TTT_STEPS`` (default 100000) the budget of each run.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the rewardgym/ envs)
import torch
from gymnasium.vector import AutoresetMode
from rewardgym.agents import evaluate, reference_hyperparams, train

CARTPOLE = "rewardgym/CartPole-v0"
THRESHOLD = 475.0
EVAL_EPISODES = 10
CHECK_EVERY = 2048
SEEDS = int(os.environ.get("REWARDGYM_BENCH_SEEDS", "5"))
TTT_SEEDS = int(os.environ.get("REWARDGYM_BENCH_TTT_SEEDS", "3"))
TTT_STEPS = int(os.environ.get("REWARDGYM_BENCH_TTT_STEPS", "100000"))
THROUGHPUT_SIZES = [8, 64]
THROUGHPUT_STEPS = 8192
"""Env steps per timed round of ``model.learn`` (32 PPO updates at 8 envs, 4 at 64)."""


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def report(capsys):
    """Lines a test prints when it ends (past pytest's capture), the targets as PASS/MISS."""
    lines: list[str] = []
    yield lines
    with capsys.disabled():
        print(
            f"\n[{os.cpu_count()} CPU cores, torch {torch.__version__} on 1 thread, 1-min load "
            f"average {os.getloadavg()[0]:.2f}]"
        )
        for line in lines:
            print(line)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# -- 1. SB3 PPO with the reference hyperparameters -------------------------------------------


def test_sb3_ppo_reference_hyperparams_reach_475(benchmark, report):
    results: dict[int, Any] = {}

    def run() -> None:
        for seed in range(SEEDS):
            results[seed] = train(
                CARTPOLE,
                None,
                algo="sb3-ppo",
                seed=seed,
                total_steps=100_000,
                eval_every=5_000,
                eval_episodes=EVAL_EPISODES,
            )

    benchmark.pedantic(run, rounds=1, iterations=1)
    reached = {}
    for seed, result in results.items():
        hits = [row["step"] for row in result.curves if row["eval_gold"] >= THRESHOLD]
        reached[seed] = hits[0] if hits else None
        report.append(
            f"sb3-ppo seed {seed}: first gold >= {THRESHOLD:g} at "
            f"{'never' if hits is None or not hits else f'{hits[0]} steps'}; final gold "
            f"{result.final_gold:.1f}; best {max(r['eval_gold'] for r in result.curves):.1f}; "
            f"{result.wall_s:.0f} s"
        )
    count = sum(step is not None and step <= 100_000 for step in reached.values())
    needed = int(np.ceil(0.8 * SEEDS))
    benchmark.extra_info.update(seeds=SEEDS, reached=count, first_step={str(k): v for k, v in reached.items()})
    report.append(
        f"{_verdict(count >= needed)}  SB3 PPO (zoo hyperparameters) reaches gold >= 475 within 100k "
        f"steps on >= 4/5 seeds: {count}/{SEEDS}" + ("" if SEEDS == 5 else f" (run with {SEEDS} seeds; needs {needed})")
    )


# -- 2. env steps/s through the adapter vs DummyVecEnv ------------------------------------------


def _sb3_ppo(venv: Any, seed: int = 0) -> Any:
    from rewardgym.agents.sb3 import sb3_arguments
    from stable_baselines3 import PPO

    settings = reference_hyperparams("sb3-ppo", CARTPOLE)
    settings.pop("n_envs")
    policy = settings.pop("policy")
    return PPO(policy, venv, seed=seed, verbose=0, **sb3_arguments("sb3-ppo", PPO, settings))


def _suite(throughput: Any) -> Any:
    """A table in benchmarks/conftest.py's summary, next to the env throughput suites."""
    shared = throughput.measure.__globals__  # conftest's namespace (not importable under importlib)
    suites = shared["SUITES"]
    if "sb3" not in suites:
        suites["sb3"] = shared["Suite"](
            title="SB3 PPO learning CartPole (zoo hyperparameters, torch on 1 thread)",
            contenders=["sb3+adapter", "sb3+DummyVecEnv"],
            ratios=[("adapter/dummy", "sb3+adapter", "sb3+DummyVecEnv")],
            targets=[
                (
                    "SB3 PPO on rewardgym through the adapter >= SB3 PPO on gymnasium's CartPole-v1 in "
                    "DummyVecEnv, at 8 envs",
                    shared["_at_least"](8, "sb3+adapter", "sb3+DummyVecEnv", 1.0),
                )
            ],
        )
    return suites["sb3"]


@pytest.mark.parametrize("num_envs", THROUGHPUT_SIZES, ids=str)
def test_sb3_ppo_steps_per_second_adapter_vs_dummyvecenv(benchmark, throughput, num_envs):
    from rewardgym.agents.sb3 import make_sb3_env
    from stable_baselines3.common.env_util import make_vec_env

    models = {
        "sb3+adapter": _sb3_ppo(make_sb3_env(CARTPOLE, num_envs)),
        "sb3+DummyVecEnv": _sb3_ppo(make_vec_env("CartPole-v1", n_envs=num_envs, seed=0)),
    }
    for model in models.values():  # warm-up: numba compiles, torch allocates
        model.learn(THROUGHPUT_STEPS // 4)
    durations: dict[str, list[float]] = {name: [] for name in models}

    def one_round() -> None:
        for name, model in models.items():  # alternate, so both see the same load
            start = time.perf_counter()
            model.learn(THROUGHPUT_STEPS, reset_num_timesteps=False)
            durations[name].append(time.perf_counter() - start)

    benchmark.pedantic(one_round, rounds=3, warmup_rounds=0, iterations=1)
    suite = _suite(throughput)
    rates = {}
    for name, times in durations.items():
        rollout = num_envs * models[name].n_steps
        steps = int(np.ceil(THROUGHPUT_STEPS / rollout)) * rollout  # learn() runs whole rollouts
        rates[name] = steps / statistics.median(times)
        suite.rates.setdefault(num_envs, {})[name] = rates[name]
        if steps / min(times) > 1.5 * rates[name]:
            suite.noisy.add((num_envs, name))
    benchmark.extra_info.update(
        num_envs=num_envs, steps_per_s=rates, ratio=rates["sb3+adapter"] / rates["sb3+DummyVecEnv"]
    )


# -- 3 and 4. time to gold 475: native PPO vs SB3 PPO --------------------------------------------


class _Clock:
    """Wall time with pauses (evaluations are not training)."""

    def __init__(self) -> None:
        self.total = 0.0
        self._since: float | None = None

    def start(self) -> None:
        self._since = time.perf_counter()

    def pause(self) -> None:
        if self._since is not None:
            self.total += time.perf_counter() - self._since
            self._since = None

    def elapsed(self) -> float:
        running = 0.0 if self._since is None else time.perf_counter() - self._since
        return self.total + running


def _eval_envs() -> gym.vector.VectorEnv:
    return gym.make_vec(CARTPOLE, num_envs=EVAL_EPISODES, reward=[], autoreset_mode=AutoresetMode.SAME_STEP)


class _TimeToGold:
    """Evaluate every ``CHECK_EVERY`` steps with the clock paused; stop at the threshold."""

    def __init__(self, clock: _Clock) -> None:
        self.clock = clock
        self.eval_envs = _eval_envs()
        self.next_check = CHECK_EVERY
        self.hit: tuple[float, int] | None = None
        self.last_gold = float("nan")

    def check(self, step: int, predict: Any) -> bool:
        """False once the gold return reached the threshold (stop training)."""
        if step < self.next_check:
            return True
        self.clock.pause()
        elapsed = self.clock.total
        self.last_gold = float(evaluate(predict, self.eval_envs)["gold"].mean())
        while self.next_check <= step:
            self.next_check += CHECK_EVERY
        if self.last_gold >= THRESHOLD:
            self.hit = (elapsed, step)
            return False
        self.clock.start()
        return True


def sb3_time_to_gold(seed: int, steps: int = TTT_STEPS) -> tuple[float, int] | None:
    from rewardgym.agents.sb3 import make_sb3_env
    from stable_baselines3.common.callbacks import BaseCallback

    n_envs = reference_hyperparams("sb3-ppo", CARTPOLE)["n_envs"]
    venv = make_sb3_env(CARTPOLE, n_envs)
    venv.reset()
    venv.step(np.zeros(n_envs, dtype=np.int64))  # numba compiles off the clock
    model = _sb3_ppo(venv, seed)
    clock = _Clock()
    watcher = _TimeToGold(clock)

    class Stop(BaseCallback):
        def _on_step(self) -> bool:
            return watcher.check(self.num_timesteps, lambda obs: model.predict(obs, deterministic=True)[0])

    clock.start()
    model.learn(steps, callback=Stop())
    clock.pause()
    return watcher.hit


def native_time_to_gold(
    seed: int, steps: int = TTT_STEPS, device: str = "cpu", compile_on_clock: bool = False
) -> tuple[float, int] | None:
    from rewardgym.agents import ppo

    clock = _Clock()
    if compile_on_clock:
        clock.start()
    config = ppo.PPOConfig.from_dict(reference_hyperparams("ppo", CARTPOLE))
    envs = gym.make_vec(
        CARTPOLE, num_envs=config.num_envs, reward=[], device=device, autoreset_mode=AutoresetMode.SAME_STEP
    )
    if not compile_on_clock:
        envs.reset(seed=seed)
        envs.step(envs.action_space.sample())  # numba compiles off the clock
    watcher = _TimeToGold(clock)
    clock.start()
    ppo.learn(
        envs,
        steps,
        config,
        seed=seed,
        device=device,
        callback=lambda step, agent, episodes: watcher.check(step, agent.predict),
    )
    clock.pause()
    return watcher.hit


def _describe(hit: tuple[float, int] | None) -> str:
    return "never" if hit is None else f"{hit[0]:.1f} s ({hit[1]} steps)"


def test_native_ppo_time_to_475_vs_sb3_ppo(benchmark, report):
    pytest.importorskip("rewardgym.agents.ppo")
    hits: dict[str, list[tuple[float, int] | None]] = {"sb3": [], "native": []}

    def run() -> None:
        for seed in range(TTT_SEEDS):
            hits["native"].append(native_time_to_gold(seed))
            hits["sb3"].append(sb3_time_to_gold(seed))

    benchmark.pedantic(run, rounds=1, iterations=1)
    for seed in range(TTT_SEEDS):
        report.append(
            f"time to gold >= 475, seed {seed}: native PPO {_describe(hits['native'][seed])}, "
            f"SB3 PPO {_describe(hits['sb3'][seed])}"
        )

    def median(kind: str) -> float:
        return statistics.median(h[0] if h else float("inf") for h in hits[kind])

    ratio = median("native") / median("sb3")
    benchmark.extra_info.update(
        native_s=[h and h[0] for h in hits["native"]], sb3_s=[h and h[0] for h in hits["sb3"]], ratio=ratio
    )
    report.append(
        f"{_verdict(ratio <= 0.2)}  native PPO reaches gold 475 in <= 1/5 of SB3 PPO's wall-clock time: "
        f"median native {median('native'):.1f} s / median SB3 {median('sb3'):.1f} s = {ratio:.3f} "
        f"over {TTT_SEEDS} seed(s)"
    )


def _gpu_available() -> bool:
    try:
        from numba import cuda

        return torch.cuda.is_available() and cuda.is_available()
    except Exception:  # pragma: no cover - numba without its CUDA target
        return False


@pytest.mark.skipif(not _gpu_available(), reason="needs a CUDA GPU that both torch and numba can use")
def test_native_ppo_gpu_time_to_475(benchmark, report):
    pytest.importorskip("rewardgym.agents.ppo")
    hit: list[tuple[float, int] | None] = []
    benchmark.pedantic(
        lambda: hit.append(native_time_to_gold(0, device="cuda", compile_on_clock=True)), rounds=1, iterations=1
    )
    seconds = hit[0][0] if hit[0] else float("inf")
    benchmark.extra_info.update(seconds=seconds, device=torch.cuda.get_device_name())
    report.append(
        f"{_verdict(seconds < 30)}  native PPO on the GPU ({torch.cuda.get_device_name()}) reaches gold 475 "
        f"in under 30 s including compilation: {_describe(hit[0])}"
    )
