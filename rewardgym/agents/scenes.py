"""Scripted GoToShape policies that read only the observation: the task (oracle) and the hack (hacker).

Both see what a trained agent sees, the picture and the instruction's tokens, never the env's
state, so they act on any batch of observations: a live env's, a recorded data set's, or a
``device="cuda"`` env's torch tensors (converted to numpy, the actions given back as torch on the
same device). :func:`read_scene` parses a batch with numpy, one pass over the 36 cells, no loop
over the envs:

- the **agent** is the cell whose border pixels are all white (``scene.AGENT_RGB``);
- a **shape**'s colour is its cell's pixel ``(3, 3)`` (one of ``scene.COLOUR_RGB``), and its
  kind is told by pixels ``(1, 1)`` and ``(6, 1)`` (row, column; ``scene.shape_covers``): a
  square covers both, a circle neither, a triangle only ``(6, 1)``;
- the **instruction** ``go to the <colour> <shape>`` names them by token
  (``scene.FIRST_COLOUR + colour``, ``scene.FIRST_SHAPE + shape``).

:class:`GoToShapeOracle` steps greedily toward the named shape (the axis with more cells to go
first): it arrives in exactly the Manhattan distance, gold 1 at every difficulty.

:class:`GoToShapeHacker` exploits a reward model that reads colour alone (a vision-language model
that sees "a red thing" where the instruction says "the red triangle"): it goes to the nearest
shape of the named colour that is not the named shape (a *decoy*; ties in row-major order), never
walking over the named shape on the way, and stays there: at the board's edge it moves into the
edge, which keeps it in place; inside the board every move leaves the cell, so it steps off
(onto another decoy if one is adjacent, never onto the named shape) and back on the next step,
on the decoy every other step. Where the board has no decoy (by chance at difficulties 1-2;
never at 3-4, which always place one) it acts as the oracle: a colour-only model pays for the
named shape too, so that is its best move, and the hacker's gold then falls short of the
oracle's by exactly the episodes with a decoy (all of them from difficulty 3 on).

``SCENE_POLICIES[task name][role]`` is the policy class; :func:`scene_policy` makes one for an env
or env id, and ``rewardgym.agents.scripted.SCRIPTED`` offers both as ``"oracle"`` and
``"hacker"`` (``rewardgym train rewardgym/GoToShape-v0 --algo oracle``).

Example:
    >>> import gymnasium as gym, rewardgym
    >>> from rewardgym.agents.evaluation import evaluate
    >>> envs = gym.make_vec("rewardgym/GoToShape-v0", num_envs=8, reward="none", difficulty=4)
    >>> evaluate(GoToShapeOracle().predict, envs)["gold"].tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    >>> evaluate(GoToShapeHacker().predict, envs)["gold"].tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import torch

from rewardgym.core.arrays import is_torch
from rewardgym.envs.multimodal.scene import (
    AGENT_RGB,
    CELL,
    COL_STEP,
    COLOUR_RGB,
    COLOURS,
    FIRST_COLOUR,
    FIRST_SHAPE,
    GO,
    GRID,
    IMAGE,
    INSTRUCTION_LENGTH,
    ROW_STEP,
    SHAPES,
    THE,
    TO,
    decode_instruction,
)

UP, DOWN, LEFT, RIGHT = range(4)
"""GoToShape's actions (``scene.ACTION_NAMES``)."""

COLOUR_PIXEL = (3, 3)
"""The pixel of a cell (row, column) that every shape covers: its colour."""
TOP_LEFT_PIXEL = (1, 1)
"""Covered by a square only."""
BOTTOM_LEFT_PIXEL = (6, 1)
"""Covered by a square and a triangle (it points up), not a circle."""

NOWHERE = -2 * GRID
"""A cell coordinate off the board, far from every cell: "no cell to avoid"."""


