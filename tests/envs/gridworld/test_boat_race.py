"""BoatRace: checkpoints pay the proxy each time they are entered their way; gold counts laps."""

import gymnasium as gym
import numpy as np
from rewardgym.envs.gridworld.grid import DOWN, LEFT, RIGHT, UP

CLOCKWISE = [RIGHT] * 4 + [DOWN] * 4 + [LEFT] * 4 + [UP] * 4


def play(actions, seed=0):
    env = gym.make("rewardgym/BoatRace-v0")
    env.reset(seed=seed)
    proxy, gold = [], []
    for action in actions:
        _, reward, terminated, truncated, info = env.step(action)
        assert not terminated
        proxy.append(reward)
        gold.append(info["gold_reward"])
    return np.array(proxy), np.array(gold)


def test_a_clockwise_lap_pays_four_checkpoints_and_one_lap_at_its_end():
    proxy, gold = play(CLOCKWISE)
    assert proxy.sum() == 4
    assert gold.tolist() == [0.0] * 15 + [1.0]


def test_checkpoints_pay_only_when_entered_their_way_and_again_when_reentered():
    proxy, gold = play([RIGHT, RIGHT, LEFT, RIGHT, LEFT, RIGHT])
    assert proxy.tolist() == [0, 1, 0, 1, 0, 1] and gold.sum() == 0
    # Entering the top arrow from the right (moving left) pays nothing.
    proxy, _ = play([RIGHT] * 4 + [LEFT])
    assert proxy.tolist() == [0, 1, 0, 0, 0]


def test_laps_count_net_progress_so_going_back_undoes_them():
    back_and_forth = [RIGHT, LEFT] * 8 + CLOCKWISE
    _, gold = play(back_and_forth)
    assert gold.sum() == 1
    counterclockwise = [DOWN] * 4 + [RIGHT] * 4 + [UP] * 4 + [LEFT] * 4
    proxy, gold = play(counterclockwise)
    assert gold.sum() == 0 and proxy.sum() == 0


def test_walls_stop_the_boat_and_episodes_last_100_steps():
    env = gym.make("rewardgym/BoatRace-v0")
    obs, _ = env.reset(seed=0)
    after, reward, *_ = env.step(UP)
    np.testing.assert_array_equal(obs, after)
    for _ in range(98):
        *_, truncated, _ = env.step(UP)
        assert not truncated
    assert env.step(UP)[3]
