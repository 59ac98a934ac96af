"""Sweeps of multi-agent games (issue 16): reward modes as a sweep dimension, each player's proxy and
the welfare kept in the store, and the report's table per game with its welfare-loss paragraph."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from rewardgym.sweeps import report
from rewardgym.sweeps.multiagent import label_reward_modes, summarize_games, welfare_loss
from rewardgym.sweeps.runner import run_sweep
from rewardgym.sweeps.spec import SweepSpec, SweepSpecError
from rewardgym.sweeps.store import ResultsStore, TrialRecord

PG, CH = "rewardgym/PublicGoods-v0", "rewardgym/CommonsHarvest-v0"

GAMES = {
    "name": "games",
    "envs": [PG, "rewardgym/CartPole-v0"],
    "rewards": ["none"],
    "agents": {"ppo": {"algo": "ppo", "hyperparams": {"num_envs": 8}}},
    "seeds": [0, 1],
    "steps": 1000,
    "reward_modes": ["private", "cooperative"],
}

# A spec of every field but reward_modes, and the ids the sweep code gave its trials before
# reward_modes existed (computed then, with that code): existing run folders must resume.
OLD = {
    "name": "old",
    "envs": ["rewardgym/CartPole-v0", "rewardgym/RewardTampering-v0"],
    "rewards": ["none", "noisy(sigma=0.5)"],
    "agents": {"ppo": {"algo": "ppo", "hyperparams": {"num_envs": 8}}, "rand": {"algo": "random"}},
    "seeds": [0, 7],
    "steps": 1000,
    "eval_every": 500,
    "eval_episodes": 3,
    "overrides": {"rewardgym/CartPole-v0": {"env_kwargs": {"gravity": 5.0}, "steps": 2000}},
}
OLD_IDS = [
    "ea20c5e66ed88c65", "d8f68b0ccdcfb82e", "e553f4055c3aff1e", "68cca912e24af802", "3df0fa6d3b360654",
    "7d878070f41d4317", "b7da64c676b6daf8", "63452cf31d541100", "018a498ae410695e", "bfd469e39daa73b5",
    "2521089e69d758d5", "b4dfe891ff756b2d", "4f3ac8aa8fc81281", "097751092f3c5cb1", "b9a916d503069d1a",
    "019fed80e3fff1e8",
]  # fmt: skip


# -- the spec ----------------------------------------------------------------------------------


def test_reward_modes_expand_each_game_and_leave_single_agent_envs_alone():
    spec = SweepSpec.from_dict(GAMES)
    trials = spec.trials()
    assert [(t.env, t.reward_mode, t.seed) for t in trials] == [
        (PG, "private", 0), (PG, "private", 1), (PG, "cooperative", 0), (PG, "cooperative", 1),
        ("rewardgym/CartPole-v0", None, 0), ("rewardgym/CartPole-v0", None, 1),
    ]  # fmt: skip
    assert trials[0].env_kwargs == {"reward_mode": "private"} and trials[-1].env_kwargs == {}
    assert trials[0].train_kwargs()["env_kwargs"] == {"reward_mode": "private"}
    assert len({t.trial_id for t in trials}) == 6  # the mode is part of the id
    assert trials[2].label == f"{PG} (cooperative) | none | ppo | seed 0"
    # The mode joins the game's own env kwargs; the spec round-trips through YAML.
    overrides = {PG: {"env_kwargs": {"num_agents": 3}, "hyperparams": {"ppo": {"num_envs": 6}}}}
    spec = SweepSpec.from_dict({**GAMES, "overrides": overrides})
    assert spec.trials()[2].env_kwargs == {"num_agents": 3, "reward_mode": "cooperative"}
    assert SweepSpec.from_yaml(spec.to_yaml()) == spec


def test_a_game_without_reward_modes_plays_its_default_or_its_override():
    spec = SweepSpec.from_dict({k: v for k, v in GAMES.items() if k != "reward_modes"})
    assert [t.env_kwargs for t in spec.trials()[:2]] == [{}, {}]
    assert "reward_modes" not in spec.to_dict()
    spec = SweepSpec.from_dict({**spec.to_dict(), "overrides": {PG: {"env_kwargs": {"reward_mode": "integrated"}}}})
    assert spec.trials()[0].reward_mode == "integrated"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"reward_modes": ["privat"]},
         r"field 'reward_modes\[0\]': unknown reward mode 'privat' \(did you mean 'private'\?\); valid modes: private, integrated, cooperative"),
        ({"reward_modes": "private"}, r"field 'reward_modes': expected a list of strings, got 'private'"),
        ({"reward_modes": []}, r"field 'reward_modes': expected a list of strings"),
        ({"reward_modes": ["private", "private"]}, r"field 'reward_modes\[1\]': 'private' is listed twice"),
        ({"envs": ["rewardgym/CartPole-v0"]},
         r"field 'reward_modes': applies to multi-agent envs, and envs lists none; multi-agent envs: rewardgym/PublicGoods-v0"),
        ({"overrides": {PG: {"env_kwargs": {"reward_mode": "private"}}}},
         r"field 'overrides.rewardgym/PublicGoods-v0.env_kwargs.reward_mode': is set by reward_modes"),
        ({"overrides": {PG: {"env_kwargs": {"weight": 2.0}}}}, r"field 'reward_modes\[0\]': rewardgym/PublicGoods-v0 cannot be made with env_kwargs \{'weight': 2.0, 'reward_mode': 'private'\}: .*weight"),
        ({"envs": ["rewardgym/PublicGood-v0"]}, r"unknown env 'rewardgym/PublicGood-v0' \(did you mean 'rewardgym/PublicGoods-v0'\?\)"),
        ({"reward_mode": ["private"]}, r"unknown field 'reward_mode' \(did you mean 'reward_modes'\?\)"),
    ],
)  # fmt: skip
def test_bad_reward_modes_are_refused_by_name(changes, message):
    with pytest.raises(SweepSpecError, match=message):
        SweepSpec.from_dict({**GAMES, **changes})


def test_trial_ids_of_specs_without_reward_modes_are_those_they_had_before():
    assert [t.trial_id for t in SweepSpec.from_dict(OLD).trials()] == OLD_IDS
    assert "reward_modes" not in SweepSpec.from_dict(OLD).to_dict()


# -- the store ---------------------------------------------------------------------------------


def game_record(trial_id, mode, seed, welfare, players, reward="none", env=PG, status="done"):
    """A finished trial of a 4-player game whose curves end at ``welfare`` with the players' proxies."""
    gold = welfare / len(players)
    proxy = welfare if mode == "cooperative" else float(np.mean(players))
    rows = [
        {"step": step, "eval_proxy": proxy, "eval_gold": gold, "eval_welfare": welfare,
         **{f"eval_proxy/player_{i}": p for i, p in enumerate(players)}}
        for step in (100, 200)
    ]  # fmt: skip
    return TrialRecord(
        trial_id=trial_id, env=env, reward=reward, agent="ppo", algo="ppo", seed=seed, total_steps=200,
        status=status, final_proxy=proxy, final_gold=gold,
        config={"trial": {"env": env, "env_kwargs": {"reward_mode": mode}}}, curves=rows if status == "done" else [],
    )  # fmt: skip