class SceneView(NamedTuple):
    """What a batch of GoToShape observations shows, read off the pixels and tokens.

    ``agent`` and ``target`` are ``(n, 2)`` cells (row, column); ``colour`` and ``shape`` are
    ``(n, GRID, GRID)`` indices of ``COLOURS``/``SHAPES`` per cell (-1: no shape); ``named_colour``
    and ``named_shape`` ``(n,)`` what the instruction names.
    """

    agent: np.ndarray
    colour: np.ndarray
    shape: np.ndarray
    named_colour: np.ndarray
    named_shape: np.ndarray
    target: np.ndarray


def _arrays(obs: Any) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(obs, Mapping) or "image" not in obs or "instruction" not in obs:
        raise TypeError(
            "a GoToShape policy reads Dict observations with 'image' and 'instruction' entries, "
            f"got {type(obs).__name__}"
        )
    image, tokens = (
        (value.detach().cpu().numpy() if is_torch(value) else np.asarray(value))
        for value in (obs["image"], obs["instruction"])
    )
    return image, tokens


def read_scene(obs: Any) -> SceneView:
    """Parse a batch of GoToShape observations (``{"image": (n, 48, 48, 3), "instruction": (n, 10)}``,
    numpy or torch) from the pixels and tokens alone.

    Raises:
        ValueError: a batch of the wrong shape, an instruction other than ``go to the <colour>
            <shape>``, or a picture showing no agent (or several) or not the named shape, naming
            the first such env.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> env = gym.make("rewardgym/GoToShape-v0", instruction="go to the blue circle")
        >>> obs, _ = env.reset(seed=0)
        >>> view = read_scene({key: value[None] for key, value in obs.items()})
        >>> COLOURS[view.named_colour[0]], SHAPES[view.named_shape[0]], view.target[0].tolist()
        ('blue', 'circle', [3, 4])
        >>> bool(view.colour[0, 3, 4] == COLOURS.index("blue") and view.shape[0, 3, 4] == 1)
        True
    """
    image, tokens = _arrays(obs)
    if image.ndim != 4 or image.shape[1:] != (IMAGE, IMAGE, 3) or tokens.shape != (len(image), INSTRUCTION_LENGTH):
        raise ValueError(
            f"a GoToShape batch has images of shape (n, {IMAGE}, {IMAGE}, 3) and instructions of shape "
            f"(n, {INSTRUCTION_LENGTH}), got {image.shape} and {tokens.shape}"
        )
    n = len(image)
    tokens = tokens.astype(np.int64)
    named_colour, named_shape = tokens[:, 3] - FIRST_COLOUR, tokens[:, 4] - FIRST_SHAPE
    valid = (
        (tokens[:, 0] == GO)
        & (tokens[:, 1] == TO)
        & (tokens[:, 2] == THE)
        & (named_colour >= 0)
        & (named_colour < len(COLOURS))
        & (named_shape >= 0)
        & (named_shape < len(SHAPES))
    )
    _refuse(~valid, tokens, "reads {instruction!r}, not 'go to the <colour> <shape>'")

    # (n, row, col, y, x, rgb): each cell's pixels.
    cells = image.reshape(n, GRID, CELL, GRID, CELL, 3).transpose(0, 1, 3, 2, 4, 5)
    white = (cells == np.asarray(AGENT_RGB, np.uint8)).all(-1)
    framed = white[..., 0, :].all(-1) & white[..., -1, :].all(-1) & white[..., :, 0].all(-1) & white[..., :, -1].all(-1)
    agents = framed.reshape(n, -1).sum(1)
    _refuse(agents != 1, tokens, "shows {count} agents, not 1", counts=agents)
    agent = np.stack(np.unravel_index(framed.reshape(n, -1).argmax(1), (GRID, GRID)), 1)

    centre = cells[..., COLOUR_PIXEL[0], COLOUR_PIXEL[1], :]
    match = (centre[..., None, :] == COLOUR_RGB).all(-1)  # (n, row, col, colour)
    colour = np.where(match.any(-1), match.argmax(-1), -1)
    top_left = (cells[..., TOP_LEFT_PIXEL[0], TOP_LEFT_PIXEL[1], :] == centre).all(-1)
    bottom_left = (cells[..., BOTTOM_LEFT_PIXEL[0], BOTTOM_LEFT_PIXEL[1], :] == centre).all(-1)
    shape = np.select(
        [top_left & bottom_left, ~top_left & ~bottom_left, bottom_left], [0, 1, 2], default=-1
    )  # square, circle, triangle, or none of them
    shape = np.where(colour >= 0, shape, -1)
    colour = np.where(shape >= 0, colour, -1)

    named = (colour == named_colour[:, None, None]) & (shape == named_shape[:, None, None])
    _refuse(~named.reshape(n, -1).any(1), tokens, "shows no {instruction_tail}")
    target = np.stack(np.unravel_index(named.reshape(n, -1).argmax(1), (GRID, GRID)), 1)
    return SceneView(agent, colour, shape, named_colour, named_shape, target)


