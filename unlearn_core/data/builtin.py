"""Built-in datasets: small sklearn sets that ship with the library, and ``digits28``.

``digits28`` is a generated MNIST-sized image set (28x28, 50,000 samples by default) made
from sklearn's 8x8 digits by elastic distortion, so audits can run at a realistic scale with
no download. It is deterministic from the seed and cached on disk as ``.npz``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from unlearn_core.data.dataset import Dataset
from unlearn_core.data.generated import _check_n_samples, cached_images, default_cache_dir
from unlearn_core.errors import DataError

BUILTIN_DATASETS = ("digits", "breast_cancer", "wine", "digits28", "shapes32")

DIGITS28_DEFAULT_SAMPLES = 50_000
DIGITS28_MAX_SAMPLES = 500_000
DIGITS28_VERSION = 1  # bump when the generator changes so stale caches are not reused
CANVAS = 28  # output side in pixels
BOX = 20  # the 8x8 digit is upscaled into a centred BOX x BOX square, as MNIST does
_BATCH = 2_000

# Distortion strengths (pixels / degrees), after Simard et al. (ICDAR 2003).
ELASTIC_SIGMA = 4.0
ELASTIC_STD_PX = (0.5, 1.0)  # displacement std; Simard's alpha=34, sigma=4 gives ~1.4
MAX_SHIFT = 1.0
MAX_ROTATION_DEG = 10.0
SCALE_RANGE = (0.88, 1.12)
STROKE_GAIN = (1.0, 1.6)
NOISE_STD = 0.04




def load_builtin(
    name: str,
    seed: int = 0,
    n_samples: int | None = None,
    cache_dir: str | Path | None = None,
) -> Dataset:
    """Load a built-in dataset by name.

    ``seed`` and ``n_samples`` drive ``digits28`` and ``shapes32`` generation; for the
    sklearn sets a smaller ``n_samples`` takes a seeded random subset (ids stay the original
    row numbers).
    """
    if not isinstance(name, str) or name not in BUILTIN_DATASETS:
        raise DataError(
            f"unknown built-in dataset {name!r}: choose one of {', '.join(BUILTIN_DATASETS)}"
        )
    seed = _check_seed(seed)
    if name == "digits28":
        return _load_digits28(seed, n_samples, cache_dir)
    if name == "shapes32":  # 32x32 RGB at CIFAR scale (``data.shapes32``)
        from unlearn_core.data.shapes32 import load_shapes32

        return load_shapes32(seed, n_samples, cache_dir)
    if name == "digits":
        dataset = _sklearn_digits()
    else:
        dataset = _sklearn_tabular(name)
    if n_samples is not None:
        n = _check_n_samples(n_samples, lo=2 * dataset.n_classes, hi=len(dataset), name=name)
        if n < len(dataset):
            keep = np.sort(np.random.default_rng(seed).choice(len(dataset), n, replace=False))
            dataset = Dataset(dataset.name, dataset.X[keep], dataset.y[keep], dataset.ids[keep],
                              dataset.class_names, dataset.kind, dataset.feature_names)
    return dataset


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)




def _sklearn_digits() -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = (bunch.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = bunch.target.astype(np.int64)
    return Dataset("digits", X, y, np.arange(len(y), dtype=np.int64),
                   [str(i) for i in range(10)], "image", [])


def _sklearn_tabular(name: str) -> Dataset:
    """breast_cancer or wine, z-scored per feature with whole-dataset mean and std.

    Using whole-dataset statistics leaks a little test-set information into scaling; that is
    harmless for an unlearning audit and keeps the features identical across seeds and splits.
    """
    from sklearn.datasets import load_breast_cancer, load_wine

    bunch = load_breast_cancer() if name == "breast_cancer" else load_wine()
    X = zscore(bunch.data)
    y = bunch.target.astype(np.int64)
    return Dataset(name, X, y, np.arange(len(y), dtype=np.int64),
                   [str(c) for c in bunch.target_names], "tabular",
                   [str(f) for f in bunch.feature_names])


def zscore(X: np.ndarray) -> np.ndarray:
    """Per-column z-score as float32; constant columns become 0 instead of NaN.

    Columns of extreme magnitude (beyond 1e100 or below 1e-100, e.g. +/-1e308) are first
    divided by their largest absolute value, which leaves the z-scores unchanged but keeps
    the mean and the squares from overflowing to infinity (or underflowing to 0); other
    columns are computed exactly as before. Non-finite input is a ``DataError``."""
    X = np.asarray(X, dtype=np.float64)
    if X.size and not np.isfinite(X).all():
        raise DataError("features hold NaN or infinite values; they cannot be standardised")
    if X.size:
        peak = np.abs(X).max(axis=0)
        extreme = (peak > 1e100) | ((peak < 1e-100) & (peak > 0))
        if extreme.any():
            X = X.copy()
            X[:, extreme] /= peak[extreme]
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    safe = np.where(std > 1e-12, std, 1.0)
    out = (X - mean) / safe
    out[:, std <= 1e-12] = 0.0
    return out.astype(np.float32)


# --------------------------------------------------------------------------- digits28


def digits28_cache_path(seed: int, n_samples: int, cache_dir: str | Path | None = None) -> Path:
    """Where the generated set for this seed and size is cached."""
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return root / f"digits28_v{DIGITS28_VERSION}_seed{seed}_n{n_samples}.npz"


def _load_digits28(seed: int, n_samples: int | None, cache_dir: str | Path | None) -> Dataset:
    n = DIGITS28_DEFAULT_SAMPLES if n_samples is None else _check_n_samples(
        n_samples, lo=20, hi=DIGITS28_MAX_SAMPLES, name="digits28")
    images, y = cached_images(digits28_cache_path(seed, n, cache_dir), n,
                              lambda: generate_digits28(n, seed))
    X = (images.astype(np.float32) / np.float32(255.0))[:, None, :, :]
    return Dataset("digits28", X, y.astype(np.int64), np.arange(n, dtype=np.int64),
                   [str(i) for i in range(10)], "image", [])








def _bilinear_matrix(src: int, dst: int) -> np.ndarray:
    """(dst, src) matrix resizing one axis with half-pixel-centred bilinear interpolation."""
    pos = np.clip((np.arange(dst) + 0.5) * src / dst - 0.5, 0, src - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, src - 1)
    frac = pos - lo
    W = np.zeros((dst, src))
    W[np.arange(dst), lo] += 1 - frac
    W[np.arange(dst), hi] += frac
    return W


def upscaled_digits() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's 8x8 digits upscaled (bilinear) into a centred 20x20 box on a 28x28 canvas.

    Returns float32 images in [0, 1] of shape (1797, 28, 28) and their labels: the clean
    sources that ``digits28`` distorts.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    W = _bilinear_matrix(8, BOX)
    box = np.einsum("ij,njk,lk->nil", W, bunch.images / 16.0, W)
    canvas = np.zeros((len(box), CANVAS, CANVAS), dtype=np.float32)
    off = (CANVAS - BOX) // 2
    canvas[:, off:off + BOX, off:off + BOX] = box
    return canvas, bunch.target.astype(np.int64)


def generate_digits28(n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``n_samples`` distorted 28x28 digits as (uint8 images, int64 labels).

    Classes are balanced (counts differ by at most one); each sample picks a random source
    digit of its class and applies a random affine map (shift, rotation, scale), a Simard
    elastic distortion (Gaussian-smoothed random displacement field), a stroke-contrast gain
    and additive Gaussian noise. Values are quantised to 1/255 like MNIST, which also makes
    the cache small. Everything is drawn from one ``numpy`` Generator seeded with ``seed``.
    """
    sources, source_y = upscaled_digits()
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n_samples) % 10).astype(np.int64)
    pick = np.empty(n_samples, dtype=np.int64)
    for c in range(10):
        pool = np.flatnonzero(source_y == c)
        where = np.flatnonzero(y == c)
        pick[where] = pool[rng.integers(0, len(pool), len(where))]
    out = np.empty((n_samples, CANVAS, CANVAS), dtype=np.uint8)
    for start in range(0, n_samples, _BATCH):
        stop = min(start + _BATCH, n_samples)
        out[start:stop] = _distort(sources[pick[start:stop]], rng)
    return out, y