def test_an_old_store_resumes_and_gains_the_metrics_table_only_with_a_game(tmp_path):
    with ResultsStore(tmp_path) as store:  # a single-agent sweep: exactly the two old tables
        store.record(TrialRecord("old", "rewardgym/CartPole-v0", "none", "ppo", "ppo", 0, 100, "done",
                                 final_proxy=1.0, final_gold=1.0, curves=[{"step": 100, "eval_gold": 1.0}]))  # fmt: skip
    db = sqlite3.connect(tmp_path / "results.sqlite")
    assert {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} == {"trials", "curves"}
    db.close()
    with ResultsStore(tmp_path) as store:
        store.record(game_record("g", "private", 0, 200.0, [40.0, 50.0, 50.0, 60.0]))
        curves = store.curves()
        assert store.finished_ids() == {"old", "g"}
    assert list(curves.columns[-5:]) == ["eval_welfare"] + [f"eval_proxy/player_{i}" for i in range(4)]
    assert curves.set_index("trial_id").loc["g", "eval_welfare"].tolist() == [200.0, 200.0]
    assert np.isnan(curves.set_index("trial_id").loc["old", "eval_welfare"])  # a single-agent trial has none
    with ResultsStore(tmp_path) as store:  # reopened: the third table is a known one
        assert len(store.curves()) == 3
        # A retried trial replaces its metrics with its curves.
        store.record(game_record("h", "private", 1, 0.0, [0.0] * 4, status="failed"))
        store.record(game_record("h", "private", 1, 100.0, [25.0] * 4))
        assert store.curves().set_index("trial_id").loc["h", "eval_welfare"].tolist() == [100.0, 100.0]
        store.export(tmp_path)
    assert "eval_proxy/player_3" in (tmp_path / "curves.csv").read_text().splitlines()[0]


# -- the report --------------------------------------------------------------------------------


