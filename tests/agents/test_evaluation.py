"""Evaluation scores the proxy with the training env's regimes as they stand, frozen: a reward that
learns while the agent trains is scored as trained, not as a fresh untrained copy would pay."""

import gymnasium as gym
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the envs)
from gymnasium.vector import AutoresetMode
from rewardgym.agents import train
from rewardgym.agents.evaluation import EVAL_SEED, evaluate, load_frozen_regimes, make_eval_envs, shell_regimes
from rewardgym.core.arrays import select_rows
from rewardgym.core.regime import Regime
from rewardgym.core.transition import Transition
from rewardgym.wrappers.learned import OnlinePreferenceReward

ENV = "rewardgym/CartPole-v0"
EPISODES = 4
# Small and quick: a refresh every 16 vector steps, on a small model.
ONLINE = {"query_every": 16, "segment_length": 8, "queries": 32, "epochs": 2, "hidden": (16, 16), "seed": 0}
FAST = {
    "ppo": {"num_envs": 8, "num_steps": 32},
    "sb3-ppo": {"n_envs": 4, "n_steps": 64, "n_epochs": 1, "batch_size": 128},
}


def replayed_proxy(predict, regime: Regime) -> np.ndarray:
    """Each evaluation episode's return under ``regime``, computed outside any shell: the episodes
    are played in an env without regimes (from the evaluation seeds) and every real transition is
    handed to ``regime.reward`` directly."""
    envs = gym.make_vec(ENV, num_envs=EPISODES, reward="none", autoreset_mode=AutoresetMode.SAME_STEP)
    obs, _ = envs.reset(seed=EVAL_SEED)
    regime.reset(None, seed=EVAL_SEED)
    totals, finished = np.zeros(EPISODES), np.zeros(EPISODES, dtype=bool)
    while not finished.all():
        actions = np.asarray(predict(obs))
        next_obs, reward, terminated, truncated, info = envs.step(actions)
        final = select_rows(info["_final_obs"], info["final_obs"], next_obs) if "final_obs" in info else next_obs
        batch = Transition(obs, actions, final, reward, terminated, truncated, valid=~finished)
        totals += np.where(finished, 0.0, regime.reward(batch))
        finished |= terminated | truncated
        obs = next_obs
    envs.close()
    return totals


@pytest.mark.parametrize("algo", ["ppo", "sb3-ppo"])
def test_evaluation_pays_what_the_trained_reward_pays_frozen(algo):
    # A regime object is used as it is by the training env, so after train() it holds the reward
    # as trained; make_eval_envs deep-copies it, untrained, for its own shell.
    online = OnlinePreferenceReward(**ONLINE)
    result = train(
        ENV, online, algo=algo, seed=0, total_steps=1024, hyperparams=FAST[algo], eval_every=512, eval_episodes=EPISODES
    )
    assert online.refreshes > 0 and not online.frozen and online.training  # the original still learns
    if algo == "ppo":
        predict = result.model.predict
    else:
        predict = lambda obs: result.model.predict(obs, deterministic=True)[0]  # noqa: E731
    # The last evaluation came after the last training step: the regime has not changed since.
    paid = replayed_proxy(predict, online.frozen_copy())
    assert result.final_proxy == pytest.approx(paid.mean(), rel=1e-5)
    # An untrained copy, what evaluation used to score with, pays 0 everywhere (its output layer
    # starts at zero); the trained one does not.
    untrained = OnlinePreferenceReward(**ONLINE)
    untrained.bind(online.context)
    assert (replayed_proxy(predict, untrained) == 0.0).all()
    assert abs(result.final_proxy) > 1.0
    # Every evaluation after the first refresh scores with the reward as trained by then.
    assert all(row["eval_proxy"] != 0.0 for row in result.curves)


def test_load_frozen_regimes_copies_the_regimes_as_they_stand_and_shares_nothing():
    spec = "scale(factor=2)+intrinsic(kind='count', normalize=False, seed=0)"
    training = gym.make_vec(ENV, num_envs=3, reward=spec)
    training.reset(seed=0)
    for _ in range(30):
        training.step(training.action_space.sample())
    envs = make_eval_envs(ENV, spec, num_envs=2)
    policy = lambda obs: (obs[:, 2] > 0).astype(np.int64)  # noqa: E731
    fresh = evaluate(policy, envs)["proxy"]
    copies = load_frozen_regimes(envs, shell_regimes(training))
    assert shell_regimes(envs) == copies
    assert all(c is not t and c.frozen and not c.training for c, t in zip(copies, shell_regimes(training)))
    trained = evaluate(policy, envs)["proxy"]
    # The counts came along: states visited in training pay less than they do to a fresh layer.
    assert (trained < fresh).all()
    for _ in range(30):  # training goes on; the copies do not change
        training.step(training.action_space.sample())
    np.testing.assert_array_equal(evaluate(policy, envs)["proxy"], trained)
    # Loading again takes the regimes as they stand now.
    load_frozen_regimes(envs, shell_regimes(training))
    assert (evaluate(policy, envs)["proxy"] < trained).all()


def test_load_frozen_regimes_refuses_other_regimes():
    training = gym.make_vec(ENV, num_envs=2, reward="scale(factor=2)")
    with pytest.raises(ValueError, match="are not those given"):
        load_frozen_regimes(make_eval_envs(ENV, "noisy(sigma=1.0)", num_envs=2), shell_regimes(training))
    with pytest.raises(ValueError, match="needs evaluation envs inside a reward shell"):
        load_frozen_regimes(gym.make_vec(ENV, num_envs=2).unwrapped, shell_regimes(training))
