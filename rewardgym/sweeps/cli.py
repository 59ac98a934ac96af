"""``rewardgym sweep PRESET_OR_FILE [--backend local|ray] [--workers N] [--out DIR] [--address ADDR]``.

:func:`configure_parser` adds the arguments to the ``sweep`` subcommand's parser and
:func:`run_from_args` runs it; ``rewardgym/cli.py`` wires the two in.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="rewardgym sweep")
    >>> configure_parser(parser)
    >>> args = parser.parse_args(["quick", "--workers", "2"])
    >>> args.spec, args.backend, args.workers, args.out
    ('quick', 'local', 2, 'runs')
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from rich.console import Console

from rewardgym.sweeps.backends import BACKENDS
from rewardgym.sweeps.spec import PRESETS, SweepSpecError
from rewardgym.sweeps.store import StoreError

__all__ = ["configure_parser", "run_from_args"]


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {text!r}")
    return value


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``sweep`` arguments to ``parser``."""
    parser.add_argument(
        "spec",
        metavar="PRESET_OR_FILE",
        help=f"a shipped preset ({', '.join(PRESETS)}) or the path of a YAML sweep spec",
    )
    parser.add_argument("--backend", choices=BACKENDS, default="local", help="where trials run (default: local)")
    parser.add_argument(
        "--workers", type=_workers, default=None, help="trials run at once (default: every available core)"
    )
    parser.add_argument("--out", default="runs", help="parent folder of the run folder OUT/<spec name> (default: runs)")
    parser.add_argument("--address", default=None, help="an existing Ray cluster's address (--backend ray)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--no-report", action="store_true", help="do not write the report at the end")


def run_from_args(args: argparse.Namespace) -> int:
    """Run the sweep ``args`` describe; 0 if every trial is done, 1 if any failed, 2 for a bad spec."""
    from rewardgym.sweeps.runner import RunFolderBusy, run_sweep
    from rewardgym.sweeps.store import ResultsStore

    if args.backend == "ray" and importlib.util.find_spec("ray") is None:
        print("rewardgym sweep: --backend ray needs ray: pip install 'rewardgym[ray]'", file=sys.stderr)
        return 2
    if args.address is not None and args.backend != "ray":
        print("rewardgym sweep: --address needs --backend ray", file=sys.stderr)
        return 2
    try:
        run_dir = run_sweep(
            args.spec,
            args.out,
            backend=args.backend,
            workers=args.workers,
            progress=not args.no_progress,
            address=args.address,
            report=not args.no_report,
        )
    except (SweepSpecError, RunFolderBusy, StoreError) as exc:
        print(f"rewardgym sweep: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rewardgym sweep: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    with ResultsStore(run_dir) as store:
        counts = store.counts()
    if not args.no_report and counts.get("done") and importlib.util.find_spec("rewardgym.sweeps.report"):
        report = importlib.import_module("rewardgym.sweeps.report")
        if hasattr(report, "terminal_summary"):  # the table of gold, proxy and gap by regime
            Console().print(report.terminal_summary(run_dir))
        # Each multi-agent game's players, welfare and gap by reward mode and regime.
        for table in report.terminal_games(run_dir) if hasattr(report, "terminal_games") else []:
            Console().print(table)
    return 1 if counts.get("failed") else 0
