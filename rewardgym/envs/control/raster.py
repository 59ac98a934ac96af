"""Drawing primitives for the control tasks' ``render(state, frame, params)``.

They paint into one instance's ``(height, width, 3)`` uint8 frame and are written for numba's
``register_jitable``: plain loops over pixels, no allocation and no Python objects, so the same
source compiles for the CPU, for numba.cuda (one thread paints one frame) and runs as Python under
the CUDA simulator. Colours are three ints.

Coordinates are those gymnasium's classic-control renderers draw in: ``x`` to the right and ``y``
*up* from the bottom row (gymnasium draws on a pygame surface and flips it vertically at the end),
so pixel ``(x, y)`` is ``frame[height - 1 - y, x]``. A shape covers the pixels whose integer
coordinates lie inside it (its edges included), as pygame's ``gfxdraw`` fills do. Only
:func:`aaline` (MountainCar's curve) is antialiased, and not as pygame does it, which is why the
frames agree with gymnasium's closely but not to the pixel.

A renderer paints gymnasium's picture into a frame of any size (an observation image of
``obs_mode="pixels"``, say) by multiplying gymnasium's coordinates by the frame's :func:`scales`.

Example:
    >>> import numpy as np
    >>> frame = np.zeros((4, 6, 3), np.uint8)
    >>> fill(frame, 255, 255, 255)
    >>> fill_quad(frame, 1.0, 0.0, 1.0, 1.0, 2.0, 1.0, 2.0, 0.0, 0, 0, 0)
    >>> (frame[:, :, 0] == 0).astype(int)  # the 2x2 square at x = 1..2, y = 0..1 (bottom rows)
    array([[0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0],
           [0, 1, 1, 0, 0, 0],
           [0, 1, 1, 0, 0, 0]])
"""

from __future__ import annotations

import math

import numpy as np
from numba.extending import register_jitable


@register_jitable
def fill(frame: np.ndarray, r: int, g: int, b: int) -> None:
    """Paint the whole frame one colour (the background)."""
    for row in range(frame.shape[0]):
        for col in range(frame.shape[1]):
            frame[row, col, 0] = r
            frame[row, col, 1] = g
            frame[row, col, 2] = b


@register_jitable
def put(frame: np.ndarray, x: int, y: int, r: int, g: int, b: int) -> None:
    """Paint pixel ``(x, y)`` (y up), if it is inside the frame."""
    row = frame.shape[0] - 1 - y
    if 0 <= row < frame.shape[0] and 0 <= x < frame.shape[1]:
        frame[row, x, 0] = r
        frame[row, x, 1] = g
        frame[row, x, 2] = b


@register_jitable
def hline(frame: np.ndarray, x0: int, x1: int, y: int, r: int, g: int, b: int) -> None:
    """Paint pixels ``x0..x1`` (inclusive) of row ``y``, clipped to the frame."""
    row = frame.shape[0] - 1 - y
    if row < 0 or row >= frame.shape[0]:
        return
    for x in range(max(min(x0, x1), 0), min(max(x0, x1), frame.shape[1] - 1) + 1):
        frame[row, x, 0] = r
        frame[row, x, 1] = g
        frame[row, x, 2] = b


@register_jitable
def vline(frame: np.ndarray, x: int, y0: int, y1: int, r: int, g: int, b: int) -> None:
    """Paint pixels ``y0..y1`` (inclusive) of column ``x``, clipped to the frame."""
    for y in range(min(y0, y1), max(y0, y1) + 1):
        put(frame, x, y, r, g, b)


@register_jitable
def line(frame: np.ndarray, x0: float, y0: float, x1: float, y1: float, r: int, g: int, b: int) -> None:
    """A one-pixel line from ``(x0, y0)`` to ``(x1, y1)``, its ends truncated to whole pixels as
    ``pygame.draw.line`` does: one pixel per step along its longer axis, the nearest to the line."""
    ax, ay, bx, by = int(x0), int(y0), int(x1), int(y1)
    steps = max(abs(bx - ax), abs(by - ay))
    if steps == 0:
        put(frame, ax, ay, r, g, b)
        return
    for k in range(steps + 1):
        x = ax + int(math.floor((bx - ax) * k / steps + 0.5))
        y = ay + int(math.floor((by - ay) * k / steps + 0.5))
        put(frame, x, y, r, g, b)


@register_jitable
def blend(frame: np.ndarray, x: int, y: int, coverage: float, r: int, g: int, b: int) -> None:
    """Mix colour ``(r, g, b)`` into pixel ``(x, y)`` (y up) by ``coverage`` in [0, 1], if inside."""
    row = frame.shape[0] - 1 - y
    if 0 <= row < frame.shape[0] and 0 <= x < frame.shape[1]:
        keep = 1.0 - coverage
        frame[row, x, 0] = int(frame[row, x, 0] * keep + r * coverage + 0.5)
        frame[row, x, 1] = int(frame[row, x, 1] * keep + g * coverage + 0.5)
        frame[row, x, 2] = int(frame[row, x, 2] * keep + b * coverage + 0.5)