def _distort(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Randomly distort a batch of (b, 28, 28) images in [0, 1]; returns uint8."""
    b = len(images)
    size = CANVAS
    centre = (size - 1) / 2.0
    # Elastic displacement: uniform noise smoothed with a Gaussian, scaled by alpha.
    fields = rng.uniform(-1.0, 1.0, size=(2, b, size, size)).astype(np.float32)
    fields = ndimage.gaussian_filter(fields, sigma=(0, 0, ELASTIC_SIGMA, ELASTIC_SIGMA),
                                     mode="constant", truncate=3.0)
    # Normalise to unit std, then scale each sample to its displacement std in pixels.
    fields /= np.float32(fields.std() + 1e-12)
    strength = rng.uniform(*ELASTIC_STD_PX, size=b).astype(np.float32)
    fields *= strength[None, :, None, None]

    angle = np.deg2rad(rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG, size=b))
    scale = rng.uniform(*SCALE_RANGE, size=b)
    shift = rng.uniform(-MAX_SHIFT, MAX_SHIFT, size=(2, b))
    # Inverse map from output pixel to source pixel: src = centre + R(-a)(out - centre - t)/s.
    grid = np.arange(size, dtype=np.float64) - centre
    rr, cc = grid[None, :, None], grid[None, None, :]
    dr = rr - shift[0][:, None, None]
    dc = cc - shift[1][:, None, None]
    cos = (np.cos(angle) / scale)[:, None, None]
    sin = (np.sin(angle) / scale)[:, None, None]
    src_r = centre + cos * dr - sin * dc + fields[0]
    src_c = centre + sin * dr + cos * dc + fields[1]
    batch = np.broadcast_to(np.arange(b, dtype=np.float64)[:, None, None], src_r.shape)
    warped = ndimage.map_coordinates(images, np.stack([batch, src_r, src_c]), order=1,
                                     mode="constant", cval=0.0, prefilter=False)
    gain = rng.uniform(*STROKE_GAIN, size=b).astype(np.float32)[:, None, None]
    warped = np.clip(warped * gain, 0.0, 1.0)
    warped += rng.normal(0.0, NOISE_STD, size=warped.shape).astype(np.float32)
    return np.round(np.clip(warped, 0.0, 1.0) * 255.0).astype(np.uint8)