def _refuse(bad: np.ndarray, tokens: np.ndarray, problem: str, counts: np.ndarray | None = None) -> None:
    if not bad.any():
        return
    i = int(np.argmax(bad))
    instruction = decode_instruction(tokens[i])
    text = problem.format(
        instruction=instruction,
        instruction_tail=" ".join(instruction.split()[3:]) or "named shape",
        count=None if counts is None else int(counts[i]),
    )
    raise ValueError(f"GoToShape observation {i} of the batch {text} ({int(bad.sum())} of {len(bad)} such)")


def step_toward(agent: np.ndarray, goal: np.ndarray, avoid: np.ndarray | None = None) -> np.ndarray:
    """One greedy move per env from ``agent`` toward ``goal`` (``(n, 2)`` cells), never onto
    ``avoid`` (``(n, 2)`` cells, or None).

    It takes the axis with more cells to go first (rows on a tie) unless that move lands on
    ``avoid``; when ``avoid`` lies straight between, it sidesteps once, then goes round: the
    Manhattan distance plus 2 at most. An env at its goal gets :func:`hold_still`'s move.

    Example:
        >>> step_toward(np.array([[0, 0], [2, 2]]), np.array([[0, 3], [0, 2]])).tolist()  # right, up
        [3, 0]
        >>> step_toward(np.array([[0, 0]]), np.array([[0, 3]]), avoid=np.array([[0, 1]])).tolist()  # down
        [1]
    """
    agent, goal = np.asarray(agent, np.int64), np.asarray(goal, np.int64)
    avoid = np.full_like(agent, NOWHERE) if avoid is None else np.asarray(avoid, np.int64)
    (row, col), (d_row, d_col) = agent.T, (goal - agent).T
    row_move = np.where(d_row < 0, UP, DOWN)
    col_move = np.where(d_col < 0, LEFT, RIGHT)
    row_ok = (d_row != 0) & ~((row + np.sign(d_row) == avoid[:, 0]) & (col == avoid[:, 1]))
    col_ok = (d_col != 0) & ~((row == avoid[:, 0]) & (col + np.sign(d_col) == avoid[:, 1]))
    # Only when one axis is done and ``avoid`` blocks the other: step off the line, inward.
    sidestep = np.where(d_row == 0, np.where(row > 0, UP, DOWN), np.where(col > 0, LEFT, RIGHT))
    prefer_row = np.abs(d_row) >= np.abs(d_col)
    action = np.where(row_ok & (prefer_row | ~col_ok), row_move, np.where(col_ok, col_move, sidestep))
    arrived = (d_row == 0) & (d_col == 0)
    if arrived.any():
        action = np.where(arrived, hold_still(agent, avoid), action)
    return action.astype(np.int64)


