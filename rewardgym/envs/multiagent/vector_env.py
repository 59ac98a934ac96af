"""The batched multi-agent vector env: many game instances, all their agents, one kernel call.

It is a gymnasium ``VectorEnv`` whose rows are agents: row ``r`` is agent ``r % num_agents`` of
game ``r // num_agents``. That layout is what lets every single-agent tool train on a game as it
is: a reward spec (``rewardgym.wrap``) applies its regimes per agent row with per-agent state and
reports each agent's episode returns; the native PPO shares one network over the rows (or keeps
one per agent, by ``agent_index``); evaluation plays one episode per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from rewardgym.core.info import FINAL_OBS, GOLD_REWARD, REWARD_TRACE, mask_key
from rewardgym.core.regime import FusedLayer
from rewardgym.core.rng import per_env_seeds, seed_streams
from rewardgym.core.validation import check_integer
from rewardgym.envs.batched import device as devices
from rewardgym.envs.batched.device_batch import DeviceBatchEnv
from rewardgym.envs.batched.fastest_kernel import threads_while_they_pay
from rewardgym.envs.batched.kernels import DISABLED, NEXT_STEP, SAME_STEP
from rewardgym.envs.batched.layers import finish_layers, layer_arguments, layers_kernel
from rewardgym.envs.batched.vector_env import MAX_NUM_ENVS, SERIAL_BELOW, parse_autoreset_mode
from rewardgym.envs.multiagent.game import MultiAgentGame, check_reward_mode, resolve_game_params
from rewardgym.envs.multiagent.kernels import kernels

WELFARE = "welfare"
"""``info`` key: the game's welfare this step (the sum of its agents' payoffs), on each of its rows."""

PAYOFF = "payoff"
"""``info`` key: each agent's payoff this step, before the reward mode mixes the payoffs."""

_KERNEL_MODES = {
    AutoresetMode.NEXT_STEP: NEXT_STEP,
    AutoresetMode.SAME_STEP: SAME_STEP,
    AutoresetMode.DISABLED: DISABLED,
}