def write_games(run_dir, private=200.0, cooperative=300.0, spread=5.0):
    """PublicGoods under private and cooperative rewards, 3 seeds each; CommonsHarvest private only."""
    rng = np.random.default_rng(0)
    with ResultsStore(run_dir) as store:
        for mode, welfare in (("private", private), ("cooperative", cooperative)):
            for seed in range(3):
                w = welfare + rng.normal(0, spread)
                players = list(w / 4 + np.array([-6.0, -2.0, 2.0, 6.0]))
                store.record(game_record(f"pg-{mode}-{seed}", mode, seed, w, players))
        for seed in range(2):
            store.record(game_record(f"ch-{seed}", "private", seed, 150.0, [37.5] * 4, env=CH))


def test_report_has_a_table_per_game_and_explains_the_welfare_lost_under_private_rewards(tmp_path):
    write_games(tmp_path)
    text = report.write_report(tmp_path, reps=200, plots=False).read_text()
    section = text.split("## Multi-agent games")[1].split("## Regime ranking")[0]
    pg = section.split("### PublicGoods-v0")[1].split("###")[0]
    header, _, private, cooperative = [line for line in pg.splitlines() if line.startswith("|")][:4]
    assert (
        header == "| reward mode | reward | runs | p0 proxy | p1 proxy | p2 proxy | p3 proxy | welfare (gold) | gap |"
    )
    assert private.startswith("| `private` | `none` | 3 | ") and cooperative.startswith(
        "| `cooperative` | `none` | 3 | "
    )
    cells = [c.strip() for c in private.split("|")[1:-1]]
    assert float(cells[3]) < float(cells[4]) < float(cells[5]) < float(cells[6])  # the players' spread
    assert cells[8] == "0.00 [0.00, 0.00]"  # private: the players' proxies sum to the welfare
    # Cooperative pays everyone the welfare: the gap is 3/4 of it.
    welfare, gap = (float(c.strip().split()[0]) for c in cooperative.split("|")[-3:-1])
    assert gap == pytest.approx(0.75 * welfare, rel=0.02)
    assert "`none`: private rewards lost 33% of the welfare that cooperative rewards reached" in pg
    assert "the CIs do not overlap" in pg and "players' own proxies ranged from" in pg
    assert "Why: in PublicGoods, defecting pays each agent more" in pg
    # A game played under one mode only: the data cannot show the loss, and the report says so.
    ch = section.split("### CommonsHarvest-v0")[1]
    assert (
        "No welfare comparison of private and cooperative rewards: this sweep has no finished `cooperative` run" in ch
    )
    # Elsewhere each mode is an env of its own, and the findings lead with the loss.
    assert "| `PublicGoods-v0 (private)` | `none` | `ppo` | 3 |" in text
    assert "- `PublicGoods-v0`, welfare under private against cooperative rewards: `none` lost 33%" in text


def test_the_welfare_paragraph_says_where_the_data_shows_no_loss(tmp_path):
    write_games(tmp_path, private=290.0, cooperative=300.0, spread=20.0)
    trials, curves = report.load_results(tmp_path)
    games = summarize_games(trials, curves, reps=200)
    pg = games[games["game"] == PG]
    assert welfare_loss(pg)["verdict"].tolist() == ["within noise"]
    paragraph = report.welfare_paragraph(pg)
    assert "the data does not show a welfare loss from private rewards" in paragraph and "Why:" not in paragraph
    # Private ahead of cooperative: said as such, no loss claimed.
    paragraph = report.welfare_paragraph(pg.assign(welfare_low=[400.0, 100.0], welfare_high=[410.0, 110.0]))
    assert "private rewards reached more welfare than cooperative ones" in paragraph


def test_modes_are_separate_cells_and_single_agent_sweeps_are_unchanged(tmp_path):
    write_games(tmp_path)
    trials, curves = report.load_results(tmp_path)
    labelled = label_reward_modes(trials)
    assert sorted(labelled["env"].unique()) == [f"{CH} (private)", f"{PG} (cooperative)", f"{PG} (private)"]
    assert label_reward_modes(labelled) is labelled
    summary = report.compute_stats(trials, curves, reps=50).summary
    assert sorted(summary["runs"]) == [2, 3, 3]  # no mode pools its seeds with another's
    tables = report.terminal_games(tmp_path, reps=50)
    assert [t.title.split(":")[0] for t in tables] == ["CommonsHarvest-v0", "PublicGoods-v0"]
    assert [c.header for c in tables[1].columns] == ["mode", "reward", "done", "p0", "p1", "p2", "p3", "welfare", "gap"]
    assert tables[1].row_count == 2
    # A sweep with no game: no multi-agent section, nothing for the terminal.
    single = tmp_path / "single"
    single.mkdir()
    with ResultsStore(single) as store:
        store.record(TrialRecord("t", "rewardgym/CartPole-v0", "none", "ppo", "ppo", 0, 100, "done",
                                 final_proxy=1.0, final_gold=1.0, curves=[{"step": 100, "eval_gold": 1.0}]))  # fmt: skip
    assert "## Multi-agent games" not in report.write_report(single, reps=20, plots=False).read_text()
    assert report.terminal_games(single, reps=20) == []
    assert json.loads(report.load_results(single)[0]["config"][0]) == {}


