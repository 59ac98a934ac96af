"""Text tasks with verifiable answers, at token level and at completion level.

- :mod:`~rewardgym.envs.text.tasks`: the procedural task families and their datasets;
- :mod:`~rewardgym.envs.text.vocab`: the character vocabulary of the token envs;
- :mod:`~rewardgym.envs.text.token_env`: ``rewardgym/Text<Task>-v0``, one token per step;
- :mod:`~rewardgym.envs.text.completion_env`: ``rewardgym/TextCompletion<Task>-v0``, one
  completion per episode;
- :mod:`~rewardgym.envs.text.answers`: answer extraction, the gold verifier, format checks;
- :mod:`~rewardgym.envs.text.rewards`: the reward of completions under any reward spec;
- :mod:`~rewardgym.envs.text.adapters`: those rewards as TRL, verl and OpenRLHF reward functions;
- :mod:`~rewardgym.envs.text.scripted`: scripted reference agents (oracle, random, format-only,
  hacker) at both levels, which the text reward models also draw completions from.

Example:
    >>> import gymnasium as gym
    >>> _ = register_text_envs()
    >>> sorted(i for i in gym.registry if i.startswith("rewardgym/Text"))[:3]
    ['rewardgym/TextAdd-v0', 'rewardgym/TextChain-v0', 'rewardgym/TextCompletionAdd-v0']
"""

from __future__ import annotations

from typing import cast

import gymnasium as gym

from rewardgym.envs.text.tasks import FAMILIES, TASKS, TaskDataset

__all__ = ["TASKS", "TaskDataset", "register_text_envs", "text_env_ids"]


def text_env_ids() -> dict[str, tuple[str, str]]:
    """Each task's ``(token env id, completion env id)``."""
    return {
        name: (f"rewardgym/Text{fam.env_name}-v0", f"rewardgym/TextCompletion{fam.env_name}-v0")
        for name, fam in FAMILIES.items()
    }


def register_text_envs() -> list[str]:
    """Register every text env with gymnasium and ``rewardgym list``; returns their ids.

    Calling it again is harmless. Each task gets ``rewardgym/Text<Task>-v0`` (token level; kwargs
    ``difficulty``, ``max_new_tokens``, ``reward``, ``max_episode_steps``, ``render_mode``
    (``"rgb_array"``: the window drawn as text), and for ``make_vec`` ``num_envs``, ``device``,
    ``autoreset_mode``) and ``rewardgym/TextCompletion<Task>-v0``
    (completion level; kwargs ``difficulty``, ``reward``, ``fallback``, ``max_chars``, and for
    ``make_vec`` ``num_envs``, ``autoreset_mode``).
    """
    from rewardgym.envs.registration import ENVS, EnvInfo, describe_space
    from rewardgym.envs.text.completion_env import completion_spaces
    from rewardgym.envs.text.token_env import TokenParams, token_task

    ids = []
    for name, (token_id, completion_id) in text_env_ids().items():
        task = token_task(name)
        for env_id, module, kind in (
            (token_id, "token_env", "token"),
            (completion_id, "completion_env", "completion"),
        ):
            if env_id not in gym.registry:
                gym.register(
                    id=env_id,
                    entry_point=f"rewardgym.envs.text.{module}:make_{kind}_env",
                    vector_entry_point=f"rewardgym.envs.text.{module}:make_{kind}_vector_env",
                    # Episodes end by the task's own rules, seen by the reward regimes.
                    max_episode_steps=None,
                    kwargs={"task": name},
                )
            ids.append(env_id)
        ENVS[token_id] = EnvInfo(
            env_id=token_id,
            modality="text",
            observation_space=describe_space(task.observation_space) + " token ids (difficulty 1)",
            action_space=describe_space(task.action_space) + " next token",
            gold=task.gold,
            max_episode_steps=cast(TokenParams, task.params).max_new_tokens,
            reference=task.reference,
        )
        observation, action = completion_spaces()
        ENVS[completion_id] = EnvInfo(
            env_id=completion_id,
            modality="text",
            observation_space=f"Text(<= {observation.max_length} chars) question",
            action_space=f"Text(<= {action.max_length} chars) completion",
            gold="1 if the answer in <answer></answer> tags equals the verifier's exactly, else 0",
            max_episode_steps=1,
            reference=task.reference,
        )
    return ids
