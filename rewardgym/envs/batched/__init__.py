"""The numba engine behind rewardgym's batched envs: tasks, kernels, vector and single envs."""

from rewardgym.envs.batched.single_env import BatchedEnv
from rewardgym.envs.batched.task import BatchedTask
from rewardgym.envs.batched.vector_env import BatchedVectorEnv, parse_autoreset_mode

__all__ = ["BatchedEnv", "BatchedTask", "BatchedVectorEnv", "parse_autoreset_mode"]
