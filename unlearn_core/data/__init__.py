"""Datasets: built-in sets, user files (NPZ, CSV, ZIP of images, Parquet, CIFAR-10 binary)
and seeded splits."""

from .builtin import BUILTIN_DATASETS, load_builtin
from .cifar_binary import load_cifar_binary
from .dataset import Dataset, Samples
from .loaders import load_csv, load_dataset, load_image_zip, load_npz
from .parquet import load_parquet
from .splits import Splits, make_splits

__all__ = [
    "BUILTIN_DATASETS", "Dataset", "Samples", "Splits", "load_builtin", "load_cifar_binary",
    "load_csv", "load_dataset", "load_image_zip", "load_npz", "load_parquet", "make_splits",
]