@register_jitable
def aaline(frame: np.ndarray, x0: float, y0: float, x1: float, y1: float, r: int, g: int, b: int) -> None:
    """An antialiased one-pixel line (Wu's): at each whole step along its longer axis, the two
    pixels across it share the colour by how near each is to the exact line, as
    ``pygame.draw.aaline`` shades them. The last pixel is left to the next segment of a polyline."""
    steep = abs(y1 - y0) > abs(x1 - x0)
    if steep:  # walk along y: swap the axes, and back when painting
        x0, y0, x1, y1 = y0, x0, y1, x1
    if x0 > x1:
        x0, y0, x1, y1 = x1, y1, x0, y0
    slope = (y1 - y0) / (x1 - x0) if x1 != x0 else 0.0
    for u in range(int(math.ceil(x0)), int(math.ceil(x1))):
        v = y0 + (u - x0) * slope
        low = int(math.floor(v))
        frac = v - low
        if steep:
            blend(frame, low, u, 1.0 - frac, r, g, b)
            blend(frame, low + 1, u, frac, r, g, b)
        else:
            blend(frame, u, low, 1.0 - frac, r, g, b)
            blend(frame, u, low + 1, frac, r, g, b)


@register_jitable
def _cross(ax: float, ay: float, bx: float, by: float, y: float, lo: float, hi: float) -> tuple[float, float]:
    """``(lo, hi)`` widened to the x where edge ``a-b`` crosses row ``y``, if it does."""
    if (ay <= y <= by) or (by <= y <= ay):
        if ay == by:  # a horizontal edge lies on the row: both ends are inside
            return min(lo, ax, bx), max(hi, ax, bx)
        x = ax + (y - ay) * (bx - ax) / (by - ay)
        return min(lo, x), max(hi, x)
    return lo, hi


@register_jitable
def fill_quad(
    frame: np.ndarray,
    ax: float,
    ay: float,
    bx: float,
    by: float,
    cx: float,
    cy: float,
    dx: float,
    dy: float,
    r: int,
    g: int,
    b: int,
) -> None:
    """Fill the convex quadrilateral ``a-b-c-d`` (in order round its edge; give a vertex twice for
    a triangle), row by row: each row's span runs between its crossings of the four edges.

    As pygame's ``gfxdraw.filled_polygon`` (SDL_gfx) does, the corners are first truncated to
    whole pixels and each span's ends rounded to the nearest pixel.
    """
    ax, ay, bx, by = float(int(ax)), float(int(ay)), float(int(bx)), float(int(by))
    cx, cy, dx, dy = float(int(cx)), float(int(cy)), float(int(dx)), float(int(dy))
    height = frame.shape[0]
    y_low = max(int(math.ceil(min(ay, by, cy, dy))), 0)
    y_high = min(int(math.floor(max(ay, by, cy, dy))), height - 1)
    for y in range(y_low, y_high + 1):
        lo, hi = math.inf, -math.inf
        lo, hi = _cross(ax, ay, bx, by, y, lo, hi)
        lo, hi = _cross(bx, by, cx, cy, y, lo, hi)
        lo, hi = _cross(cx, cy, dx, dy, y, lo, hi)
        lo, hi = _cross(dx, dy, ax, ay, y, lo, hi)
        if lo <= hi:
            hline(frame, int(math.floor(lo + 0.5)), int(math.floor(hi + 0.5)), y, r, g, b)


@register_jitable
def fill_rotated_rect(
    frame: np.ndarray,
    left: float,
    right: float,
    top: float,
    bottom: float,
    angle: float,
    x: float,
    y: float,
    sx: float,
    sy: float,
    r: int,
    g: int,
    b: int,
) -> None:
    """Fill the rectangle ``left..right`` by ``bottom..top`` rotated by ``angle`` radians
    (anticlockwise, y up) about the origin, then moved to ``(x, y)``: pygame's
    ``Vector2(corner).rotate_rad(angle) + (x, y)`` for each corner, as gymnasium draws its poles
    and links. The corners are then scaled by ``(sx, sy)`` (see :func:`scales`; 1.0 at
    gymnasium's own frame size, where the product is exact)."""
    cos, sin = math.cos(angle), math.sin(angle)
    fill_quad(
        frame,
        (left * cos - bottom * sin + x) * sx,
        (left * sin + bottom * cos + y) * sy,
        (left * cos - top * sin + x) * sx,
        (left * sin + top * cos + y) * sy,
        (right * cos - top * sin + x) * sx,
        (right * sin + top * cos + y) * sy,
        (right * cos - bottom * sin + x) * sx,
        (right * sin + bottom * cos + y) * sy,
        r,
        g,
        b,
    )


@register_jitable
def scales(frame: np.ndarray, width: int, height: int) -> tuple[float, float]:
    """``(sx, sy)``: how many of ``frame``'s pixels one pixel of a ``width x height`` picture
    spans, across and up. A renderer draws in gymnasium's coordinates (its screen's pixels) and
    multiplies every position by these, so the same source paints gymnasium's full-size frame
    (``(1.0, 1.0)``: every product exact, the picture unchanged) and a small observation image.

    Example:
        >>> scales(np.zeros((84, 84, 3), np.uint8), 600, 400)
        (0.14, 0.21)
    """
    return frame.shape[1] / width, frame.shape[0] / height


@register_jitable
def fill_disc(frame: np.ndarray, x: int, y: int, radius: int, r: int, g: int, b: int) -> None:
    """Fill the disc of integer centre and radius: the pixels within ``radius + 1/2`` of the
    centre, which is what a midpoint circle (pygame's ``filled_circle``) covers."""
    reach = (radius + 0.5) * (radius + 0.5)
    for dy in range(-radius, radius + 1):
        half = int(math.floor(math.sqrt(max(reach - dy * dy, 0.0))))
        hline(frame, x - half, x + half, y + dy, r, g, b)
