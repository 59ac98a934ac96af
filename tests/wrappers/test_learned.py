"""The ``learned`` family: a saved or given model pays the agent through every env API, the online
kind learns from its labeler while the env runs, and bad input is refused by name."""

import gymnasium as gym
import numpy as np
import pytest
import rewardgym
import rewardgym.wrappers.learned  # registers "learned" before the package imports it itself
import torch
from gymnasium.vector import AutoresetMode
from rewardgym.envs.batched.device import cuda_simulated
from rewardgym.rewardmodels import (
    RewardEnsemble,
    RewardModel,
    SyntheticLabeler,
    collect_pairs,
    load_reward_model,
    pair_accuracy,
    read_model_card,
    save_reward_model,
)
from rewardgym.wrappers.learned import (
    KINDS,
    ModelReward,
    OnlinePreferenceReward,
    learned,
)

CARTPOLE = "rewardgym/CartPole-v0"


@pytest.fixture(scope="module")
def cartpole_spaces():
    env = gym.make(CARTPOLE)
    return env.observation_space, env.action_space


@pytest.fixture(scope="module")
def saved(tmp_path_factory, cartpole_spaces):
    """A small ensemble saved for CartPole (untrained weights are as good as any for plumbing)."""
    model = RewardEnsemble(*cartpole_spaces, size=3, hidden=(16,), seed=0)
    return model, save_reward_model(model, tmp_path_factory.mktemp("rm") / "cartpole", env_id=CARTPOLE)


def model_rewards(model, obs, action, next_obs, aggregation="mean"):
    with torch.no_grad():
        members = model.member_rewards(torch.as_tensor(obs), torch.as_tensor(action), torch.as_tensor(next_obs))
    from rewardgym.rewardmodels import aggregate

    return aggregate(members, aggregation, 1.0).numpy()


def test_single_env_made_with_a_saved_model_pays_its_rewards(saved):
    model, path = saved
    env = gym.make(CARTPOLE, reward=f"learned(path={str(path)!r})")
    obs, _ = env.reset(seed=0)
    for action in [0, 1, 1, 0, 1]:
        next_obs, proxy, _, _, info = env.step(action)
        expected = model_rewards(model, obs[None], np.array([action]), next_obs[None])[0]
        assert proxy == pytest.approx(float(expected), abs=1e-6)
        assert info["gold_reward"] == 1.0  # gold untouched
        assert list(info["reward_trace"]) == ["env", "learned"]
        assert info["regime_info"]["learned"]["std"] >= 0.0  # an ensemble reports its spread
        obs = next_obs


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_vector_env_pays_the_model_reward_of_the_real_transition(saved, mode):
    model, path = saved
    envs = gym.make_vec(
        CARTPOLE, num_envs=8, autoreset_mode=mode, reward=f"learned(path={str(path)!r}, aggregation='wco')"
    )
    obs, _ = envs.reset(seed=1)
    envs.action_space.seed(1)
    prev_done = np.zeros(8, bool)
    ended = 0
    for _ in range(60):
        actions = envs.action_space.sample()
        next_obs, proxy, terminated, truncated, info = envs.step(actions)
        real_next = next_obs.copy()
        if mode is AutoresetMode.SAME_STEP:
            real_next[info["_final_obs"]] = info["final_obs"][info["_final_obs"]]
        expected = model_rewards(model, obs, actions, real_next, "wco")
        real = ~prev_done if mode is AutoresetMode.NEXT_STEP else np.ones(8, bool)
        np.testing.assert_allclose(proxy[real], expected[real], atol=1e-6)
        env_reward = info["reward_trace"]["env"]
        np.testing.assert_array_equal(proxy[~real], env_reward[~real])  # autoreset steps pass through
        assert (info["gold_reward"][real] == 1.0).all()  # gold untouched by the layer
        prev_done = terminated | truncated
        ended += int(prev_done.sum())
        obs = next_obs
    assert ended > 0  # the loop did cross episode ends


def test_a_model_object_plugs_in_like_a_path(saved, cartpole_spaces):
    model, path = saved
    by_object = rewardgym.wrap(
        gym.make_vec(CARTPOLE, num_envs=4), learned(model=model, aggregation="uwo", uwo_lambda=2.0)
    )
    by_path = gym.make_vec(
        CARTPOLE, num_envs=4, reward=f"learned(path={str(path)!r}, aggregation='uwo', uwo_lambda=2.0)"
    )
    for envs in (by_object, by_path):
        envs.reset(seed=0)
    actions = np.array([0, 1, 0, 1])
    a, b = by_object.step(actions)[1], by_path.step(actions)[1]
    np.testing.assert_array_equal(a, b)
    mean = gym.make_vec(CARTPOLE, num_envs=4, reward=f"learned(path={str(path)!r})")
    mean.reset(seed=0)
    assert (a <= mean.step(actions)[1]).all()  # uwo pays at most the mean


