"""The PettingZoo shell: a reward spec on every agent of a ParallelEnv, batched over agents."""

import functools

import numpy as np
import pytest
import rewardgym
from gymnasium import spaces
from pettingzoo import ParallelEnv
from pettingzoo.classic.rps.rps import env as rps_aec_env
from pettingzoo.classic.rps.rps import parallel_env as rps_parallel_env
from pettingzoo.test import parallel_api_test
from pettingzoo.utils.conversions import aec_to_parallel
from rewardgym.core.pipeline import NonFiniteRewardError, layer_seed
from rewardgym.core.regime import Regime
from rewardgym.shells import ParallelRewardShell


class Recorder(Regime):
    """Passes the reward through and keeps its context and every batch and reset it was given."""

    name = "recorder"

    def __init__(self):
        self.batches, self.resets, self.context = [], [], None

    def bind(self, context):
        self.context = context

    def reward(self, batch):
        self.batches.append(batch)
        return batch.reward

    def reset(self, mask=None, *, seed=None):
        self.resets.append((None if mask is None else np.array(mask).tolist(), seed))


class Tiny(ParallelEnv):
    """A small, fully predictable ParallelEnv.

    Agent ``k`` of ``possible_agents`` sees ``[t, k]`` (``[t, k, 1]`` for a watcher, whose spaces
    differ) and is paid ``1 + k + action``; with ``gold=True`` it reports its own gold
    ``10 * (k + 1)``. ``unit`` multiplies the rewards. An agent with a lifetime terminates on that step; the rest are truncated at
    ``max_cycles``. ``nan_step``: the step on which the first agent is paid NaN.
    """

    metadata = {"name": "tiny_v0", "render_modes": []}

    def __init__(
        self, walkers=("a", "b"), watchers=(), lifetimes=None, max_cycles=4, gold=False, nan_step=None, unit=1.0
    ):
        self.possible_agents = [*walkers, *watchers]
        self.unit = unit
        self.lifetimes = dict(lifetimes or {})
        self.max_cycles, self.gold, self.nan_step = max_cycles, gold, nan_step
        walker_obs = spaces.Box(-np.inf, np.inf, (2,), np.float32)
        watcher_obs = spaces.Box(-np.inf, np.inf, (3,), np.float32)
        self.observation_spaces = {a: walker_obs if a in walkers else watcher_obs for a in self.possible_agents}
        self.action_spaces = {a: spaces.Discrete(3 if a in walkers else 2) for a in self.possible_agents}
        self.watchers = set(watchers)
        self.agents, self.t = [], 0

    @functools.cache  # noqa: B019  (the same object every call, as PettingZoo asks)
    def observation_space(self, agent):
        return self.observation_spaces[agent]

    @functools.cache  # noqa: B019
    def action_space(self, agent):
        return self.action_spaces[agent]

    def _obs(self, agent):
        k = self.possible_agents.index(agent)
        row = [self.t, k, 1] if agent in self.watchers else [self.t, k]
        return np.array(row, np.float32)

    def reset(self, seed=None, options=None):
        self.t, self.agents = 0, list(self.possible_agents)
        return {a: self._obs(a) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        self.t += 1
        obs, rewards, terminated, truncated, infos = {}, {}, {}, {}, {}
        for agent in self.agents:
            k = self.possible_agents.index(agent)
            obs[agent] = self._obs(agent)
            rewards[agent] = self.unit * (1 + k + int(actions[agent]))
            if self.nan_step == self.t and k == 0:
                rewards[agent] = float("nan")
            terminated[agent] = self.lifetimes.get(agent) == self.t
            truncated[agent] = not terminated[agent] and self.t >= self.max_cycles
            infos[agent] = {"gold_reward": 10.0 * (k + 1)} if self.gold else {}
        self.agents = [a for a in self.agents if not (terminated[a] or truncated[a])]
        return obs, rewards, terminated, truncated, infos


def run(env, steps, seed=0, action=1):
    """Reset with ``seed`` and step every live agent with ``action``; each step's results."""
    env.reset(seed=seed)
    out = []
    for _ in range(steps):
        out.append(env.step(dict.fromkeys(env.agents, action)))
    return out


def test_wrap_dispatches_to_the_parallel_shell_and_it_passes_pettingzoos_api_test():
    env = rewardgym.wrap(rps_parallel_env(), "scale(factor=2)")
    assert isinstance(env, ParallelRewardShell)
    parallel_api_test(env, num_cycles=100)
    parallel_api_test(rewardgym.wrap(Tiny(watchers=("w",), lifetimes={"a": 2}), "noisy"), num_cycles=10)


def test_rps_reward_is_scaled_and_its_own_reward_is_gold():
    env = rewardgym.wrap(rps_parallel_env(), "scale(factor=2)")
    bare = rps_parallel_env()
    env.reset(seed=0)
    bare.reset(seed=0)
    actions = {"player_0": 1, "player_1": 2}  # paper against scissors
    _, proxy, _, _, infos = env.step(actions)
    _, reward, *_ = bare.step(actions)
    assert proxy == {agent: 2.0 * r for agent, r in reward.items()} == {"player_0": -2.0, "player_1": 2.0}
    for agent, r in reward.items():
        assert infos[agent]["gold_reward"] == r
        assert infos[agent]["reward_trace"] == {"env": r, "scale": 2.0 * r}
        assert list(infos[agent]["reward_trace"]) == ["env", "scale"]


def test_an_envs_own_gold_passes_through_untouched():
    (step,) = run(rewardgym.wrap(Tiny(gold=True), "scale(factor=2)"), 1)
    _, proxy, _, _, infos = step
    assert proxy == {"a": 4.0, "b": 6.0}  # 2 * (1 + k + 1)
    assert {a: info["gold_reward"] for a, info in infos.items()} == {"a": 10.0, "b": 20.0}
    assert infos["a"]["reward_trace"] == {"env": 2.0, "scale": 4.0}


def test_a_foreign_envs_reward_is_its_gold_as_given():
    (step,) = run(rewardgym.wrap(Tiny(unit=0.1), "none"), 1, action=1)
    _, proxy, _, _, infos = step
    assert infos["a"]["gold_reward"] == 0.1 * 2 and infos["b"]["gold_reward"] == 0.1 * 3  # not float32-rounded
    assert proxy == {"a": float(np.float32(0.2)), "b": float(np.float32(0.3))}
    assert list(infos["a"]["reward_trace"]) == ["env"] and "regime_info" not in infos["a"]


def test_rewards_for_an_agent_outside_possible_agents_are_refused():
    class Ghostly(Tiny):
        def step(self, actions):
            obs, rewards, terminated, truncated, infos = super().step(actions)
            return obs, {**rewards, "ghost": 1.0}, terminated, truncated, infos

    env = rewardgym.wrap(Ghostly(), "scale")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="agent 'ghost', which is not in its possible_agents"):
        env.step({"a": 0, "b": 0})


