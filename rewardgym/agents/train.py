"""Train a reference agent under a reward spec and record what it was paid (proxy) and achieved (gold).

:func:`train` runs one algorithm on one env under one reward spec, and every ``eval_every`` steps
evaluates the agent on a fixed set of evaluation seeds, recording both the proxy return (what
the reward regime paid) and the **gold** return (what the agent really achieved), next to the
returns of the training episodes. It returns the learning curves, the final model and the run's
config; with ``run_dir`` it also writes them to a folder.

This module is the training itself, read top to bottom: :func:`train`, then one runner per kind
of algorithm, then the checks of its input. What it uses sits beside it:
:mod:`~rewardgym.agents.evaluation` (the evaluation envs and episodes),
:mod:`~rewardgym.agents.curves` (when to evaluate, the rows of the curves),
:mod:`~rewardgym.agents.progress` (the progress bar, TensorBoard),
:mod:`~rewardgym.agents.results` (:class:`TrainResult` and the run folder) and
:mod:`~rewardgym.agents.cli` (``rewardgym train``).

Algorithms (:data:`ALGOS`):

- ``"ppo"``: rewardgym's native batched PPO (:mod:`rewardgym.agents.ppo`);
- ``"sb3-ppo"``, ``"sb3-a2c"``, ``"sb3-dqn"`` (discrete actions), ``"sb3-sac"`` (continuous):
  stable-baselines3's, through the :class:`~rewardgym.agents.sb3.SB3VecEnv` adapter;
- ``"random"``, ``"linear"``, ``"oracle"``, ``"hacker"``: scripted policies
  (:mod:`rewardgym.agents.scripted`), evaluated once, without learning: the floor, the ceiling on
  CartPole, and on the gridworlds the intended behaviour and the hack.

**Multi-agent games** (``rewardgym.is_multiagent(env_id)``: ``rewardgym/PublicGoods-v0``, ...)
train and evaluate in vector envs with a row per agent (``rewardgym.make_parallel_vec``), with
``env_kwargs`` such as ``{"reward_mode": "cooperative"}`` going to the game. A game takes
(:func:`algos_for`): ``"ppo"``, whose ``num_envs`` counts rows (a multiple of the game's agents:
``num_envs // num_agents`` games) and whose ``learners`` setting chooses one network for every
agent (``"shared"``) or one per agent (``"independent"``); ``"random"``; and its own scripted
policies (:data:`MULTIAGENT_ALGOS`, from
:data:`rewardgym.agents.multiagent.MULTIAGENT_POLICIES`: ``"cooperate"``, ``"defect"``,
``"tit_for_tat"`` on PublicGoods, ...). Evaluation plays one game per evaluation episode; the
curves and :class:`TrainResult` add the welfare and each agent's proxy
(:mod:`~rewardgym.agents.curves`).

Reference hyperparameters ship in ``rewardgym/agents/hyperparams/<algo>.yaml``, keyed by env id
(:func:`reference_hyperparams`); SB3's come from rl-baselines3-zoo, as each file says. The
``hyperparams`` argument overrides them key by key.

Example:
    >>> from rewardgym.agents.train import train
    >>> result = train("rewardgym/CartPole-v0", "scale(factor=2)", algo="random", eval_episodes=4)
    >>> row = result.curves[-1]
    >>> row["eval_proxy"] == 2 * row["eval_gold"]
    True
"""

from __future__ import annotations

import copy
import importlib.metadata
import platform
import time
from importlib import resources
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import yaml
from gymnasium.vector import AutoresetMode

from rewardgym.agents import ppo, scripted
from rewardgym.agents.curves import CurveRecorder, agent_proxy_column
from rewardgym.agents.evaluation import EVAL_SEED, make_eval_envs, shell_regimes
from rewardgym.agents.multiagent import MULTIAGENT_POLICIES, multiagent_policy
from rewardgym.agents.progress import ProgressBar, TensorBoardLog
from rewardgym.agents.results import TrainResult, save_run
from rewardgym.core.spec import NO_REGIME, RewardSpec
from rewardgym.core.validation import check_integer
from rewardgym.envs.multiagent import MULTIAGENT_IDS, MultiAgentVectorEnv, is_multiagent, make_parallel_vec
from rewardgym.envs.registration import ENVS

