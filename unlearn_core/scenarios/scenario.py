"""The shape every planted-evidence scenario shares: train on data with planted samples, then
forget exactly those samples with the audited method and with the retrain reference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from unlearn_core.audit.data import AuditData, train_baseline
from unlearn_core.data.dataset import Dataset
from unlearn_core.data.forget import forget_by_ids
from unlearn_core.data.splits import Splits
from unlearn_core.methods import UnlearnContext, make_method
from unlearn_core.models import ModelSpec, TrainConfig, default_train_config


@dataclass
class PlantedModels:
    """The model trained with the planted samples, after the method, and after retraining."""

    planted: nn.Module
    after: nn.Module
    retrained: nn.Module
    recipe: TrainConfig


def plant_and_forget(planted: Dataset, splits: Splits, positions: np.ndarray, arch: str,
                     method: str, params: dict | None, seed: int) -> PlantedModels:
    """Train ``arch`` on ``planted`` (default recipe), then forget the samples at ``positions``
    with ``method`` and with ``retrain``, same seed."""
    recipe = default_train_config(arch, planted.name, len(splits.train))
    model = train_baseline(planted, splits, arch, recipe, seed)
    data = AuditData(planted, splits, forget_by_ids(planted, splits, planted.ids[positions]))
    spec = ModelSpec(arch, planted.sample_shape, planted.n_classes)
    ctx = UnlearnContext(planted.n_classes, seed, spec, recipe, (), data.method_pool)
    after = make_method(method, **(params or {})).unlearn(model, data.forget, data.retain,
                                                          ctx).model
    retrained = make_method("retrain").unlearn(model, data.forget, data.retain, ctx).model
    return PlantedModels(model, after, retrained, recipe)