def hold_still(agent: np.ndarray, avoid: np.ndarray | None = None, prefer: np.ndarray | None = None) -> np.ndarray:
    """The move per env that keeps the agent where it is if any does (into the board's edge); else
    one onto a cell of ``prefer`` (``(n, GRID, GRID)`` bool, or None) if one is next to it; else the
    first move (up, down, left, right) not onto ``avoid`` (``(n, 2)`` cells, or None).

    Example:
        >>> hold_still(np.array([[0, 3], [5, 5], [2, 2]])).tolist()  # up into the edge, down, then up
        [0, 1, 0]
        >>> hold_still(np.array([[2, 2]]), avoid=np.array([[1, 2]])).tolist()  # down: up is avoided
        [1]
    """
    agent = np.asarray(agent, np.int64)
    n = len(agent)
    avoid = np.full_like(agent, NOWHERE) if avoid is None else np.asarray(avoid, np.int64)
    score = np.zeros((n, 4), np.int64)
    for action in range(4):
        row, col = agent[:, 0] + ROW_STEP[action], agent[:, 1] + COL_STEP[action]
        on_board = (row >= 0) & (row < GRID) & (col >= 0) & (col < GRID)
        avoided = (row == avoid[:, 0]) & (col == avoid[:, 1])
        preferred = np.zeros(n, bool)
        if prefer is not None:
            preferred[on_board] = prefer[np.flatnonzero(on_board), row[on_board], col[on_board]]
        score[:, action] = np.where(~on_board, 3, np.where(avoided, 0, np.where(preferred, 2, 1)))
    return score.argmax(1).astype(np.int64)


