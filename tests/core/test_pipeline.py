"""The pipeline: layer order, the trace, pass-through on autoreset steps, NaN refusal, updates."""

import numpy as np
import pytest
from rewardgym.core.pipeline import NonFiniteRewardError, RewardPipeline
from rewardgym.core.regime import CallableRegime, Regime
from rewardgym.core.transition import Transition
from rewardgym.wrappers.scale import Scale


def batch(reward, valid=None):
    reward = np.asarray(reward, dtype=np.float32)
    n = reward.shape[0]
    return Transition(
        obs=np.zeros((n, 2)),
        action=np.zeros(n, np.int64),
        next_obs=np.ones((n, 2)),
        reward=reward,
        terminated=np.zeros(n, bool),
        truncated=np.zeros(n, bool),
        valid=np.ones(n, bool) if valid is None else np.asarray(valid),
    )


def test_layers_apply_left_to_right_and_the_trace_explains_each():
    pipe = RewardPipeline([Scale(2.0), CallableRegime(lambda b: b.reward + 1, name="plus_one"), Scale(-1.0)])
    reward, trace, _ = pipe.apply(batch([1.0, 2.0]), {"env": np.array([1.0, 2.0], np.float32)})
    np.testing.assert_array_equal(reward, [-3.0, -5.0])
    assert list(trace) == ["env", "scale", "plus_one", "scale#2"]
    np.testing.assert_array_equal(trace["plus_one"], [3.0, 5.0])
    assert reward.dtype == np.float32


def test_autoreset_entries_pass_through_untouched():
    pipe = RewardPipeline([Scale(10.0)])
    reward, _, _ = pipe.apply(batch([1.0, 1.0, 1.0], valid=[True, False, True]))
    np.testing.assert_array_equal(reward, [10.0, 1.0, 10.0])


def test_nan_is_refused_and_the_guilty_layer_named():
    pipe = RewardPipeline([Scale(1.0), CallableRegime(lambda b: b.reward * np.nan, name="broken"), Scale(2.0)])
    with pytest.raises(NonFiniteRewardError, match="'broken' produced NaN"):
        pipe.apply(batch([1.0, 2.0]))


def test_a_nan_a_later_layer_replaces_is_still_caught_and_named():
    replaced = CallableRegime(lambda b: np.zeros_like(b.reward), name="replaces")
    pipe = RewardPipeline([CallableRegime(lambda b: b.reward * np.nan, name="broken"), replaced])
    with pytest.raises(NonFiniteRewardError, match="'broken' produced NaN"):
        pipe.apply(batch([1.0, 2.0]), {"env": np.array([1.0, 2.0], np.float32)})


@pytest.mark.parametrize("layers", [[], [Scale(2.0)]])
def test_a_nan_from_the_env_is_blamed_on_the_env(layers):
    nan = np.array([1.0, np.nan], np.float32)
    with pytest.raises(NonFiniteRewardError, match="'env' produced NaN"):
        RewardPipeline(layers).apply(batch(nan), {"env": nan})


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_rows_computed_in_the_kernel_are_checked_with_the_input_and_named(kind):
    """Fused layers' rows arrive computed; the input and each row are checked in order."""
    pipe = RewardPipeline([Scale(2.0), Scale(3.0), Scale(4.0)])
    ok = np.array([1.0, 2.0], np.float32)
    rows = np.stack([ok * 2, ok * 6, ok * 24])
    if kind == "torch":  # a torch batch on the CPU: checked on the device's path, read once
        torch = pytest.importorskip("torch")
        ok, rows = torch.from_numpy(ok), torch.from_numpy(rows)

    def batch_of(reward):
        plain = batch(np.asarray(reward))
        return plain._replace(reward=reward, valid=torch.ones(2, dtype=torch.bool)) if kind == "torch" else plain

    reward, trace, _ = pipe.apply(batch_of(ok), {"env": ok}, rows)
    assert list(trace) == ["env", "scale", "scale#2", "scale#3"]
    np.testing.assert_array_equal(np.asarray(reward), [24.0, 48.0])
    for row, name in [(1, "scale#2"), (2, "scale#3")]:
        broken = rows.clone() if kind == "torch" else rows.copy()
        broken[row, 1] = float("nan")
        broken[row + 1 :, 0] = float("nan")  # a later NaN: the first is blamed
        with pytest.raises(NonFiniteRewardError, match=f"'{name}' produced NaN"):
            pipe.apply(batch_of(ok), {"env": ok}, broken)
    nan = ok.clone() if kind == "torch" else ok.copy()
    nan[0] = float("nan")
    with pytest.raises(NonFiniteRewardError, match="'env' produced NaN"):
        pipe.apply(batch_of(nan), {"env": nan}, rows * float("nan"))


def test_a_nan_is_caught_on_the_step_its_layer_makes_it():
    # A delaying layer would carry it on to a later step; the layer that made it is named now.
    class Delay(Regime):
        name = "delay"

        def __init__(self):
            self.held = None

        def reward(self, b):
            out = np.zeros_like(b.reward) if self.held is None else self.held
            self.held = b.reward.copy()
            return out

    steps = iter([np.ones(2, np.float32), np.full(2, np.nan, np.float32)])
    pipe = RewardPipeline([CallableRegime(lambda b: next(steps), name="source"), Delay()])
    pipe.apply(batch([1.0, 1.0]))
    with pytest.raises(NonFiniteRewardError, match="'source' produced NaN"):
        pipe.apply(batch([1.0, 1.0]))


def test_complex_rewards_are_refused_not_cut_to_their_real_part():
    pipe = RewardPipeline([CallableRegime(lambda b: b.reward + 1j, name="complex")])
    with pytest.raises(ValueError, match="'complex' returned complex rewards"):
        pipe.apply(batch([1.0, 2.0]))


def test_wrong_shape_is_refused():
    pipe = RewardPipeline([CallableRegime(lambda b: 1.0, name="scalar")])
    with pytest.raises(ValueError, match="'scalar' returned shape \\(\\) for a batch of 2 envs"):
        pipe.apply(batch([1.0, 2.0]))


class Recorder(Regime):
    name = "recorder"

    def __init__(self):
        self.updates, self.resets = [], []

    def reward(self, b):
        return b.reward

    def update(self, b):
        self.updates.append(b.reward.copy())
        return {}

    def reset(self, mask=None, *, seed=None):
        self.resets.append((mask, seed))


def test_update_runs_only_while_training_and_sees_the_layer_input():
    recorder = Recorder()
    pipe = RewardPipeline([Scale(3.0), recorder])
    pipe.apply(batch([1.0]))
    recorder.train(False)
    pipe.apply(batch([1.0]))
    assert len(recorder.updates) == 1
    np.testing.assert_array_equal(recorder.updates[0], [3.0])


def test_each_layer_gets_its_own_reproducible_seed():
    first, second = Recorder(), Recorder()
    pipe = RewardPipeline([first, second])
    pipe.reset(seed=7)
    pipe.reset(seed=7)
    assert first.resets[0] == first.resets[1]
    assert first.resets[0][1] != second.resets[0][1]
    pipe.reset()
    assert first.resets[-1] == (None, None)


class Reporter(Regime):
    name = "reporter"

    def reward(self, b):
        return b.reward

    def info(self):
        return {"spent": np.array([0.5, 1.5])}


def test_layers_that_report_are_collected_by_name():
    _, _, reports = RewardPipeline([Scale(2.0), Reporter()]).apply(batch([1.0, 2.0]))
    assert list(reports) == ["reporter"]
    np.testing.assert_array_equal(reports["reporter"]["spent"], [0.5, 1.5])
