"""Multi-agent games in a sweep: cells per reward mode, each player's proxy, welfare, welfare loss.

A multi-agent game (``rewardgym/PublicGoods-v0``, ...) is trained as one vector env with a row per
player, and a sweep may play it under several **reward modes** (``reward_modes`` in the spec:
``private``, ``integrated``, ``cooperative``). The trials table keeps the game's id in ``env`` and
the mode in each trial's config (``config["trial"]["env_kwargs"]["reward_mode"]``);
:func:`label_reward_modes` turns that into the cells the report's statistics group by, the env
labelled ``"<id> (<mode>)"``, so that two modes of one game never pool their seeds.

A trial's scores, as the trainer reports them: ``final_proxy`` is the mean of the players'
proxy returns, ``final_gold`` the mean of their gold, each player's gold being its equal share of
the welfare (so ``gap = proxy - gold`` is the mean player's proxy minus its share), and the
curves carry ``eval_welfare`` (the group's whole welfare return) and each player's proxy
(``eval_proxy/player_0``, ...), which the store keeps (:mod:`rewardgym.sweeps.store`). Where a
store lacks the welfare column, welfare is ``num_players * final_gold``, the same number.

Example:
    >>> import json, pandas as pd
    >>> trials = pd.DataFrame({"trial_id": ["a", "b"], "env": "rewardgym/PublicGoods-v0", "reward": "none",
    ...     "agent": "ppo", "seed": 0, "status": "done", "final_proxy": [60.0, 80.0], "final_gold": 60.0,
    ...     "config": [json.dumps({"trial": {"env_kwargs": {"reward_mode": m}}}) for m in ("private", "cooperative")]})
    >>> label_reward_modes(trials)[["env", "game", "reward_mode"]].values.tolist()
    [['rewardgym/PublicGoods-v0 (private)', 'rewardgym/PublicGoods-v0', 'private'], ['rewardgym/PublicGoods-v0 (cooperative)', 'rewardgym/PublicGoods-v0', 'cooperative']]
"""

from __future__ import annotations

import inspect
import json
import math
from typing import Any

import numpy as np
import pandas as pd

from rewardgym.core.spec import NO_REGIME
from rewardgym.envs.multiagent import REWARD_MODES, MultiAgentVectorEnv, game_of, is_multiagent
from rewardgym.sweeps import stats

__all__ = [
    "GAME_GROUP",
    "PLAYER_PROXY",
    "WELFARE",
    "final_player_scores",
    "label_reward_modes",
    "player_columns",
    "summarize_games",
    "welfare_loss",
]

WELFARE = "eval_welfare"
"""The curves' column of the group's welfare return at each evaluation."""

PLAYER_PROXY = "eval_proxy/"
"""The prefix of each player's proxy column in the curves: ``eval_proxy/player_0``, ..."""

GAME_GROUP = ["game", "reward_mode", "reward", "agent"]
"""A multi-agent cell: runs of one game, reward mode, reward spec and learner that differ only by seed."""

DEFAULT_MODE: str = inspect.signature(MultiAgentVectorEnv).parameters["reward_mode"].default
"""The mode a game plays under when a trial sets none (the vector env's default)."""


def label_reward_modes(trials: pd.DataFrame) -> pd.DataFrame:
    """``trials`` with ``game`` and ``reward_mode`` columns, and each multi-agent trial's ``env``
    labelled ``"<id> (<mode>)"``: the cells every statistic of the report groups by.

    Single-agent trials keep their env, with ``game`` and ``reward_mode`` None. The mode is read
    from the trial's config (the spec's ``reward_modes``, or its env kwargs); a trial without one
    played the game's default, ``private``. A table that already has ``reward_mode`` is returned
    as it is, so labelling twice changes nothing.
    """
    if "reward_mode" in trials.columns:
        return trials
    out = trials.copy()
    configs = out["config"] if "config" in out.columns else pd.Series([None] * len(out), index=out.index)
    games: list[str | None] = []
    modes: list[str | None] = []
    for env, config in zip(out["env"], configs):
        if not is_multiagent(str(env)):
            games.append(None)
            modes.append(None)
            continue
        games.append(str(env))
        modes.append(_env_kwargs(config).get("reward_mode", DEFAULT_MODE))
    out["game"] = pd.Series(games, index=out.index, dtype=object)
    out["reward_mode"] = pd.Series(modes, index=out.index, dtype=object)
    multi = out["game"].notna()
    out.loc[multi, "env"] = out.loc[multi, "game"] + " (" + out.loc[multi, "reward_mode"] + ")"
    return out


