"""GoToShape and ArrangeShapes: the grammar, the scenes drawn at each difficulty, gold on the state."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
import rewardgym  # noqa: F401  (registers the envs)
from gymnasium.utils.env_checker import check_env
from rewardgym.core.checks import check_vector_env
from rewardgym.envs.multimodal import scene
from rewardgym.envs.multimodal.scene import (
    AGENT_COL,
    AGENT_ROW,
    CELL,
    COLOUR_RGB,
    NUM_OBJECTS,
    OBJECTS,
    RELATION,
    decode_instruction,
    encode_instruction,
    parse_instruction,
)

SCENE_IDS = ["rewardgym/GoToShape-v0", "rewardgym/ArrangeShapes-v0"]


def objects(state):
    """``[(colour, shape, row, col), ...]`` of a state row."""
    n = int(state[NUM_OBJECTS])
    return [tuple(int(v) for v in state[OBJECTS + 4 * k : OBJECTS + 4 * k + 4]) for k in range(n)]


def named(instruction):
    parsed = parse_instruction(instruction)
    first = (parsed.colour, parsed.shape)
    return first, (parsed.colour_b, parsed.shape_b) if parsed.relation >= 0 else None


@pytest.mark.parametrize("env_id", SCENE_IDS)
def test_scenes_pass_gymnasiums_and_the_vector_env_checkers(env_id):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gymnasium's advice on image bounds and the like
        check_env(gym.make(env_id).unwrapped)
    for mode in ("next_step", "same_step"):
        check_vector_env(gym.make_vec(env_id, num_envs=4, autoreset_mode=mode), steps=200)


@pytest.mark.parametrize("difficulty", [1, 2, 3, 4])
def test_go_to_shape_names_a_unique_shape_among_the_distractors_of_its_difficulty(difficulty):
    envs = gym.make_vec("rewardgym/GoToShape-v0", num_envs=64, difficulty=difficulty)
    obs, _ = envs.reset(seed=difficulty)
    state = envs.unwrapped.state
    for i in range(64):
        target, _ = named(decode_instruction(obs["instruction"][i]))
        shapes = objects(state[i])
        assert len(shapes) == 1 + 2 * difficulty - 1  # 1, 3, 5, 7 distractors
        assert [s[:2] for s in shapes].count(target) == 1 and shapes[0][:2] == target
        cells = {s[2:] for s in shapes}
        assert len(cells) == len(shapes)  # one shape per cell
        assert (int(state[i, AGENT_ROW]), int(state[i, AGENT_COL])) not in cells
        colours = [s[0] for s in shapes[1:]]
        kinds = [s[1] for s in shapes[1:]]
        if difficulty >= 3:  # the counterfactuals: the named colour on another shape, and vice versa
            assert target[0] in colours and target[1] in kinds


def test_walking_to_the_named_shape_pays_one_in_proxy_and_gold_and_ends_the_episode():
    env = gym.make("rewardgym/GoToShape-v0", difficulty=4)
    for seed in range(20):
        obs, _ = env.reset(seed=seed)
        state = env.unwrapped.state
        _, _, row, col = objects(state)[0]
        moves = []
        d_row, d_col = row - int(state[AGENT_ROW]), col - int(state[AGENT_COL])
        moves += [1 if d_row > 0 else 0] * abs(d_row) + [3 if d_col > 0 else 2] * abs(d_col)
        for k, action in enumerate(moves):
            obs, reward, terminated, truncated, info = env.step(action)
            last = k == len(moves) - 1
            # Passing over distractors pays nothing and ends nothing.
            assert (reward, info["gold_reward"], terminated, truncated) == (
                (1.0, 1.0, True, False) if last else (0.0, 0.0, False, False)
            )


def test_the_image_paints_each_shape_in_its_colour_and_the_agent_as_a_white_frame():
    envs = gym.make_vec("rewardgym/GoToShape-v0", num_envs=8, difficulty=4)
    obs, _ = envs.reset(seed=0)
    for i in range(8):
        state, image = envs.unwrapped.state[i], obs["image"][i]
        for colour, _, row, col in objects(state):
            # The pixel 3 down and 3 right of a cell's corner lies inside every shape.
            np.testing.assert_array_equal(image[row * CELL + 3, col * CELL + 3], COLOUR_RGB[colour])
        top, left = int(state[AGENT_ROW]) * CELL, int(state[AGENT_COL]) * CELL
        frame = np.concatenate([image[top, left : left + CELL], image[top : top + CELL, left]])
        assert (frame == 255).all()
        # Square, circle and triangle differ in the cell's corner pixels.
        covers = [[scene.shape_covers(shape, y, x) for (y, x) in [(1, 1), (6, 1), (1, 3)]] for shape in range(3)]
        assert covers == [[True, True, True], [False, False, True], [False, True, True]]


def test_render_returns_the_observed_picture():
    envs = gym.make_vec("rewardgym/GoToShape-v0", num_envs=3, render_mode="rgb_array")
    obs, _ = envs.reset(seed=1)
    obs, *_ = envs.step(np.array([0, 1, 2]))
    np.testing.assert_array_equal(np.stack(envs.render()), obs["image"])


def test_vector_env_i_plays_as_a_single_env_seeded_s_plus_i():
    envs = gym.make_vec("rewardgym/ArrangeShapes-v0", num_envs=3, difficulty=3)
    obs, _ = envs.reset(seed=10)
    actions = np.random.default_rng(0).integers(0, 4, (30, 3))
    steps = [envs.step(a) for a in actions]
    for i in range(3):
        env = gym.make("rewardgym/ArrangeShapes-v0", difficulty=3)
        single, _ = env.reset(seed=10 + i)
        np.testing.assert_array_equal(single["image"], obs["image"][i])
        np.testing.assert_array_equal(single["instruction"], obs["instruction"][i])
        for t, a in enumerate(actions[:, i]):
            single, reward, terminated, truncated, info = env.step(int(a))
            np.testing.assert_array_equal(single["image"], steps[t][0]["image"][i])
            assert reward == steps[t][1][i] and terminated == steps[t][2][i]
            if terminated or truncated:
                break


def test_arrange_shapes_never_starts_arranged_and_names_two_shapes_on_the_inner_cells():
    envs = gym.make_vec("rewardgym/ArrangeShapes-v0", num_envs=256, difficulty=4)
    obs, _ = envs.reset(seed=0)
    state = envs.unwrapped.state
    relations = set()
    for i in range(256):
        first, second = named(decode_instruction(obs["instruction"][i]))
        shapes = objects(state[i])
        assert len(shapes) == 8 and shapes[0][:2] == first and shapes[1][:2] == second
        assert all(1 <= v <= scene.GRID - 2 for v in shapes[0][2:] + shapes[1][2:])
        assert not scene.instruction_holds(state[i])
        relations.add(int(state[i, RELATION]))
    assert relations == set(range(len(scene.RELATIONS)))


def place(env, agent, shapes, relation):
    """Set a single ArrangeShapes env's state: the agent's cell, the shapes and the relation."""
    state = env.unwrapped.state
    scene.clear(state)
    state[AGENT_ROW], state[AGENT_COL] = agent
    for k, shape in enumerate(shapes):
        state[OBJECTS + 4 * k : OBJECTS + 4 * k + 4] = shape
    state[NUM_OBJECTS] = len(shapes)
    state[RELATION] = relation


def test_pushing_moves_a_shape_unless_the_edge_or_another_shape_is_behind_it():
    env = gym.make("rewardgym/ArrangeShapes-v0")
    env.reset(seed=0)
    left_of = scene.RELATIONS.index("left of")
    # red square at (2, 1), blue circle at (2, 3); the agent pushes the square right from (2, 0).
    place(env, (2, 0), [(0, 0, 2, 1), (2, 1, 2, 3)], left_of)
    _, reward, terminated, _, info = env.step(3)
    assert objects(env.unwrapped.state)[0][2:] == (2, 2) and (reward, info["gold_reward"], terminated) == (
        1.0,
        1.0,
        True,
    )
    # A shape with another shape behind it does not move, nor does the agent.
    env.reset(seed=0)
    place(env, (2, 0), [(0, 0, 2, 1), (2, 1, 2, 2)], scene.RELATIONS.index("above"))
    env.step(3)
    assert objects(env.unwrapped.state)[0][2:] == (2, 1) and env.unwrapped.state[AGENT_COL] == 0
    # Nor one against the board's edge; the agent stays put at the edge itself.
    env.reset(seed=0)
    place(env, (2, 4), [(0, 0, 2, 5), (2, 1, 0, 0)], left_of)
    env.step(3)
    assert objects(env.unwrapped.state)[0][2:] == (2, 5) and env.unwrapped.state[AGENT_COL] == 4
    env.step(0)
    env.step(0)
    env.step(0)
    assert env.unwrapped.state[AGENT_ROW] == 0


@pytest.mark.parametrize(
    ("relation", "first_cell", "holds"),
    [
        ("left of", (2, 1), True),
        ("left of", (2, 0), False),
        ("right of", (2, 3), True),
        ("above", (1, 2), True),
        ("below", (3, 2), True),
        ("below", (1, 2), False),
        ("next to", (3, 2), True),
        ("next to", (3, 3), False),
    ],
)
def test_each_relation_holds_exactly_on_its_neighbouring_cell(relation, first_cell, holds):
    state = np.zeros(scene.STATE_SIZE)
    scene.clear(state)
    state[NUM_OBJECTS] = 2
    state[OBJECTS : OBJECTS + 4] = (0, 0, *first_cell)
    state[OBJECTS + 4 : OBJECTS + 8] = (1, 1, 2, 2)
    state[RELATION] = scene.RELATIONS.index(relation)
    assert scene.instruction_holds(state) == holds


def test_instructions_round_trip_through_tokens_and_can_be_fixed():
    text = "put the yellow triangle next to the grey square"
    assert decode_instruction(encode_instruction(text)) == text
    obs, _ = gym.make("rewardgym/ArrangeShapes-v0", instruction=text).reset(seed=3)
    assert decode_instruction(obs["instruction"]) == text
    envs = gym.make_vec("rewardgym/GoToShape-v0", num_envs=16, instruction="go to the green circle", difficulty=4)
    obs, _ = envs.reset(seed=0)
    assert {decode_instruction(row) for row in obs["instruction"]} == {"go to the green circle"}
    assert len(scene.VOCAB) == scene.VOCAB_SIZE == 20


@pytest.mark.parametrize(
    ("env_id", "kwargs", "error", "message"),
    [
        (
            "rewardgym/GoToShape-v0",
            {"difficulty": 5},
            ValueError,
            "unknown difficulty 5 of GoToShape; valid: 1, 2, 3, 4",
        ),
        ("rewardgym/GoToShape-v0", {"instruction": "go to the pink circle"}, ValueError, "unknown colour 'pink'"),
        ("rewardgym/GoToShape-v0", {"instruction": "go to the red hexagon"}, ValueError, "unknown shape 'hexagon'"),
        (
            "rewardgym/GoToShape-v0",
            {"instruction": "fetch the red circle"},
            ValueError,
            "starts 'go to the' or 'put the'",
        ),
        (
            "rewardgym/GoToShape-v0",
            {"instruction": "put the red circle above the blue square"},
            ValueError,
            "not a 'put' one",
        ),
        ("rewardgym/GoToShape-v0", {"colour": 6}, ValueError, "colour of GoToShape must be -1"),
        ("rewardgym/GoToShape-v0", {"instruction": 3}, TypeError, "an instruction is a str"),
        (
            "rewardgym/GoToShape-v0",
            {"obs_mode": "pixels"},
            ValueError,
            "obs_mode='pixels' is not supported by GoToShape",
        ),
        ("rewardgym/ArrangeShapes-v0", {"instruction": "go to the red circle"}, ValueError, "not a 'go to' one"),
        (
            "rewardgym/ArrangeShapes-v0",
            {"instruction": "put the red circle near the blue square"},
            ValueError,
            "expected a relation",
        ),
        (
            "rewardgym/ArrangeShapes-v0",
            {"instruction": "put the red circle left of the red circle"},
            ValueError,
            "must differ",
        ),
        ("rewardgym/ArrangeShapes-v0", {"difficulty": 0}, ValueError, "unknown difficulty 0 of ArrangeShapes"),
        ("rewardgym/ArrangeShapes-v0", {"relation": 5}, ValueError, "relation of ArrangeShapes must be -1"),
    ],
)
def test_bad_input_is_refused_by_name(env_id, kwargs, error, message):
    with pytest.raises(error, match=message):
        gym.make(env_id, **kwargs)


def test_intrinsic_bonuses_read_the_image_and_instruction_as_one_row():
    # Count's bonus 1/sqrt(n) falls as the same scene is seen again and tells the two scenes apart
    # (one slot for both would pay 1/sqrt(3) on the second step): it hashes the flattened Dict.
    from rewardgym.core.regime import EnvContext
    from rewardgym.core.transition import Transition
    from rewardgym.wrappers.intrinsic.count import Count

    envs = gym.make_vec("rewardgym/GoToShape-v0", num_envs=2)
    obs, _ = envs.reset(seed=0)
    same = {key: np.stack([value[0], value[0]]) for key, value in obs.items()}
    count = Count(beta=1.0, normalize=False, extrinsic=False, seed=0)
    count.bind(EnvContext(2, envs.single_observation_space, envs.single_action_space))
    paid = []
    for next_obs in (obs, obs, same):
        batch = Transition(
            obs,
            np.zeros(2, np.int64),
            next_obs,
            np.zeros(2, np.float32),
            np.zeros(2, bool),
            np.zeros(2, bool),
            np.ones(2, bool),
        )
        paid.append(count.reward(batch))
        count.update(batch)
    np.testing.assert_allclose(paid, [[1.0, 1.0], [0.5**0.5, 0.5**0.5], [3**-0.5, 3**-0.5]], rtol=1e-6)
