"""MuJoCo's warnings, routed to Python's ``warnings`` module instead of ``MUJOCO_LOG.TXT``.

Left alone, MuJoCo's ``mju_warning`` prints its message and appends it to ``MUJOCO_LOG.TXT`` in
the *current directory*: compiling gymnasium's ``half_cheetah.xml`` warns that its
``settotalmass`` compiler attribute is deprecated, and an unstable simulation warns from
``mj_step``; both littered the user's working directory. :func:`routed_warnings` installs a
handler with ``mujoco.set_mju_user_warning`` for the span of a compile, a reset or a step, and
restores whatever handler was there before (MuJoCo's default, ``None``, or the user's own) when
it ends.

The handler only appends the message to a queue: it runs inside MuJoCo's C code, possibly on a
stepping thread of the pool, where raising (a ``-W error`` filter) would cross C frames. When the
scope ends, the calling thread issues each queued message as a :class:`MujocoWarning` (Python's
``default`` filter shows one message once per place; filter the category to silence it). Scopes
nest and may overlap across threads: the handler is installed by the first to enter and restored
by the last to leave. While one is open, MuJoCo warnings of other code in the process are routed
the same way (the handler is MuJoCo's global); they are issued, not lost.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections import deque
from collections.abc import Iterator
from typing import Any

import mujoco


class MujocoWarning(UserWarning):
    """A warning MuJoCo issued while a rewardgym env compiled, reset or stepped (MuJoCo's text)."""


_lock = threading.Lock()
_depth = 0
_saved: Any = None
_pending: deque[str] = deque()


def _collect(message: str) -> None:
    _pending.append(str(message))  # deque.append is atomic; nothing here can raise into C


@contextlib.contextmanager
def routed_warnings() -> Iterator[None]:
    """Route MuJoCo's warnings to :class:`MujocoWarning` (not ``MUJOCO_LOG.TXT``) while open.

    Example:
        >>> import warnings
        >>> from rewardgym.envs.mujoco.task import model_path
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     with routed_warnings():
        ...         model = mujoco.MjModel.from_xml_path(str(model_path("half_cheetah.xml")))
        >>> "settotalmass" in str(caught[0].message), caught[0].category.__name__
        (True, 'MujocoWarning')
        >>> mujoco.get_mju_user_warning() is None  # MuJoCo's own handler is back
        True
    """
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = mujoco.get_mju_user_warning()
            mujoco.set_mju_user_warning(_collect)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                mujoco.set_mju_user_warning(_saved)
                _saved = None
        messages = []
        while _pending:
            try:
                messages.append(_pending.popleft())
            except IndexError:  # another thread drained it first
                break
        for message in messages:
            warnings.warn(message, MujocoWarning, stacklevel=3)
