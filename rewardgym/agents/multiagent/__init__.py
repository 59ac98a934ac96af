"""Agents for the multi-agent games: scripted floors and ceilings (``scripted``)."""

from rewardgym.agents.multiagent.scripted import MULTIAGENT_POLICIES, multiagent_policy

__all__ = ["MULTIAGENT_POLICIES", "multiagent_policy"]