def test_public_goods_gold_passes_through_while_the_reward_is_scaled():
    from rewardgym.envs.multiagent import public_goods_v0

    env = rewardgym.make_parallel("rewardgym/PublicGoods-v0", reward="scale(factor=2)")
    assert isinstance(env, ParallelRewardShell)
    bare = public_goods_v0.parallel_env()
    env.reset(seed=4)
    bare.reset(seed=4)
    for step in range(3):
        actions = {agent: (k + step) % 2 for k, agent in enumerate(bare.agents)}
        _, proxy, _, _, infos = env.step(actions)
        _, reward, _, _, bare_infos = bare.step(actions)
        for agent in reward:
            assert proxy[agent] == pytest.approx(2.0 * reward[agent])
            assert infos[agent]["gold_reward"] == bare_infos[agent]["gold_reward"]  # untouched
            assert infos[agent]["welfare"] == bare_infos[agent]["welfare"]
            assert infos[agent]["reward_trace"]["env"] == pytest.approx(reward[agent])
        assert {infos[a]["gold_reward"] for a in reward} != {reward[a] for a in reward}  # gold is not the reward
    parallel_api_test(rewardgym.make_parallel("rewardgym/PublicGoods-v0", reward="noisy"), num_cycles=200)


def test_regimes_see_one_row_per_agent_and_absent_agents_as_invalid_rows():
    recorder = Recorder()
    env = rewardgym.wrap(Tiny(lifetimes={"a": 2}, max_cycles=4), recorder)
    assert recorder.context.num_envs == 2 and recorder.context.action_space == spaces.Discrete(3)
    env.reset(seed=3)
    assert recorder.resets == [(None, layer_seed(3, 0))]
    steps = run(env, 4, seed=3, action=1)
    first, second, third, fourth = recorder.batches
    np.testing.assert_array_equal(first.obs, [[0, 0], [0, 1]])
    np.testing.assert_array_equal(first.next_obs, [[1, 0], [1, 1]])
    assert first.action.tolist() == [1, 1] and first.reward.tolist() == [2.0, 3.0]
    assert first.valid.tolist() == [True, True] and first.gold.tolist() == [2.0, 3.0]
    # Step 2 ends a's episode: its next_obs is its real final observation, and its row is reset.
    assert second.terminated.tolist() == [True, False]
    np.testing.assert_array_equal(second.next_obs, [[2, 0], [2, 1]])
    assert recorder.resets[2] == ([True, False], None)
    # Then a is absent: a valid=False row with its last observation and a zero reward.
    assert third.valid.tolist() == [False, True] and third.reward.tolist() == [0.0, 3.0]
    np.testing.assert_array_equal(third.next_obs, [[2, 0], [3, 1]])
    assert fourth.truncated.tolist() == [False, True] and not fourth.terminated.any()
    assert recorder.resets[-1] == ([False, True], None)
    assert set(steps[2][1]) == set(steps[2][4]) == {"b"}  # the env's keys, no more