def test_a_model_for_another_envs_spaces_is_refused_at_make(saved, cartpole_spaces):
    _, path = saved
    with pytest.raises(ValueError, match="made for rewardgym/CartPole-v0 .* but rewardgym/Pendulum-v0 has"):
        gym.make("rewardgym/Pendulum-v0", reward=f"learned(path={str(path)!r})")
    other = RewardModel(gym.spaces.Box(-1, 1, (2,)), gym.spaces.Discrete(3), hidden=(4,))
    with pytest.raises(ValueError, match="the given reward model was made for .* Discrete\\(3\\)"):
        rewardgym.wrap(gym.make(CARTPOLE), learned(model=other))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("learned()", "needs exactly one of path='<saved model>' or model="),
        ("learned(kind='online', ensemble=0)", "ensemble size must be an integer >= 1, got 0"),
        ("learned(kind='online', aggregation='max')", "unknown aggregation 'max'; valid aggregations: mean, wco, uwo"),
        ("learned(kind='online', temperature=0)", "temperature must be a finite number > 0, got 0"),
        ("learned(kind='online', temperature=-1.5)", "temperature must be a finite number > 0, got -1.5"),
        ("learned(kind='online', epsilon=2)", r"epsilon must be in \[0, 1\], got 2"),
        ("learned(kind='online', segment_length=50, query_every=10)", "query_every must be an integer >= 50, got 10"),
        ("learned(kind='online', query_decay=0)", r"query_decay must be in \(0, 1\], got 0"),
        ("learned(kind='model', path='x', aggregation='median')", "unknown aggregation 'median'"),
        ("learned(kind='online', sigma=1)", "learned\\(kind='online'\\) has no parameter 'sigma'"),
        ("learned(kind='offline')", "unknown kind 'offline' of regime 'learned'.*valid kinds: model, online"),
    ],
)
def test_bad_input_is_refused_by_name(spec, message):
    with pytest.raises(ValueError, match=message):
        gym.make(CARTPOLE, reward=spec)


def test_a_missing_saved_model_says_what_files_it_expects(tmp_path):
    with pytest.raises(FileNotFoundError, match="no reward model card at .*nothing.json"):
        gym.make(CARTPOLE, reward=f"learned(path={str(tmp_path / 'nothing')!r})")


def run_online(spec, steps, seed=0, num_envs=16):
    envs = gym.make_vec(CARTPOLE, num_envs=num_envs, reward=spec)
    envs.reset(seed=seed)
    envs.action_space.seed(seed)
    proxies = []
    for _ in range(steps):
        proxies.append(envs.step(envs.action_space.sample())[1])
    layer = envs.pipeline.regimes[0]
    return envs, layer, np.array(proxies)


ONLINE = "learned(kind='online', segment_length=25, query_every=40, queries=100, query_decay=0.5, min_queries=30, hidden=(32,), epochs=10, lr=0.003)"


def test_the_online_kind_improves_its_heldout_accuracy_while_the_env_runs():
    heldout = collect_pairs(CARTPOLE, 300, SyntheticLabeler(seed=5), segment_length=25, seed=1234)
    envs = gym.make_vec(CARTPOLE, num_envs=16, reward=ONLINE)
    envs.reset(seed=0)
    envs.action_space.seed(0)
    layer = envs.pipeline.regimes[0]
    accuracy = [pair_accuracy(layer.model, heldout)]
    for _ in range(3):
        for _ in range(40):
            _, proxy, _, _, info = envs.step(envs.action_space.sample())
        accuracy.append(pair_accuracy(layer.model, heldout))
    assert accuracy[0] == 0.5  # the untrained model pays 0 everywhere: every pair a tie
    assert accuracy[-1] >= 0.9
    assert layer.refreshes == 3
    assert layer.labels == 100 + 50 + 30  # 100, then decayed by half, floored at min_queries
    assert info["regime_info"]["learned"]["labels"] == 150  # reported before the refresh of this step


