"""Image and Dict observations in the agents: the native PPO's encoders (a CNN per image, token
embeddings per instruction), its uint8 rollout, and the SB3 adapter's policy choice."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the envs)
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from rewardgym.agents import ppo
from rewardgym.agents.ppo import ActorCritic, ObservationEncoder, PPOConfig, learn
from rewardgym.agents.sb3 import CombinedImageExtractor, ImageCNN, SB3VecEnv, make_sb3_env, sb3_policy
from rewardgym.core import nets
from torch import nn

IMAGE_48 = spaces.Box(0, 255, (48, 48, 3), np.uint8)
INSTRUCTION = spaces.MultiDiscrete(np.full(10, 25), dtype=np.uint8)
GO_TO_SHAPE_LIKE = spaces.Dict({"image": IMAGE_48, "instruction": INSTRUCTION})
SMALL = PPOConfig(num_envs=16, num_steps=16, num_minibatches=2, update_epochs=4)


# -- tiny envs: the right action is in the instruction (a token id) or in the image ---------------


class TokenBandit(gym.Env):
    """One-step episodes: the first instruction token (ids 2-5) names the paid action (0-3); the
    other tokens are noise from the same vocabulary and the image is noise, so only an agent that
    reads the first slot's id does better than chance (1/4)."""

    def __init__(self, size: int = 16) -> None:
        self.observation_space = spaces.Dict(
            {
                "image": spaces.Box(0, 255, (size, size, 3), np.uint8),
                "instruction": spaces.MultiDiscrete(np.full(3, 6), dtype=np.uint8),
            }
        )
        self.action_space = spaces.Discrete(4)

    def _observe(self) -> dict[str, np.ndarray]:
        self.target = int(self.np_random.integers(4))
        tokens = self.np_random.integers(0, 6, 3).astype(np.uint8)
        tokens[0] = self.target + 2
        image = self.np_random.integers(0, 256, self.observation_space["image"].shape, dtype=np.uint8)
        return {"image": image, "instruction": tokens}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self._observe(), {}

    def step(self, action):
        reward = float(action == self.target)
        return self._observe(), reward, True, False, {}


class QuadrantBandit(gym.Env):
    """One-step episodes on a noisy 16x16 image with one bright green quadrant: the paid action
    is that quadrant's index."""

    observation_space = spaces.Box(0, 255, (16, 16, 3), np.uint8)
    action_space = spaces.Discrete(4)

    def _observe(self) -> np.ndarray:
        self.target = int(self.np_random.integers(4))
        image = self.np_random.integers(0, 64, (16, 16, 3), dtype=np.uint8)
        row, column = divmod(self.target, 2)
        image[8 * row : 8 * row + 8, 8 * column : 8 * column + 8, 1] = 255
        return image

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self._observe(), {}

    def step(self, action):
        reward = float(action == self.target)
        return self._observe(), reward, True, False, {}


def vector(env: type[gym.Env], num_envs: int, mode: AutoresetMode) -> gym.vector.SyncVectorEnv:
    return gym.vector.SyncVectorEnv([env for _ in range(num_envs)], autoreset_mode=mode)


def probe(env: gym.Env, count: int = 200) -> tuple[object, np.ndarray]:
    """``count`` fresh observations (stacked as a vector env would) and their paid actions."""
    observations, targets = [], []
    for seed in range(count):
        observations.append(env.reset(seed=10_000 + seed)[0])
        targets.append(env.target)
    first = observations[0]
    batch = (
        {k: np.stack([o[k] for o in observations]) for k in first}
        if isinstance(first, dict)
        else np.stack(observations)
    )
    return batch, np.array(targets)


def parameters(agent: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().copy() for k, v in agent.state_dict().items()}


# -- the encoder each space gets ----------------------------------------------------------------


