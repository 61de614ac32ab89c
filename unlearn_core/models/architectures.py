"""The model registry: small classifiers that train in seconds on CPU, and the CIFAR-scale
``resnet18`` (``models.resnet``) and ``vit`` (``models.vit``) that register themselves here.

Every model is a ``Classifier``: a ``body`` that maps inputs to an embedding and a linear
``head`` that maps the embedding to class logits. The split gives the dashboard its embedding
map and gives relevance and head-only methods a uniform place to work.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
from torch import nn

from ..errors import ModelError


@dataclass
class ModelSpec:
    """What is needed to rebuild a model from scratch: architecture, shapes, hyperparameters."""

    arch: str
    input_shape: tuple[int, ...]
    n_classes: int
    params: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @staticmethod
    def from_json(text: str) -> "ModelSpec":
        try:
            raw = json.loads(text)
            return ModelSpec(
                arch=str(raw["arch"]),
                input_shape=tuple(int(v) for v in raw["input_shape"]),
                n_classes=int(raw["n_classes"]),
                params=dict(raw.get("params", {})),
            )
        except (ValueError, KeyError, TypeError) as err:
            raise ModelError(f"model spec is not valid JSON with arch/input_shape/n_classes: {err}")


class Classifier(nn.Module):
    """``forward(x) = head(body(x))``; ``embed(x) = body(x)``."""

    def __init__(self, body: nn.Module, head: nn.Linear, spec: ModelSpec) -> None:
        super().__init__()
        self.body = body
        self.head = head
        self.spec = spec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


ARCHITECTURES: dict[str, Callable[[ModelSpec], Classifier]] = {}


def register_architecture(name: str):
    """Decorator adding a builder ``spec -> Classifier`` to the registry."""

    def wrap(fn: Callable[[ModelSpec], Classifier]) -> Callable[[ModelSpec], Classifier]:
        ARCHITECTURES[name] = fn
        return fn

    return wrap


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


def build_model(spec: ModelSpec, seed: int = 0) -> Classifier:
    """A freshly initialised model; the same spec and seed give the same weights."""
    if spec.arch not in ARCHITECTURES:
        raise ModelError(
            f"unknown model '{spec.arch}': choose one of {', '.join(sorted(ARCHITECTURES))}"
        )
    torch.manual_seed(seed)
    return ARCHITECTURES[spec.arch](spec)


# The CIFAR-scale architectures register themselves on import (after the registry exists).
from . import resnet, vit  # noqa: E402,F401