def test_the_online_kind_is_seeded_frozen_on_request_and_respects_its_budget(tmp_path):
    _, a, proxy_a = run_online(ONLINE, 90)
    _, b, proxy_b = run_online(ONLINE, 90)
    _, c, proxy_c = run_online(ONLINE, 90, seed=1)
    np.testing.assert_array_equal(proxy_a, proxy_b)
    assert not np.array_equal(proxy_a, proxy_c)
    assert (proxy_a[:40] == 0.0).all() and (proxy_a[41:] != 0.0).any()  # 0 until the first refresh
    _, budgeted, _ = run_online(ONLINE.replace("min_queries=30", "min_queries=30, budget=120"), 130)
    assert budgeted.labels == 120 and budgeted.refreshes == 2
    envs = gym.make_vec(CARTPOLE, num_envs=16, reward=ONLINE)
    envs.pipeline.regimes[0].train(False)
    envs.reset(seed=0)
    for _ in range(50):
        envs.step(envs.action_space.sample())
    assert envs.pipeline.regimes[0].labels == 0 and envs.pipeline.regimes[0].buffer.rows == 0


def test_an_online_model_saves_and_serves_as_a_frozen_model(tmp_path):
    envs, layer, _ = run_online(ONLINE.replace("query_decay=0.5", "query_decay=0.5, ensemble=2"), 41)
    path = layer.save(tmp_path / "online")
    card = read_model_card(path)
    assert card["env_id"] == CARTPOLE and card["labeler"]["reads"] == "gold"
    assert card["online"]["labels"] == 100 and card["ensemble"]["size"] == 2
    frozen = gym.make_vec(CARTPOLE, num_envs=16, reward=f"learned(path={str(path)!r})")
    live = gym.make_vec(CARTPOLE, num_envs=16, reward=[ModelReward(model=layer.model)])
    frozen.reset(seed=3)
    live.reset(seed=3)
    actions = np.arange(16) % 2
    np.testing.assert_array_equal(frozen.step(actions)[1], live.step(actions)[1])
    loaded = load_reward_model(path)
    assert isinstance(loaded, RewardEnsemble) and len(loaded) == 2


def test_kinds_are_registered_and_reprs_name_them(saved):
    assert {"model", "online"} <= set(KINDS)  # and the text kind "text_model"
    assert "learned" in rewardgym.registered_regimes()
    assert repr(learned("online")).startswith("OnlinePreferenceReward(kind='online'")
    assert isinstance(learned(path=str(saved[1])), ModelReward)


@pytest.mark.skipif(not cuda_simulated(), reason="device='cuda' runs under numba's CUDA simulator")
def test_cuda_batches_stay_torch_and_match_the_cpu(saved):
    _, path = saved
    spec = f"learned(path={str(path)!r})"
    gpu = gym.make_vec(CARTPOLE, num_envs=6, device="cuda", reward=spec)
    cpu = gym.make_vec(CARTPOLE, num_envs=6, device="cpu", reward=spec)
    gpu.reset(seed=0)
    cpu.reset(seed=0)
    actions = np.array([0, 1, 1, 0, 1, 0])
    proxy_gpu = gpu.step(torch.as_tensor(actions))[1]
    proxy_cpu = cpu.step(actions)[1]
    assert isinstance(proxy_gpu, torch.Tensor)
    np.testing.assert_allclose(proxy_gpu.numpy(), proxy_cpu, atol=1e-6)
    online = gym.make_vec(
        CARTPOLE,
        num_envs=6,
        device="cuda",
        reward="learned(kind='online', segment_length=5, query_every=10, queries=20)",
    )
    online.reset(seed=0)
    for _ in range(12):
        _, proxy, _, _, info = online.step(torch.as_tensor(actions))
    assert isinstance(proxy, torch.Tensor) and info["regime_info"]["learned"]["labels"] == 20


def test_online_layer_class_is_the_online_kind():
    assert KINDS["online"] is OnlinePreferenceReward


def test_online_refit_works_inside_an_agents_no_grad_rollout():
    # Agents step their envs under torch.no_grad(); the online refit must still train.
    envs = gym.make_vec(
        CARTPOLE, num_envs=6, reward="learned(kind='online', segment_length=5, query_every=10, queries=20)"
    )
    envs.reset(seed=0)
    actions = np.array([0, 1, 1, 0, 1, 0])
    with torch.no_grad():
        for _ in range(12):
            *_, info = envs.step(actions)
    assert info["regime_info"]["learned"]["labels"] == 20


def test_an_online_labelers_bias_past_the_observation_is_refused_when_the_env_is_made():
    # It used to be found at the first preference query, a refit into training.
    with pytest.raises(ValueError, match=r"bias=99 names observation dimension 99, but the env's observations have 4"):
        gym.make("rewardgym/CartPole-v0", reward="learned(kind='online', bias=99)")
