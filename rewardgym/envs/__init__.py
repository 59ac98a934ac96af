"""rewardgym's environments, one subpackage per modality; importing this registers them all."""

from rewardgym.envs.code import register_code_dsl_env, register_code_env
from rewardgym.envs.control import CONTROL_TASKS
from rewardgym.envs.gridworld import GRIDWORLD_TASKS
from rewardgym.envs.mujoco import register_mujoco_envs
from rewardgym.envs.multimodal import MULTIMODAL_TASKS, register_vqa_env
from rewardgym.envs.registration import ENVS, EnvInfo, register_task
from rewardgym.envs.text import register_text_envs

for _task in (*CONTROL_TASKS, *GRIDWORLD_TASKS, *MULTIMODAL_TASKS):
    register_task(_task)
register_text_envs()
register_vqa_env()
register_code_env()
register_code_dsl_env()
register_mujoco_envs()

__all__ = ["ENVS", "EnvInfo", "register_task"]