def test_episode_returns_per_agent_when_its_episode_ends():
    env = rewardgym.wrap(Tiny(lifetimes={"a": 2}, max_cycles=4), "scale(factor=2)")
    steps = run(env, 4, action=0)
    infos = [step[4] for step in steps]
    assert "episode_returns" not in infos[0]["a"] and "episode_returns" not in infos[1]["b"]
    assert infos[1]["a"]["episode_returns"] == {"proxy": 4.0, "gold": 2.0, "gap": 2.0, "length": 2}
    assert infos[3]["b"]["episode_returns"] == {"proxy": 16.0, "gold": 8.0, "gap": 8.0, "length": 4}
    assert isinstance(infos[3]["b"]["episode_returns"]["length"], int)
    # A second episode starts from zero.
    steps = run(env, 2, action=0)
    assert steps[1][4]["a"]["episode_returns"] == {"proxy": 4.0, "gold": 2.0, "gap": 2.0, "length": 2}


def test_regime_state_is_per_agent():
    # delta_cap keeps each row's running sum: a (paid 2) and b (paid 3) hit the cap at their own pace.
    env = rewardgym.wrap(Tiny(max_cycles=3), "shaped(kind='delta_cap', cap=5.0)")
    steps = run(env, 3, action=1)
    assert [step[1] for step in steps] == [{"a": 2.0, "b": 3.0}, {"a": 2.0, "b": 2.0}, {"a": 1.0, "b": 0.0}]
    assert steps[1][4]["a"]["regime_info"]["shaped"] == {"episode_sum": 4.0, "removed": 0.0}
    assert steps[1][4]["b"]["regime_info"]["shaped"] == {"episode_sum": 5.0, "removed": 1.0}
    # The reset clears every row: the next episode is paid as the first.
    assert [step[1] for step in run(env, 3, action=1)] == [step[1] for step in steps]


def test_noise_differs_across_agents_and_groups_and_repeats_per_seed():
    def proxies(seed):
        env = rewardgym.wrap(Tiny(walkers=("a", "b"), watchers=("v", "w")), "noisy(sigma=1.0)")
        return [list(step[1].values()) for step in run(env, 3, seed=seed, action=0)]

    first = proxies(7)
    noise = np.array(first) - [1.0, 2.0, 3.0, 4.0]  # the env pays 1 + k
    assert len(np.unique(noise)) == noise.size  # every agent, in either group, draws its own
    assert proxies(7) == first
    assert proxies(8) != first


