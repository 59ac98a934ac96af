"""Where a batched env keeps its state: ``"cpu"`` (numpy) or ``"cuda"`` (torch on the GPU).

On the GPU the engine allocates torch tensors and hands numba zero-copy views of them through
``__cuda_array_interface__``, so observations and rewards reach torch without a copy. Under
numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, used by CI), ``"cuda"`` runs the very same
CUDA kernels in Python on torch CPU tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DEVICES = ("cpu", "cuda")


def cuda_simulated() -> bool:
    """Whether numba runs CUDA kernels in its simulator rather than on a GPU."""
    from numba import config

    return bool(config.ENABLE_CUDASIM)  # type: ignore[attr-defined]  # set from the environment


def resolve_device(device: str) -> str:
    """Validate a device name, refusing ``"cuda"`` loudly when no GPU can run the kernels.

    Example:
        >>> resolve_device("cpu")
        'cpu'
    """
    name = str(device).split(":")[0]
    if name not in DEVICES:
        raise ValueError(f"unknown device {device!r}; valid devices: {', '.join(DEVICES)}")
    if name == "cuda" and not cuda_simulated():
        import torch
        from numba import cuda

        if not torch.cuda.is_available():
            raise RuntimeError(
                "device='cuda' was requested but torch sees no CUDA GPU on this machine; "
                "use device='cpu' (or NUMBA_ENABLE_CUDASIM=1 to simulate the CUDA kernels)"
            )
        if not cuda.is_available():
            raise RuntimeError(
                "device='cuda' was requested but numba cannot use the GPU (no CUDA driver or "
                "toolkit found); install the 'cuda' extra: pip install 'rewardgym[cuda]'"
            )
    return name


def torch_device(device: str) -> Any:
    """The torch device that holds a ``"cuda"`` env's tensors (the CPU under the simulator)."""
    import torch

    if device == "cuda" and not cuda_simulated():
        return torch.device("cuda")
    return torch.device("cpu")


def kernel_view(buffer: Any, dtype: Any = None) -> Any:
    """What a CUDA kernel takes for a torch buffer: a zero-copy device view (a numpy view under
    the simulator), reinterpreted as ``dtype`` if one is given."""
    if cuda_simulated():
        view = buffer if isinstance(buffer, np.ndarray) else buffer.numpy()
    else:
        from numba import cuda

        # No sync: the kernels run on torch's current stream (kernel_stream), after any torch
        # work that wrote the buffer, so waiting for that stream here would only stall the host.
        view = cuda.as_cuda_array(buffer, sync=False)
    return view if dtype is None else view.view(dtype)


_STREAMS: dict[int, Any] = {}


def kernel_stream() -> Any:
    """The CUDA stream kernels launch on: torch's current one, so torch and numba work stay ordered."""
    if cuda_simulated():
        return 0
    import torch
    from numba import cuda

    handle = torch.cuda.current_stream().cuda_stream
    if handle not in _STREAMS:
        _STREAMS[handle] = cuda.external_stream(handle)
    return _STREAMS[handle]
