"""Row views whose stride the compiler knows, so that a loop over envs vectorises.

``state[i]`` on a 2D array reads its row stride from the array at run time. LLVM then cannot
prove that envs ``i`` and ``i + 1`` touch different memory, and keeps the loop scalar ("unsafe
dependent memory operations"). :func:`row` makes the same view with the width compiled in: row
``i`` starts ``i * width`` items in, which LLVM reads as an interleaved access it can widen.

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
