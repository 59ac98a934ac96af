"""``rewardgym train ENV --reward SPEC --algo ALGO --seed N --steps N``: :func:`~rewardgym.agents.train.train`
from the command line, into a run folder, printing the final proxy and gold returns.

:func:`configure_parser` adds the arguments to a parser (``rewardgym``'s ``train`` subcommand);
:func:`run_from_args` runs them.

User errors (:func:`is_user_error`: a bad spec, step count, hyperparameter, run folder) print
one line, ``rewardgym train: error: ...``, and exit with status 2; anything else is a bug and
keeps its traceback.

Multi-agent games train the same way (``rewardgym train PublicGoods-v0 --set learners=independent
--env-kwarg reward_mode=cooperative``, or ``--algo tit_for_tat``); their final line adds the
welfare and each agent's proxy.

Example:
    >>> import argparse
    >>> from rewardgym.agents.cli import configure_parser
    >>> parser = argparse.ArgumentParser(prog="rewardgym train")
    >>> configure_parser(parser)
    >>> args = parser.parse_args(["CartPole-v0", "--algo", "linear", "--set", "n_envs=16"])
    >>> args.algo, args.set
    ('linear', ['n_envs=16'])
"""

from __future__ import annotations

import argparse
import ast
import datetime
import dis
import sys
from pathlib import Path
from typing import Any

import torch

