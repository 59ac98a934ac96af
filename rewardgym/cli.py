"""The ``rewardgym`` command line: ``list``, ``demo``, ``train``, ``sweep`` and ``report``.

Each command's options and work live with the code they drive (``rewardgym.agents.cli``,
``rewardgym.sweeps``); this module only assembles the parsers. A user error, from any command
(:func:`~rewardgym.agents.cli.is_user_error`: rewardgym refusing an input by name, or a path
that cannot be used), prints one line ``rewardgym COMMAND: error: ...`` and exits with status 2,
as argparse does for a bad flag; a traceback means a bug.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import gymnasium as gym
import numpy as np

from rewardgym.agents.cli import configure_parser as configure_train
from rewardgym.agents.cli import refuse_user_error
from rewardgym.agents.cli import run_from_args as run_train
from rewardgym.core.spec import RewardSpec
from rewardgym.core.validation import check_integer
from rewardgym.envs import ENVS
from rewardgym.envs.code import SandboxUnavailableError, pool_isolation
from rewardgym.envs.multiagent import GAMES, REWARD_MODES
from rewardgym.envs.registration import describe_space
from rewardgym.sweeps.cli import configure_parser as configure_sweep
from rewardgym.sweeps.cli import run_from_args as run_sweep
from rewardgym.sweeps.report import configure_parser as configure_report
from rewardgym.sweeps.report import run_from_args as run_report


def list_envs() -> str:
    """A table of every registered env: modality, spaces, time limit and what gold measures; then,
    for the envs built to be hacked, what their reward pays, what gold measures and the hack; then
    the multi-agent games, with their social dilemma."""
    envs = sorted(ENVS.values(), key=lambda e: e.env_id)
    headers = ("id", "modality", "observation space", "action space", "steps", "gold reward")
    rows = [
        (e.env_id, e.modality, e.observation_space, e.action_space, str(e.max_episode_steps or "-"), e.gold)
        for e in envs
    ]
    tables = [_table(headers, rows)]
    hackable = [(e.env_id, e.proxy, e.gold, e.hack) for e in envs if e.hack]
    if hackable:
        tables += [
            "Envs whose own reward is a flawed proxy of gold (built to be hacked):",
            _table(("id", "proxy (the env's reward) pays", "gold measures", "the hack"), hackable),
        ]
    games = []
    for env_id, game in GAMES.items():
        params = game.params
        spaces = (describe_space(game.observation_space(params)), describe_space(game.action_space(params)))
        games.append((env_id, str(params.num_agents), *spaces, str(params.max_cycles), game.gold, game.dilemma))
    tables += [
        "Multi-agent games (rewardgym.make_parallel / make_parallel_vec; PettingZoo APIs; reward_mode = "
        f"{' | '.join(REWARD_MODES)}; each agent's gold is its share of the welfare):",
        _table(("id", "agents", "observation space", "action space", "rounds", "gold", "the dilemma"), games),
    ]
    tables.append(_sandbox_line())
    return "\n\n".join(tables)


def _sandbox_line() -> str:
    """Which isolation layers the code envs' sandbox has in effect on this machine."""
    try:
        layers = pool_isolation()
    except SandboxUnavailableError as error:  # pragma: no cover - only where no interpreter can run
        return f"Code envs' sandbox: unavailable here ({error})"
    on = [name for name, held in layers.items() if held]
    off = [name for name, held in layers.items() if not held]
    return f"Code envs' sandbox (rewardgym/Code-v0), isolation in effect: {', '.join(on)}; not here: {', '.join(off) or 'none'}"


