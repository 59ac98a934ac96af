"""The reward of completions under any reward spec: the verifier's score, then the regimes.

**Reward under a spec** (:class:`CompletionReward`): the verifier's score is the env reward, and
a reward spec (``"noisy(kind='flip', e_plus=0.2)"``, a regime, a callable, or a list) is applied
on top by the same :class:`~rewardgym.core.pipeline.RewardPipeline` as every other env. Regimes
see a :class:`~rewardgym.core.transition.Transition` whose ``obs`` and ``next_obs`` are the prompts
and ``action`` the completions (numpy object arrays of ``str``), every step terminal. Text regimes
build on :mod:`rewardgym.envs.text.answers` (:func:`~rewardgym.envs.text.answers.extract_answer`...) and on
:mod:`rewardgym.envs.text.vocab` for token windows.

Example:
    >>> scorer = CompletionReward("add", "scale(factor=2)")
    >>> scorer(["q"] * 2, ["<answer>3</answer>", "so 3."], ["3"] * 2).proxy.tolist()
    [2.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from rewardgym.core.arrays import Array
from rewardgym.core.pipeline import RewardPipeline
from rewardgym.core.regime import EnvContext
from rewardgym.core.spec import resolve_reward_spec
from rewardgym.core.transition import Transition
from rewardgym.envs.text.answers import (
    MAX_COMPLETION_CHARS,
    as_object_array,
    check_completions,
    check_fallback,
    check_max_chars,
    check_positive_int,
    score_completions,
    text_space,
)
from rewardgym.envs.text.tasks import family


class Scores(NamedTuple):
    """What :class:`CompletionReward` returns for a batch (float32 arrays of shape ``(n,)``)."""

    proxy: np.ndarray
    gold: np.ndarray
    trace: dict[str, np.ndarray]


class RegimeScorer:
    """A reward spec's regimes over batches of scored completions: the half of
    :class:`CompletionReward` that does not depend on how completions are scored.

    The regimes are bound once, to batches of ``batch_size`` (the first call's size when None);
    other sizes are processed in chunks of it, the last chunk padded with ``valid=False`` rows
    that regimes skip. Every completion ends its one-step episode, so regimes are reset after
    each chunk, as the vector shell does. :class:`CompletionReward` (text answers) and
    :class:`rewardgym.envs.code.rewards.CodeReward` (programs) score, then call :meth:`apply`.

    Args:
        reward: a reward spec: string, regime, callable of the transition batch, list, or None.
        env_id: the env the regimes are bound to.
        observation_space, action_space: the spaces the regimes are bound to.
        seed: seeds the regimes' noise.
        batch_size: the batch the regimes are bound to.

    Example:
        >>> space = text_space(64)
        >>> scorer = RegimeScorer("scale(factor=3)", env_id="rewardgym/TextCompletionAdd-v0",
        ...                       observation_space=space, action_space=space)
        >>> gold = np.array([1.0, 0.0], np.float32)
        >>> scorer.apply(["q", "q"], ["a", "b"], gold, gold).proxy.tolist()
        [3.0, 0.0]
    """

    def __init__(
        self,
        reward: Any = None,
        *,
        env_id: str,
        observation_space: Any,
        action_space: Any,
        seed: int | None = 0,
        batch_size: int | None = None,
    ) -> None:
        self.batch_size = None if batch_size is None else check_positive_int(batch_size, "batch_size")
        self.seed = seed
        self.pipeline = RewardPipeline(resolve_reward_spec(reward))
        self.env_id = env_id
        self.observation_space, self.action_space = observation_space, action_space
        self._bound = False

    def apply(self, prompts: list[str], completions: list[str], reward: np.ndarray, gold: np.ndarray) -> Scores:
        """The regimes' proxy of completions whose env reward is ``reward`` (gold ``gold``),
        float32 ``(n,)`` each; ``prompts`` are what the regimes see as observations."""
        if not self.pipeline.regimes:
            return Scores(reward.copy(), gold, {"env": reward.copy()})
        if not self._bound:
            self._bind(self.batch_size or max(1, len(prompts)))
        size = self.batch_size
        assert size is not None  # bound above
        proxies, traces = [], []
        for start in range(0, len(prompts), size):
            stop = min(len(prompts), start + size)
            proxy, trace = self._chunk(
                prompts[start:stop], completions[start:stop], reward[start:stop], gold[start:stop]
            )
            proxies.append(proxy)
            traces.append(trace)
        if not proxies:
            return Scores(reward.copy(), gold, {"env": reward.copy()})
        trace = {k: np.concatenate([t[k] for t in traces]) for k in traces[0]}
        return Scores(np.concatenate(proxies), gold, trace)

    def _bind(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.pipeline.bind(
            EnvContext(
                num_envs=batch_size,
                observation_space=self.observation_space,
                action_space=self.action_space,
                env_id=self.env_id,
            )
        )
        self.pipeline.reset(None, seed=self.seed)
        self._bound = True

    def _chunk(
        self, prompts: list[str], completions: list[str], reward: np.ndarray, gold: np.ndarray
    ) -> tuple[Array, dict]:
        n, size = len(prompts), self.batch_size
        assert size is not None  # bound before any chunk
        pad = size - n
        valid = np.ones(size, dtype=bool)
        if pad:
            valid[n:] = False
            prompts, completions = prompts + [""] * pad, completions + [""] * pad
            reward = np.concatenate([reward, np.zeros(pad, np.float32)])
            gold = np.concatenate([gold, np.zeros(pad, np.float32)])
        obs = as_object_array(prompts)
        done = np.ones(size, dtype=bool)
        batch = Transition(
            obs=obs,
            action=as_object_array(completions),
            next_obs=obs,
            reward=reward.copy(),
            terminated=done,
            truncated=np.zeros(size, dtype=bool),
            valid=valid,
            gold=gold,
        )
        proxy, trace, _ = self.pipeline.apply(batch, {"env": batch.reward})
        self.pipeline.reset(done)
        return proxy[:n], {k: np.asarray(v)[:n] for k, v in trace.items()}


class CompletionReward(RegimeScorer):
    """The reward of completions under a reward spec: verifier score, then the spec's regimes.

    The regimes are bound once, to batches of ``batch_size`` (the first call's size when None);
    other sizes are processed in chunks of it, the last chunk padded with ``valid=False`` rows
    that regimes skip. Every completion ends its one-step episode, so regimes are reset after
    each chunk, as the vector shell does.

    Args:
        task: the text task (for the regimes' ``env_id`` and spaces).
        env_id: the env the regimes are bound to, where the task is not a text task's
            (``rewardgym/ShapesVQA-v0``); the task's ``TextCompletion`` env if None.
        reward: a reward spec: string, regime, callable of the transition batch, list, or None
            for the verifier's score alone.
        seed: seeds the regimes' noise.
        fallback, max_chars: the extraction rules (:func:`extract_answer`).
        batch_size: the batch the regimes are bound to.

    Example:
        >>> scorer = CompletionReward("add", "scale(factor=2)")
        >>> out = scorer(["q", "q"], ["<answer>3</answer>", "<answer>4</answer>"], ["3", "3"])
        >>> out.proxy.tolist(), out.gold.tolist(), list(out.trace)
        ([2.0, 0.0], [1.0, 0.0], ['env', 'scale'])
    """

    def __init__(
        self,
        task: str,
        reward: Any = None,
        *,
        seed: int | None = 0,
        fallback: str = "last_token",
        max_chars: int = MAX_COMPLETION_CHARS,
        batch_size: int | None = None,
        env_id: str | None = None,
    ) -> None:
        self.task = task
        self.fallback = check_fallback(fallback)
        self.max_chars = check_max_chars(max_chars)
        space = text_space(self.max_chars)
        super().__init__(
            reward,
            env_id=env_id or f"rewardgym/TextCompletion{family(task).env_name}-v0",
            observation_space=space,
            action_space=space,
            seed=seed,
            batch_size=batch_size,
        )

    def __call__(self, prompts: Sequence[str], completions: Sequence[str], golds: Sequence[str]) -> Scores:
        prompts = check_completions(prompts, what="prompts")
        completions = check_completions(completions, len(prompts))
        golds = check_completions(golds, len(prompts), what="gold answers")
        gold = score_completions(completions, golds, fallback=self.fallback, max_chars=self.max_chars)
        return self.apply(prompts, completions, gold, gold)
