"""The reward-spec grammar, the regime registry and their error messages."""

import ast

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


def test_a_parameter_given_twice_is_refused_by_name():
    with pytest.raises(RewardSpecError, match=r"parameter 'gamma' of regime 'shaped' is given twice"):
        parse_reward_spec("shaped(gamma=0.9, gamma=0.8)")


@pytest.mark.parametrize(
    "spec, message",
    [
        ("+".join(["scale"] * 50_000), r"characters long; the limit is 2000"),
        ("scale(factor=" + "-" * 100_000 + "1)", r"characters long; the limit is 2000"),
        ("+".join(["scale"] * 65), r"has 65 layers; the limit is 64"),
        ("scale(factor=" + "-" * 1_900 + "1)", r"nested 1903 deep; the limit is 64"),
        ("scale(factor=" + "[" * 100 + "]" * 100 + ")", r"nested \d+ deep; the limit is 64"),
    ],
)
def test_specs_longer_or_deeper_than_the_stated_bounds_are_refused(spec, message):
    with pytest.raises(RewardSpecError, match=message):
        parse_reward_spec(spec)
    # Within the bounds a long spec still parses.
    assert len(parse_reward_spec("+".join(["scale"] * 64))) == 64
    nested = "[" * 59 + "-1" + "]" * 59
    assert parse_reward_spec(f"scale(factor={nested})") == [("scale", {"factor": ast.literal_eval(nested)})]


@pytest.mark.parametrize("kind", [["potential"], {"potential": 1}, 3, None])
def test_a_kind_that_is_not_a_string_is_refused_by_name(kind):
    with pytest.raises(ValueError, match=r"the kind of regime 'shaped' must be a string.*valid kinds: potential"):
        resolve_reward_spec(f"shaped(kind={kind!r})")


@pytest.mark.parametrize("name", ["none", "None", "True", "lambda", "if"])
def test_names_a_spec_cannot_mean_a_regime_by_are_refused(name):
    class Nothing(Regime):
        def reward(self, batch):
            return batch.reward

    with pytest.raises(ValueError, match=rf"{name!r} is reserved"):
        rewardgym.register_regime(name, Nothing, override=True)
    assert name not in rewardgym.registered_regimes()