def test_each_observation_space_gets_its_encoder():
    vector_agent = ActorCritic(spaces.Box(-1, 1, (4,)), spaces.Discrete(2), seed=0)
    assert vector_agent.encoder is None and vector_agent.actor[0].in_features == 4
    assert vector_agent.storage_dtype == torch.float32

    atari = ActorCritic(spaces.Box(0, 255, (84, 84, 3), np.uint8), spaces.Discrete(2), seed=0)
    convs = [m for m in atari.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [(32, 8, 4), (64, 4, 2), (64, 3, 1)]
    assert atari.actor[0].in_features == 512  # Mnih et al.'s 512 features

    small = ActorCritic(IMAGE_48, spaces.Discrete(4), seed=0)
    convs = [m for m in small.encoder.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0], c.stride[0], c.padding[0]) for c in convs] == [
        (16, 3, 2, 1),
        (32, 3, 2, 1),
        (32, 3, 2, 1),
    ]
    assert small.input_dim == 48 * 48 * 3 and small.storage_dtype == torch.uint8 and small.obs_dim == 0

    multimodal = ActorCritic(GO_TO_SHAPE_LIKE, spaces.Discrete(4), seed=0)
    encoder = multimodal.encoder
    assert [(p.key, p.kind) for p in encoder.parts] == [("image", "image"), ("instruction", "tokens")]
    tokens = encoder.encoders[1]
    assert isinstance(tokens, nets.TokenEncoder) and tokens.embedding.num_embeddings == 25  # max nvec
    assert multimodal.actor[0].in_features == 256 + 10 * 16 == encoder.features_dim
    assert multimodal.storage_dtype == torch.uint8 and multimodal.input_dim == 48 * 48 * 3 + 10

    with_floats = ActorCritic(
        spaces.Dict({**GO_TO_SHAPE_LIKE.spaces, "velocity": spaces.Box(-1, 1, (2,))}), spaces.Discrete(4), seed=0
    )
    assert [p.kind for p in with_floats.encoder.parts] == ["image", "tokens", "float"]
    assert with_floats.storage_dtype == torch.float32 and with_floats.obs_dim == 2
    big_vocab = ObservationEncoder(
        spaces.Dict({"tokens": spaces.MultiDiscrete(np.full(4, 1000))}), torch.Generator().manual_seed(0)
    )
    assert big_vocab.storage_dtype == torch.int16


@pytest.mark.parametrize(
    ("side", "strides", "features"),
    [(16, [2, 2, 1], 256), (32, [2, 2, 2], 256), (48, [2, 2, 2], 256), (64, [4, 2, 1], 512), (512, [4, 2, 1], 512)],
)
def test_the_cnn_takes_every_pixel_size_and_keeps_its_last_map_small(side, strides, features):
    encoder = nets.ImageEncoder((side, side, 3))
    assert [m.stride[0] for m in encoder.net if isinstance(m, nn.Conv2d)] == strides
    assert encoder(torch.zeros(2, side, side, 3, dtype=torch.uint8)).shape == (2, features)
    linear = next(m for m in encoder.net if isinstance(m, nn.Linear))
    assert linear.in_features <= 64 * nets.MAX_FEATURE_MAP**2  # a 512 image is pooled, not 60x60x64


