"""The scripted text agents, where users of ``rewardgym.agents`` look for them.

They live with the text envs, in :mod:`rewardgym.envs.text.scripted`, because the reward models
and regimes below the agents' layer draw reference completions from them (oracle, hacker...).

Example:
    >>> from rewardgym.agents.text_scripted import completion_agent
    >>> completion_agent("oracle", "add").act(["Add the two numbers.\\n12+34=\\n"])
    ['<answer>46</answer>']
"""

from rewardgym.envs.text.scripted import KINDS, completion_agent, token_agent

__all__ = ["KINDS", "completion_agent", "token_agent"]
