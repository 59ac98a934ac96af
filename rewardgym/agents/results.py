"""What a training run returns (:class:`TrainResult`) and the run folder it is saved to.

A run folder holds ``config.json`` and ``config.yaml`` (the run's config with its final proxy
and gold returns and its wall-clock time), ``curves.csv`` (the learning curves) and the model:
``model.zip`` for SB3 (plus ``vecnormalize.pkl`` if used), ``model.safetensors`` for the native
PPO (the config in its metadata), none for scripted policies. A multi-agent game's run also
records its final welfare and each agent's final proxy (``final_welfare``, ``final_agent_proxy``)
in the config files, and its curves have the multi-agent columns
(:data:`~rewardgym.agents.curves.MULTIAGENT_COLUMNS` and a proxy column per agent).

Example:
    >>> import json, tempfile
    >>> from rewardgym.agents.results import TrainResult, save_run
    >>> result = TrainResult(config={"algo": "random"}, final_proxy=1.0, final_gold=1.0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = save_run(result, tmp)
    ...     json.loads((folder / "config.json").read_text())["final_gold"]
    1.0
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from safetensors.torch import save_file

from rewardgym.agents.curves import curve_columns


@dataclass
class TrainResult:
    """What :func:`~rewardgym.agents.train.train` returns.

    Attributes:
        curves: one row per evaluation, with the keys of :data:`~rewardgym.agents.curves.CURVE_COLUMNS`:
            ``step`` (env steps so far), ``eval_proxy`` / ``eval_gold`` (mean over the evaluation
            episodes, deterministic actions, fixed seeds), ``train_proxy`` / ``train_gold`` (mean
            over the training episodes that finished since the previous row, NaN if none did),
            ``episodes`` (how many those were) and ``wall_s`` (seconds since training began).
            On a multi-agent game, ``eval_proxy`` and ``eval_gold`` are means over agents too,
            and the rows add ``eval_welfare`` and ``eval_proxy/<agent>`` per agent
            (:func:`~rewardgym.agents.curves.curve_columns`).
        model: the trained agent: a native ``ActorCritic`` (an ``IndependentActorCritic`` for
            independent learners), an SB3 model, or a scripted policy.
        config: everything needed to rerun it: env id, reward spec string, algo, seed, total
            steps, resolved hyperparameters, evaluation settings, library versions.
        final_proxy: ``eval_proxy`` of the last row (on a multi-agent game, per agent).
        final_gold: ``eval_gold`` of the last row (on a multi-agent game, per agent: the welfare
            divided among the agents).
        wall_s: seconds the whole run took.
        final_welfare: a multi-agent game's ``eval_welfare`` of the last row: the mean over the
            evaluation games of the welfare return (all its agents' gold returns summed); None
            for a single-agent env.
        final_agent_proxy: a multi-agent game's final proxy return of each agent by name
            (``{"player_0": ..., ...}``, the last row's ``eval_proxy/<agent>``); empty for a
            single-agent env.
    """

    curves: list[dict] = field(default_factory=list)
    model: Any = None
    config: dict = field(default_factory=dict)
    final_proxy: float = math.nan
    final_gold: float = math.nan
    wall_s: float = 0.0
    final_welfare: float | None = None
    final_agent_proxy: dict[str, float] = field(default_factory=dict)


def save_run(result: TrainResult, run_dir: str | Path, extras: dict[str, Any] | None = None) -> Path:
    """Write a run's ``config.json``, ``config.yaml``, ``curves.csv`` and model to ``run_dir``.

    ``extras["vecnormalize"]``, an SB3 ``VecNormalize`` or None, is saved beside an SB3 model.
    """
    folder = Path(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    config = json.loads(json.dumps(result.config, default=str))
    summary = {**config, "final_proxy": result.final_proxy, "final_gold": result.final_gold, "wall_s": result.wall_s}
    if result.final_welfare is not None:  # a multi-agent game's
        summary.update(final_welfare=result.final_welfare, final_agent_proxy=dict(result.final_agent_proxy))
    (folder / "config.json").write_text(json.dumps(summary, indent=2) + "\n")
    (folder / "config.yaml").write_text(yaml.safe_dump(summary, sort_keys=False))
    with open(folder / "curves.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=curve_columns(result.curves))
        writer.writeheader()
        writer.writerows(result.curves)
    model = result.model
    if hasattr(model, "save") and hasattr(model, "policy"):  # an SB3 model
        model.save(folder / "model.zip")
        normalizer = (extras or {}).get("vecnormalize")
        if normalizer is not None:
            normalizer.save(str(folder / "vecnormalize.pkl"))
    elif hasattr(model, "state_dict"):  # the native PPO's torch module
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(folder / "model.safetensors"), metadata={"config": json.dumps(config)})
    return folder
