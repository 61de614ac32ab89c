"""``shapes32``: a generated CIFAR-sized image set (32x32 RGB, 10 classes, 50,000 samples).

No download: every image is drawn from one ``numpy`` Generator seeded with the seed, so the
same seed gives the same bytes on every machine (numpy's PCG64 and plain float arithmetic),
and the set is cached on disk like ``digits28``. It is the CIFAR-10 stand-in for the
``resnet18`` and ``vit`` architectures: same shape, same size, same number of classes.

A class is a shape (disc, ring, square, frame, triangle, diamond, plus, bars, two dots,
half-disc), drawn with an anti-aliased edge at a random position (centre within +/-6 px),
size (radius 6 to 11 px), rotation (+/-25 degrees) and aspect (0.85 to 1.15), in a random
colour on a random colour gradient, with a random thin line across half of the images as
clutter and Gaussian pixel noise. Colour carries no class information, so a model has to
learn shape, and the small, noisy shapes keep accuracy below 100% for small models. Pixels are
quantised to 1/255 like CIFAR's bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from unlearn_core.data.dataset import Dataset

SHAPES32_DEFAULT_SAMPLES = 50_000
SHAPES32_MAX_SAMPLES = 150_000  # 150,000 x 3,072 float32 values: 1.8 GB in memory
SHAPES32_VERSION = 1  # bump when the generator changes so stale caches are not reused
SIDE = 32
CLASS_NAMES = ["disc", "ring", "square", "frame", "triangle", "diamond", "plus", "bars",
               "dots", "half-disc"]
_BATCH = 2_000

MAX_OFFSET_PX = 6.0
RADIUS_PX = (6.0, 11.0)
MAX_ROTATION_DEG = 25.0
ASPECT = (0.85, 1.15)
MIN_COLOUR_DISTANCE = 0.5  # foreground vs background colour (RGB in [0, 1])
GRADIENT = 0.35  # largest change of the background across the image, per channel
LINE_SHARE = 0.5  # images with a clutter line
NOISE_STD = 0.05


def _signed_distance(label: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Signed distance (negative inside) of class ``label``'s shape at unit coordinates."""
    u, v = u.astype(np.float32), v.astype(np.float32)
    au, av = np.abs(u), np.abs(v)
    box = np.maximum(au, av)
    r = np.hypot(u, v)
    if label == 0:  # disc
        return r - 0.85
    if label == 1:  # ring
        return np.abs(r - 0.65) - 0.2
    if label == 2:  # square
        return box - 0.72
    if label == 3:  # frame (hollow square)
        return np.abs(box - 0.6) - 0.17
    if label == 4:  # triangle, apex up (v grows downwards)
        return np.maximum(v, np.maximum(-0.866 * u - 0.5 * v, 0.866 * u - 0.5 * v)) - 0.45
    if label == 5:  # diamond
        return (au + av) / np.sqrt(2.0) - 0.6
    if label == 6:  # plus
        return np.minimum(np.maximum(au - 0.22, av - 0.8), np.maximum(av - 0.22, au - 0.8))
    if label == 7:  # three horizontal bars in a square
        stripe = np.abs(np.mod(v + 0.8, 0.64) - 0.16) - 0.16
        return np.maximum(box - 0.8, stripe)
    if label == 8:  # two dots
        return np.minimum(np.hypot(u - 0.45, v), np.hypot(u + 0.45, v)) - 0.33
    return np.maximum(r - 0.85, v)  # half-disc, flat side down


def generate_shapes32(n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n_samples`` images as (uint8 (n, 3, 32, 32), int64 labels); classes balanced (counts
    differ by at most one), everything drawn from ``np.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n_samples) % len(CLASS_NAMES)).astype(np.int64)
    out = np.empty((n_samples, 3, SIDE, SIDE), dtype=np.uint8)
    for start in range(0, n_samples, _BATCH):
        stop = min(start + _BATCH, n_samples)
        out[start:stop] = _draw(y[start:stop], rng)
    return out, y


