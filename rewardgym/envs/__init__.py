"""rewardgym's environments, one subpackage per modality; importing this registers them all."""

from rewardgym.envs.control import CONTROL_TASKS
from rewardgym.envs.registration import ENVS, EnvInfo, register_task

for _task in CONTROL_TASKS:
    register_task(_task)

__all__ = ["ENVS", "EnvInfo", "register_task"]
