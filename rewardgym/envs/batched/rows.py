"""Row views whose stride the compiler knows, so that a loop over envs vectorises.

``state[i]`` on a 2D array reads its row stride from the array at run time. LLVM then cannot
prove that envs ``i`` and ``i + 1`` touch different memory, and keeps the loop scalar ("unsafe
dependent memory operations"). :func:`row` makes the same view with the width compiled in: row
``i`` starts ``i * width`` items in, which LLVM reads as an interleaved access it can widen.

:func:`flag_bits` serves the loops that cannot vectorise, those over the few envs whose episode
starts or ends: it reads 64 envs' flags as the bits of one integer, whose set bits such a loop
visits in turn, where a branch on every env's flags cost more than the vectorised loops' books.

Example:
    >>> import numpy as np
    >>> from numba import njit
    >>> @njit
    ... def second_row_sum(a):
    ...     r = row(a, 1, 3)
    ...     return r[0] + r[1] + r[2]
    >>> second_row_sum(np.arange(6.0).reshape(2, 3))
    12.0
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic
from numba.np.arrayobj import make_array, populate_array


@intrinsic
def row(typingctx: Any, array: Any, index: Any, width: Any) -> Any:
    """Row ``index`` of a C-contiguous 2D ``array`` whose rows are ``width`` items, a compile-time
    constant that must equal ``array.shape[1]`` (not checked: it is the caller's, from the task).

    ``index`` is not wrapped around like ``array[index]``; the engine passes it unsigned, which
    keeps the addresses affine in the loop counter.
    """
    if not (isinstance(array, types.Array) and array.ndim == 2 and array.layout == "C"):
        return None
    if not isinstance(index, types.Integer) or not isinstance(width, types.IntegerLiteral):
        return None
    view = array.copy(ndim=1, layout="C")
    items = width.literal_value

    def codegen(context: Any, builder: Any, signature: Any, arguments: Any) -> Any:
        source = make_array(signature.args[0])(context, builder, arguments[0])
        out = make_array(signature.return_type)(context, builder)
        first = builder.mul(
            context.cast(builder, arguments[1], signature.args[1], types.intp),
            context.get_constant(types.intp, items),
        )
        populate_array(
            out,
            data=builder.gep(source.data, [first], inbounds=True),
            shape=[context.get_constant(types.intp, items)],
            strides=[source.itemsize],
            itemsize=source.itemsize,
            meminfo=source.meminfo,
            parent=source.parent,
        )
        # A new reference to the parent's memory (a no-op in the engine's kernels, which run
        # without reference counting; elsewhere its release would free the parent's).
        return impl_ret_borrowed(context, builder, signature.return_type, out._getvalue())

    return view(array, index, width), codegen


FLAG_BLOCK = 64
"""The envs whose flags :func:`flag_bits` reads at once: the bits of a ``uint64``."""


@intrinsic
def flag_bits(typingctx: Any, flags: Any, start: Any) -> Any:
    """The flags ``flags[start]`` to ``flags[start + 63]`` of a C-contiguous 1D array of one-byte
    items (bool) as the bits of a ``uint64``: bit ``j`` is set where ``flags[start + j]`` is
    nonzero. The 64 items must lie in the array (not checked: it is the caller's).

    One vector load and compare (LLVM lowers the bitcast of 64 compared lanes to a mask move), in
    place of 64 branches on the items.

    Example:
        >>> import numpy as np
        >>> from numba import njit
        >>> @njit
        ... def bits(flags, start):
        ...     return flag_bits(flags, start)
        >>> flags = np.zeros(70, np.bool_)
        >>> flags[[3, 5, 66]] = True
        >>> mask = int(bits(flags, 3))
        >>> [j for j in range(64) if mask >> j & 1]
        [0, 2, 63]
    """
    if not (isinstance(flags, types.Array) and flags.ndim == 1 and flags.layout == "C"):
        return None
    if not isinstance(start, types.Integer) or flags.dtype not in (types.boolean, types.uint8, types.int8):
        return None

    def codegen(context: Any, builder: Any, signature: Any, arguments: Any) -> Any:
        array = make_array(signature.args[0])(context, builder, arguments[0])
        first = context.cast(builder, arguments[1], signature.args[1], types.intp)
        lanes = ir.VectorType(ir.IntType(8), FLAG_BLOCK)
        pointer = builder.bitcast(builder.gep(array.data, [first], inbounds=True), lanes.as_pointer())
        nonzero = builder.icmp_unsigned("!=", builder.load(pointer, align=1), ir.Constant(lanes, None))
        # Lane j is bit j of the integer on the little-endian targets numba compiles for.
        return builder.bitcast(nonzero, ir.IntType(FLAG_BLOCK))

    return types.uint64(flags, start), codegen