def _draw(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A batch of images for labels ``y``; returns uint8 (b, 3, 32, 32)."""
    b = len(y)
    grid = np.arange(SIDE, dtype=np.float32)
    px, py = grid[None, None, :], grid[None, :, None]  # x across, y down
    f32 = np.float32
    centre = ((SIDE - 1) / 2.0 + rng.uniform(-MAX_OFFSET_PX, MAX_OFFSET_PX, size=(2, b))
              ).astype(f32)
    radius = rng.uniform(*RADIUS_PX, size=b).astype(f32)
    angle = np.deg2rad(rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG, size=b)).astype(f32)
    aspect = rng.uniform(*ASPECT, size=b).astype(f32)
    dx = px - centre[0][:, None, None]
    dy = py - centre[1][:, None, None]
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    scale = radius[:, None, None]
    asp = aspect[:, None, None]
    u = (cos * dx + sin * dy) / (scale * asp)
    v = (-sin * dx + cos * dy) * asp / scale
    dist = np.empty((b, SIDE, SIDE), dtype=f32)
    for label in range(len(CLASS_NAMES)):
        rows = y == label
        if rows.any():
            dist[rows] = _signed_distance(label, u[rows], v[rows])
    mask = np.clip(0.5 - dist * scale, 0.0, 1.0)[:, None]  # about one pixel of anti-aliasing

    background = rng.uniform(0.0, 1.0, size=(b, 3))
    foreground = rng.uniform(0.0, 1.0, size=(b, 3))
    close = np.linalg.norm(foreground - background, axis=1) < MIN_COLOUR_DISTANCE
    foreground[close] = np.mod(background[close] + 0.5, 1.0)
    direction = rng.uniform(0.0, 2 * np.pi, size=b).astype(f32)
    ramp = (np.cos(direction)[:, None, None] * (px - 15.5)
            + np.sin(direction)[:, None, None] * (py - 15.5)) / SIDE  # -0.7 .. 0.7
    tilt = rng.uniform(-GRADIENT, GRADIENT, size=(b, 3))
    image = (background[:, :, None, None] + tilt[:, :, None, None] * ramp[:, None]).astype(f32)
    image = image * (1 - mask) + foreground[:, :, None, None] * mask

    # clutter: a thin line (about 1 px) of a random colour through a random point
    has_line = rng.uniform(size=b) < LINE_SHARE
    through = rng.uniform(0, SIDE - 1, size=(2, b)).astype(f32)
    heading = rng.uniform(0.0, np.pi, size=b).astype(f32)
    normal_x, normal_y = -np.sin(heading), np.cos(heading)
    offset = (normal_x[:, None, None] * (px - through[0][:, None, None])
              + normal_y[:, None, None] * (py - through[1][:, None, None]))
    line = np.clip(1.0 - np.abs(offset), 0.0, 1.0) * has_line[:, None, None]
    line_colour = rng.uniform(0.0, 1.0, size=(b, 3))
    image = image * (1 - line[:, None]) + line_colour[:, :, None, None] * line[:, None]

    image += rng.normal(0.0, NOISE_STD, size=image.shape).astype(f32)
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def shapes32_cache_path(seed: int, n_samples: int, cache_dir: str | Path | None = None) -> Path:
    """Where the generated set for this seed and size is cached."""
    from unlearn_core.data.generated import default_cache_dir

    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return root / f"shapes32_v{SHAPES32_VERSION}_seed{seed}_n{n_samples}.npz"


def load_shapes32(seed: int, n_samples: int | None = None,
                  cache_dir: str | Path | None = None) -> Dataset:
    """The ``shapes32`` set for this seed (``n_samples``: 20 to ``SHAPES32_MAX_SAMPLES``,
    default 50,000), generated once and then read from the cache."""
    from unlearn_core.data.generated import _check_n_samples, cached_images

    n = SHAPES32_DEFAULT_SAMPLES if n_samples is None else _check_n_samples(
        n_samples, lo=20, hi=SHAPES32_MAX_SAMPLES, name="shapes32")
    images, y = cached_images(shapes32_cache_path(seed, n, cache_dir), n,
                              lambda: generate_shapes32(n, seed), shape=(3, SIDE, SIDE))
    X = images.astype(np.float32)
    X /= np.float32(255.0)
    return Dataset("shapes32", X, y.astype(np.int64), np.arange(n, dtype=np.int64),
                   list(CLASS_NAMES), "image", [])