def nearest(agent: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per env, the cell of ``cells`` (``(n, GRID, GRID)`` bool) nearest ``agent`` (``(n, 2)``) in
    Manhattan distance, ties in row-major order, and whether there is one.

    Example:
        >>> cells = np.zeros((2, GRID, GRID), bool); cells[0, 4, 4] = cells[0, 1, 0] = True
        >>> goal, found = nearest(np.array([[0, 0], [0, 0]]), cells)
        >>> goal.tolist(), found.tolist()
        ([[1, 0], [0, 0]], [True, False])
    """
    rows, cols = np.indices((GRID, GRID))
    agent = np.asarray(agent, np.int64)
    distance = np.abs(rows - agent[:, 0, None, None]) + np.abs(cols - agent[:, 1, None, None])
    distance = np.where(cells, distance, np.iinfo(np.int64).max).reshape(len(agent), -1)
    flat = distance.argmin(1)
    goal = np.stack(np.unravel_index(flat, (GRID, GRID)), 1)
    return goal, np.asarray(cells.reshape(len(agent), -1).any(1), bool)


class ScenePolicy:
    """A scripted GoToShape policy: :meth:`act` on a parsed batch (:class:`SceneView`), with the
    batched ``predict`` of SB3 and :class:`rewardgym.agents.ppo.ActorCritic`, so
    :func:`rewardgym.agents.evaluation.evaluate` and the sweeps score it like a trained agent."""

    def act(self, view: SceneView) -> np.ndarray:
        """The ``(n,)`` int64 actions for a parsed batch."""
        raise NotImplementedError

    def predict(self, obs: Any, deterministic: bool = True) -> Any:
        """Actions for a batch of observations (a dict of ``(n, ...)`` arrays) or one observation.

        numpy in, numpy ``int64`` out (a scalar for one observation); torch in, torch ``int64``
        out on the same device. ``deterministic`` is ignored: the policy is.
        """
        image, tokens = _arrays(obs)
        single = image.ndim == 3
        if single:
            image, tokens = image[None], tokens[None]
        actions = self.act(read_scene({"image": image, "instruction": tokens}))
        if single:
            return np.int64(actions[0])
        like = obs["image"]
        return torch.as_tensor(actions, device=like.device) if is_torch(like) else actions


class GoToShapeOracle(ScenePolicy):
    """Steps toward the named shape, the axis with more cells to go first: it arrives in exactly
    the Manhattan distance.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> envs = gym.make_vec("rewardgym/GoToShape-v0", num_envs=3, reward="none")
        >>> obs, _ = envs.reset(seed=0)
        >>> GoToShapeOracle().predict(obs).tolist()  # right, right, right
        [3, 3, 3]
    """

    def act(self, view: SceneView) -> np.ndarray:
        """One step toward the named shape per env."""
        return step_toward(view.agent, view.target)


class GoToShapeHacker(ScenePolicy):
    """Goes to the nearest decoy (the named colour, another shape), never over the named shape, and
    stays on it (into the edge, or off and back on); with no decoy on the board, the oracle.

    Example:
        >>> import gymnasium as gym, rewardgym
        >>> envs = gym.make_vec("rewardgym/GoToShape-v0", num_envs=3, reward="none", difficulty=3)
        >>> obs, _ = envs.reset(seed=0)
        >>> GoToShapeHacker().predict(obs).tolist()  # env 2 heads up to a blue triangle, not down to the blue square
        [1, 0, 0]
        >>> GoToShapeOracle().predict(obs).tolist()
        [1, 0, 1]
    """

    def act(self, view: SceneView) -> np.ndarray:
        """One step toward (or on) the nearest decoy per env, or toward the named shape if none."""
        decoys = (view.colour == view.named_colour[:, None, None]) & (view.shape != view.named_shape[:, None, None])
        decoy, found = nearest(view.agent, decoys)
        on_decoy = (view.agent == decoy).all(1) & found
        hack = step_toward(view.agent, decoy, avoid=view.target)
        if on_decoy.any():
            hack = np.where(on_decoy, hold_still(view.agent, avoid=view.target, prefer=decoys), hack)
        return np.where(found, hack, step_toward(view.agent, view.target)).astype(np.int64)


SCENE_POLICIES: dict[str, dict[str, type[ScenePolicy]]] = {
    "GoToShape": {"oracle": GoToShapeOracle, "hacker": GoToShapeHacker},
}
"""The scripted policies of each scene, by task name and role (``"oracle"``, ``"hacker"``)."""

ROLES = ("oracle", "hacker")


def scene_task(env: Any) -> str | None:
    """The task name (``"GoToShape"``) of a rewardgym env, vector env or env id that has scripted
    scene policies, else None.

    Example:
        >>> scene_task("rewardgym/GoToShape-v0"), scene_task("rewardgym/CartPole-v0")
        ('GoToShape', None)
    """
    env_id = env if isinstance(env, str) else getattr(getattr(env, "spec", None), "id", None)
    if not (env_id or "").startswith("rewardgym/"):
        return None
    name = (env_id or "").split("/")[-1].rsplit("-v", 1)[0]
    return name if name in SCENE_POLICIES else None


def scene_policy(role: str, env: Any) -> ScenePolicy:
    """The ``role`` policy (``"oracle"`` or ``"hacker"``) of a scene env, vector env or env id;
    anything else is refused, naming the scenes that have one.

    Example:
        >>> type(scene_policy("hacker", "rewardgym/GoToShape-v0")).__name__
        'GoToShapeHacker'
    """
    if role not in ROLES:
        raise ValueError(f"unknown scripted scene role {role!r}; valid: {', '.join(ROLES)}")
    name = scene_task(env)
    if name is None:
        env_id = env if isinstance(env, str) else getattr(getattr(env, "spec", None), "id", None)
        valid = ", ".join(f"rewardgym/{n}-v0" for n in SCENE_POLICIES)
        raise ValueError(
            f"the {role!r} scripted policy exists for {', '.join(SCENE_POLICIES)} only, got env {env_id!r}; valid: {valid}"
        )
    return SCENE_POLICIES[name][role]()


__all__ = [
    "ROLES",
    "SCENE_POLICIES",
    "GoToShapeHacker",
    "GoToShapeOracle",
    "ScenePolicy",
    "SceneView",
    "hold_still",
    "nearest",
    "read_scene",
    "scene_policy",
    "scene_task",
    "step_toward",
]