def player_columns(curves: pd.DataFrame) -> list[str]:
    """The players whose proxy the curves hold (``eval_proxy/player_0`` -> ``player_0``), in order.

    Example:
        >>> player_columns(pd.DataFrame(columns=["step", "eval_proxy", "eval_proxy/player_1", "eval_proxy/player_0"]))
        ['player_0', 'player_1']
    """
    names = [str(c)[len(PLAYER_PROXY) :] for c in curves.columns if str(c).startswith(PLAYER_PROXY)]
    # player_10 after player_9: PettingZoo's names end in the player's number.
    return sorted(names, key=lambda n: (int(n.rsplit("_", 1)[-1]) if n.rsplit("_", 1)[-1].isdigit() else math.inf, n))


def final_player_scores(trials: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """One row per finished multi-agent trial: its cell, ``gold``, ``proxy``, ``gap``, ``welfare``
    and each player's final proxy (``proxy/player_0``, ...; NaN where the trial reported none).

    The final values are those of the trial's last evaluation, as ``final_proxy`` and
    ``final_gold`` are.
    """
    labelled = label_reward_modes(trials)
    scores = stats.final_scores(labelled)
    scores = scores[scores["game"].notna()].reset_index(drop=True)
    players = player_columns(curves)
    wanted = ["trial_id", "step"] + ([WELFARE] if WELFARE in curves.columns else [])
    wanted += [f"{PLAYER_PROXY}{p}" for p in players]
    last = curves.loc[curves["trial_id"].isin(scores["trial_id"]), wanted]
    last = last.sort_values(["trial_id", "step"]).groupby("trial_id", sort=False).tail(1).drop(columns="step")
    scores = scores.merge(last, on="trial_id", how="left")
    # Welfare is the players' gold summed: the trainer's own column where it reported one.
    fallback = scores["gold"] * [_num_players(row) for row in scores.itertuples(index=False)]
    welfare = pd.to_numeric(scores[WELFARE], errors="coerce") if WELFARE in scores else fallback
    scores["welfare"] = welfare.astype(float).fillna(fallback)
    for p in players:
        scores[f"proxy/{p}"] = pd.to_numeric(scores.pop(f"{PLAYER_PROXY}{p}"), errors="coerce").astype(float)
    scores.attrs["players"] = players
    return scores.drop(columns=[WELFARE], errors="ignore")


def summarize_games(
    trials: pd.DataFrame,
    curves: pd.DataFrame,
    *,
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """IQM and bootstrap CI over seeds, per game, reward mode, reward spec and learner.

    Columns: :data:`GAME_GROUP`, ``algo``, ``runs``, ``failed``, ``players`` (how many players
    reported a proxy), then ``{c}_iqm, {c}_low, {c}_high`` for ``welfare``, ``gold`` (per player),
    ``proxy`` (the mean player's), ``gap`` and each player's proxy (``proxy/player_0_iqm``, ...).
    Rows are in the order of :data:`~rewardgym.envs.multiagent.REWARD_MODES` within each game,
    then by reward spec (the game's own reward, ``"none"``, first) and learner. Empty (with
    those columns) for a sweep without a multi-agent game.
    """
    labelled = label_reward_modes(trials)
    games = labelled[labelled["game"].notna()]
    scores = final_player_scores(games, curves)
    players = scores.attrs.get("players", [])
    channels = ["welfare", "gold", "proxy", "gap", *[f"proxy/{p}" for p in players]]
    columns = [*GAME_GROUP, "algo", "runs", "failed", "players"] + [
        f"{c}_{s}" for c in channels for s in ("iqm", "low", "high")
    ]
    if games.empty:
        return pd.DataFrame(columns=columns)
    failed = games[games["status"] != "done"].groupby(GAME_GROUP, sort=False).size()
    scored = {key: cell for key, cell in scores.groupby(GAME_GROUP, sort=False)}
    rows = []
    for key, cell in games.groupby(GAME_GROUP, sort=False):
        runs = scored.get(key, scores.iloc[:0])
        row: dict[str, Any] = dict(zip(GAME_GROUP, key))
        row["algo"] = str(cell["algo"].iloc[0]) if "algo" in cell else None
        row["runs"], row["failed"] = len(runs), int(failed.get(key, 0))
        row["players"] = int(sum(runs[f"proxy/{p}"].notna().any() for p in players)) if len(runs) else 0
        for channel in channels:
            values = runs[channel].dropna().to_numpy() if len(runs) else np.zeros(0)
            point, low, high = stats.bootstrap_ci(values, reps=reps, confidence=confidence, seed=seed)
            row.update({f"{channel}_iqm": point, f"{channel}_low": low, f"{channel}_high": high})
        rows.append(row)
    table = pd.DataFrame(rows, columns=columns)
    # Modes in REWARD_MODES' order (private first), the game's own reward first among regimes.
    order = {mode: i for i, mode in enumerate(REWARD_MODES)}
    table["_mode"] = table["reward_mode"].map(lambda m: order.get(m, len(order)))
    table["_own"] = table["reward"] != NO_REGIME
    table = table.sort_values(["game", "_mode", "_own", "reward", "agent"], kind="stable", ignore_index=True)
    return table.drop(columns=["_mode", "_own"])


def welfare_loss(games: pd.DataFrame, *, against: str = "cooperative", mode: str = "private") -> pd.DataFrame:
    """Welfare under ``mode`` rewards against ``against`` rewards, per game, reward spec and learner.

    ``games`` is :func:`summarize_games`'s table. One row per (game, reward, agent) that has
    finished runs under both modes, with both welfare IQMs and CIs, ``loss`` (the share of the
    ``against`` welfare that ``mode`` lost, ``(W_against - W_mode) / |W_against|``; negative when
    ``mode`` reached more) and ``verdict``: ``"loss"`` when ``mode``'s welfare CI lies wholly
    below ``against``'s, ``"gain"`` when wholly above, else ``"within noise"``. Where the table
    also has ``integrated`` runs, ``recovered`` is the share of the gap between the two modes'
    welfare that integrated rewards closed (NaN otherwise).

    Example:
        >>> games = pd.DataFrame({"game": "G", "reward": "none", "agent": "ppo", "runs": 3,
        ...     "reward_mode": ["private", "cooperative"], "welfare_iqm": [200.0, 320.0],
        ...     "welfare_low": [190.0, 300.0], "welfare_high": [210.0, 330.0]})
        >>> row = welfare_loss(games).iloc[0]
        >>> float(row["loss"]), row["verdict"]
        (0.375, 'loss')
    """
    columns = ["game", "reward", "agent", "mode", "against", "mode_iqm", "mode_low", "mode_high",
               "against_iqm", "against_low", "against_high", "loss", "verdict", "recovered"]  # fmt: skip
    rows = []
    scored = games[games["runs"] > 0]
    for (game, reward, agent), cell in scored.groupby(["game", "reward", "agent"], sort=False):
        by_mode = {r["reward_mode"]: r for _, r in cell.iterrows()}
        if mode not in by_mode or against not in by_mode:
            continue
        m, a = by_mode[mode], by_mode[against]
        if pd.isna(m["welfare_iqm"]) or pd.isna(a["welfare_iqm"]):
            continue
        scale = abs(a["welfare_iqm"])
        loss = (a["welfare_iqm"] - m["welfare_iqm"]) / scale if scale > 0 else math.nan
        if m["welfare_high"] < a["welfare_low"]:
            verdict = "loss"
        elif m["welfare_low"] > a["welfare_high"]:
            verdict = "gain"
        else:
            verdict = "within noise"
        recovered = math.nan
        between = a["welfare_iqm"] - m["welfare_iqm"]
        if "integrated" in by_mode and between != 0 and not pd.isna(by_mode["integrated"]["welfare_iqm"]):
            recovered = (by_mode["integrated"]["welfare_iqm"] - m["welfare_iqm"]) / between
        rows.append({
            "game": game, "reward": reward, "agent": agent, "mode": mode, "against": against,
            "mode_iqm": m["welfare_iqm"], "mode_low": m["welfare_low"], "mode_high": m["welfare_high"],
            "against_iqm": a["welfare_iqm"], "against_low": a["welfare_low"], "against_high": a["welfare_high"],
            "loss": loss, "verdict": verdict, "recovered": recovered,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _env_kwargs(config: Any) -> dict[str, Any]:
    """A trial's env kwargs from its stored config (JSON text or a dict); {} when it has none."""
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except ValueError:
            return {}
    if not isinstance(config, dict):
        return {}
    trial = config.get("trial")
    kwargs = trial.get("env_kwargs") if isinstance(trial, dict) else None
    return kwargs if isinstance(kwargs, dict) else {}


def _num_players(row: Any) -> int:
    """How many players a trial's game had: its env kwargs' ``num_agents``, else the game's default."""
    kwargs = _env_kwargs(getattr(row, "config", None))
    game = game_of(str(row.game))
    return int(kwargs.get("num_agents", len(game.agents(game.params))))
