"""Env steps per second of the image-and-instruction scenes at 1,024 envs, next to MiniGrid/BabyAI.

Every contender steps 1,024 envs through the same number of batch steps: one warm-up round and
:data:`ROUNDS` measured rounds of :data:`STEPS_PER_ROUND` batch steps each (8,192 env-steps a
round), cycling through the same :data:`ACTION_ROWS` seeded batches of random actions (drawn once,
before timing; 4 actions on rewardgym's side, MiniGrid's 7 on the other), from envs reset with
``seed=0`` and stepped once (numba compiles then). Episodes end and autoreset along the way, as in
training; the table reports how many ended per env-step on each side. The timed steps are steps
10 to 49 of episodes that all began together, so the 64-step time limit falls outside them on
both sides. ``steps/s = 1024 *
STEPS_PER_ROUND / round time``, median round. Contenders, at 2 and at 8 objects on the board:

- ``rewardgym``: ``gym.make_vec("rewardgym/GoToShape-v0", num_envs=1024, difficulty=d)``, the
  public API (the parallel kernel, a fresh ``Dict(image=(1024, 48, 48, 3) uint8,
  instruction=(1024, 10) uint8)`` observation every step). Difficulty 1 has 2 shapes on the
  board (the target and one distractor), difficulty 4 has 8;
- ``rewardgym-serial``: the same with the engine's single-threaded kernels swapped in (benchmark
  only, as in ``test_multiagent_throughput.py``): the parallel kernel waits for its slowest
  thread, so on a 2-core machine where another job holds a core a batch step took 8-12 ms instead
  of 0.6 ms, and this contender shows the rate without that;
- ``minigrid-rgb``: ``gymnasium.vector.SyncVectorEnv`` of 1,024 BabyAI GoToLocal envs, each
  wrapped in MiniGrid's ``RGBImgObsWrapper(tile_size=6)``: the full 8 x 8 grid (the 6 x 6 room
  and its walls) as a 48 x 48 x 3 image, the same size as rewardgym's, images against images.
  ``BabyAI-GoToLocalS8N2-v0`` (2 objects) pairs with difficulty 1 and ``BabyAI-GoToLocal-v0``
  (8 objects, room size 8) with difficulty 4;
- ``minigrid-symbolic``: the same envs without the wrapper: MiniGrid's default observation, the
  agent's 7 x 7 x 3 partial view as object/colour/state codes. For reference only: rewardgym's
  scenes have no symbolic view, so there is nothing of ours to set beside it.

GoToLocal is BabyAI's closest level to GoToShape: one room of 6 x 6 free cells, no doors, a
``go to the <colour> <object>`` instruction and distractors (BabyAI-GoToObj-v0 has a single object
and nothing to tell apart). Its episodes also last 64 steps.

Besides the rates, the module measures the machine's **memory bandwidth** in the same run: the
median of 5 ``np.copyto`` calls between two 256 MiB arrays (both touched first), on 1 thread and
split over 2 threads, counted as bytes read plus bytes written (2 x 256 MiB per copy; the
write-allocate reads a cache may add are not counted). The image path's traffic is counted as the
bytes of observation it writes: ``1024 x (48 * 48 * 3 + 10)`` per batch step times batch steps/s.

The cost of ``render_mode="rgb_array"`` for ``rewardgym/CartPole-v0`` at 1,024 envs is
``benchmarks/test_render_throughput.py``'s (run it in the same command to have both).

The MiniGrid contenders need ``minigrid`` (the ``bench`` extra; see pyproject.toml) and are
skipped, with the reason, without it. Run it with ``python -m pytest
benchmarks/test_multimodal_throughput.py -q -p no:cacheprovider --benchmark-only -s`` (about 1.5
minutes on 2 cores, most of it MiniGrid with images; the table prints at the end of the session),
or as a script: ``python benchmarks/test_multimodal_throughput.py``.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the rewardgym/ envs)
from rewardgym.envs.batched.kernels import kernels

NUM_ENVS = 1024
STEPS_PER_ROUND = 8
"""Batch steps per round, the same for every contender (a MiniGrid batch step with images takes
about half a second on 2 cores, so rounds are not calibrated to a wall time here)."""
ROUNDS, WARMUP_ROUNDS = 5, 1
ACTION_ROWS = 8
SEED = 0
NOISY_SPREAD = 1.5
TARGET_RATIO = 50.0
"""rewardgym with images >= 50x MiniGrid with images (the issue's target; printed, never asserted)."""
TILE_SIZE = 6
"""MiniGrid pixels per grid cell: 8 cells x 6 = 48, rewardgym's image size."""
IMAGE_BYTES = 48 * 48 * 3
INSTRUCTION_BYTES = 10
COPY_BYTES = 256 * 2**20

BOARDS = {
    # objects on the board: (rewardgym difficulty, the BabyAI level with as many objects)
    2: (1, "BabyAI-GoToLocalS8N2-v0"),
    8: (4, "BabyAI-GoToLocal-v0"),
}
CONTENDERS = ["rewardgym", "rewardgym-serial", "minigrid-rgb", "minigrid-symbolic"]
REWARDGYM = {"rewardgym": "rg", "rewardgym-serial": "serial"}
"""rewardgym's contenders, and the labels of their ratios over MiniGrid with images."""

RATES: dict[int, dict[str, float]] = {}
ENDED: dict[int, dict[str, float]] = {}
"""Per board and contender: episodes ended (terminated or truncated) per env-step while timed."""
NOISY: set[tuple[int, str]] = set()
SKIPPED: dict[tuple[int, str], str] = {}
BANDWIDTH: dict[str, float] = {}
"""``{"1 thread": bytes/s, "2 threads": bytes/s}``, read + written."""
LOAD: list[float] = []


def actions(num_actions: int) -> list[np.ndarray]:
    """``ACTION_ROWS`` seeded batches of random actions, one per env."""
    rng = np.random.default_rng([SEED, num_actions])
    return list(rng.integers(0, num_actions, size=(ACTION_ROWS, NUM_ENVS), dtype=np.int64))


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """BabyAI prints a line whenever its level sampler rejects a layout (many per reset)."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        yield


def minigrid_envs(level: str, images: bool) -> gym.vector.SyncVectorEnv:
    """1,024 BabyAI envs in gymnasium's ``SyncVectorEnv``, with full-grid RGB images or not."""
    try:
        from minigrid.wrappers import RGBImgObsWrapper
    except ImportError:
        raise _NoMiniGrid from None

    def make() -> gym.Env:
        env = gym.make(level)
        return RGBImgObsWrapper(env, tile_size=TILE_SIZE) if images else env

    return gym.vector.SyncVectorEnv([make for _ in range(NUM_ENVS)])


class _NoMiniGrid(Exception):
    reason = "minigrid is not installed (pip install --no-deps minigrid==3.2.0: pyproject.toml's bench extra)"


def contender_steps(objects: int, contender: str) -> tuple[Callable[[int], None], Callable[[], None], list[int]]:
    """``(run_steps, close, ended)`` for one contender, reset and warmed up; ``ended[0]`` counts
    the episodes that end while ``run_steps`` runs."""
    difficulty, level = BOARDS[objects]
    if contender in REWARDGYM:
        envs: Any = gym.make_vec("rewardgym/GoToShape-v0", num_envs=NUM_ENVS, difficulty=difficulty)
        if contender == "rewardgym-serial":
            engine = envs.unwrapped
            engine._target = "serial"
            engine._step_kernel, engine._reset_kernel = kernels(engine.task, "serial", engine.params)
        image_shape = envs.single_observation_space["image"].shape
        guard: Callable[[], Any] = contextlib.nullcontext
    else:
        with quiet():
            envs = minigrid_envs(level, images=contender == "minigrid-rgb")
        image_shape = envs.single_observation_space["image"].shape
        guard = quiet
    expected = (48, 48, 3) if contender != "minigrid-symbolic" else (7, 7, 3)
    if image_shape != expected:
        raise RuntimeError(f"{contender} at {objects} objects observes {image_shape} images, expected {expected}")
    rows = actions(int(envs.single_action_space.n))
    with guard():
        envs.reset(seed=SEED)
        envs.step(rows[0])  # numba compiles the kernels on the first step
    position, ended = [0], [0]

    def run_steps(k: int) -> None:
        i, count = position[0], 0
        with guard():
            for _ in range(k):
                _, _, terminated, truncated, _ = envs.step(rows[i])
                count += int(np.count_nonzero(terminated | truncated))
                i = (i + 1) % ACTION_ROWS
        position[0] = i
        ended[0] += count

    return run_steps, envs.close, ended


def time_rounds(benchmark: Any, one_round: Callable[[], None], durations: list[float]) -> list[float]:
    """Run the warm-up and measured rounds (through pytest-benchmark when given); the measured durations."""
    if benchmark is None:
        for _ in range(WARMUP_ROUNDS + ROUNDS):
            one_round()
    else:
        benchmark.pedantic(one_round, rounds=ROUNDS, warmup_rounds=WARMUP_ROUNDS, iterations=1)
    return durations[WARMUP_ROUNDS:]


def measure(benchmark: Any, objects: int, contender: str) -> float:
    """Time ``STEPS_PER_ROUND`` batch steps per round; records and returns the median env-steps/s."""
    run_steps, close, ended = contender_steps(objects, contender)
    durations: list[float] = []

    def one_round() -> None:
        if len(durations) == WARMUP_ROUNDS:
            ended[0] = 0  # count the measured rounds only
        start = time.perf_counter()
        run_steps(STEPS_PER_ROUND)
        durations.append(time.perf_counter() - start)

    try:
        measured = time_rounds(benchmark, one_round, durations)
    finally:
        close()
    median = statistics.median(measured)
    rate = NUM_ENVS * STEPS_PER_ROUND / median
    RATES.setdefault(objects, {})[contender] = rate
    ENDED.setdefault(objects, {})[contender] = ended[0] / (NUM_ENVS * STEPS_PER_ROUND * len(measured))
    if median > NOISY_SPREAD * min(measured):
        NOISY.add((objects, contender))
    if benchmark is not None:
        benchmark.extra_info.update(
            num_envs=NUM_ENVS, steps_per_round=STEPS_PER_ROUND, steps_per_s=rate, objects=objects
        )
    return rate


def measure_bandwidth(benchmark: Any, threads: int) -> float:
    """Median bytes read + written per second of ``np.copyto`` between two 256 MiB arrays."""
    source = np.full(COPY_BYTES, 7, np.uint8)
    target = np.zeros(COPY_BYTES, np.uint8)
    target[...] = 1  # touch every page, so that no round pays page faults
    part = COPY_BYTES // threads
    spans = [(i * part, (i + 1) * part) for i in range(threads)]
    durations: list[float] = []
    with ThreadPoolExecutor(threads) as pool:

        def copy(span: tuple[int, int]) -> None:
            np.copyto(target[span[0] : span[1]], source[span[0] : span[1]])

        def one_round() -> None:
            start = time.perf_counter()
            if threads == 1:
                np.copyto(target, source)
            else:
                list(pool.map(copy, spans))
            durations.append(time.perf_counter() - start)

        measured = time_rounds(benchmark, one_round, durations)
    if not np.array_equal(target[:: 2**20], source[:: 2**20]):
        raise RuntimeError("the copy did not copy")
    rate = 2 * COPY_BYTES / statistics.median(measured)
    BANDWIDTH[f"{threads} thread{'s' if threads > 1 else ''}"] = rate
    if benchmark is not None:
        benchmark.extra_info.update(bytes=COPY_BYTES, threads=threads, bytes_read_written_per_s=rate)
    return rate


def table() -> list[str]:
    """The rates, the ratios against MiniGrid with images, bytes/s and memory bandwidth."""
    import numba

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    start = f"{LOAD[0]:.2f} at the start, " if LOAD else ""
    lines = [
        f"{NUM_ENVS} envs, {STEPS_PER_ROUND} batch steps a round, median of {ROUNDS} rounds; {_cpu()}, "
        f"{os.cpu_count()} CPU cores, numba {numba.__version__} with {numba.get_num_threads()} threads",
        f"1-min load average: {start}{load:.2f} at the end (the benchmark itself adds 1 to 2; more than the core "
        "count disturbs the numbers)",
    ]
    header = [
        "objects",
        "minigrid level",
        *CONTENDERS,
        *(f"{label}/mg-rgb" for label in REWARDGYM.values()),
        "ended/step rg, mg-rgb",
        *(f"{label} GB/s" for label in REWARDGYM.values()),
    ]
    rows = []
    for objects in sorted(set(RATES) | {n for n, _ in SKIPPED}):
        rates, ended = RATES.get(objects, {}), ENDED.get(objects, {})
        cells = [str(objects), BOARDS[objects][1]]
        for name in CONTENDERS:
            if (objects, name) in SKIPPED:
                cells.append("skipped")
            else:
                cells.append(f"{rates[name]:.3g}" + ("*" if (objects, name) in NOISY else "") if name in rates else "-")
        ratios = ratios_of(rates)
        cells += [f"{ratios[name]:.0f}x" if name in ratios else "-" for name in REWARDGYM]
        cells.append(", ".join(f"{ended[c]:.3f}" if c in ended else "-" for c in ("rewardgym", "minigrid-rgb")))
        cells += [f"{image_bytes_per_s(rates[name]) / 1e9:.2f}" if name in rates else "-" for name in REWARDGYM]
        rows.append(cells)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(cells, widths)) for cells in [header, *rows]]
    lines.append(
        f"rewardgym = GoToShape-v0 at difficulty {BOARDS[2][0]} (2 objects) and {BOARDS[8][0]} (8 objects), "
        "rewardgym-serial its single-threaded kernel; rg/mg-rgb = rewardgym / minigrid-rgb, serial/mg-rgb = "
        f"rewardgym-serial / minigrid-rgb; GB/s = steps/s x {IMAGE_BYTES + INSTRUCTION_BYTES} bytes of "
        "observation written per env-step"
    )
    for threads, rate in BANDWIDTH.items():
        share = "; ".join(
            f"{n} objects: "
            + ", ".join(
                f"{label} {image_bytes_per_s(r[name]) / rate:.1%}" for name, label in REWARDGYM.items() if name in r
            )
            for n, r in sorted(RATES.items())
            if any(name in r for name in REWARDGYM)
        )
        lines.append(
            f"memory bandwidth, np.copyto of 256 MiB on {threads}: {rate / 1e9:.1f} GB/s read + written"
            + (f"; observation bytes/s as a share of it, {share}" if share else "")
        )
    if NOISY:
        lines.append(
            f"* its median round took over {NOISY_SPREAD}x its best: the CPU was busy; rerun on an idle machine"
        )
    for (objects, name), why in sorted(SKIPPED.items()):
        lines.append(f"skipped {name} at {objects} objects: {why}")
    for objects, rates in sorted(RATES.items()):
        for name, ratio in ratios_of(rates).items():
            verdict = "PASS" if ratio >= TARGET_RATIO else "MISS"
            lines.append(
                f"{verdict}  {name} >= {TARGET_RATIO:.0f}x MiniGrid with images at {objects} objects: {ratio:.0f}x"
            )
    return lines


