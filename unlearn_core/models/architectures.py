"""The built-in architectures: small classifiers that train in seconds on CPU (``logreg``,
``mlp``, ``cnn``), registered in ``models.registry``; importing this module also registers the
CIFAR-scale ``resnet18`` (``models.resnet``) and ``vit`` (``models.vit``).

Every model is a ``Classifier``: a ``body`` that maps inputs to an embedding and a linear
``head`` that maps the embedding to class logits. The split gives the dashboard its embedding
map and gives relevance and head-only methods a uniform place to work.
"""

from __future__ import annotations

import math

from torch import nn

# The CIFAR-scale architectures register themselves on import.
from unlearn_core.errors import ModelError
from unlearn_core.models import resnet, vit  # noqa: F401
from unlearn_core.models.registry import (
    ARCHITECTURES,
    Classifier,
    ModelSpec,
    build_model,
    register_architecture,
)

__all__ = ["ARCHITECTURES", "Classifier", "ModelSpec", "build_model", "register_architecture"]


def _flat_dim(shape: tuple[int, ...]) -> int:
    return int(math.prod(shape))


@register_architecture("logreg")
def _logreg(spec: ModelSpec) -> Classifier:
    """Multinomial logistic regression: convex, where closed-form unlearning is exact."""
    return Classifier(nn.Flatten(), nn.Linear(_flat_dim(spec.input_shape), spec.n_classes), spec)


@register_architecture("mlp")
def _mlp(spec: ModelSpec) -> Classifier:
    """Two hidden ReLU layers."""
    hidden = int(spec.params.get("hidden", 128))
    body = nn.Sequential(
        nn.Flatten(),
        nn.Linear(_flat_dim(spec.input_shape), hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
    )
    return Classifier(body, nn.Linear(hidden, spec.n_classes), spec)


@register_architecture("cnn")
def _cnn(spec: ModelSpec) -> Classifier:
    """Two conv blocks and a dense layer; works from 8x8 up to 64x64 images."""
    if len(spec.input_shape) != 3:
        raise ModelError(
            f"the cnn needs image data (channels, height, width); this dataset has samples of "
            f"shape {spec.input_shape}: use 'mlp' or 'logreg'"
        )
    channels = spec.input_shape[0]
    width = int(spec.params.get("width", 16))
    hidden = int(spec.params.get("hidden", 128))
    body = nn.Sequential(
        nn.Conv2d(channels, width, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2) if min(spec.input_shape[1:]) >= 16 else nn.Identity(),
        nn.Conv2d(width, 2 * width, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
        nn.Linear(2 * width * 16, hidden),
        nn.ReLU(),
    )
    return Classifier(body, nn.Linear(hidden, spec.n_classes), spec)
