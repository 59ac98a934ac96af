"""The ``text_model`` kind of ``learned``: a transformer reward model of (question, completion),
frozen.

Example:
    >>> TextModelReward.name
    'learned'
"""

from __future__ import annotations

from pathlib import Path

from gymnasium import spaces

from rewardgym.core.arrays import Array
from rewardgym.core.regime import EnvContext, Regime
from rewardgym.core.transition import Transition
from rewardgym.envs.text.answers import as_strings
from rewardgym.rewardmodels.text import TextRewardModel, load_text_reward_model

__all__ = ["TextModelReward"]


class TextModelReward(Regime):
    """A trained :class:`~rewardgym.rewardmodels.text.TextRewardModel` pays the agent, frozen.

    Give exactly one of ``path`` (saved by
    :func:`~rewardgym.rewardmodels.text.save_text_reward_model`) or ``model``. It reads the
    question (``obs``) and the completion (``action``) only, never gold.

    Example:
        >>> from rewardgym.rewardmodels.text import TextRewardModel
        >>> from rewardgym.envs.text.rewards import CompletionReward
        >>> model = TextRewardModel(d_model=8, layers=1, heads=1, max_tokens=32)
        >>> out = CompletionReward("add", TextModelReward(model=model))(["1+2="], ["<answer>3</answer>"], ["3"])
        >>> bool(out.proxy[0] == model.reward(["1+2="], ["<answer>3</answer>"])[0]), out.gold.tolist()
        (True, [1.0])
    """

    name = "learned"
    training = False

    def __init__(self, path: str | None = None, model: TextRewardModel | None = None) -> None:
        if (path is None) == (model is None):
            raise ValueError(
                "learned(kind='text_model') needs exactly one of path='<saved TextRewardModel>' or "
                f"model=<TextRewardModel>, got path={path!r} and model={model!r}"
            )
        if path is not None and not isinstance(path, (str, Path)):
            raise TypeError(f"learned(kind='text_model'): path must be a string, got {type(path).__name__}")
        if model is not None and not isinstance(model, TextRewardModel):
            raise TypeError(f"learned(kind='text_model'): model must be a TextRewardModel, got {type(model).__name__}")
        self.path, self.model = path, model

    def bind(self, context: EnvContext) -> None:
        if not isinstance(context.action_space, spaces.Text):
            raise ValueError(
                f"learned(kind='text_model') serves completion envs (Text actions), but "
                f"{context.env_id or 'this env'} has action space {context.action_space}"
            )
        self._loaded()

    def reward(self, batch: Transition) -> Array:
        return self._loaded().reward(as_strings(batch.obs).tolist(), as_strings(batch.action).tolist())

    def train(self, mode: bool = True) -> Regime:
        self.training = False  # frozen by design
        return self

    def _loaded(self) -> TextRewardModel:
        """The model, loaded from ``path`` the first time it is needed."""
        if self.model is None:
            assert self.path is not None  # the constructor took exactly one of path and model
            self.model = load_text_reward_model(self.path)
        return self.model
