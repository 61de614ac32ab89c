"""The dataset container shared by every layer: plain numpy arrays with stable sample ids."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Dataset:
    """A labelled dataset.

    ``X`` is float32 of shape ``(n, *sample_shape)``: ``(n, d)`` for tabular data and
    ``(n, channels, height, width)`` for images. ``y`` is int64 in ``[0, n_classes)``.
    ``ids`` are unique int64 ids that stay attached to a sample through every split and
    forget request, so a forget set can be named by ids and re-checked later.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    ids: np.ndarray
    class_names: list[str]
    kind: str  # "image" or "tabular"
    feature_names: list[str] = field(default_factory=list)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.X.shape[1:])

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def subset(self, index: np.ndarray) -> "Samples":
        """The samples at positions ``index`` (positions, not ids)."""
        index = np.asarray(index, dtype=np.int64)
        return Samples(X=self.X[index], y=self.y[index], ids=self.ids[index])

    def positions_of(self, ids: np.ndarray) -> np.ndarray:
        """Positions of the given ids; raises KeyError on an unknown id."""
        lookup = {int(i): p for p, i in enumerate(self.ids)}
        return np.array([lookup[int(i)] for i in ids], dtype=np.int64)

    def fingerprint(self) -> str:
        """SHA-256 over features, labels and ids: identifies the exact data an audit used."""
        h = hashlib.sha256()
        for arr in (self.X.astype(np.float32), self.y.astype(np.int64), self.ids.astype(np.int64)):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update("\x1f".join(self.class_names).encode())
        return h.hexdigest()


@dataclass
class Samples:
    """A slice of a dataset handed to training, unlearning and metrics."""

    X: np.ndarray
    y: np.ndarray
    ids: np.ndarray

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def take(self, index: np.ndarray) -> "Samples":
        index = np.asarray(index, dtype=np.int64)
        return Samples(X=self.X[index], y=self.y[index], ids=self.ids[index])

    @staticmethod
    def concat(parts: list["Samples"]) -> "Samples":
        return Samples(
            X=np.concatenate([p.X for p in parts]),
            y=np.concatenate([p.y for p in parts]),
            ids=np.concatenate([p.ids for p in parts]),
        )