def test_images_are_scaled_by_1_over_255_and_moved_channels_first():
    encoder = nets.ImageEncoder((8, 8, 3))
    images = torch.randint(0, 256, (2, 8, 8, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    expected = encoder.net(images.permute(0, 3, 1, 2).float() / 255)
    torch.testing.assert_close(encoder(images), expected)


def test_actions_for_images_and_dicts_one_or_a_batch():
    image_agent = ActorCritic(IMAGE_48, spaces.Discrete(4, start=1), seed=0)
    images = np.random.default_rng(0).integers(0, 256, (5, 48, 48, 3), dtype=np.uint8)
    actions = image_agent.predict(images, deterministic=False)
    assert actions.shape == (5,) and actions.dtype == np.int64 and set(actions.tolist()) <= {1, 2, 3, 4}
    assert image_agent.predict(images[0]).shape == ()
    assert image_agent.value(torch.from_numpy(images)).shape == (5,)

    agent = ActorCritic(GO_TO_SHAPE_LIKE, spaces.Box(-1, 1, (2,)), seed=0)
    batch = {"image": images, "instruction": np.ones((5, 10), np.uint8)}
    assert agent.predict(batch).shape == (5, 2)
    assert agent.predict({k: v[0] for k, v in batch.items()}).shape == (2,)
    assert agent.predict(np.asarray(batch)).shape == (5, 2)  # a dict wrapped by np.asarray
    with pytest.raises(
        ValueError, match=r"'instruction' observations of shape \(n, 10\) or \(10,\), got shape \(5, 9\)"
    ):
        agent.predict({"image": images, "instruction": np.ones((5, 9), np.uint8)})
    with pytest.raises(ValueError, match="predict takes a dict of batches"):
        agent.predict(images)


def test_one_encoder_pass_gives_the_same_log_probs_and_values():
    agent = ActorCritic(GO_TO_SHAPE_LIKE, spaces.Discrete(4), seed=0)
    rows = torch.randint(0, 25, (6, agent.input_dim), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    actions = torch.arange(6) % 4
    logp, entropy, value = agent._evaluate(rows, actions)
    torch.testing.assert_close((logp, entropy), agent._log_prob_entropy(rows, actions))
    torch.testing.assert_close(value, agent._value(rows))


def test_the_same_seed_gives_the_same_encoder_and_another_does_not():
    first, again, other = (parameters(ActorCritic(GO_TO_SHAPE_LIKE, spaces.Discrete(4), seed=s)) for s in (0, 0, 1))
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert not np.array_equal(first["encoder.encoders.0.net.0.weight"], other["encoder.encoders.0.net.0.weight"])
    assert not np.array_equal(
        first["encoder.encoders.1.embedding.weight"], other["encoder.encoders.1.embedding.weight"]
    )


# -- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("space", "message"),
    [
        (
            spaces.Box(0, 255, (4, 4, 3), np.uint8),
            r"1, 3 or 4 channels and each side >= 8 pixels, got shape \(4, 4, 3\)",
        ),
        (spaces.Box(0, 255, (48, 48, 2), np.uint8), r"with 1, 3 or 4 channels .* got shape \(48, 48, 2\)"),
        (
            spaces.Box(0, 255, (3, 48, 48), np.uint8),
            r"images of shape \(height, width, channels\) .* got shape \(3, 48, 48\)",
        ),
        (
            spaces.Dict({"image": spaces.Box(0, 255, (6, 48, 3), np.uint8), "instruction": INSTRUCTION}),
            r"key 'image': the CNN encoder takes uint8 images .* got shape \(6, 48, 3\)",
        ),
    ],
)
def test_images_the_cnn_cannot_take_are_refused_by_shape(space, message):
    with pytest.raises(ValueError, match=message):
        ActorCritic(space, spaces.Discrete(2))


def test_other_observation_spaces_are_refused_naming_what_is_taken():
    with pytest.raises(TypeError, match=r"flat float Box observations \(shape \(n,\)\).* uint8 images Box\(0, 255"):
        ActorCritic(spaces.Box(0.0, 1.0, (48, 48, 3)), spaces.Discrete(2))  # a float image
    with pytest.raises(TypeError, match="keys are uint8 images, token ids .* key 'inner': got Dict"):
        ActorCritic(spaces.Dict({"inner": spaces.Dict({"x": spaces.Discrete(2)})}), spaces.Discrete(2))
    with pytest.raises(TypeError, match=r"196,608 inputs .* an image must be a uint8 Box\(0, 255"):
        ActorCritic(spaces.Box(0, 255, (16, 16, 3), np.int64), spaces.Discrete(2))  # int64: not an image


# -- storage and normalization ----------------------------------------------------------------


def test_tokens_are_stored_from_zero_and_normalization_spares_pixels_and_token_ids():
    space = spaces.Dict(
        {
            "image": spaces.Box(0, 255, (8, 8, 1), np.uint8),
            "tokens": spaces.MultiDiscrete([5, 5], start=[10, 20]),
            "velocity": spaces.Box(-np.inf, np.inf, (2,)),
        }
    )
    agent = ActorCritic(space, spaces.Discrete(2), normalize_obs=True, seed=0)
    rng = np.random.default_rng(0)
    obs = {
        "image": torch.from_numpy(rng.integers(0, 256, (64, 8, 8, 1), dtype=np.uint8)),
        "tokens": torch.tensor([[12, 24]] * 64),
        "velocity": torch.from_numpy(rng.normal(5.0, 3.0, (64, 2)).astype(np.float32)),
    }
    agent.update_obs_stats(obs)
    assert agent.obs_mean.shape == (2,) and np.allclose(
        agent.obs_mean.numpy(), obs["velocity"].double().mean(0).numpy()
    )
    rows = agent.normalize(obs)
    assert rows.dtype == torch.float32 and rows.shape == (64, 64 + 2 + 2)
    assert torch.equal(rows[:, :64], obs["image"].reshape(64, 64).float())  # pixels untouched
    assert rows[:, 64:66].tolist() == [[2.0, 4.0]] * 64  # ids minus the space's start
    assert abs(float(rows[:, 66:].mean())) < 0.1 and 0.8 < float(rows[:, 66:].std()) < 1.2


def test_the_rollout_keeps_images_and_token_ids_as_uint8(monkeypatch):
    allocated = []
    zeros = torch.zeros

    def spy(*args, **kwargs):
        out = zeros(*args, **kwargs)
        allocated.append((tuple(out.shape), out.dtype))
        return out

    monkeypatch.setattr(torch, "zeros", spy)
    config = PPOConfig(num_envs=4, num_steps=8, num_minibatches=2, update_epochs=1, normalize_obs=True)
    agent = learn(vector(TokenBandit, 4, AutoresetMode.SAME_STEP), config.batch_size, config, seed=0)
    monkeypatch.undo()
    width = 16 * 16 * 3 + 3
    observation_buffers = [dtype for shape, dtype in allocated if shape == (8, 4, width)]
    assert observation_buffers == [torch.uint8, torch.uint8]  # the observations and the next ones
    assert not any(dtype == torch.float32 and shape[-1:] == (width,) for shape, dtype in allocated)
    assert agent.obs_dim == 0 and float(agent.obs_count) == pytest.approx(1e-4)  # nothing normalized


# -- training ------------------------------------------------------------------------------------


def test_ppo_reads_the_instruction_token_in_a_dict_bandit():
    # SAME_STEP: every step ends an episode, whose final observation gymnasium's SyncVectorEnv
    # hands over per env (an object array of dicts).
    envs = vector(TokenBandit, 16, AutoresetMode.SAME_STEP)
    agent = learn(envs, 2048, SMALL, seed=0)
    observations, targets = probe(TokenBandit())
    accuracy = float((agent.predict(observations) == targets).mean())
    assert accuracy > 0.9  # chance: 0.25


def test_ppo_reads_an_image_in_an_image_bandit():
    envs = vector(QuadrantBandit, 16, AutoresetMode.NEXT_STEP)
    agent = learn(envs, 2048, SMALL, seed=0)
    observations, targets = probe(QuadrantBandit())
    assert float((agent.predict(observations) == targets).mean()) > 0.9  # chance: 0.25


def test_ppo_on_cartpole_pixels_reports_episodes_and_is_seeded():
    config = PPOConfig(num_envs=4, num_steps=16, num_minibatches=2, update_epochs=1)

    def run(seed):
        envs = gym.make_vec(
            "rewardgym/CartPole-v0", num_envs=4, obs_mode="pixels", pixel_size=32, autoreset_mode="same_step", reward=[]
        )
        lengths = []
        agent = learn(
            envs, 3 * config.batch_size, config, seed=seed, callback=lambda s, a, e: lengths.extend(e["length"])
        )
        return agent, lengths, envs

    agent, lengths, envs = run(0)
    assert len(lengths) > 0 and agent.storage_dtype == torch.uint8
    assert agent.predict(envs.reset(seed=1)[0]).shape == (4,)
    first, again, other = parameters(agent), parameters(run(0)[0]), parameters(run(1)[0])
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert any(not np.array_equal(first[k], other[k]) for k in first)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_ppo_on_go_to_shape_takes_numpy_and_torch_dict_batches(device):
    # device="cuda" returns dicts of torch tensors (on the CPU under the session's CUDA simulator).
    config = PPOConfig(num_envs=4, num_steps=8, num_minibatches=2, update_epochs=1)
    envs = gym.make_vec("rewardgym/GoToShape-v0", num_envs=4, device=device, autoreset_mode="same_step", reward=[])
    assert isinstance(envs.single_observation_space, spaces.Dict)
    agent = learn(envs, 2 * config.batch_size, config, seed=0)
    assert agent.storage_dtype == torch.uint8 and [p.kind for p in agent.encoder.parts] == ["image", "tokens"]
    obs = envs.reset(seed=1)[0]
    assert agent.act(obs).shape == (4,)
    numpy_obs = {k: np.asarray(v.cpu() if torch.is_tensor(v) else v) for k, v in obs.items()}
    assert agent.predict(numpy_obs).shape == (4,)


def test_independent_learners_split_dict_batches_by_row():
    agent = ppo.IndependentActorCritic(GO_TO_SHAPE_LIKE, spaces.Discrete(4), num_agents=2, seed=0)
    batch = {"image": np.zeros((6, 48, 48, 3), np.uint8), "instruction": np.ones((6, 10), np.uint8)}
    assert agent.predict(batch).shape == (6,) and agent.storage_dtype == torch.uint8
    rows = agent.normalize({k: torch.from_numpy(v) for k, v in batch.items()})
    assert rows.shape == (6, 48 * 48 * 3 + 10) and rows.dtype == torch.uint8


# -- SB3 ------------------------------------------------------------------------------------------


def test_sb3_policy_fits_the_observation_space():
    assert sb3_policy(None, spaces.Box(-1, 1, (4,))) == ("MlpPolicy", {})
    assert sb3_policy(None, GO_TO_SHAPE_LIKE) == ("MultiInputPolicy", {})
    assert sb3_policy("MlpPolicy", GO_TO_SHAPE_LIKE) == ("MultiInputPolicy", {})  # the reference files' name
    assert sb3_policy("auto", IMAGE_48) == ("CnnPolicy", {})  # >= 36 pixels: SB3's NatureCNN
    assert sb3_policy("MlpPolicy", IMAGE_48) == ("CnnPolicy", {})
    assert sb3_policy("CnnPolicy", spaces.Box(-1, 1, (4,))) == ("CnnPolicy", {})  # a named policy stays
    small = spaces.Box(0, 255, (16, 16, 3), np.uint8)
    assert sb3_policy(None, small) == ("CnnPolicy", {"features_extractor_class": ImageCNN})
    small_dict = spaces.Dict({"image": small, "instruction": INSTRUCTION})
    assert sb3_policy(None, small_dict, {"net_arch": [32]}) == (
        "MultiInputPolicy",
        {"net_arch": [32], "features_extractor_class": CombinedImageExtractor},
    )
    assert (
        sb3_policy(None, small, {"features_extractor_class": nn.Flatten})[1]["features_extractor_class"] is nn.Flatten
    )
    with pytest.raises(ValueError, match=r"CnnPolicy cannot take the image observation \(4, 4, 3\).* sides >= 8"):
        sb3_policy(None, spaces.Box(0, 255, (4, 4, 3), np.uint8))


def test_sb3_ppo_trains_on_a_dict_env_and_on_cartpole_pixels():
    from stable_baselines3 import PPO

    dict_env = SB3VecEnv(vector(TokenBandit, 4, AutoresetMode.SAME_STEP))
    pixels = make_sb3_env("rewardgym/CartPole-v0", num_envs=4, obs_mode="pixels", pixel_size=16)
    for venv, extractor in ((dict_env, CombinedImageExtractor), (pixels, ImageCNN)):
        policy, policy_kwargs = sb3_policy(None, venv.observation_space)
        model = PPO(policy, venv, n_steps=32, batch_size=64, n_epochs=1, seed=0, policy_kwargs=policy_kwargs)
        assert isinstance(model.policy.features_extractor, extractor)
        model.learn(256)
        assert model.num_timesteps == 256 and venv.episodes.total > 0
        obs = venv.reset()
        assert model.predict(obs, deterministic=True)[0].shape == (4,)
    obs = dict_env.reset()
    assert set(obs) == {"image", "instruction"} and obs["image"].shape == (4, 16, 16, 3)
    _, _, dones, infos = dict_env.step(np.zeros(4, np.int64))
    assert dones.all() and set(infos[0]["terminal_observation"]) == {"image", "instruction"}
    assert infos[0]["terminal_observation"]["instruction"].shape == (3,)
