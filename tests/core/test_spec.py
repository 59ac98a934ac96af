"""The reward-spec grammar, the regime registry and their error messages."""

import numpy as np
import pytest
import rewardgym
from rewardgym.core.regime import CallableRegime, Regime
from rewardgym.core.spec import RewardSpecError, parse_reward_spec, resolve_reward_spec
from rewardgym.wrappers.scale import Scale


def test_parses_layers_left_to_right_with_literal_values():
    assert parse_reward_spec("scale") == [("scale", {})]
    assert parse_reward_spec(" scale() ") == [("scale", {})]
    assert parse_reward_spec("a(x=1, y=-2.5)+b(s='t', l=[1, 2], d={'k': (1, None)})+c") == [
        ("a", {"x": 1, "y": -2.5}),
        ("b", {"s": "t", "l": [1, 2], "d": {"k": (1, None)}}),
        ("c", {}),
    ]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("", "non-empty"),
        ("scale(", "cannot parse"),
        ("scale(2.0)", "keyword arguments only"),
        ("scale(factor=__import__('os').getcwd())", "must be a Python literal"),
        ("scale(factor=x)", "must be a Python literal"),
        ("scale(**{'factor': 1})", r"'\*\*' is not allowed"),
        ("scale*2", "cannot read"),
        ("a.b(x=1)", "cannot read"),
    ],
)
def test_malformed_specs_are_refused_with_a_reason(spec, message):
    with pytest.raises(RewardSpecError, match=message):
        parse_reward_spec(spec)


def test_no_code_is_ever_evaluated(tmp_path):
    marker = tmp_path / "evaluated"
    with pytest.raises(RewardSpecError):
        parse_reward_spec(f"scale(factor=open({str(marker)!r}, 'w'))")
    assert not marker.exists()


def test_unknown_regime_names_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown reward regime 'scal' \(did you mean 'scale'\?\).*scale"):
        resolve_reward_spec("scal(factor=2)")


def test_unknown_parameter_names_the_valid_ones():
    with pytest.raises(ValueError, match=r"regime 'scale' has no parameter 'factr'.*valid parameters: factor"):
        resolve_reward_spec("scale(factr=2)")


@pytest.mark.parametrize("bad", ["'two'", "float('nan')", "True", "1e999"])
def test_invalid_parameter_values_are_refused(bad):
    with pytest.raises((ValueError, RewardSpecError), match="factor"):
        resolve_reward_spec(f"scale(factor={bad})")


def test_resolves_every_kind_of_spec_in_order():
    mine = Scale(factor=3.0)

    def bonus(batch):
        return batch.reward + 1

    regimes = resolve_reward_spec(["scale(factor=2)", mine, bonus, None, "scale+scale"])
    assert [type(r) for r in regimes] == [Scale, Scale, CallableRegime, Scale, Scale]
    assert regimes[1] is mine
    assert regimes[2].name == "bonus"
    assert resolve_reward_spec(None) == []
    with pytest.raises(TypeError, match="reward spec must be"):
        resolve_reward_spec(3.5)


def test_register_regime_makes_a_name_usable_and_guards_duplicates():
    class Offset(Regime):
        name = "offset_for_test"

        def __init__(self, by: float = 1.0):
            self.by = by

        def reward(self, batch):
            return batch.reward + self.by

    rewardgym.register_regime("offset_for_test", Offset, override=True)
    (regime,) = resolve_reward_spec("offset_for_test(by=0.25)")
    assert isinstance(regime, Offset) and regime.by == 0.25
    assert "offset_for_test" in rewardgym.registered_regimes()
    with pytest.raises(ValueError, match="already registered"):
        rewardgym.register_regime("offset_for_test", Offset)
    with pytest.raises(ValueError, match="identifier"):
        rewardgym.register_regime("not a name", Offset)
    rewardgym.register_regime("not_a_regime_for_test", lambda: 3, override=True)
    with pytest.raises(TypeError, match="not a Regime"):
        rewardgym.make_regime("not_a_regime_for_test")


def test_lambda_regimes_get_a_readable_name():
    (regime,) = resolve_reward_spec(lambda batch: batch.reward)
    assert regime.name == "custom"
    with pytest.raises(TypeError, match="callable"):
        CallableRegime(np.zeros(2))
