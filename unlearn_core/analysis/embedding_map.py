"""2-D maps of a model's embedding space, for picking forget samples by pointing at them.

PCA is instant and stable; t-SNE (van der Maaten & Hinton, JMLR 2008) separates classes better
at the cost of seconds. Both are seeded so a map does not move between reruns.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from unlearn_core.errors import ConfigError

PROJECTIONS = ("pca", "tsne")


def project(embeddings: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """Project ``(n, d)`` embeddings to ``(n, 2)`` coordinates."""
    X = np.asarray(embeddings, dtype=np.float64).reshape(len(embeddings), -1)
    if len(X) < 3:
        raise ConfigError("a map needs at least 3 samples")
    if method == "pca":
        coords = PCA(n_components=2, random_state=seed).fit_transform(X)
    elif method == "tsne":
        reduced = PCA(n_components=min(30, X.shape[1], len(X)), random_state=seed).fit_transform(X)
        coords = TSNE(n_components=2, random_state=seed, init="pca",
                      perplexity=min(30.0, (len(X) - 1) / 3)).fit_transform(reduced)
    else:
        raise ConfigError(f"unknown projection '{method}': use {', '.join(PROJECTIONS)}")
    return coords.astype(np.float32)
