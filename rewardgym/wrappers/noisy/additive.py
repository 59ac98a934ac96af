"""Zero-mean noise added to the reward, drawn afresh per env and step: ``gaussian``,
``student_t`` (heavy tails) and ``laplace``.

Example:
    >>> import gymnasium as gym, rewardgym
    >>> env = gym.make("rewardgym/CartPole-v0", reward="noisy(kind='laplace', scale=0.5)")
    >>> _ = env.reset(seed=0)
    >>> env.step(1)[1] != 1.0
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba.extending import register_jitable

from rewardgym.core.arrays import Array, is_torch
from rewardgym.core.batch_random import BatchRandom, counter_normal, counter_normal_sure
from rewardgym.core.regime import FusedLayer
from rewardgym.core.transition import Transition
from rewardgym.core.validation import check_number
from rewardgym.envs.batched.layers import apply_layer, register_sure_path
from rewardgym.wrappers.noisy.base import Noise

__all__ = ["Gaussian", "Laplace", "StudentT"]


class Gaussian(Noise):
    """``r' = r + sigma * N(0, 1)``, drawn independently per env and step.

    Args:
        sigma: the noise's standard deviation, ``>= 0`` (0 passes the reward through).

    Example:
        >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.noisy
        >>> env = gym.make("rewardgym/CartPole-v0", reward="noisy(kind='gaussian', sigma=0.0)")
        >>> _ = env.reset(seed=0)
        >>> env.step(1)[1]
        1.0
    """

    kind = "gaussian"

    def __init__(self, sigma: float = 0.1) -> None:
        super().__init__()
        self.sigma = check_number(sigma, f"noisy(kind={self.kind!r}): sigma", low=0.0)
        self._fused: FusedLayer | None = None

    def reward(self, batch: Transition) -> Array:
        # The body the engine fuses into its step kernel, over any batch: counter-based per-env
        # streams (BatchRandom.counter_streams), so a seed draws the same noise on every device;
        # numpy's Generator took ~60 us for 4096 envs.
        return apply_layer(self.fused_layer(), batch)

    def fused_layer(self) -> FusedLayer:
        # One layer for every step (the shell asks each step); its arguments, a bound method, read
        # sigma when called. A copy (copy.copy shares the attribute) makes its own.
        layer = self._fused
        if layer is None or getattr(layer.arguments, "__self__", None) is not self:
            layer = self._fused = FusedLayer(_gaussian_one, self._arguments)
        return layer

    def _frozen_parts(self) -> dict[str, Any]:
        return {**super()._frozen_parts(), "_fused": None}  # bound to this regime: the copy makes its own

    def _arguments(self, like: Array) -> tuple[Any, ...]:
        keys, call = self.rng.counter_streams(len(like), like)
        return keys, call, float(self.sigma)


@register_jitable  # never inline="always": numba then drops writes to the argument arrays
def _gaussian_one(i, reward, valid, obs, next_obs, terminated, args):  # pragma: no cover (compiled)
    keys, call, sigma = args
    # float64 arithmetic, rounded to float32 once: float() says so to numba's CUDA simulator too,
    # which runs this in Python, where a float32 plus a Python float stays float32.
    return float(reward) + sigma * counter_normal(keys[i], call)


@register_jitable  # not inline="always", as _gaussian_one
def _gaussian_sure(i, reward, valid, obs, next_obs, terminated, args):  # pragma: no cover (compiled)
    """:func:`_gaussian_one` where the ziggurat accepts its first point, NaN elsewhere: the
    engine's CPU kernels run this vectorised, then the whole body on the few NaN rows."""
    keys, call, sigma = args
    return float(reward) + sigma * counter_normal_sure(keys[i], call)


register_sure_path(_gaussian_one, _gaussian_sure)


