"""Datasets: built-in sets, user files (NPZ, CSV, ZIP of images) and seeded splits."""

from .builtin import BUILTIN_DATASETS, load_builtin
from .dataset import Dataset, Samples
from .loaders import load_csv, load_dataset, load_image_zip, load_npz
from .splits import Splits, make_splits

__all__ = [
    "BUILTIN_DATASETS", "Dataset", "Samples", "Splits", "load_builtin", "load_csv",
    "load_dataset", "load_image_zip", "load_npz", "make_splits",
]