class MultiAgentVectorEnv(DeviceBatchEnv):
    """``num_games`` instances of a game, one row per agent, stepped by one compiled kernel.

    Rows are game-major: ``num_envs = num_games * num_agents``, and ``agent_index`` gives each
    row's agent. All rows of a game end their episodes together. Game ``k`` of a vector env
    seeded ``s`` runs exactly as a single game seeded ``s + k``.

    Every ``step`` returns each row's reward (its agent's payoff mixed by ``reward_mode``) and
    puts in ``info``: ``gold_reward`` (the game's welfare divided among its agents), ``welfare``
    (the game's welfare on each of its rows), ``payoff`` and ``reward_trace`` (``{"env":
    reward}``), each with gymnasium's ``_key`` mask; SAME_STEP mode adds ``final_obs`` as the
    single-agent engine does.

    Args:
        game: the dynamics to run.
        num_games: how many game instances.
        device: ``"cpu"`` or ``"cuda"``.
        autoreset_mode: gymnasium's ``AutoresetMode`` or its name (NEXT_STEP by default). With
            DISABLED, ``reset(options={"reset_mask": mask})`` takes a row mask that must select
            whole games.
        reward_mode: ``"private"``, ``"integrated"`` or ``"cooperative"``
            (:data:`~rewardgym.envs.multiagent.game.REWARD_MODES`).
        weight: the share of the others' payoffs paid under ``"integrated"``, in [0, 1].
        **game_params: the game's parameters by name (``num_agents=3``, ``max_cycles=20``, ...).

    Example:
        >>> import numpy as np, rewardgym
        >>> envs = rewardgym.make_parallel_vec("rewardgym/PublicGoods-v0", num_envs=2, reward=[])
        >>> obs, _ = envs.reset(seed=0)
        >>> obs.shape  # 2 games x 4 agents, 9 features each
        (8, 9)
        >>> actions = np.array([1, 1, 1, 0] * 2)  # player_3 defects in both games
        >>> obs, reward, terminated, truncated, info = envs.step(actions)
        >>> reward[:4].astype(float).round(2).tolist(), info["welfare"][:4].astype(float).round(2).tolist()
        ([1.2, 1.2, 1.2, 2.2], [5.8, 5.8, 5.8, 5.8])
    """

    def __init__(
        self,
        game: MultiAgentGame,
        num_games: int = 1,
        *,
        device: str = "cpu",
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        reward_mode: str = "private",
        weight: float = 0.5,
        **game_params: Any,
    ) -> None:
        self.game = game
        self.params = resolve_game_params(game, game_params)
        self.reward_mode = reward_mode
        self._mode, self.weight = check_reward_mode(reward_mode, weight)
        self.num_agents = int(self.params.num_agents)
        self.num_games = check_integer(
            num_games, "num_envs (game instances)", low=1, high=MAX_NUM_ENVS // self.num_agents
        )
        self.num_envs = self.num_games * self.num_agents
        self.possible_agents = game.agents(self.params)
        self.device = devices.resolve_device(device)
        self.autoreset_mode = parse_autoreset_mode(autoreset_mode)
        self.metadata = {"render_modes": [], "autoreset_mode": self.autoreset_mode}
        self.render_mode = None

        self.single_observation_space = game.observation_space(self.params)
        self.single_action_space = game.action_space(self.params)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.agent_index = np.tile(np.arange(self.num_agents, dtype=np.int64), self.num_games)
        self.agent_index.flags.writeable = False

        if self.device == "cuda":
            target = "cuda"
        else:
            target = "parallel" if self.num_envs >= SERIAL_BELOW else "serial"
        # Threads only while they pay (docs/design.md, "One source").
        self._step_kernel = threads_while_they_pay(lambda target: kernels(game, target, self.params)[0], target)
        self._reset_kernel = threads_while_they_pay(lambda target: kernels(game, target, self.params)[1], target)

        g, n = self.num_games, self.num_agents
        self._state = self._zeros((g, game.state_size(self.params)), np.float64)
        self._rng = self._zeros((g, 2), np.uint64)
        self._elapsed = self._zeros((g,), np.int64)
        self._needs_reset = self._zeros((g,), np.bool_)
        self._payoff = self._zeros((g, n), np.float64)  # the kernel's scratch for one round's payoffs
        self._buffers = (
            self._view(self._state),
            self._view(self._rng, np.uint64),
            self._view(self._elapsed),
            self._view(self._needs_reset),
        )
        self._everyone = self._zeros((self.num_envs,), np.bool_)
        self._everyone[...] = True
        if self.device == "cpu":
            self._everyone.flags.writeable = False  # shared by every step's info masks
        self._obs_size = int(self.single_observation_space.shape[0])
        self._no_final_obs = self._zeros((1, 1, self._obs_size), np.float32)
        self._action_dtype = np.int64
        self._seeded = False
        self._has_reset = False
        self._target = target
        self._layer_kernels: dict[tuple[Any, ...], Any] = {}
        self._last_obs: Any = None  # the rows last returned: what reward layers read as obs

    @property
    def max_cycles(self) -> int:
        """Rounds per episode (the game's ``max_cycles``)."""
        return int(self.params.max_cycles)

    @property
    def max_episode_steps(self) -> int:
        """The time limit under gymnasium's and the engine's name (what evaluation reads): ``max_cycles``."""
        return self.max_cycles

    @property
    def state(self) -> Any:
        """Each game's state, ``(num_games, state_size)`` float64 (the layout is the game module's);
        writable, e.g. to set a start state."""
        return self._state

    def by_game(self, rows: Any) -> Any:
        """A ``(num_envs, ...)`` row array seen as ``(num_games, num_agents, ...)`` (a view).

        Example:
            >>> import numpy as np, rewardgym
            >>> envs = rewardgym.make_parallel_vec("rewardgym/Coopetition-v0", num_envs=3)
            >>> envs.unwrapped.by_game(np.arange(6)).tolist()
            [[0, 1], [2, 3], [4, 5]]
        """
        return rows.reshape(self.num_games, self.num_agents, *rows.shape[1:])

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset every game, or those whose rows ``options["reset_mask"]`` selects; game ``k`` is
        seeded ``seed + k``."""
        seeds = None if seed is None else per_env_seeds(seed, self.num_games)
        super().reset(seed=None if seeds is None else int(seeds[0]))
        mask = self._game_mask(self._reset_mask(options))
        if seeds is None and not self._seeded:
            seeds = per_env_seeds(int(self.np_random.integers(2**62)), self.num_games)
        if seeds is not None:
            self._write(self._rng, seed_streams(seeds), mask)
            self._seeded = True
        obs = self._empty((self.num_envs, self._obs_size), np.float32)
        self._reset_kernel(*self._buffers, self._view(mask), self._view(self.by_game(obs)))
        self._has_reset = True
        self._last_obs = obs
        return obs, {}

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        return self.step_with_layers(actions, ())[:5]

    def step_with_layers(
        self, actions: Any, layers: Sequence[FusedLayer]
    ) -> tuple[Any, Any, Any, Any, dict[str, Any], Any]:
        """:meth:`step`, then reward layers over every agent row in one compiled call: gymnasium's
        five results and each layer's output ``(len(layers), num_envs)`` float32, as the
        single-agent engine's :meth:`~rewardgym.envs.batched.BatchedVectorEnv.step_with_layers`
        returns them (there the layers run inside the step kernel; here, whose kernel steps whole
        games, in a second kernel, :func:`~rewardgym.envs.batched.layers.layers_kernel`).

        Example:
            >>> import numpy as np, rewardgym
            >>> envs = rewardgym.make_parallel_vec("rewardgym/Coopetition-v0", num_envs=2).unwrapped
            >>> scale = rewardgym.resolve_reward_spec("scale(factor=3)")[0]
            >>> _ = envs.reset(seed=0)
            >>> _, reward, *_, layer_rewards = envs.step_with_layers(np.ones(4, np.int64), [scale.fused_layer()])
            >>> bool((layer_rewards[0] == 3 * reward).all())
            True
        """
        if not layers:
            return (*self._step(actions), None)
        # Which rows' steps are transitions, known before the step: a NEXT_STEP game that ended
        # last step only restarts now.
        if self.autoreset_mode is AutoresetMode.NEXT_STEP:
            valid = (
                ~self._needs_reset.repeat_interleave(self.num_agents)
                if self.device == "cuda"
                else np.repeat(~self._needs_reset, self.num_agents)
            )
        else:
            valid = self._everyone
        obs_before = self._last_obs
        obs, reward, terminated, truncated, info = self._step(actions)
        trace = self._empty((len(layers), self.num_envs), np.float32)
        arguments, flat = layer_arguments(layers, trace[0])
        next_obs = info[FINAL_OBS] if FINAL_OBS in info else obs
        fixed = (reward, valid, obs_before, next_obs, terminated, trace)
        self._layers_kernel(tuple(layer.body for layer in layers), tuple(map(len, arguments)))(
            *(self._view(x) for x in fixed), *flat
        )
        finish_layers(layers, arguments)
        return obs, reward, terminated, truncated, info, trace

    def _layers_kernel(self, bodies: tuple[Any, ...], arities: tuple[int, ...]) -> Any:
        """The layers' kernel for this env's target: the faster of the threaded and serial loops
        from SERIAL_BELOW rows, as for the step kernel."""
        key = (bodies, arities)
        if key not in self._layer_kernels:
            self._layer_kernels[key] = threads_while_they_pay(
                lambda target: layers_kernel(bodies, arities, target), self._target
            )
        return self._layer_kernels[key]

    def _step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        actions = self._check_step(actions)
        n, size = self.num_envs, self._obs_size
        same_step = self.autoreset_mode is AutoresetMode.SAME_STEP
        obs = self._empty((n, size), np.float32)
        final_obs = self._empty((n, size), np.float32) if same_step else None
        reward, gold, welfare, payoff = (self._empty((n,), np.float32) for _ in range(4))
        terminated, truncated = self._empty((n,), np.bool_), self._empty((n,), np.bool_)
        final_view = self._no_final_obs if final_obs is None else self.by_game(final_obs)
        outputs = [self.by_game(x) for x in (obs, reward, gold, welfare, payoff, terminated, truncated)]
        outputs.insert(1, final_view)
        self._step_kernel(
            *self._buffers,
            self._view(self._payoff),
            self._view(self.by_game(actions)),
            _KERNEL_MODES[self.autoreset_mode],
            self._mode,
            self.weight,
            *(self._view(x) for x in outputs),
        )
        everyone = self._everyone
        info: dict[str, Any] = {
            GOLD_REWARD: gold,
            mask_key(GOLD_REWARD): everyone,
            WELFARE: welfare,
            mask_key(WELFARE): everyone,
            PAYOFF: payoff,
            mask_key(PAYOFF): everyone,
            REWARD_TRACE: {"env": reward},
            mask_key(REWARD_TRACE): everyone,
        }
        if final_obs is not None:
            info[FINAL_OBS] = final_obs
            info[mask_key(FINAL_OBS)] = terminated | truncated
        self._last_obs = obs
        return obs, reward, terminated, truncated, info

    def _game_mask(self, rows: Any) -> Any:
        """A row mask as a game mask; refused unless it selects whole games."""
        by_game = self.by_game(rows)
        games = by_game.any(1)
        if bool((by_game.all(1) != games).any()):
            raise ValueError(
                "reset_mask must select whole games: all rows of a game (its agents) or none; "
                f"rows {self.num_agents} * k to {self.num_agents} * k + {self.num_agents - 1} are game k"
            )
        return games