class StudentT(Noise):
    """``r' = r + scale * T`` with ``T`` Student-t with ``df`` degrees of freedom: heavy tails.

    ``df = 1`` is Cauchy noise; the variance is infinite for ``df <= 2``, so compare spreads by
    quantiles rather than standard deviations. Torch batches draw ``T`` on their device with
    Bailey's polar method (torch has no seeded t sampler); numpy batches use numpy's.

    Args:
        df: degrees of freedom, ``> 0``.
        scale: the noise's scale, ``>= 0``.

    Example:
        >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.noisy
        >>> env = gym.make("rewardgym/CartPole-v0", reward="noisy(kind='student_t', df=2, scale=0.1)")
        >>> _ = env.reset(seed=0)
        >>> isinstance(env.step(1)[1], float)
        True
    """

    kind = "student_t"

    def __init__(self, df: float = 3.0, scale: float = 0.1) -> None:
        super().__init__()
        self.df = check_number(df, f"noisy(kind={self.kind!r}): df", low=0.0, low_open=True)
        self.scale = check_number(scale, f"noisy(kind={self.kind!r}): scale", low=0.0)

    def reward(self, batch: Transition) -> Array:
        r = batch.reward
        if is_torch(r):
            return r + self.scale * _bailey_t(self.rng, r, self.df).to(r.dtype)
        t = self.rng.numpy().standard_t(self.df, size=len(r))
        return r + (self.scale * t).astype(np.float32)


def _bailey_t(rng: BatchRandom, like: Any, df: float) -> Any:
    """Student-t draws on ``like``'s device by Bailey's polar method (Math. Comp. 62, 1994).

    (U, V) uniform on the unit disc, W = U^2 + V^2: then U * sqrt(df (W^(-2/df) - 1) / W) is
    exactly t_df. Rejection of points outside the disc (probability 1 - pi/4) is redone for the
    envs still lacking a draw, so the loop runs a few times per call, not once per env.
    """
    import torch

    generator = rng.torch(like.device)
    n = like.shape[0]
    out = torch.zeros(n, dtype=torch.float64, device=like.device)
    todo = torch.ones(n, dtype=torch.bool, device=like.device)
    while bool(todo.any()):
        u = 2.0 * torch.rand(n, generator=generator, device=like.device, dtype=torch.float64) - 1.0
        v = 2.0 * torch.rand(n, generator=generator, device=like.device, dtype=torch.float64) - 1.0
        w = u * u + v * v
        accept = todo & (w <= 1.0) & (w > 0.0)
        w = torch.where(accept, w, torch.ones_like(w))
        t = u * torch.sqrt(df * (w ** (-2.0 / df) - 1.0) / w)
        out = torch.where(accept, t, out)
        todo = todo & ~accept
    return out


class Laplace(Noise):
    """``r' = r + Laplace(0, scale)``: density ``exp(-|x| / scale) / (2 scale)``.

    Its standard deviation is ``sqrt(2) * scale`` and its median absolute value ``ln(2) * scale``.

    Args:
        scale: the Laplace scale ``b``, ``>= 0``.

    Example:
        >>> import gymnasium as gym, rewardgym, rewardgym.wrappers.noisy
        >>> env = gym.make("rewardgym/CartPole-v0", reward="noisy(kind='laplace', scale=0.0)")
        >>> _ = env.reset(seed=0)
        >>> env.step(1)[1]
        1.0
    """

    kind = "laplace"

    def __init__(self, scale: float = 0.1) -> None:
        super().__init__()
        self.scale = check_number(scale, f"noisy(kind={self.kind!r}): scale", low=0.0)

    def reward(self, batch: Transition) -> Array:
        r = batch.reward
        if is_torch(r):
            import torch

            # The difference of two unit exponentials is a unit Laplace; torch seeds exponential_.
            generator = self.rng.torch(r.device)
            e = torch.empty((2, r.shape[0]), device=r.device).exponential_(generator=generator)
            return r + self.scale * (e[0] - e[1])
        return r + self.rng.numpy().laplace(0.0, self.scale, size=len(r)).astype(np.float32)