from rewardgym.agents.train import ALGOS, MULTIAGENT_ALGOS, resolve_env_id, train
from rewardgym.core.spec import NO_REGIME


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``rewardgym train``."""
    parser.add_argument(
        "env",
        help="env id, e.g. rewardgym/CartPole-v0, or a multi-agent game's, e.g. rewardgym/PublicGoods-v0 "
        "(the 'rewardgym/' may be left out)",
    )
    parser.add_argument(
        "--reward",
        default=NO_REGIME,
        help="reward spec, e.g. 'shaped+noisy(sigma=0.5)'; 'none' (default) for the env's own reward",
    )
    parser.add_argument(
        "--algo",
        default="ppo",
        choices=(*ALGOS, *MULTIAGENT_ALGOS),
        help="algorithm (default: ppo, the native PPO); multi-agent games take ppo, random and their own "
        f"scripted policies ({', '.join(MULTIAGENT_ALGOS)})",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=100_000, help="env steps to train for (default 100000)")
    parser.add_argument("--out", default=None, help="run folder (default: runs/<env>-<algo>-s<seed>-<time>)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument(
        "--eval-every", type=int, default=None, help="env steps between evaluations (default: a tenth of --steps)"
    )
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a reference hyperparameter (repeatable), e.g. --set n_envs=16; on a multi-agent game "
        "--set learners=independent for one network per agent",
    )
    parser.add_argument(
        "--env-kwarg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a keyword argument of the env (repeatable), e.g. --env-kwarg max_new_tokens=2, or a game's "
        "--env-kwarg reward_mode=cooperative",
    )
    parser.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs to the run folder")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="torch's intra-op threads (default 1: "
        "the reference networks are small, and more threads mostly contend for the CPU)",
    )


_PACKAGE = Path(__file__).resolve().parents[1]


def is_user_error(exc: BaseException) -> bool:
    """Whether ``exc`` refuses the user's input, which a command reports in one line with exit
    status 2 (argparse's convention), rather than a bug, which keeps its traceback.

    A user error is a ``ValueError`` or ``TypeError`` from a ``raise`` statement in rewardgym's
    own code (its checks refuse an input by name, with the valid choices), or an ``OSError``
    about a path (a run folder that cannot be made, a file that is not there). The same types
    raised inside numpy, torch or Python itself ("need at least one array to concatenate"), even
    straight from a call in rewardgym's code, mean rewardgym lacks a check: a bug.

    Example:
        >>> from rewardgym.core.validation import check_integer
        >>> try:
        ...     check_integer(-1, "episodes", low=1)
        ... except ValueError as exc:
        ...     is_user_error(exc)
        True
        >>> try:
        ...     [].index(1)  # raised by Python, not by a check of rewardgym's
        ... except ValueError as exc:
        ...     is_user_error(exc)
        False
    """
    if isinstance(exc, OSError):
        return exc.filename is not None
    if not isinstance(exc, (ValueError, TypeError)) or exc.__traceback__ is None:
        return False
    tb = exc.__traceback__
    while tb.tb_next is not None:  # the innermost Python frame: where it was raised, or the call
        tb = tb.tb_next  # into C (numpy, builtins) that raised it, which adds no frame of its own
    code = tb.tb_frame.f_code
    if not Path(code.co_filename).resolve().is_relative_to(_PACKAGE):
        return False
    return any(op.offset == tb.tb_lasti and op.opname == "RAISE_VARARGS" for op in dis.get_instructions(code))


def refuse_user_error(command: str, exc: Exception) -> int:
    """Print a user error as ``{command}: error: {message}`` on stderr and return 2; re-raise
    anything else (see :func:`is_user_error`). Call it from an ``except`` block."""
    if not is_user_error(exc):
        raise exc
    message = " ".join(str(exc).split())  # one line, whatever the message's own layout
    print(f"{command}: error: {message}", file=sys.stderr)
    return 2


def run_from_args(args: argparse.Namespace) -> int:
    """Run ``rewardgym train`` from parsed arguments; print the final proxy and gold returns.

    Returns the exit status: 0, or 2 after printing what was wrong with the input
    (:func:`is_user_error`); a bug raises with its traceback.
    """
    try:
        if args.torch_threads < 1:
            raise ValueError(f"--torch-threads must be >= 1, got {args.torch_threads}")
        # Checked here, before anything is built: the agents find out only when they first
        # place a tensor, with a RuntimeError that is a bug's type everywhere else.
        if args.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda: torch sees no CUDA GPU; use --device cpu")
        torch.set_num_threads(args.torch_threads)
        hyperparams = _parse_overrides(args.set, "--set")
        env_kwargs = _parse_overrides(args.env_kwarg, "--env-kwarg")
        env_id = resolve_env_id(args.env)
        out = args.out or _default_run_dir(env_id, args.algo, args.seed)
        result = train(
            env_id,
            None if args.reward == NO_REGIME else args.reward,
            algo=args.algo,
            seed=args.seed,
            total_steps=args.steps,
            hyperparams=hyperparams or None,
            eval_every=args.eval_every,
            eval_episodes=args.eval_episodes,
            device=args.device,
            run_dir=out,
            progress=not args.no_progress,
            tensorboard=args.tensorboard,
            env_kwargs=env_kwargs,
        )
    except Exception as exc:
        return refuse_user_error("rewardgym train", exc)
    last = result.curves[-1]
    game = ""
    if result.final_welfare is not None:  # a multi-agent game: per agent above, and the welfare
        agents = ", ".join(f"{agent} {proxy:.2f}" for agent, proxy in result.final_agent_proxy.items())
        game = f", welfare {result.final_welfare:.2f} (proxy by agent: {agents})"
    print(
        f"{env_id} {args.algo} seed {args.seed}, reward {result.config['reward']}, {last['step']} steps: "
        f"proxy {result.final_proxy:.2f}, gold {result.final_gold:.2f}{game} "
        f"(mean of {args.eval_episodes} evaluation episodes); {result.wall_s:.1f} s; run folder {out}"
    )
    return 0


def _parse_overrides(items: list[str], flag: str) -> dict[str, Any]:
    """``KEY=VALUE`` items as a dict; a value is a Python literal where it parses as one, else a string."""
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{flag} takes KEY=VALUE, got {item!r}")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text  # a bare word: a string such as lin_0.001 or MlpPolicy
        overrides[key.strip()] = value
    return overrides


def _default_run_dir(env_id: str, algo: str, seed: int) -> str:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return str(Path("runs") / f"{env_id.split('/')[-1]}-{algo}-s{seed}-{stamp}")
