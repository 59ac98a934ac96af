"""The seeded observation hash: the same bits on numpy and torch, a key per bin, a seed per table.

Statistical checks draw N hashes and allow 5 standard errors, so a correct hash fails them with
probability below 1e-6; everything is seeded, so every run draws the same numbers.
"""

import math

import numpy as np
import pytest
import torch
from rewardgym.core.hashing import (
    BIN_LIMIT,
    bin_indices,
    check_bin_widths,
    hash_normal,
    hash_rows,
    hash_uniform,
    logical_shr,
    signed64,
    splitmix64_torch,
)
from rewardgym.core.rng import splitmix64

N = 100_000
Z = 5.0


def test_splitmix64_torch_has_the_bits_of_the_uint64_version():
    x = np.random.default_rng(0).integers(0, 2**64, 10_000, dtype=np.uint64, endpoint=False)
    with np.errstate(over="ignore"):
        expected = splitmix64(x)
    got = splitmix64_torch(torch.from_numpy(x.view(np.int64))).numpy().view(np.uint64)
    np.testing.assert_array_equal(got, expected)


def test_signed64_and_logical_shr_are_the_unsigned_operations_on_int64_bits():
    assert signed64(2**64 - 1) == -1 and signed64(2**63) == -(2**63) and signed64(2**63 - 1) == 2**63 - 1
    values = np.array([-1, -(2**63), 12345, 2**62], np.int64)
    for s in (1, 11, 30, 63):
        got = logical_shr(torch.from_numpy(values), s).numpy().view(np.uint64)
        np.testing.assert_array_equal(got, values.view(np.uint64) >> np.uint64(s))


@pytest.mark.parametrize("seed", [0, 7, 2**63 + 5, 2**64 - 1])
def test_numpy_and_torch_give_the_same_bins_hashes_uniforms_and_normals(seed):
    x = np.random.default_rng(1).normal(scale=3.0, size=(500, 3))
    x[0] = [1e30, -1e30, 0.0]  # clipped, not overflowed
    bins = bin_indices(x, [0.1, 0.2, 0.05], 500)
    torch_bins = bin_indices(torch.as_tensor(x), [0.1, 0.2, 0.05], 500)
    np.testing.assert_array_equal(torch_bins.numpy(), bins)
    assert bins[0, 0] == BIN_LIMIT and bins[0, 1] == -BIN_LIMIT
    h, torch_h = hash_rows(bins, seed), hash_rows(torch_bins, seed)
    assert h.dtype == np.uint64 and torch_h.dtype == torch.int64
    np.testing.assert_array_equal(torch_h.numpy().view(np.uint64), h)
    np.testing.assert_array_equal(hash_uniform(torch_h).numpy(), hash_uniform(h))
    np.testing.assert_allclose(hash_normal(torch_h).numpy(), hash_normal(h), rtol=1e-12)


def test_bins_are_floors_and_rows_in_one_bin_share_a_key_under_each_seed():
    x = np.array([[0.01, -0.01], [0.09, -0.09], [0.11, -0.01], [0.01, 0.01]])
    bins = bin_indices(x, 0.1, 4)
    assert bins.tolist() == [[0, -1], [0, -1], [1, -1], [0, 0]]
    for seed in (0, 1):
        h = hash_rows(bins, seed)
        assert h[0] == h[1] and len(set(h.tolist())) == 3
    assert not np.any(hash_rows(bins, 0) == hash_rows(bins, 1))


def test_hash_uniform_and_normal_have_the_right_distribution():
    h = hash_rows(np.arange(N, dtype=np.int64)[:, None], 3)
    u = hash_uniform(h)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < Z * math.sqrt(1 / 12 / N)
    z = hash_normal(h)
    assert np.all(np.isfinite(z))
    assert abs(z.mean()) < Z / math.sqrt(N)
    assert abs(z.std() - 1.0) < Z / math.sqrt(2 * N)


def test_check_bin_widths_refuses_bad_widths_by_name():
    assert check_bin_widths(0.5, "x: resolution") == 0.5
    np.testing.assert_array_equal(check_bin_widths((0.1, 2), "x: resolution"), [0.1, 2.0])
    for bad in ([], [0.1, 0.0], [float("nan")], ["a"], [[0.1, -1]]):
        with pytest.raises(ValueError, match=r"x: resolution must be a number > 0 or a non-empty list"):
            check_bin_widths(bad, "x: resolution")
    for bad in (0, -1.0, float("inf"), True, "0.1"):
        with pytest.raises(ValueError, match=r"x: resolution must be a finite number > 0"):
            check_bin_widths(bad, "x: resolution")
