"""The first stages of an audit, below everything else: the data (dataset, splits, forget set)
and training a model on a split. Checks, attacks, verification scenarios and the audit all
import from here; this module imports none of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from torch import nn

from unlearn_core.data import Dataset, Samples, Splits, load_dataset, make_splits
from unlearn_core.data.forget import ForgetSet
from unlearn_core.models import (
    ModelSpec,
    TrainConfig,
    build_model,
    default_train_config,
    train_epochs,
)
from unlearn_core.progress import ProgressFn


@dataclass
class AuditData:
    """The live inputs of an audit: dataset, splits, forget set and their sample views."""

    dataset: Dataset
    splits: Splits
    forget_set: ForgetSet

    @property
    def forget(self) -> Samples:
        return self.dataset.subset(self.forget_set.forget)

    @property
    def retain(self) -> Samples:
        return self.dataset.subset(self.forget_set.retain)

    @property
    def test(self) -> Samples:
        return self.dataset.subset(self.splits.test)

    @property
    def population(self) -> Samples:
        """The audit's half of the population split: the known non-members that attacks and
        checks calibrate on. Methods never see it (they get ``method_pool``)."""
        return self.dataset.subset(self.splits.population[1::2])

    @property
    def method_pool(self) -> Samples:
        """The methods' half of the population split: unseen data a method may use (mia_guided,
        gradient ascent's early stop, lrp_path), disjoint from what the audit calibrates on, so
        that no method is tuned on the auditor's own non-members."""
        return self.dataset.subset(self.splits.population[0::2])

    @property
    def train(self) -> Samples:
        return self.dataset.subset(self.splits.train)


def load_data(dataset_name: str, seed: int, test_fraction: float, population_fraction: float,
              label_column: Optional[str] = None,
              dataset: Optional[Dataset] = None, id_column: Optional[str] = None,
              drop_columns: Sequence[str] = ()) -> tuple[Dataset, Splits]:
    """The named dataset (or the one given) and its seeded splits (a CSV's id and dropped
    columns as ``load_dataset`` takes them)."""
    if dataset is None:
        dataset = load_dataset(dataset_name, label_column=label_column, seed=seed,
                               id_column=id_column, drop_columns=drop_columns)
    return dataset, make_splits(dataset, seed, test_fraction, population_fraction)


def recipe_for(train: Optional[TrainConfig], arch: str, dataset: Dataset,
               splits: Splits) -> TrainConfig:
    """The given recipe, or the default one for the architecture and data."""
    return train or default_train_config(arch, dataset.name, len(splits.train))


def train_baseline(dataset: Dataset, splits: Splits, arch: str, train_config: TrainConfig,
                   seed: int, progress: Optional[ProgressFn] = None) -> nn.Module:
    """Train the original model on the whole training split."""
    spec = ModelSpec(arch, dataset.sample_shape, dataset.n_classes)
    model = build_model(spec, seed=seed)
    return train_epochs(model, dataset.subset(splits.train), train_config, seed, progress,
                        "baseline")