def ratios_of(rates: dict[str, float]) -> dict[str, float]:
    """Each rewardgym contender's rate over MiniGrid's with images, where both were measured."""
    if "minigrid-rgb" not in rates:
        return {}
    return {name: rates[name] / rates["minigrid-rgb"] for name in REWARDGYM if name in rates}


def image_bytes_per_s(rate: float) -> float:
    """Bytes of observation (image and instruction) rewardgym writes per second at ``rate`` env-steps/s."""
    return rate * (IMAGE_BYTES + INSTRUCTION_BYTES)


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        return "CPU"


class _Summary:
    """Prints the table after pytest-benchmark's own (a test module cannot define hooks, but it
    can register a plugin object that does)."""

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if RATES or BANDWIDTH or SKIPPED:
            terminalreporter.section("image-and-instruction scenes vs MiniGrid: env steps/s (median round)", sep="=")
            for line in table():
                terminalreporter.write_line(line)


@pytest.fixture(scope="module", autouse=True)
def summary(request: Any) -> Iterator[None]:
    if hasattr(os, "getloadavg") and not LOAD:
        LOAD.append(os.getloadavg()[0])
    plugin = _Summary()
    if not request.config.pluginmanager.is_registered(plugin):
        request.config.pluginmanager.register(plugin, "rewardgym-multimodal-throughput")
    yield


@pytest.mark.parametrize("contender", CONTENDERS)
@pytest.mark.parametrize("objects", list(BOARDS))
def test_scene_step(benchmark: Any, objects: int, contender: str) -> None:
    benchmark.group = f"go-to-{objects}-objects-{NUM_ENVS}"
    try:
        measure(benchmark, objects, contender)
    except _NoMiniGrid as missing:
        SKIPPED[(objects, contender)] = missing.reason
        pytest.skip(missing.reason)


@pytest.mark.parametrize("threads", [1, 2])
def test_memory_bandwidth(benchmark: Any, threads: int) -> None:
    benchmark.group = "memory-copy-256MiB"
    measure_bandwidth(benchmark, threads)


if __name__ == "__main__":
    LOAD.append(os.getloadavg()[0])
    for objects in BOARDS:
        for contender in CONTENDERS:
            try:
                measure(None, objects, contender)
            except _NoMiniGrid as missing:
                SKIPPED[(objects, contender)] = missing.reason
    for threads in (1, 2):
        measure_bandwidth(None, threads)
    print("\n".join(table()))
