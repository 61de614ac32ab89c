"""Zero-shot class unlearning by layer-wise relevance and neuron-path perturbation (arXiv
2410.23693, 2024): with only samples of the forgotten class and no retain data (by default
samples never trained on, from the held-out split, as the paper's zero-shot setting; the
training forget samples when no such samples exist), score each
neuron of the embedding layer by its LRP relevance (epsilon rule) for the forgotten class's
output against its relevance for the other outputs, and cut the paths from the most
class-specific neurons to that output, widening the cut until the class is no longer
recognised. Here the relevance analysis covers the embedding layer and the output head."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from unlearn_core.data.dataset import Samples
from unlearn_core.errors import MethodError
from unlearn_core.methods.base import UnlearningMethod, hparam
from unlearn_core.methods.registry import register
from unlearn_core.models.training import to_tensors


def head_relevance(embedding: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                   eps: float = 1e-6) -> torch.Tensor:
    """LRP-epsilon relevance of each embedding unit for each output, starting from R_k = z_k:
    R[n, k, j] = a_j w_kj / (z_k + eps sign z_k) * z_k; shape (samples, outputs, units)."""
    contrib = embedding[:, None, :] * weight[None, :, :]
    z = contrib.sum(-1) + bias
    stab = z + eps * torch.where(z >= 0, 1.0, -1.0)
    return contrib / stab[..., None] * z[..., None]


@register
@dataclass
class LRPPath(UnlearningMethod):
    """Zero-shot class unlearning: cut the paths from the neurons most relevant (LRP) to
    the forgotten class's output, no retain data (arXiv 2410.23693, 2024)."""

    name = "lrp_path"
    paper = "Zero-shot class unlearning via layer-wise relevance and neuron path perturbation " \
            "(arXiv 2410.23693, 2024)"
    needs_retain = False
    class_level_only = True

    max_samples: int = hparam(64, "forget-class samples used for the relevance analysis",
                              low=1, high=100000)
    samples: str = hparam("auto", "which samples of the class to analyse: unseen (held-out "
                                  "samples of the class, never trained on, as the paper's "
                                  "zero-shot setting), forget (the training samples to forget), "
                                  "auto (unseen when the audit's held-out split has the class, "
                                  "else forget)")
    target_accuracy: float = hparam(0.05, "widen the cut until forget accuracy is at most this",
                                    low=0, high=1)

    def _analysed(self, forget: Samples, ctx) -> tuple[str, Samples]:
        """The samples of the forgotten classes to analyse, and which kind they are."""
        pop = ctx.population
        unseen = None
        if pop is not None and len(pop):
            unseen = pop.take(np.flatnonzero(np.isin(pop.y, list(ctx.forget_classes))))
        if self.samples == "forget" or (self.samples == "auto" and not unseen):
            return "training (forget-set)", forget
        if self.samples in ("unseen", "auto"):
            if not unseen:
                raise MethodError("lrp_path: samples=unseen needs held-out samples of the "
                                  "forgotten class (the audit's population split has none)")
            return "unseen (held-out)", unseen
        raise MethodError(f"lrp_path: samples must be auto, unseen or forget, got "
                          f"{self.samples!r}")

    def _unlearn(self, model, forget, retain, ctx, log):
        head, body = getattr(model, "head", None), getattr(model, "body", None)
        if not isinstance(head, torch.nn.Linear) or body is None:
            raise MethodError("lrp_path needs a registry model (a body and a linear head)")
        source, analysed = self._analysed(forget, ctx)
        X, y = to_tensors(analysed.take(np.arange(min(len(analysed), self.max_samples))))
        with torch.no_grad():
            emb = body(X)
            rel = head_relevance(emb, head.weight, head.bias)  # (n, K, units)
            specific = {}
            for c in ctx.forget_classes:
                others = [k for k in range(ctx.n_classes) if k not in ctx.forget_classes]
                own = rel[y == c, c].mean(0) if (y == c).any() else rel[:, c].mean(0)
                specific[c] = own - rel[:, others].mean((0, 1))
            units = head.weight.shape[1]
            for share in (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0):
                k = max(1, int(share * units))
                w = head.weight.clone()
                for c, score in specific.items():
                    w[c, torch.topk(score, k).indices] = 0.0
                head.weight.copy_(w)
                acc = float((model(X).argmax(1) == y).float().mean())
                if acc <= self.target_accuracy:
                    break
        log.append(f"relevance from {len(y)} {source} samples of the class")
        log.append(f"cut the paths of the {k} of {units} most class-specific embedding units "
                   f"({100 * share:.0f}%) to class(es) {list(ctx.forget_classes)}; "
                   f"forget accuracy on the analysed samples {acc:.2f}")
        return model
