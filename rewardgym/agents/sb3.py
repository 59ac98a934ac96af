"""The SB3 adapter: any rewardgym vector env as a stable-baselines3 ``VecEnv``, stepped as one batch.

:class:`SB3VecEnv` wraps a ``gymnasium.vector.VectorEnv`` (a rewardgym env with or without reward
regimes, or anyone's vector env) and speaks SB3's ``VecEnv`` protocol:

- one ``envs.step`` per SB3 step, with no per-env Python loop; only the envs whose episode just
  ended get an info dict of their own (SB3 wants a list of ``num_envs`` dicts: the others share
  one empty, read-only dict);
- SB3's autoreset: the observation returned where an episode ended is the next episode's first,
  the real last one is in ``info["terminal_observation"]``, and ``info["TimeLimit.truncated"]``
  says a time limit (not a terminal state) ended it. The env's SAME_STEP autoreset mode is used
  when it has one; otherwise the adapter resets the ended envs itself, in one masked reset;
- ``seed()``, ``set_options()`` and ``reset_infos`` as in SB3's own vector envs;
- at an episode's end ``info["episode"] = {"r": proxy return, "l": length, "t": seconds,
  "gold": gold return}`` (what SB3's ``Monitor`` puts there, so ``rollout/ep_rew_mean`` is the
  proxy return without a monitor wrapper) and ``info["episode_returns"]``, rewardgym's
  ``{"proxy", "gold", "gap", "length"}``; every finished episode also lands in
  :attr:`SB3VecEnv.episodes`, which :class:`EpisodeReturnsLogger` reads to log
  ``rollout/ep_proxy_mean``, ``rollout/ep_gold_mean`` and ``rollout/ep_gap_mean``.

The per-step gold reward of every env is in :attr:`SB3VecEnv.last_info` (the vector env's info
dict of the last step), not in the per-env infos, which would need a dict per env and step.

:func:`sb3_arguments` turns the shipped reference hyperparameters (rl-baselines3-zoo's, in
``rewardgym/agents/hyperparams/sb3-*.yaml``) into an SB3 algorithm's constructor arguments, and
:func:`sb3_policy` picks the policy for the observation space: ``MultiInputPolicy`` for a ``Dict``
(an image and an instruction), ``CnnPolicy`` for an image (``obs_mode="pixels"``), with rewardgym's
CNN (:class:`ImageCNN`) where an image is under the 36 pixels a side that SB3's NatureCNN needs.
Observations may be ``Dict`` ones: the adapter hands SB3 a dict of batches, as SB3 expects.

Example:
    >>> import rewardgym
    >>> from rewardgym.agents.sb3 import make_sb3_env
    >>> venv = make_sb3_env("rewardgym/CartPole-v0", num_envs=4, reward="scale(factor=2)")
    >>> _ = venv.seed(0)
    >>> obs = venv.reset()
    >>> obs, rewards, dones, infos = venv.step(np.zeros(4, dtype=np.int64))
    >>> obs.shape, rewards.tolist(), len(infos)
    ((4, 4), [2.0, 2.0, 2.0, 2.0], 4)
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.preprocessing import get_flattened_obs_dim, is_image_space_channels_first
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.vec_env import VecEnv
from torch import nn

from rewardgym.core import nets
from rewardgym.core.arrays import is_torch, select_rows, to_numpy
from rewardgym.core.info import EPISODE_RETURNS, FINAL_OBS, mask_key
from rewardgym.core.spec import RewardSpec
from rewardgym.core.validation import is_integer
from rewardgym.shells import VectorRewardShell

TERMINAL_OBS = "terminal_observation"
"""SB3's info key for the real last observation of an episode that ended (then autoreset)."""

TIME_LIMIT_TRUNCATED = "TimeLimit.truncated"
"""SB3's info key: the episode ended by a time limit, not in a terminal state (bootstrap it)."""

_NOT_PER_ENV = {FINAL_OBS, "final_info"}
"""Vector-info keys that the adapter turns into SB3's own keys rather than copying per env."""


