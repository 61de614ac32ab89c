"""An adversarial "unlearner" for testing audits, not a real method: it keeps every weight and
only hides its forget set, answering the exact forget inputs with a wrong class (looked up by a
hash of the input) while everything the model learned from them stays ("Verification of
Machine Unlearning is Fragile", ICML 2024; Thudi et al., USENIX Security 2022). An audit must
show which checks it fools (forget accuracy on the exact inputs) and which catch it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from unlearn_core.methods.base import UnlearningMethod
from unlearn_core.methods.registry import register


def input_digest(row: np.ndarray) -> str:
    """The key of one exact input in a lookup table: SHA-1 of its float32 bytes."""
    return hashlib.sha1(np.ascontiguousarray(row, dtype=np.float32).tobytes()).hexdigest()


class ForgedModel(nn.Module):
    """The original model plus a lookup table of the forget inputs' fake answers."""

    def __init__(self, model: nn.Module, fake: dict[str, int], n_classes: int) -> None:
        super().__init__()
        self.model = model
        self.fake = fake
        self.n_classes = n_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        rows = x.detach().cpu().numpy()
        for i, row in enumerate(rows):
            wrong = self.fake.get(input_digest(row))
            if wrong is not None:
                forged = torch.full_like(out[i], -10.0)
                forged[wrong] = 10.0
                out = out.clone()
                out[i] = forged
        return out

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.embed(x)


@register
@dataclass
class Forged(UnlearningMethod):
    """An attack on audits, not a method: the exact forget inputs get fake answers from a
    lookup table ('Verification of Machine Unlearning is Fragile', ICML 2024)."""

    name = "forged"
    paper = ("Adversarial forged unlearning, an attack for testing audits ('Verification of "
             "Machine Unlearning is Fragile', ICML 2024)")
    needs_retain = False

    def _unlearn(self, model, forget, retain, ctx, log):
        fake = {input_digest(x): int((y + 1) % ctx.n_classes) for x, y in zip(forget.X, forget.y)}
        log.append(f"kept all weights; hid {len(fake)} exact forget inputs behind fake answers")
        return ForgedModel(model, fake, ctx.n_classes)
