"""Datasets: built-in sets, user files (NPZ, CSV, ZIP of images, Parquet, CIFAR-10 binary)
and seeded splits."""

from unlearn_core.data.builtin import BUILTIN_DATASETS, load_builtin
from unlearn_core.data.cifar_binary import load_cifar_binary
from unlearn_core.data.dataset import Dataset, Samples
from unlearn_core.data.load import load_dataset
from unlearn_core.data.loaders import load_csv, load_image_zip, load_npz
from unlearn_core.data.parquet import load_parquet
from unlearn_core.data.splits import Splits, make_splits

__all__ = [
    "BUILTIN_DATASETS", "Dataset", "Samples", "Splits", "load_builtin", "load_cifar_binary",
    "load_csv", "load_dataset", "load_image_zip", "load_npz", "load_parquet", "make_splits",
]