class _SharedEmptyInfo(dict):
    """The info of every env whose episode goes on: one empty dict shared by all, so read-only."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(
            "this info dict is shared by every env whose episode did not end on this step and "
            "is read-only; copy it first (info = dict(info))"
        )

    __setitem__ = __delitem__ = __ior__ = _refuse  # type: ignore[assignment]
    update = setdefault = pop = popitem = clear = _refuse  # type: ignore[assignment]


NO_INFO: dict = _SharedEmptyInfo()
"""The info dict of the envs whose episode did not end on a step (shared, read-only)."""


class EpisodeLog:
    """The returns of the last ``capacity`` finished training episodes, for any number of readers.

    Each reader keeps its own cursor (the number of episodes it has seen): :meth:`since` returns
    what finished after it, so a logger and a training loop can both read without stealing each
    other's episodes. A reader that falls more than ``capacity`` episodes behind loses the oldest.

    Example:
        >>> log = EpisodeLog(capacity=4)
        >>> log.add(np.array([1.0, 2.0]), np.array([1.0, 1.5]), np.array([10.0, 20.0]))
        >>> episodes, cursor = log.since(0)
        >>> episodes["proxy"].tolist(), episodes["gap"].tolist(), cursor
        ([1.0, 2.0], [0.0, 0.5], 2)
        >>> log.since(cursor)[0]["gold"].size
        0
    """

    FIELDS = ("proxy", "gold", "length")

    def __init__(self, capacity: int = 65_536) -> None:
        self.capacity = int(capacity)
        self.total = 0
        """Episodes added since the log began (a reader's cursor counts against it)."""
        self._ring = np.zeros((len(self.FIELDS), self.capacity))

    def add(self, proxy: np.ndarray, gold: np.ndarray, length: np.ndarray) -> None:
        """Append finished episodes (equal-length 1-d arrays)."""
        count = len(proxy)
        if count == 0:
            return
        rows = np.stack([proxy, gold, length])[:, -self.capacity :]
        where = (self.total + count - rows.shape[1] + np.arange(rows.shape[1])) % self.capacity
        self._ring[:, where] = rows
        self.total += count

    def since(self, cursor: int) -> tuple[dict[str, np.ndarray], int]:
        """The episodes that finished after ``cursor`` episodes, and the new cursor."""
        start = max(int(cursor), self.total - self.capacity, 0)
        return self._episodes(start), self.total

    def last(self, count: int) -> dict[str, np.ndarray]:
        """The last ``count`` finished episodes (fewer if fewer finished)."""
        return self._episodes(max(self.total - min(count, self.capacity), 0))

    def _episodes(self, start: int) -> dict[str, np.ndarray]:
        rows = self._ring[:, np.arange(start, self.total) % self.capacity]
        proxy, gold, length = rows
        return {"proxy": proxy, "gold": gold, "gap": proxy - gold, "length": length}


class SB3VecEnv(VecEnv):
    """A ``gymnasium.vector.VectorEnv`` as a stable-baselines3 ``VecEnv`` (see the module doc).

    Args:
        envs: the vector env. An env without a reward shell (no ``info["episode_returns"]``) is
            wrapped in an empty one (``rewardgym.wrap(envs, [])``), so gold and proxy episode
            returns are always reported. On ``device="cuda"`` its torch outputs are copied to
            numpy for SB3.
        clip_actions: clip Box actions to the action space's bounds before stepping. SB3's
            algorithms already clip or squash them; this absorbs rounding a hair outside the
            bounds, which rewardgym's envs refuse.

    Attributes:
        envs: the vector env stepped.
        episodes: an :class:`EpisodeLog` of every finished episode's proxy and gold return.
        last_info: the vector env's info dict of the last step (``gold_reward``, ``reward_trace``
            for every env, as ``(num_envs,)`` batches).
    """

    def __init__(self, envs: gym.vector.VectorEnv, *, clip_actions: bool = True) -> None:
        if isinstance(envs, VecEnv):
            raise TypeError("SB3VecEnv wraps a gymnasium.vector.VectorEnv, got an SB3 VecEnv already")
        if not isinstance(envs, gym.vector.VectorEnv):
            raise TypeError(
                f"SB3VecEnv wraps a gymnasium.vector.VectorEnv (e.g. gym.make_vec('rewardgym/"
                f"CartPole-v0', num_envs=8)), got {type(envs).__name__}"
            )
        if not _has_reward_shell(envs):
            envs = VectorRewardShell(envs, [])
        self.envs = envs
        self.autoreset_mode = envs.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        self.episodes = EpisodeLog()
        self.last_info: dict[str, Any] = {}
        self.spec = envs.spec
        super().__init__(envs.num_envs, _sb3_observation_space(envs.single_observation_space), envs.single_action_space)
        # What SB3 sees, emulated or not (SB3 types metadata as render modes only).
        cast(dict[str, Any], self.metadata)["autoreset_mode"] = AutoresetMode.SAME_STEP
        space = self.action_space
        self._clip = (space.low, space.high) if clip_actions and isinstance(space, spaces.Box) else None
        self._actions: Any = None
        self._start = time.perf_counter()

    # -- SB3's VecEnv protocol ----------------------------------------------------------------

    def reset(self) -> Any:
        # A list of seeds is valid for gymnasium's vector envs and rewardgym's; the stubs say int only.
        seed: Any = self._seed_argument()
        obs, info = self.envs.reset(seed=seed, options=self._options_argument())
        self.reset_infos = _per_env_infos(info, np.arange(self.num_envs), self.num_envs)
        self._reset_seeds()
        self._reset_options()
        return _obs_numpy(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> tuple[Any, np.ndarray, np.ndarray, list[dict]]:
        actions = self._actions
        if self._clip is not None:
            actions = np.clip(actions, *self._clip)
        obs, reward, terminated, truncated, info = self.envs.step(actions)
        self.last_info = info
        obs = _obs_numpy(obs)
        reward = np.array(to_numpy(reward), dtype=np.float32)  # a copy: SB3 may keep it
        terminated = to_numpy(terminated)
        truncated = to_numpy(truncated)
        dones = terminated | truncated
        infos = [NO_INFO] * self.num_envs
        if dones.any():
            obs = self._finish_episodes(obs, terminated, truncated, dones, info, infos)
        return obs, reward, dones, infos

    def _finish_episodes(
        self,
        obs: Any,
        terminated: np.ndarray,
        truncated: np.ndarray,
        dones: np.ndarray,
        info: dict[str, Any],
        infos: list[dict],
    ) -> Any:
        """Fill the infos of the envs that finished (and reset them if the env did not)."""
        ended = np.flatnonzero(dones)
        if self.autoreset_mode is AutoresetMode.SAME_STEP:
            final_obs = _obs_rows(info[FINAL_OBS], ended)
        else:
            # NEXT_STEP or DISABLED: ``obs`` is the real final one; reset the ended envs now, in
            # one masked reset, so SB3 gets the next episode's first observation at once.
            final_obs = _obs_rows(obs, ended)
            reset_obs, reset_info = self.envs.reset(options={"reset_mask": dones})
            reset_np = _obs_numpy(reset_obs)
            if isinstance(obs, dict):
                obs = {key: select_rows(dones, reset_np[key], value) for key, value in obs.items()}
            else:
                obs = cast(np.ndarray, select_rows(dones, reset_np, obs))
            for i, reset_env_info in zip(ended.tolist(), _per_env_infos(reset_info, ended, self.num_envs)):
                self.reset_infos[i] = reset_env_info
        per_env = _per_env_infos(info, ended, self.num_envs, skip=_NOT_PER_ENV)
        episode = info[EPISODE_RETURNS]
        proxy, gold, length = (_rows(episode[key], ended) for key in ("proxy", "gold", "length"))
        self.episodes.add(proxy, gold, length)
        elapsed = round(time.perf_counter() - self._start, 6)
        time_limit = (truncated[ended] & ~terminated[ended]).tolist()
        for j, (i, r, g, n) in enumerate(zip(ended.tolist(), proxy.tolist(), gold.tolist(), length.tolist())):
            env_info = per_env[j]
            env_info[TERMINAL_OBS] = (
                {key: value[j] for key, value in final_obs.items()} if isinstance(final_obs, dict) else final_obs[j]
            )
            env_info[TIME_LIMIT_TRUNCATED] = time_limit[j]
            env_info["episode"] = {"r": r, "l": int(n), "t": elapsed, "gold": g}
            infos[i] = env_info
        return obs

    def close(self) -> None:
        self.envs.close()

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        """An attribute of the vector env, once per selected env (one object holds every env)."""
        targets = self._indices(indices)
        per_env = getattr(self.envs, "get_attr", None)
        if callable(per_env):  # gymnasium's Sync/AsyncVectorEnv keep real per-env objects
            values = per_env(attr_name)
            return [values[i] for i in targets]
        value = getattr(self.envs, attr_name)
        return [value] * len(targets)

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        """Set an attribute of the vector env; it holds every env, so only all at once."""
        self._require_all(indices, "set_attr")
        setattr(self.envs, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: Any = None, **method_kwargs: Any) -> list[Any]:
        """Call a method of the vector env once (it acts on every env); its result per env."""
        self._require_all(indices, "env_method")
        result = getattr(self.envs, method_name)(*method_args, **method_kwargs)
        return [result] * self.num_envs

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: Any = None) -> list[bool]:
        """Per-env ``gym.Wrapper`` checks: a batched env has no per-env wrappers."""
        return [False] * len(self._indices(indices))

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Seed the next reset: env ``i`` gets ``seed + i`` (as in rewardgym and SB3)."""
        return super().seed(seed)

    # -- helpers ---------------------------------------------------------------------------

    def _seed_argument(self) -> int | list[int] | None:
        seeds = self._seeds
        given = [int(s) for s in seeds if s is not None]
        if not given:
            return None
        if len(given) < len(seeds):
            raise ValueError(f"seed every env or none before reset(), got seeds {seeds}")
        first = given[0]
        # Consecutive seeds are rewardgym's own scheme; passing the int also seeds the regimes'
        # noise exactly as gym.make_vec(...).reset(seed=first) does.
        return first if given == list(range(first, first + self.num_envs)) else given

    def _options_argument(self) -> dict[str, Any] | None:
        options = self._options
        if all(not o for o in options):
            return None
        if any(o != options[0] for o in options):
            raise ValueError(
                "a batched vector env takes one options dict for all its envs; set_options() got "
                f"different options per env: {options}"
            )
        return dict(options[0])

    def _indices(self, indices: Any) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if is_integer(indices):
            return [int(indices)]
        return [int(i) for i in indices]

    def _require_all(self, indices: Any, method: str) -> None:
        if indices is not None and sorted(self._indices(indices)) != list(range(self.num_envs)):
            raise ValueError(
                f"{method} on a subset of envs is not supported: a batched vector env is one "
                f"object holding all {self.num_envs} envs (pass indices=None)"
            )


def make_sb3_env(
    env_id: str,
    num_envs: int = 1,
    reward: RewardSpec = None,
    *,
    device: str = "cpu",
    **kwargs: Any,
) -> SB3VecEnv:
    """``gym.make_vec(env_id, num_envs, reward=reward, device=device, ...)`` in SAME_STEP autoreset
    mode, as an :class:`SB3VecEnv`. ``reward=None`` is the env's own reward (in an empty shell).

    Example:
        >>> venv = make_sb3_env("rewardgym/MountainCarContinuous-v0", num_envs=2, reward="none")
        >>> venv.action_space
        Box(-1.0, 1.0, (1,), float32)
    """
    envs = gym.make_vec(
        env_id,
        num_envs=num_envs,
        reward=[] if reward is None else reward,
        device=device,
        autoreset_mode=AutoresetMode.SAME_STEP,
        **kwargs,
    )
    return SB3VecEnv(envs)


class EpisodeReturnsLogger(BaseCallback):
    """Logs the proxy and gold returns of the training episodes to SB3's logger.

    At the end of every rollout it records ``rollout/ep_proxy_mean``, ``rollout/ep_gold_mean``
    and ``rollout/ep_gap_mean`` over the last ``stats_window_size`` episodes (SB3's window for
    ``rollout/ep_rew_mean``), read from the :class:`SB3VecEnv` under any VecEnv wrappers.

    Example:
        >>> from stable_baselines3 import PPO
        >>> venv = make_sb3_env("rewardgym/CartPole-v0", num_envs=2)
        >>> model = PPO("MlpPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, seed=0)
        >>> logger = EpisodeReturnsLogger()
        >>> _ = model.learn(64, callback=logger)
        >>> sorted(logger.recorded)
        ['rollout/ep_gap_mean', 'rollout/ep_gold_mean', 'rollout/ep_proxy_mean']
    """

    def __init__(self, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.recorded: dict[str, float] = {}
        """The values recorded at the last rollout's end."""

    def _on_training_start(self) -> None:
        self._adapter = find_adapter(self.training_env)

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        window = getattr(self.model, "_stats_window_size", 100)
        episodes = self._adapter.episodes.last(window)
        if episodes["gold"].size == 0:
            return
        for key in ("proxy", "gold", "gap"):
            self.recorded[f"rollout/ep_{key}_mean"] = float(episodes[key].mean())
            self.logger.record(f"rollout/ep_{key}_mean", self.recorded[f"rollout/ep_{key}_mean"])


def find_adapter(venv: VecEnv) -> SB3VecEnv:
    """The :class:`SB3VecEnv` under a stack of SB3 VecEnv wrappers (VecNormalize, VecMonitor...)."""
    inner = venv.unwrapped if isinstance(venv, VecEnv) else venv
    if not isinstance(inner, SB3VecEnv):
        raise TypeError(f"expected a rewardgym SB3VecEnv (possibly under SB3 wrappers), got {type(inner).__name__}")
    return inner


# -- reference hyperparameters ----------------------------------------------------------------

SB3_ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "gelu": nn.GELU}
"""The ``policy_kwargs.activation_fn`` names that :func:`sb3_arguments` knows (the zoo's)."""

_SET_BY_TRAIN = {"policy", "env", "seed", "device", "verbose", "tensorboard_log", "_init_setup_model"}
"""Constructor arguments of an SB3 algorithm that are not hyperparameters (train() sets them)."""


def sb3_arguments(algo: str, algorithm: type, settings: dict[str, Any]) -> dict[str, Any]:
    """YAML hyperparameters as the SB3 ``algorithm``'s constructor arguments.

    ``"lin_X"`` becomes :func:`linear_schedule` ``(X)`` and ``policy_kwargs.activation_fn`` a
    torch module class (:data:`SB3_ACTIVATIONS`). ``settings`` holds the algorithm's own
    arguments only (``n_envs``, ``normalize`` and ``policy`` are taken out before); an unknown
    one raises ``ValueError``, naming ``algo`` and the valid ones.

    Example:
        >>> from stable_baselines3 import PPO
        >>> kwargs = sb3_arguments("sb3-ppo", PPO, {"clip_range": "lin_0.2", "policy_kwargs": {"activation_fn": "relu"}})
        >>> kwargs["clip_range"](0.5), kwargs["policy_kwargs"]["activation_fn"].__name__
        (0.1, 'ReLU')
    """
    valid = set(inspect.signature(algorithm).parameters) - _SET_BY_TRAIN
    unknown = sorted(set(settings) - valid)
    if unknown:
        raise ValueError(
            f"unknown {algo} hyperparameter(s) {unknown}; valid: n_envs, normalize, policy, {', '.join(sorted(valid))}"
        )
    out = dict(settings)
    for key, value in settings.items():
        if isinstance(value, str) and value.startswith("lin_"):
            out[key] = linear_schedule(float(value[len("lin_") :]))
    policy_kwargs = dict(out.get("policy_kwargs") or {})
    if isinstance(policy_kwargs.get("activation_fn"), str):
        name = policy_kwargs["activation_fn"]
        if name.lower() not in SB3_ACTIVATIONS:
            raise ValueError(f"unknown activation_fn {name!r}; valid: {', '.join(SB3_ACTIVATIONS)}")
        policy_kwargs["activation_fn"] = SB3_ACTIVATIONS[name.lower()]
    if policy_kwargs:
        out["policy_kwargs"] = policy_kwargs
    return out


def linear_schedule(initial: float) -> Callable[[float], float]:
    """rl-baselines3-zoo's ``lin_X``: X at the start, falling linearly to 0 (SB3 passes the
    remaining progress, 1 -> 0).

    Example:
        >>> linear_schedule(0.001)(0.5)
        0.0005
    """

    def schedule(progress_remaining: float) -> float:
        return progress_remaining * initial

    return schedule


# -- the policy for the observation space ------------------------------------------------------

NATURE_CNN_MIN_SIDE = 36
"""The smallest image side SB3's ``NatureCNN`` (the ``CnnPolicy`` and ``MultiInputPolicy``
default) takes: its unpadded 8x8/4, 4x4/2 and 3x3/1 convolutions leave nothing below it."""


def sb3_policy(
    policy: str | type | None, observation_space: spaces.Space, policy_kwargs: dict[str, Any] | None = None
) -> tuple[str | type, dict[str, Any]]:
    """SB3's policy for ``observation_space``, and its ``policy_kwargs``.

    - No policy (``None`` or ``"auto"``): ``MultiInputPolicy`` for a ``Dict`` space,
      ``CnnPolicy`` for an image (SB3's test: a ``uint8`` ``Box(0, 255)`` of 3 dimensions, 1, 3 or
      4 channels first or last), ``MlpPolicy`` otherwise.
    - ``"MlpPolicy"``, which the reference hyperparameters (``sb3-*.yaml``) name for the envs'
      state observations, is read the same way on a ``Dict`` space (where SB3 refuses it) or an
      image (where it would flatten every pixel into the MLP's first layer). A policy class, or
      any other name, is passed on as it is.
    - On an image under :data:`NATURE_CNN_MIN_SIDE` pixels a side, ``CnnPolicy`` gets
      :class:`ImageCNN` and ``MultiInputPolicy`` :class:`CombinedImageExtractor` as their
      ``features_extractor_class`` (unless ``policy_kwargs`` names one); an image even these cannot
      take is refused by name (``ValueError``).

    Example:
        >>> from gymnasium import spaces
        >>> image = spaces.Box(0, 255, (48, 48, 3), np.uint8)
        >>> sb3_policy(None, spaces.Dict({"image": image, "instruction": spaces.MultiDiscrete([25] * 10)}))
        ('MultiInputPolicy', {})
        >>> sb3_policy("MlpPolicy", image), sb3_policy(None, spaces.Box(-1, 1, (4,)))
        (('CnnPolicy', {}), ('MlpPolicy', {}))
        >>> policy, kwargs = sb3_policy(None, spaces.Box(0, 255, (16, 16, 3), np.uint8))
        >>> policy, kwargs["features_extractor_class"].__name__
        ('CnnPolicy', 'ImageCNN')
    """
    kwargs = dict(policy_kwargs or {})
    images = _sb3_images(observation_space)
    if policy is None or policy == "auto" or policy == "MlpPolicy":
        if isinstance(observation_space, spaces.Dict):
            policy = "MultiInputPolicy"
        elif images:
            policy = "CnnPolicy"
        else:
            policy = "MlpPolicy"
    if policy in ("CnnPolicy", "MultiInputPolicy") and images and "features_extractor_class" not in kwargs:
        for key, shape in images.items():
            height, width, channels = _image_dims(shape)
            try:
                nets.check_image_shape((height, width, channels))
            except ValueError as error:
                where = "" if key is None else f"key {key!r}: "
                raise ValueError(
                    f"{policy} cannot take the image observation {where}{shape}: {error}; SB3's NatureCNN "
                    f"takes sides >= {NATURE_CNN_MIN_SIDE}, rewardgym's ImageCNN sides >= {nets.MIN_IMAGE_SIDE}"
                ) from None
        if min(min(_image_dims(shape)[:2]) for shape in images.values()) < NATURE_CNN_MIN_SIDE:
            kwargs["features_extractor_class"] = ImageCNN if policy == "CnnPolicy" else CombinedImageExtractor
    return policy, kwargs


def _sb3_images(space: spaces.Space) -> dict[str | None, tuple[int, ...]]:
    """The image shapes SB3 sees in ``space`` (its ``is_image_space``, channels checked), by key."""
    from stable_baselines3.common.preprocessing import is_image_space

    named = space.spaces.items() if isinstance(space, spaces.Dict) else [(None, space)]
    return {key: tuple(cast(spaces.Box, sub).shape) for key, sub in named if is_image_space(sub, check_channels=True)}


def _image_dims(shape: Sequence[int]) -> tuple[int, int, int]:
    """``(height, width, channels)`` of an image shape, channels first or last (SB3's heuristic:
    the smallest dimension is the channels')."""
    first = int(np.argmin(shape)) == 0
    return (int(shape[1]), int(shape[2]), int(shape[0])) if first else (int(shape[0]), int(shape[1]), int(shape[2]))


class ImageCNN(BaseFeaturesExtractor):
    """rewardgym's CNN (:func:`rewardgym.core.nets.cnn`, the native PPO's) as an SB3 features
    extractor: the Nature CNN from 64 pixels a side, 3x3 convolutions below, so images under the
    36 pixels NatureCNN needs work too. It takes what SB3 hands a CNN: channels-first images,
    already scaled to [0, 1].

    Example:
        >>> extractor = ImageCNN(spaces.Box(0, 255, (3, 16, 16), np.uint8))
        >>> extractor(torch.zeros(2, 3, 16, 16)).shape
        torch.Size([2, 256])
    """

    def __init__(self, observation_space: spaces.Box, features_dim: int = 256) -> None:
        height, width, channels = _image_dims(observation_space.shape)
        super().__init__(observation_space, features_dim)
        self.cnn = nets.cnn(channels, height, width, features_dim)
        self._channels_first = is_image_space_channels_first(observation_space)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """Features of a batch of images (channels-first, as SB3 transposes them)."""
        if not self._channels_first:
            observations = observations.permute(0, 3, 1, 2)
        return self.cnn(observations)


class CombinedImageExtractor(BaseFeaturesExtractor):
    """SB3's ``CombinedExtractor`` (``MultiInputPolicy``'s) with :class:`ImageCNN` for the image
    keys: each image to ``cnn_output_dim`` features, every other key flattened (SB3 one-hot
    encodes ``MultiDiscrete`` ones before), concatenated.

    Example:
        >>> space = spaces.Dict({"image": spaces.Box(0, 255, (3, 16, 16), np.uint8), "x": spaces.Box(-1, 1, (2,))})
        >>> CombinedImageExtractor(space).features_dim
        258
    """

    def __init__(self, observation_space: spaces.Dict, cnn_output_dim: int = 256) -> None:
        from stable_baselines3.common.preprocessing import is_image_space

        extractors: dict[str, nn.Module] = {}
        total = 0
        for key, sub in observation_space.spaces.items():
            if is_image_space(sub):
                extractors[key] = ImageCNN(cast(spaces.Box, sub), cnn_output_dim)
                total += cnn_output_dim
            else:
                extractors[key] = nn.Flatten()
                total += get_flattened_obs_dim(sub)
        super().__init__(observation_space, features_dim=total)
        self.extractors = nn.ModuleDict(extractors)

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        """The keys' features, concatenated in the space's key order."""
        return torch.cat([extractor(observations[key]) for key, extractor in self.extractors.items()], dim=1)


# -- vector infos to per-env infos ----------------------------------------------------------


def _has_reward_shell(envs: gym.vector.VectorEnv) -> bool:
    env: Any = envs
    while env is not None:
        if isinstance(env, VectorRewardShell):
            return True
        env = getattr(env, "env", None)
    return False


def _sb3_observation_space(space: spaces.Space) -> spaces.Space:
    """The observation space as SB3 is shown it: ``MultiDiscrete`` ones (a Dict's keys too) with
    int64 ``nvec``, since SB3 sums ``nvec`` in its own dtype (a uint8 instruction of 10 slots of 26
    ids would wrap around); the observations themselves are unchanged."""
    if isinstance(space, spaces.Dict):
        return spaces.Dict({key: _sb3_observation_space(sub) for key, sub in space.spaces.items()})
    if isinstance(space, spaces.MultiDiscrete) and space.dtype != np.int64:
        return spaces.MultiDiscrete(
            np.asarray(space.nvec, np.int64), dtype=np.int64, start=np.asarray(space.start, np.int64)
        )
    return space


def _obs_numpy(obs: Any) -> Any:
    """An observation batch as numpy: an array, or a dict of arrays for a Dict space (SB3's form)."""
    if isinstance(obs, dict):
        return {key: to_numpy(value) for key, value in obs.items()}
    return to_numpy(obs)


def _obs_rows(batch: Any, rows: np.ndarray) -> Any:
    """Rows of an observation batch as numpy: a dict of batches key by key, and gymnasium's per-env
    object arrays (a final observation per env, a dict for a Dict space) stacked."""
    if isinstance(batch, dict):
        return {key: _obs_rows(value, rows) for key, value in batch.items()}
    if isinstance(batch, np.ndarray) and batch.dtype == object:
        picked = list(batch[rows])
        if picked and isinstance(picked[0], dict):
            return {key: np.stack([np.asarray(p[key]) for p in picked]) for key in picked[0]}
    return _rows(batch, rows)


def _rows(batch: Any, rows: np.ndarray) -> np.ndarray:
    """Rows of a batch as numpy; gymnasium's per-env object arrays are stacked."""
    if isinstance(batch, np.ndarray) and batch.dtype == object:
        return np.stack(list(batch[rows]))
    return to_numpy(batch)[rows]


def _per_env_infos(
    info: dict[str, Any], rows: np.ndarray, num_envs: int, skip: Iterable[str] = (), mask: Any = None
) -> list[dict[str, Any]]:
    """What a single env's info would hold, for each env in ``rows``, from a vector info dict.

    gymnasium's vector-info convention: ``info[key]`` is a ``(num_envs,)`` batch meaningful where
    ``info["_" + key]`` is True; a nested dict follows the same rule inside. A value that is not
    a batch of ``num_envs`` is shared by every env. Only ``len(rows)`` dicts are built.
    """
    out: list[dict[str, Any]] = [{} for _ in range(len(rows))]
    skip = set(skip)
    for key, value in info.items():
        if key.startswith("_") or key in skip:
            continue
        key_mask = info.get(mask_key(key))
        selected = mask
        if key_mask is not None:
            rows_mask = np.asarray(to_numpy(key_mask), dtype=bool)[rows]
            selected = rows_mask if selected is None else selected & rows_mask
        if isinstance(value, dict):
            for j, sub in enumerate(_per_env_infos(value, rows, num_envs, mask=selected)):
                if sub:
                    out[j][key] = sub
            continue
        if (isinstance(value, np.ndarray) or is_torch(value)) and value.ndim >= 1 and value.shape[0] == num_envs:
            picked = _rows(value, rows) if value.dtype != object else value[rows]
            values = list(picked) if picked.dtype == object or picked.ndim > 1 else picked.tolist()
        else:
            values = [value] * len(rows)
        for j, v in enumerate(values):
            if selected is None or selected[j]:
                out[j][key] = v
    return out