def test_agents_draw_as_the_rows_of_the_row_per_agent_vector_env():
    spec = "noisy(sigma=1.0)"
    env = rewardgym.make_parallel("rewardgym/PublicGoods-v0", reward=spec)
    envs = rewardgym.make_parallel_vec("rewardgym/PublicGoods-v0", num_envs=1, reward=spec)
    env.reset(seed=11)
    envs.reset(seed=11)
    for _ in range(3):
        _, proxy, *_ = env.step(dict.fromkeys(env.agents, 1))
        _, vector_proxy, *_ = envs.step(np.ones(envs.num_envs, np.int64))
        assert list(proxy.values()) == vector_proxy.tolist()


def test_unseeded_reset_keeps_the_streams_running():
    env = rewardgym.wrap(Tiny(), "noisy(sigma=1.0)")
    first = run(env, 1, seed=0)[0][1]
    assert run(env, 1, seed=None)[0][1] != first
    assert run(env, 1, seed=0)[0][1] == first


def test_heterogeneous_spaces_form_groups_each_with_its_own_pipeline():
    seen = []

    def record(batch):
        seen.append((batch.num_envs, batch.obs.shape, batch.action.tolist()))
        return batch.reward + 100.0

    env = rewardgym.wrap(Tiny(walkers=("a", "b"), watchers=("w",)), record)
    assert [group.agents for group in env.groups] == [["a", "b"], ["w"]]
    assert [group.first_row for group in env.groups] == [0, 2]
    (step,) = run(env, 1, action=1)
    assert sorted(seen) == [(1, (1, 3), [1]), (2, (2, 2), [1, 1])]
    assert step[1] == {"a": 102.0, "b": 103.0, "w": 104.0}
    assert step[4]["w"]["reward_trace"] == {"env": 4.0, "record": 104.0}


def test_one_regime_object_cannot_serve_two_groups():
    with pytest.raises(ValueError, match="layer 'recorder' is one Regime object.*2 groups"):
        rewardgym.wrap(Tiny(watchers=("w",)), Recorder())
    rewardgym.wrap(Tiny(), Recorder())  # one group: fine


def test_shaping_by_a_users_potential_uses_each_agents_observations():
    potential = rewardgym.make_regime("shaped", kind="potential", potential=lambda obs: obs[:, 0], gamma=1.0)
    env = rewardgym.wrap(Tiny(lifetimes={"a": 2}, max_cycles=3), potential)
    steps = run(env, 3, action=0)
    # Phi = t: +1 a step; a terminal state has Phi(s') = 0 (a's second step), a truncation keeps it.
    assert [step[1] for step in steps] == [{"a": 2.0, "b": 3.0}, {"a": 1.0 - 1.0, "b": 3.0}, {"b": 3.0}]
    assert steps[1][4]["a"]["regime_info"]["shaped"] == {"shaping": -1.0}


def test_nested_shells_extend_the_inner_trace():
    env = rewardgym.wrap(rewardgym.wrap(Tiny(), "scale(factor=2)"), "scale(factor=3)")
    (step,) = run(env, 1, action=0)
    assert step[1] == {"a": 6.0, "b": 12.0}
    assert step[4]["b"]["reward_trace"] == {"env": 2.0, "scale": 4.0, "scale#2": 12.0}
    assert step[4]["b"]["gold_reward"] == 2.0


def test_nan_rewards_are_refused_by_name():
    with pytest.raises(NonFiniteRewardError, match="'env'"):
        run(rewardgym.wrap(Tiny(nan_step=2), "scale"), 2)
    with pytest.raises(NonFiniteRewardError, match="'custom'"):
        run(rewardgym.wrap(Tiny(), lambda batch: batch.reward * np.nan), 1)


def test_aec_envs_are_refused_with_the_conversion_to_use():
    with pytest.raises(TypeError, match=r"pettingzoo\.utils\.conversions\.aec_to_parallel"):
        rewardgym.wrap(rps_aec_env(), "scale")
    with pytest.raises(TypeError, match="aec_to_parallel"):
        ParallelRewardShell(rps_aec_env(), "scale")
    converted = rewardgym.wrap(aec_to_parallel(rps_aec_env()), "scale(factor=2)")
    converted.reset(seed=0)
    assert converted.step({"player_0": 0, "player_1": 1})[1] == {"player_0": -2.0, "player_1": 2.0}