SCRIPTED_ALGOS = tuple(scripted.SCRIPTED)
"""The scripted policies (:data:`rewardgym.agents.scripted.SCRIPTED`), evaluated once, without learning."""

ALGOS = ("ppo", "sb3-ppo", "sb3-a2c", "sb3-dqn", "sb3-sac", *SCRIPTED_ALGOS)
"""Every algorithm :func:`train` takes on a single-agent env; ``"ppo"`` is the native batched PPO."""

MULTIAGENT_ALGOS = tuple(dict.fromkeys(name for policies in MULTIAGENT_POLICIES.values() for name in policies))
"""The multi-agent games' scripted policies (:data:`rewardgym.agents.multiagent.MULTIAGENT_POLICIES`),
evaluated once, without learning; each game takes its own (:func:`algos_for`)."""

MULTIAGENT_LEARNING_ALGOS = ("ppo", "random")
"""What every multi-agent game takes besides its scripted policies: the native PPO (shared or
independent learners) and the random floor."""

SB3_ALGOS = {"sb3-ppo": "PPO", "sb3-a2c": "A2C", "sb3-dqn": "DQN", "sb3-sac": "SAC"}
"""stable-baselines3's algorithms, by the name :func:`train` knows them under."""

TRAIN_SETS = ("num_envs", "reward", "device", "autoreset_mode")
"""The make_vec arguments that train() chooses itself."""

_DISCRETE_ONLY = {"sb3-dqn": "DQN"}
_CONTINUOUS_ONLY = {"sb3-sac": "SAC"}


def algos_for(env_id: str) -> tuple[str, ...]:
    """The algorithms :func:`train` takes on ``env_id``: :data:`ALGOS` for a single-agent env; for
    a multi-agent game, :data:`MULTIAGENT_LEARNING_ALGOS` and the game's scripted policies.

    Example:
        >>> algos_for("rewardgym/PublicGoods-v0")
        ('ppo', 'random', 'cooperate', 'defect', 'tit_for_tat')
        >>> algos_for("CartPole-v0") == ALGOS
        True
    """
    env_id = resolve_env_id(env_id)
    if is_multiagent(env_id):
        return (*MULTIAGENT_LEARNING_ALGOS, *MULTIAGENT_POLICIES[env_id])
    return ALGOS


def reference_hyperparams(algo: str, env_id: str) -> dict[str, Any]:
    """The shipped hyperparameters of ``algo`` on ``env_id`` (the file's ``default`` entry if the
    env has none of its own).

    Example:
        >>> reference_hyperparams("sb3-ppo", "rewardgym/CartPole-v0")["n_steps"]
        32
    """
    _check_algo(algo)
    if algo in SCRIPTED_ALGOS or algo in MULTIAGENT_ALGOS:
        return {}
    text = (resources.files("rewardgym.agents") / "hyperparams" / f"{algo}.yaml").read_text()
    table = yaml.safe_load(text) or {}
    entry = table.get(env_id, table.get("default", {}))
    return copy.deepcopy(dict(entry or {}))


