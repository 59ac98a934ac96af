"""The ``model`` kind of ``learned``: a trained reward model pays the agent, frozen.

Example:
    >>> import gymnasium as gym, rewardgym
    >>> from rewardgym.rewardmodels import RewardModel
    >>> env = gym.make("rewardgym/CartPole-v0")
    >>> model = RewardModel(env.observation_space, env.action_space, hidden=(8,), seed=0)
    >>> env = rewardgym.wrap(env, ModelReward(model=model))
    >>> _ = env.reset(seed=0)
    >>> _, proxy, _, _, info = env.step(1)
    >>> proxy != info["gold_reward"], list(info["reward_trace"])
    (True, ['env', 'learned'])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rewardgym.core.regime import EnvContext, Regime
from rewardgym.rewardmodels import RewardEnsemble, RewardModel, check_spaces, load_reward_model
from rewardgym.wrappers.learned.base import RewardModelRegime

__all__ = ["ModelReward"]


class ModelReward(RewardModelRegime):
    """A trained reward model pays the agent, frozen (it never learns here).

    Give exactly one of ``path`` (a model saved by
    :func:`~rewardgym.rewardmodels.save_reward_model`; its card must record the env's spaces)
    or ``model`` (a :class:`~rewardgym.rewardmodels.RewardModel` or ``RewardEnsemble``).

    Args:
        path: the saved model (``<path>.safetensors`` with ``<path>.json`` beside it).
        model: a model object instead of a path.
        aggregation: override an ensemble's aggregation: ``"mean"``, ``"wco"`` or ``"uwo"``.
        uwo_lambda: override an ensemble's UWO variance weight, ``>= 0``.

    Raises:
        ValueError: at bind, when the model was made for other observation or action spaces.

    Example:
        >>> import gymnasium as gym, os, tempfile, rewardgym, rewardgym.wrappers.learned
        >>> from rewardgym.rewardmodels import RewardModel, save_reward_model
        >>> env = gym.make("rewardgym/CartPole-v0")
        >>> model = RewardModel(env.observation_space, env.action_space, hidden=(8,))
        >>> path = save_reward_model(model, os.path.join(tempfile.mkdtemp(), "rm"))
        >>> env = gym.make("rewardgym/CartPole-v0", reward=f"learned(path={str(path)!r})")
        >>> _ = env.reset(seed=0)
        >>> list(env.step(1)[4]["reward_trace"])
        ['env', 'learned']
        >>> gym.make("rewardgym/Pendulum-v0", reward=f"learned(path={str(path)!r})")
        Traceback (most recent call last):
        ...
        ValueError: reward model ... was made for an unnamed env (observation space Box(4,) float32, action space Discrete(2)), but rewardgym/Pendulum-v0 has observation space Box(3,) float32 and action space Box(1,) float32; a reward model only serves an env with the spaces it was trained on
    """

    kind = "model"
    training = False

    def __init__(
        self,
        path: str | None = None,
        model: RewardModel | RewardEnsemble | None = None,
        aggregation: str | None = None,
        uwo_lambda: float | None = None,
    ) -> None:
        super().__init__(aggregation, uwo_lambda)
        if (path is None) == (model is None):
            raise ValueError(
                "learned(kind='model') needs exactly one of path='<saved model>' or "
                f"model=<RewardModel or RewardEnsemble>, got path={path!r} and model={model!r}; "
                "for a model trained while the agent runs use learned(kind='online')"
            )
        if path is not None and not isinstance(path, (str, Path)):
            raise TypeError(f"learned(kind='model'): path must be a string, got {type(path).__name__}")
        if model is not None and not isinstance(model, (RewardModel, RewardEnsemble)):
            raise TypeError(
                f"learned(kind='model'): model must be a RewardModel or RewardEnsemble, got {type(model).__name__}"
            )
        self.path = path
        self.model = model
        if model is not None:
            model.eval().requires_grad_(False)

    def bind(self, context: EnvContext) -> None:
        self.context = context
        if self.path is not None:
            self.model = load_reward_model(
                self.path,
                observation_space=context.observation_space,
                action_space=context.action_space,
                env_id=context.env_id,
            )
        else:
            assert self.model is not None
            check_spaces(
                self.model.card,
                context.observation_space,
                context.action_space,
                env_id=context.env_id,
                source="the given reward model",
            )

    def train(self, mode: bool = True) -> Regime:
        # Frozen by design: the shells never call update on it, whatever the caller asks.
        self.training = False
        return self

    def info(self) -> dict[str, Any]:
        return {} if self._std is None else {"std": self._std}

    def __repr__(self) -> str:
        source = repr(str(self.path)) if self.path is not None else type(self.model).__name__
        return f"ModelReward(kind='model', source={source})"
