"""The reward contract: transitions, regimes, specs, the pipeline and the info keys."""

from rewardgym.core.checks import VectorEnvCheckError, check_vector_env
from rewardgym.core.info import (
    EPISODE_RETURNS,
    FINAL_OBS,
    GOLD_REWARD,
    REGIME_INFO,
    REWARD_TRACE,
)
from rewardgym.core.pipeline import NonFiniteRewardError, RewardPipeline
from rewardgym.core.regime import CallableRegime, EnvContext, Regime, RewardFn
from rewardgym.core.registry import (
    make_kind,
    make_regime,
    regime_parameters,
    register_regime,
    registered_regimes,
)
from rewardgym.core.spec import (
    RewardSpec,
    RewardSpecError,
    parse_reward_spec,
    resolve_reward_spec,
)
from rewardgym.core.threading_layer import load_tbb
from rewardgym.core.transition import Transition

# On import, before any of the package's parallel kernels starts numba's threads (defining a kernel
# starts none): numba then finds the TBB runtime the tbb wheel installs (threading_layer.py: why).
load_tbb()

__all__ = [
    "EPISODE_RETURNS",
    "FINAL_OBS",
    "GOLD_REWARD",
    "REGIME_INFO",
    "REWARD_TRACE",
    "CallableRegime",
    "EnvContext",
    "NonFiniteRewardError",
    "Regime",
    "RewardFn",
    "RewardPipeline",
    "RewardSpec",
    "RewardSpecError",
    "Transition",
    "VectorEnvCheckError",
    "check_vector_env",
    "make_kind",
    "make_regime",
    "parse_reward_spec",
    "regime_parameters",
    "register_regime",
    "registered_regimes",
    "resolve_reward_spec",
]