def train(
    env_id: str,
    reward: RewardSpec | None = None,
    algo: str = "ppo",
    seed: int = 0,
    total_steps: int = 100_000,
    *,
    hyperparams: dict | None = None,
    eval_every: int | None = None,
    eval_episodes: int = 10,
    device: str = "cpu",
    run_dir: str | Path | None = None,
    progress: bool = False,
    tensorboard: bool = False,
    env_kwargs: dict[str, Any] | None = None,
) -> TrainResult:
    """Train ``algo`` on ``env_id`` under ``reward`` for ``total_steps`` env steps.

    Args:
        env_id: a rewardgym env id (``"rewardgym/CartPole-v0"``; ``"CartPole-v0"`` is accepted),
            or a multi-agent game's (``"rewardgym/PublicGoods-v0"``).
        reward: a reward spec (string, regime, callable or list); None or ``"none"`` for the
            env's own reward. On a multi-agent game it applies to each agent's row.
        algo: one of :data:`ALGOS`; on a multi-agent game, one of :func:`algos_for` it.
        seed: seeds the envs (env ``i`` gets ``seed + i``; game ``k`` of a multi-agent env), the
            networks and the sampling.
        total_steps: env steps to train for (summed over the vector env's envs); on-policy
            algorithms round up to whole rollouts.
        hyperparams: overrides of the reference hyperparameters (:func:`reference_hyperparams`),
            key by key. SB3: ``n_envs``, ``normalize`` (VecNormalize), ``policy``,
            ``policy_kwargs`` and the algorithm's own arguments (``"lin_X"`` is a linear
            schedule from X). Native PPO: the fields of ``PPOConfig``; on a multi-agent game
            ``num_envs`` counts rows (games times agents) and ``learners`` is ``"shared"`` or
            ``"independent"``.
        eval_every: env steps between evaluations (default: a tenth of ``total_steps``); a last
            evaluation always follows training.
        eval_episodes: evaluation episodes, one per env of a separate vector env, started from
            seeds ``EVAL_SEED + i``, with deterministic actions (on a multi-agent game, one game
            per episode, every agent playing its row). The proxy is paid by frozen
            copies of the training env's regimes as they stand at that evaluation
            (``Regime.frozen_copy``): a reward that learns while the agent trains is scored as
            trained so far. Scripted policies, which do not train, get the spec's regimes.
        device: ``"cpu"`` or ``"cuda"``: the networks' device, and for ``"ppo"`` the training
            envs' (evaluation runs on the CPU).
        run_dir: a folder to write ``config.json``, ``config.yaml``, ``curves.csv`` and the model
            to (``model.zip`` for SB3, plus ``vecnormalize.pkl`` if used; ``model.safetensors``
            for the native PPO; none for scripted policies).
        progress: show a progress bar (steps/s, proxy and gold returns) on the terminal.
        tensorboard: also write TensorBoard logs to ``run_dir/tensorboard`` (needs ``run_dir``
            and the ``tensorboard`` package).
        env_kwargs: keyword arguments of the env's ``gym.make_vec`` for training and evaluation
            envs alike, e.g. ``{"difficulty": 2, "max_new_tokens": 2}`` for a token text env, or
            a game's ``{"reward_mode": "cooperative"}``. ``num_envs``, ``reward``, ``device`` and
            ``autoreset_mode`` are train's to set.

    Returns:
        A :class:`TrainResult`; on a multi-agent game its curves add ``eval_welfare`` and
        ``eval_proxy/<agent>`` columns, and ``final_welfare`` and ``final_agent_proxy`` are set.

    Raises:
        ValueError: an unknown env, algorithm or regime; an algorithm that does not fit the
            action space or the env (a scripted policy of another game); a negative step
            count; an unknown hyperparameter; ``learners="independent"`` on a single-agent env.

    Example (independent learners on a public-goods game paid the team's welfare):
        >>> result = train("rewardgym/PublicGoods-v0", algo="ppo", total_steps=512, eval_episodes=2,
        ...                hyperparams={"num_envs": 8, "num_steps": 16, "learners": "independent"},
        ...                env_kwargs={"reward_mode": "cooperative"})
        >>> sorted(result.final_agent_proxy), result.final_welfare > 0
        (['player_0', 'player_1', 'player_2', 'player_3'], True)
    """
    start = time.perf_counter()
    env_id = resolve_env_id(env_id)
    _check_algo(algo)
    seed = check_integer(seed, "seed", low=0)
    total_steps = check_integer(total_steps, "total_steps", low=0)
    eval_episodes = check_integer(eval_episodes, "eval_episodes", low=1)
    if eval_every is None:
        eval_every = max(total_steps // 10, 1)
    eval_every = check_integer(eval_every, "eval_every", low=1)
    if device not in ("cpu", "cuda") and not str(device).startswith("cuda:"):
        raise ValueError(f"unknown device {device!r}; valid devices: cpu, cuda")
    if hyperparams is not None and not isinstance(hyperparams, dict):
        raise TypeError(f"hyperparams must be a dict or None, got {type(hyperparams).__name__}")
    env_kwargs = _check_env_kwargs(env_kwargs)
    if tensorboard:
        _check_tensorboard(run_dir)
    run_path = None if run_dir is None else Path(run_dir)

    spec = reward_spec_string(reward)
    # The evaluation env comes first: it checks the reward spec and tells the action space
    # before anything costly is built.
    _check_algo_for_env(algo, env_id)
    eval_envs = make_eval_envs(env_id, reward, eval_episodes, env_kwargs)
    _check_fit(algo, env_id, eval_envs.single_action_space)
    settings = {**reference_hyperparams(algo, env_id), **(hyperparams or {})}
    if (algo in SCRIPTED_ALGOS or algo in MULTIAGENT_ALGOS) and hyperparams:
        raise ValueError(f"the scripted policy {algo!r} takes no hyperparameters, got {sorted(hyperparams)}")

    config: dict[str, Any] = {
        "env_id": env_id,
        "env_kwargs": env_kwargs,
        "reward": spec,
        "algo": algo,
        "seed": seed,
        "total_steps": total_steps,
        "hyperparams": settings,
        "eval": {"every": eval_every, "episodes": eval_episodes, "seed": EVAL_SEED},
        "device": str(device),
        "versions": _versions(algo),
    }
    tensorboard_dir = None if run_path is None or not tensorboard else run_path / "tensorboard"
    recorder = CurveRecorder(
        eval_envs,
        eval_every,
        start,
        progress=ProgressBar(total_steps, algo) if progress else None,
        # SB3 writes its own TensorBoard logs (to tensorboard_dir, through its logger).
        tensorboard=TensorBoardLog(tensorboard_dir) if tensorboard_dir is not None and algo == "ppo" else None,
    )
    extras: dict[str, Any] = {}
    try:
        with recorder:
            if algo in SB3_ALGOS:
                model, extras = _train_sb3(
                    algo, env_id, reward, seed, total_steps, settings, device, recorder, tensorboard_dir, env_kwargs
                )
            elif algo == "ppo":
                model, config["hyperparams"] = _train_native(
                    env_id, reward, seed, total_steps, settings, device, recorder, env_kwargs
                )
            else:
                model = _run_scripted(algo, env_id, seed, recorder)
    finally:
        eval_envs.close()

    last = recorder.curves[-1]
    agents = getattr(eval_envs.unwrapped, "possible_agents", None) if is_multiagent(env_id) else None
    result = TrainResult(
        curves=recorder.curves,
        model=model,
        config=config,
        final_proxy=float(last["eval_proxy"]),
        final_gold=float(last["eval_gold"]),
        wall_s=time.perf_counter() - start,
        final_welfare=None if agents is None else float(last["eval_welfare"]),
        final_agent_proxy={} if agents is None else {a: float(last[agent_proxy_column(a)]) for a in agents},
    )
    if run_path is not None:
        save_run(result, run_path, extras)
    return result


# -- the algorithms --------------------------------------------------------------------------


def _train_native(
    env_id: str,
    reward: RewardSpec | None,
    seed: int,
    total_steps: int,
    settings: dict[str, Any],
    device: str,
    recorder: CurveRecorder,
    env_kwargs: dict[str, Any],
) -> tuple[ppo.Agent, dict[str, Any]]:
    """The native PPO, evaluated between updates; returns the agent and its resolved settings.

    On a multi-agent game ``num_envs`` counts rows, ``num_envs // num_agents`` games."""
    config = ppo.PPOConfig.from_dict(settings)
    spec = [] if reward is None else reward
    if is_multiagent(env_id):
        games = _games(env_id, config, recorder.eval_envs)
        envs = make_parallel_vec(
            env_id, num_envs=games, reward=spec, device=device, autoreset_mode=AutoresetMode.SAME_STEP, **env_kwargs
        )
    else:
        if config.learners == "independent":
            raise ValueError(
                f"learners='independent' trains one network per agent of a multi-agent game, but {env_id} "
                f"is a single-agent env; use learners='shared' (the default), or a multi-agent env: "
                f"{', '.join(MULTIAGENT_IDS)}"
            )
        envs = gym.make_vec(
            env_id,
            num_envs=config.num_envs,
            reward=spec,
            device=device,
            autoreset_mode=AutoresetMode.SAME_STEP,
            **env_kwargs,
        )
    recorder.follow(shell_regimes(envs))
    last = {"step": 0}

    def callback(step: int, agent: ppo.Agent, episodes: dict[str, np.ndarray]) -> bool:
        last["step"] = step
        recorder.add_episodes(episodes)
        if recorder.due(step):
            recorder.evaluate(step, agent.predict)
        else:
            recorder.tick(step)
        return True

    try:
        agent = ppo.learn(envs, total_steps, config, seed=seed, device=device, callback=callback)
    finally:
        envs.close()
    if not recorder.curves or recorder.curves[-1]["step"] != last["step"]:
        recorder.evaluate(last["step"], agent.predict)
    return agent, config.to_dict()


def _train_sb3(
    algo: str,
    env_id: str,
    reward: RewardSpec | None,
    seed: int,
    total_steps: int,
    settings: dict[str, Any],
    device: str,
    recorder: CurveRecorder,
    tensorboard_dir: Path | None,
    env_kwargs: dict[str, Any],
) -> tuple[Any, dict[str, Any]]:
    """An SB3 algorithm, evaluated from a callback; returns the model and what is saved beside it."""
    # SB3 loads on first use, so that `import rewardgym.agents` does not import it.
    import stable_baselines3
    from stable_baselines3.common.callbacks import BaseCallback, CallbackList
    from stable_baselines3.common.vec_env import VecNormalize

    from rewardgym.agents.sb3 import EpisodeReturnsLogger, find_adapter, make_sb3_env, sb3_arguments, sb3_policy

    algorithm = getattr(stable_baselines3, SB3_ALGOS[algo])
    kwargs = dict(settings)
    n_envs = check_integer(kwargs.pop("n_envs", 1), f"{algo} hyperparameter n_envs", low=1)
    normalize = kwargs.pop("normalize", False)
    policy = kwargs.pop("policy", None)
    kwargs = sb3_arguments(algo, algorithm, kwargs)

    venv: Any = make_sb3_env(env_id, n_envs, reward, device="cpu", **env_kwargs)
    # The policy for the observation space: MultiInputPolicy for a Dict, CnnPolicy for pixels.
    policy, policy_kwargs = sb3_policy(policy, venv.observation_space, kwargs.get("policy_kwargs"))
    if policy_kwargs:
        kwargs["policy_kwargs"] = policy_kwargs
    recorder.follow(shell_regimes(venv.envs))
    if normalize:
        options = normalize if isinstance(normalize, dict) else {}
        venv = VecNormalize(venv, gamma=kwargs.get("gamma", 0.99), **options)
    normalizer = venv if isinstance(venv, VecNormalize) else None
    model = algorithm(
        policy,
        venv,
        seed=seed,
        device=device,
        verbose=0,
        tensorboard_log=None if tensorboard_dir is None else str(tensorboard_dir),
        **kwargs,
    )

    def predict(obs: np.ndarray) -> np.ndarray:
        seen = obs if normalizer is None else normalizer.normalize_obs(obs)
        return model.predict(seen, deterministic=True)[0]

    class EvaluateWhenDue(BaseCallback):
        """Hands the recorder the finished episodes and evaluates when it is due."""

        def _on_training_start(self) -> None:
            self.adapter = find_adapter(self.training_env)
            self.cursor = self.adapter.episodes.total

        def _collect(self) -> None:
            episodes, self.cursor = self.adapter.episodes.since(self.cursor)
            recorder.add_episodes(episodes)

        def _on_step(self) -> bool:
            step = self.num_timesteps
            if recorder.due(step):
                self._collect()
                row = recorder.evaluate(step, predict)
                self.logger.record("eval/proxy", row["eval_proxy"])
                self.logger.record("eval/gold", row["eval_gold"])
            else:
                recorder.tick(step)
            return True

    callback = EvaluateWhenDue()
    model.learn(total_steps, callback=CallbackList([callback, EpisodeReturnsLogger()]))
    if not recorder.curves or recorder.curves[-1]["step"] != model.num_timesteps:
        if hasattr(callback, "adapter"):
            callback._collect()
        recorder.evaluate(model.num_timesteps, predict)
    return model, {"vecnormalize": normalizer}


def _run_scripted(algo: str, env_id: str, seed: int, recorder: CurveRecorder) -> scripted.Policy:
    """A scripted policy, evaluated once at step 0."""
    if not is_multiagent(env_id):
        policy = scripted.SCRIPTED[algo](env_id, seed=seed)
    elif algo in MULTIAGENT_ALGOS:
        policy = multiagent_policy(algo, recorder.eval_envs)
    else:  # random: one draw per row, from the game's action space
        policy = scripted.SCRIPTED[algo](recorder.eval_envs, seed=seed)
    recorder.evaluate(0, lambda obs: policy.predict(obs, deterministic=True))
    return policy


# -- the run's config ------------------------------------------------------------------------


def reward_spec_string(reward: RewardSpec | None) -> str:
    """A reward spec as the string a config records: ``"none"`` for the env's own reward.

    Regime objects and callables are recorded by name (``repr``): a run under them can only be
    rerun with the same objects.

    Example:
        >>> reward_spec_string(["shaped", "noisy(sigma=0.5)"]), reward_spec_string(None)
        ('shaped+noisy(sigma=0.5)', 'none')
    """
    if reward is None:
        return NO_REGIME
    if isinstance(reward, str):
        return reward
    if isinstance(reward, (list, tuple)):
        return "+".join(reward_spec_string(r) for r in reward) if reward else NO_REGIME
    return getattr(reward, "__name__", None) or repr(reward)


def _versions(algo: str) -> dict[str, str]:
    versions = {
        # The distribution's version (pyproject's): the root package is rewardgym's facade, not a
        # layer that the agents import from.
        "rewardgym": importlib.metadata.version("rewardgym"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "gymnasium": gym.__version__,
        "torch": torch.__version__,
    }
    if algo in SB3_ALGOS:
        import stable_baselines3

        versions["stable_baselines3"] = stable_baselines3.__version__
    return versions


# -- input checks ----------------------------------------------------------------------------


def resolve_env_id(env_id: str) -> str:
    """A registered env id (a multi-agent game's included), the ``rewardgym/`` namespace added if
    it was left out.

    Example:
        >>> resolve_env_id("CartPole-v0"), resolve_env_id("PublicGoods-v0")
        ('rewardgym/CartPole-v0', 'rewardgym/PublicGoods-v0')
    """
    if isinstance(env_id, str):
        for name in (env_id, f"rewardgym/{env_id}"):
            if name in ENVS or name in MULTIAGENT_IDS:
                return name
    valid = sorted([*ENVS, *MULTIAGENT_IDS])
    raise ValueError(f"unknown env {env_id!r}; registered envs: {', '.join(valid)}")


def _check_algo(algo: str) -> None:
    if algo not in ALGOS and algo not in MULTIAGENT_ALGOS:
        raise ValueError(f"unknown algo {algo!r}; valid algos: {', '.join([*ALGOS, *MULTIAGENT_ALGOS])}")


def _check_algo_for_env(algo: str, env_id: str) -> None:
    """Refuse an algorithm that does not play ``env_id``: SB3 or a single-agent scripted policy on a
    multi-agent game, a game's scripted policy on another env."""
    valid = algos_for(env_id)
    if algo in valid:
        return
    if algo in MULTIAGENT_ALGOS:
        games = [game for game, policies in MULTIAGENT_POLICIES.items() if algo in policies]
        raise ValueError(
            f"the scripted policy {algo!r} plays {', '.join(games)} only, not {env_id}; valid algos for "
            f"{env_id}: {', '.join(valid)}"
        )
    raise ValueError(
        f"{algo!r} does not train on the multi-agent game {env_id} (a vector env with a row per agent); "
        f"valid algos for it: {', '.join(valid)}"
    )


def _games(env_id: str, config: ppo.PPOConfig, eval_envs: gym.vector.VectorEnv) -> int:
    """How many games a multi-agent run's ``num_envs`` rows make; refused unless whole games."""
    game = eval_envs.unwrapped
    assert isinstance(game, MultiAgentVectorEnv)  # a multi-agent id's evaluation envs
    agents = game.num_agents
    if config.num_envs % agents:
        below = max(config.num_envs // agents, 1) * agents
        raise ValueError(
            f"PPO's num_envs counts rows on a multi-agent game, a row per agent: num_envs={config.num_envs} "
            f"is not a whole number of {env_id} games of {agents} agents; valid: a multiple of {agents}, "
            f"e.g. {below} or {below + agents}"
        )
    return config.num_envs // agents


def _check_env_kwargs(env_kwargs: Any) -> dict[str, Any]:
    if env_kwargs is None:
        return {}
    if not isinstance(env_kwargs, dict) or not all(isinstance(k, str) for k in env_kwargs):
        raise TypeError(f"env_kwargs must be a dict of str keys or None, got {env_kwargs!r}")
    taken = sorted(set(env_kwargs) & set(TRAIN_SETS))
    if taken:
        raise ValueError(
            f"env_kwargs may not set {', '.join(taken)}: train() sets {', '.join(TRAIN_SETS)} "
            "itself (the number of envs is a hyperparameter: n_envs for SB3, num_envs for ppo)"
        )
    return dict(env_kwargs)


def _check_fit(algo: str, env_id: str, space: gym.Space) -> None:
    """Refuse an algorithm that cannot act in the env's action space."""
    discrete = isinstance(space, gym.spaces.Discrete)
    if algo in _DISCRETE_ONLY and not discrete:
        fits = [a for a in ALGOS if a not in _DISCRETE_ONLY and a != "linear"]
        raise ValueError(
            f"{algo} needs a Discrete action space, but {env_id} has {space}; algos for continuous "
            f"actions: {', '.join(fits)}"
        )
    if algo in _CONTINUOUS_ONLY and not isinstance(space, gym.spaces.Box):
        fits = [a for a in ALGOS if a not in _CONTINUOUS_ONLY]
        raise ValueError(
            f"{algo} needs a continuous (Box) action space, but {env_id} has {space}; algos for "
            f"discrete actions: {', '.join(fits)}"
        )


def _check_tensorboard(run_dir: Any) -> None:
    if run_dir is None:
        raise ValueError("tensorboard=True writes to run_dir/tensorboard: pass run_dir too")
    try:
        import tensorboard  # noqa: F401  (an optional package: only its presence is checked)
    except ImportError:
        raise ValueError(
            "tensorboard=True needs the tensorboard package, which is not installed "
            "(pip install tensorboard); the curves are in curves.csv without it"
        ) from None
