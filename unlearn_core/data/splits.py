"""Seeded, stratified train / test / population splits of a dataset.

The population split is held out from both training and testing: membership-inference
attacks use it as known non-members (or shadow data) without touching the test set.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from unlearn_core.data.dataset import Dataset
from unlearn_core.errors import DataError

MIN_PER_CLASS_TO_STRATIFY = 3  # one sample for each of train, test and population


@dataclass
class Splits:
    """Sorted, disjoint int64 positions into the dataset that together cover all of it."""

    train: np.ndarray
    test: np.ndarray
    population: np.ndarray

    def fingerprint(self) -> str:
        """SHA-256 of the three position arrays: identifies the exact split an audit used."""
        h = hashlib.sha256()
        for label, arr in (("train", self.train), ("test", self.test),
                           ("population", self.population)):
            arr = np.ascontiguousarray(np.asarray(arr, dtype=np.int64))
            h.update(f"{label}:{arr.size};".encode())
            h.update(arr.tobytes())
        return h.hexdigest()


def make_splits(
    dataset: Dataset,
    seed: int = 0,
    test_fraction: float = 0.2,
    population_fraction: float = 0.2,
) -> Splits:
    """Split ``dataset`` into train / test / population, stratified by class and seeded.

    Split sizes are exact (rounded fractions of the whole) and each class is shared out in
    proportion. If some class has fewer than three samples a seeded unstratified split is
    used instead, since such a class cannot appear in every part anyway.
    """
    test_fraction = _check_fraction("test_fraction", test_fraction)
    population_fraction = _check_fraction("population_fraction", population_fraction)
    if test_fraction + population_fraction >= 1.0:
        raise DataError(
            f"test_fraction + population_fraction must be below 1 to leave training data, "
            f"got {test_fraction} + {population_fraction}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    n = len(dataset)
    n_test = max(1, round(n * test_fraction))
    n_pop = max(1, round(n * population_fraction))
    if n - n_test - n_pop < 1:
        raise DataError(f"the dataset has only {n} samples: too few to split into "
                        "train, test and population")

    y = np.asarray(dataset.y, dtype=np.int64)
    rng = np.random.default_rng(int(seed))
    classes, counts = np.unique(y, return_counts=True)
    part = np.zeros(n, dtype=np.int8)  # 0 train, 1 test, 2 population
    if counts.min() < MIN_PER_CLASS_TO_STRATIFY:
        order = rng.permutation(n)
        part[order[:n_test]] = 1
        part[order[n_test:n_test + n_pop]] = 2
    else:
        test_counts = _apportion(counts, n_test, counts, rng)
        pop_counts = _apportion(counts, n_pop, counts - test_counts, rng)
        for c, k_test, k_pop in zip(classes, test_counts, pop_counts):
            members = rng.permutation(np.flatnonzero(y == c))
            part[members[:k_test]] = 1
            part[members[k_test:k_test + k_pop]] = 2
    return Splits(train=np.flatnonzero(part == 0).astype(np.int64),
                  test=np.flatnonzero(part == 1).astype(np.int64),
                  population=np.flatnonzero(part == 2).astype(np.int64))


def _check_fraction(label: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise DataError(f"{label} must be a number between 0 and 1, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or not 0.0 < value < 1.0:
        raise DataError(f"{label} must be strictly between 0 and 1, got {value}")
    return value


def _apportion(counts: np.ndarray, total: int, capacity: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    """Share ``total`` among classes in proportion to ``counts`` (largest remainder).

    No class gets more than its ``capacity``; ties are broken at random by ``rng``.
    """
    ideal = counts * (total / counts.sum())
    alloc = np.minimum(np.floor(ideal).astype(np.int64), capacity)
    remainder = ideal - alloc
    tiebreak = rng.permutation(len(counts))
    order = np.lexsort((tiebreak, -remainder))  # largest remainder first
    left = total - int(alloc.sum())
    while left > 0:
        progressed = False
        for i in order:
            if left == 0:
                break
            if alloc[i] < capacity[i]:
                alloc[i] += 1
                left -= 1
                progressed = True
        if not progressed:  # cannot happen while total <= capacity.sum()
            raise DataError("internal error: cannot apportion the split")
    return alloc
