"""A 5x7 bitmap font for the token vocabulary, and the text layout of the token envs' frames.

:data:`GLYPHS` holds one glyph per token id (``GLYPHS[token]`` is a ``(7, 5)`` array of 0/1, row 0
on top), for exactly the tokens of :mod:`~rewardgym.envs.text.vocab`: the 43 characters and the
four special tokens, which get marks of their own (``BOS`` a right-pointing triangle, ``EOS`` a
filled block, ``PAD`` a small hollow square, ``UNK`` a question mark). Every glyph differs from
every other.

The table is a module-level numpy array, so the jitted renderers read it as a constant: numba
freezes a global array into the compiled CPU code, and numba.cuda copies it into the kernel's
constant memory (changing the array after the first compilation changes nothing).

Frames are laid out on a grid of character cells, one cell per slot of the observation window,
:data:`MAX_COLUMNS` to a line at most, lines wrapping in reading order. A cell is
:data:`CELL_WIDTH` by :data:`CELL_HEIGHT` font pixels (the glyph, a one-pixel gap, and an
underline row under it), each font pixel :data:`SCALE` by :data:`SCALE` screen pixels, and the
grid sits :data:`MARGIN` font pixels inside the frame's edges.

Example:
    >>> from rewardgym.envs.text.vocab import encode
    >>> GLYPHS.shape, GLYPHS.dtype
    ((47, 7, 5), dtype('uint8'))
    >>> print(glyph_text(int(encode("7")[0])))
    #####
    ....#
    ...#.
    ..#..
    .#...
    .#...
    .#...
    >>> frame_size(8), frame_size(40)  # TextAdd-v0's window of 8 slots; 40 slots wrap onto 2 lines
    ((36, 112), (56, 400))
"""

from __future__ import annotations

import numpy as np
from numba.extending import register_jitable

from rewardgym.envs.text.vocab import CHARS, SPECIAL_TOKENS, UNK, VOCAB_SIZE

GLYPH_HEIGHT, GLYPH_WIDTH = 7, 5
"""A glyph's size in font pixels."""

_GLYPH_ROWS: dict[str, str] = {
    # The special tokens: PAD (when written), BOS, EOS, UNK.
    "<pad>": "..... ..... .###. .#.#. .###. ..... .....",
    "<bos>": "#.... ##... ###.. ####. ###.. ##... #....",
    "<eos>": "..... ##### ##### ##### ##### ##### .....",
    "<unk>": ".###. #...# ....# ...#. ..#.. ..... ..#..",
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
    "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####",
    "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
    "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": "..##. .#... #.... ####. #...# #...# .###.",
    "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.",
    "9": ".###. #...# #...# .#### ....# ...#. .##..",
    "a": "..... ..... .###. ....# .#### #...# .####",
    "b": "#.... #.... #.##. ##..# #...# #...# ####.",
    "c": "..... ..... .###. #.... #.... #...# .###.",
    "d": "....# ....# .##.# #..## #...# #...# .####",
    "e": "..... ..... .###. #...# ##### #.... .###.",
    "f": "..##. .#..# .#... ###.. .#... .#... .#...",
    "g": "..... .#### #...# #...# .#### ....# .###.",
    "h": "#.... #.... #.##. ##..# #...# #...# #...#",
    "i": "..#.. ..... .##.. ..#.. ..#.. ..#.. .###.",
    "j": "...#. ..... ..##. ...#. ...#. #..#. .##..",
    "k": "#.... #.... #..#. #.#.. ##... #.#.. #..#.",
    "l": ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "m": "..... ..... ##.#. #.#.# #.#.# #...# #...#",
    "n": "..... ..... #.##. ##..# #...# #...# #...#",
    "o": "..... ..... .###. #...# #...# #...# .###.",
    "p": "..... ..... ####. #...# ####. #.... #....",
    "q": "..... ..... .##.# #..## .#### ....# ....#",
    "r": "..... ..... #.##. ##..# #.... #.... #....",
    "s": "..... ..... .###. #.... .###. ....# ####.",
    "t": ".#... .#... ###.. .#... .#... .#..# ..##.",
    "u": "..... ..... #...# #...# #...# #..## .##.#",
    "v": "..... ..... #...# #...# #...# .#.#. ..#..",
    "w": "..... ..... #...# #...# #.#.# #.#.# .#.#.",
    "x": "..... ..... #...# .#.#. ..#.. .#.#. #...#",
    "y": "..... ..... #...# #...# .#### ....# .###.",
    "z": "..... ..... ##### ...#. ..#.. .#... #####",
    "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
    "-": "..... ..... ..... ##### ..... ..... .....",
    "*": "..... ..#.. #.#.# .###. #.#.# ..#.. .....",
    "=": "..... ..... ##### ..... ##### ..... .....",
    ":": "..... .##.. .##.. ..... .##.. .##.. .....",
    "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
    ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
}