# -- a real sweep --------------------------------------------------------------------------------

REAL = {
    "name": "games",
    "envs": [PG],
    "rewards": ["none"],
    "reward_modes": ["private", "cooperative"],
    "agents": {
        "ippo": {"algo": "ppo", "hyperparams": {"num_envs": 8, "num_steps": 16, "learners": "independent"}},
        "cooperate": {"algo": "cooperate"},  # scripted: the welfare every seed and mode must reach
    },
    "seeds": [0, 1],
    "steps": 256,
    "eval_every": 128,
    "eval_episodes": 2,
}


def test_a_real_sweep_of_a_game_stores_each_players_proxy_and_the_welfare_and_reports_them(tmp_path):
    spec = SweepSpec.from_dict(REAL)
    run_dir = run_sweep(spec, tmp_path, workers=1, progress=False)
    with ResultsStore(run_dir) as store:
        trials, curves = store.trials(), store.curves()
    assert len(trials) == 8 and (trials["status"] == "done").all(), trials["error"].dropna().tolist()
    assert set(trials["trial_id"]) == {t.trial_id for t in spec.trials()}
    players = [f"eval_proxy/player_{i}" for i in range(4)]
    assert {"eval_welfare", *players} <= set(curves.columns)
    assert not curves[["eval_welfare", *players]].isna().any().any()
    # The proxy is the players' mean, gold the welfare's share: the store keeps what the trainer said.
    last = curves.sort_values("step").groupby("trial_id").last()
    assert np.allclose(last[players].mean(axis=1), last["eval_proxy"])
    assert np.allclose(last["eval_welfare"], 4 * last["eval_gold"])
    assert sorted(curves.groupby("trial_id").size().unique()) == [1, 2]  # scripted: one evaluation

    text = (run_dir / "report.md").read_text()
    table = text.split("### PublicGoods-v0")[1].split("\n\n")[1].splitlines()
    assert (
        table[0]
        == "| reward mode | reward | agent | runs | p0 proxy | p1 proxy | p2 proxy | p3 proxy | welfare (gold) | gap |"
    )
    rows = {tuple(c.strip("` ") for c in line.split("|")[1:4]): line for line in table[2:]}
    assert list(rows) == [("private", "none", "cooperate"), ("private", "none", "ippo"),
                          ("cooperative", "none", "cooperate"), ("cooperative", "none", "ippo")]  # fmt: skip
    # Everyone contributing for 50 rounds: welfare 4 x 1.6 x 50 = 320 under either mode; paid
    # privately each player gets its 80, paid cooperatively the whole 320 (a gap of 240).
    assert rows[("private", "none", "cooperate")].endswith(
        "| 80.0 | 80.0 | 80.0 | 80.0 | 320 [320, 320] | 0.00 [0.00, 0.00] |"
    )
    assert rows[("cooperative", "none", "cooperate")].endswith(
        "| 320 | 320 | 320 | 320 | 320 [320, 320] | 240 [240, 240] |"
    )
    assert "`cooperate` is a scripted policy, which plays the same whatever it is paid" in text

    # A rerun trains nothing: every trial is done.
    assert run_sweep(spec, tmp_path, workers=1, progress=False, report=False) == run_dir
    with ResultsStore(run_dir) as store:
        assert store.trials()["finished_at"].tolist() == trials["finished_at"].tolist()


def test_a_trial_and_its_metrics_commit_together(tmp_path, monkeypatch):
    # A metric row that collides with another fails the write after the trial row went in: the
    # transaction takes the trial, its curves and the new table back out with it.
    from rewardgym.sweeps import store as store_module

    repeat = store_module._metric_rows
    monkeypatch.setattr(store_module, "_metric_rows", lambda trial_id, curve: repeat(trial_id, curve) * 2)
    with ResultsStore(tmp_path) as store:
        with pytest.raises(sqlite3.IntegrityError):
            store.record(game_record("g", "private", 0, 200.0, [50.0] * 4))
        assert store.counts() == {} and len(store.curves()) == 0
        assert not store._has_metrics()
