"""The model registry: what a model is (a ``Classifier``: a ``body`` that maps inputs to an
embedding and a linear ``head`` that maps it to class logits), how it is rebuilt (``ModelSpec``)
and the table of architectures that register themselves (``architectures``, ``resnet``, ``vit``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
from torch import nn

from unlearn_core.errors import ModelError


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



def build_model(spec: ModelSpec, seed: int = 0) -> Classifier:
    """A freshly initialised model; the same spec and seed give the same weights."""
    if spec.arch not in ARCHITECTURES:
        raise ModelError(
            f"unknown model '{spec.arch}': choose one of {', '.join(sorted(ARCHITECTURES))}"
        )
    torch.manual_seed(seed)
    return ARCHITECTURES[spec.arch](spec)