def _glyph_table() -> np.ndarray:
    table = np.zeros((VOCAB_SIZE, GLYPH_HEIGHT, GLYPH_WIDTH), dtype=np.uint8)
    for token, text in enumerate(SPECIAL_TOKENS + tuple(CHARS)):
        rows = _GLYPH_ROWS[text].split()
        assert len(rows) == GLYPH_HEIGHT and all(len(row) == GLYPH_WIDTH for row in rows), text
        table[token] = [[pixel == "#" for pixel in row] for row in rows]
    return table


GLYPHS = _glyph_table()
"""``(VOCAB_SIZE, 7, 5)`` uint8, 1 where a token's glyph is inked; indexed by token id."""
GLYPHS.flags.writeable = False  # a constant of the compiled renderers

SCALE = 2
"""Screen pixels per font pixel, across and down."""
CELL_WIDTH, CELL_HEIGHT = GLYPH_WIDTH + 1, GLYPH_HEIGHT + 3
"""A character cell in font pixels: the glyph and a gap column; the glyph, a gap row, the
underline row and a gap row."""
UNDERLINE_ROW = GLYPH_HEIGHT + 1
"""The row of a cell (font pixels from its top) that underlines mark."""
MARGIN = 4
"""Font pixels between the frame's edges and the grid of cells."""
MAX_COLUMNS = 32
"""The most cells on one line; longer windows wrap."""


@register_jitable
def layout(slots: int) -> tuple[int, int]:
    """``(columns, lines)`` of the grid holding ``slots`` cells.

    Example:
        >>> layout(8), layout(32), layout(33)
        ((8, 1), (32, 1), (32, 2))
    """
    columns = min(max(slots, 1), MAX_COLUMNS)
    return columns, (max(slots, 1) + columns - 1) // columns


def frame_size(slots: int) -> tuple[int, int]:
    """``(height, width)`` in pixels of a frame showing ``slots`` cells (both even, as video
    encoders want them)."""
    columns, lines = layout(slots)
    return SCALE * (2 * MARGIN + lines * CELL_HEIGHT), SCALE * (2 * MARGIN + columns * CELL_WIDTH)


@register_jitable
def cell_origin(slot: int, slots: int) -> tuple[int, int]:
    """``(row, column)`` of the top-left screen pixel of cell ``slot`` out of ``slots``.

    Example:
        >>> cell_origin(0, 8), cell_origin(1, 8), cell_origin(33, 40)
        ((8, 8), (8, 20), (28, 20))
    """
    columns, _ = layout(slots)
    line, column = slot // columns, slot % columns
    return SCALE * (MARGIN + line * CELL_HEIGHT), SCALE * (MARGIN + column * CELL_WIDTH)


@register_jitable
def draw_glyph(frame: np.ndarray, token: int, top: int, left: int, r: int, g: int, b: int) -> None:
    """Paint ``token``'s glyph with its top-left corner at screen pixel ``(top, left)`` in colour
    ``(r, g, b)``, clipped to the frame; ids outside the vocabulary are drawn as ``UNK``."""
    if token < 0 or token >= GLYPHS.shape[0]:
        token = UNK
    for y in range(GLYPH_HEIGHT):
        for x in range(GLYPH_WIDTH):
            if GLYPHS[token, y, x]:
                fill_block(frame, top + y * SCALE, left + x * SCALE, SCALE, SCALE, r, g, b)


@register_jitable
def fill_block(frame: np.ndarray, top: int, left: int, height: int, width: int, r: int, g: int, b: int) -> None:
    """Paint the ``height`` x ``width`` block of screen pixels from ``(top, left)``, clipped to the frame."""
    for row in range(max(top, 0), min(top + height, frame.shape[0])):
        for col in range(max(left, 0), min(left + width, frame.shape[1])):
            frame[row, col, 0] = r
            frame[row, col, 1] = g
            frame[row, col, 2] = b


def glyph_text(token: int) -> str:
    """A token's glyph as text, ``#`` for ink, one line per row (for docs and debugging)."""
    return "\n".join("".join("#" if pixel else "." for pixel in row) for row in GLYPHS[token])
