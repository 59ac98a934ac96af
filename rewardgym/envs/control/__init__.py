"""Classic control tasks whose dynamics, rewards and time limits equal gymnasium's."""

from rewardgym.envs.control.cartpole import CARTPOLE

CONTROL_TASKS = (CARTPOLE,)

__all__ = ["CARTPOLE", "CONTROL_TASKS"]