def demo_returns(
    env_id: str, reward: RewardSpec, *, num_envs: int = 256, episodes: int = 512, seed: int = 0
) -> dict[str, float]:
    """Mean proxy and gold episode returns of a uniformly random policy under a reward spec.

    Example:
        >>> r = demo_returns("rewardgym/CartPole-v0", "scale(factor=-1)", num_envs=8, episodes=8)
        >>> r["proxy"] == -r["gold"]
        True
    """
    # Without an episode to average, the means below would be of nothing.
    episodes = check_integer(episodes, "episodes", low=1)
    seed = check_integer(seed, "seed", low=0)
    envs = gym.make_vec(env_id, num_envs=num_envs, reward=reward, autoreset_mode="same_step")
    envs.action_space.seed(seed)
    envs.reset(seed=seed)
    envs.step(envs.action_space.sample())  # numba compiles on the first step: keep it off the clock
    envs.reset(seed=seed)
    proxy_sum = np.zeros(num_envs)
    gold_sum = np.zeros(num_envs)
    proxy_returns: list[np.ndarray] = []
    gold_returns: list[np.ndarray] = []
    steps, start = 0, time.perf_counter()
    while sum(len(r) for r in gold_returns) < episodes:
        _, proxy, terminated, truncated, info = envs.step(envs.action_space.sample())
        proxy_sum += proxy
        gold_sum += info["gold_reward"]
        done = terminated | truncated
        proxy_returns.append(proxy_sum[done])
        gold_returns.append(gold_sum[done])
        proxy_sum[done] = 0.0
        gold_sum[done] = 0.0
        steps += num_envs
    elapsed = time.perf_counter() - start
    return {
        "proxy": float(np.concatenate(proxy_returns)[:episodes].mean()),
        "gold": float(np.concatenate(gold_returns)[:episodes].mean()),
        "episodes": float(episodes),
        "steps_per_s": steps / elapsed,
    }


def demo(env_ids: Sequence[str], rewards: Sequence[str], num_envs: int, episodes: int, seed: int) -> str:
    """Proxy and gold returns of a random policy for each env under each reward spec."""
    rows = []
    for env_id in env_ids:
        for spec in rewards:
            result = demo_returns(
                env_id, None if spec == "none" else spec, num_envs=num_envs, episodes=episodes, seed=seed
            )
            rows.append(
                (env_id, spec, f"{result['proxy']:.2f}", f"{result['gold']:.2f}", f"{result['steps_per_s']:,.0f}")
            )
    headers = ("env", "reward", "proxy return", "gold return", "steps/s")
    return _table(headers, rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``rewardgym`` command line; return the exit status (2 for a user error).

    Example:
        >>> main(["demo", "--env", "rewardgym/CartPole-v0", "--episodes", "0"])
        2
    """
    parser = argparse.ArgumentParser(prog="rewardgym", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="print every registered env with its spaces and gold reward")
    run = commands.add_parser(
        "demo", help="random-policy proxy and gold returns under reward regimes (the quick check)"
    )
    run.add_argument("--env", action="append", help="env id (repeatable); default: every env")
    run.add_argument(
        "--reward",
        action="append",
        help="reward spec (repeatable); 'none' for the env's own reward. Default: none, shaped, "
        "noisy(kind='persistent', sigma=1.0), adversarial(delta_max=1.0, budget=20.0)",
    )
    run.add_argument("--num-envs", type=int, default=256)
    run.add_argument("--episodes", type=int, default=512)
    run.add_argument("--seed", type=int, default=0)
    configure_train(
        commands.add_parser("train", help="train a reference agent under a reward spec; prints proxy and gold returns")
    )
    configure_sweep(
        commands.add_parser(
            "sweep",
            help="run an env x reward x agent x seed sweep (local or Ray), store it, write the report",
        )
    )
    configure_report(
        commands.add_parser("report", help="write RUN_DIR/report.md (tables, hacking flags, fits, plots) from a sweep")
    )
    args = parser.parse_args(argv)
    # The one place user errors become a line and status 2 (bugs still raise).
    try:
        return _run(parser, args)
    except Exception as exc:
        return refuse_user_error(f"{parser.prog} {args.command}", exc)


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command == "list":
        print(list_envs())
        return 0
    if args.command == "train":
        return run_train(args)
    if args.command == "sweep":
        return run_sweep(args)
    if args.command == "report":
        return run_report(args)
    env_ids = args.env or sorted(e.env_id for e in ENVS.values() if e.modality == "control")
    unknown = [env_id for env_id in env_ids if env_id not in ENVS]
    if unknown:
        parser.error(f"unknown env {unknown[0]!r}; registered envs: {', '.join(sorted(ENVS))}")
    rewards = args.reward or [
        "none",
        "shaped",
        "noisy(kind='persistent', sigma=1.0)",
        "adversarial(delta_max=1.0, budget=20.0)",
    ]
    print(demo(env_ids, rewards, args.num_envs, args.episodes, args.seed))
    return 0


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
