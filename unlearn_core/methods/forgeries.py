"""Forgeries: attack "unlearners" an auditor runs against its own checks.

A forgery claims to have forgotten and did not: it keeps what the model learned from the
forget set and only hides it where a naive check looks. "Verification of Machine Unlearning is
Fragile" (ICML 2024) and Thudi et al. (USENIX Security 2022) show that output checks can be
fooled this way; Gao et al., "An Illusion of Unlearning?" (arXiv 2604.08271) and Kim et al.,
"Are We Truly Forgetting?" (arXiv 2503.06991) show that a classifier-only change leaves the
features intact. Each forgery here fools a different family of checks:

- ``logit_bias``: every weight kept, a constant ``bias`` (default -1e4) added to the forgotten
  class's logit (for a sample request, the forget samples' majority class). Fools every check
  on the outputs of the forgotten class; caught by probes on the features and, two-sided, by
  relearning (a large bias resists relearning *more* than a retrain does).
- ``head_only``: only the last layer is fine-tuned for a few steps, on retain batches plus the
  forget samples relabelled to their second-best class. The features are the original's.
- ``lookup``: the existing ``forged`` pseudo-method: the exact forget inputs get fake answers
  from a lookup table keyed by a hash of the input; everything else is the original model.
- ``feature_forgery``: like ``lookup`` one layer lower: the penultimate features of the exact
  forget inputs are replaced by the mean features of their second-best class (taken from
  retain samples), so both the outputs and a probe scored on the forget inputs are fooled;
  held-out samples of the class keep the original's features.

``forge(name, original, forget, retain, ctx, **params)`` returns a new module; the original is
never modified. Each is also a pseudo-method (``forge_logit_bias``, ``forge_head_only``,
``forge_features``; ``forged`` for the lookup) so audits and benchmarks can run them.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from unlearn_core.data.dataset import Samples
from unlearn_core.errors import MethodError
from unlearn_core.methods.forged import input_digest
from unlearn_core.models.io import clone_model
from unlearn_core.models.registry import Classifier
from unlearn_core.models.training import predict_logits, to_tensors


def _lookup_rows(out: torch.Tensor, x: torch.Tensor,
                 table: dict[str, torch.Tensor]) -> torch.Tensor:
    """``out`` (computed from ``x``) with the row of every exact input of ``x`` that ``table``
    holds (by hash) replaced by the stored tensor: a copy when any row is, else ``out``."""
    hits = [(i, table.get(input_digest(r))) for i, r in enumerate(x.detach().cpu().numpy())]
    hits = [(i, v) for i, v in hits if v is not None]
    if hits:
        out = out.clone()
        for i, v in hits:
            out[i] = v.to(out.dtype).to(out.device)
    return out


def target_classes(forget: Samples, ctx) -> tuple[int, ...]:
    """The classes a forgery suppresses: the forgotten classes of a class request, else the
    forget samples' majority class."""
    classes = tuple(getattr(ctx, "forget_classes", ()) or ())
    if classes:
        return tuple(int(c) for c in classes)
    if len(forget) == 0:
        raise MethodError("the forget set is empty")
    return (int(np.bincount(forget.y).argmax()),)


def _body_and_head(model: nn.Module, retain: Samples, forgery: str,
                   linear: bool) -> tuple[nn.Module, nn.Module]:
    """The ``body`` and ``head`` of a registry-architecture ``model`` (a linear ``head`` with
    ``linear``); a ``MethodError`` naming the ``forgery`` when it lacks them or when the retain
    set is empty."""
    body, head = getattr(model, "body", None), getattr(model, "head", None)
    if body is None or head is None or (linear and not isinstance(head, nn.Linear)):
        head_kind = "a linear head" if linear else "a head"
        raise MethodError(f"{forgery} needs a model with a body and {head_kind} (a registry "
                          "architecture)")
    if len(retain) == 0:
        raise MethodError(f"{forgery} needs retain data and the retain set is empty")
    return body, head


def _second_best(original: nn.Module, forget: Samples,
                 classes: np.ndarray | None = None) -> np.ndarray:
    """Each forget sample's most likely class under ``original`` other than its own label
    (among ``classes`` when given): the decoy a forgery answers instead."""
    logits = predict_logits(original, forget.X)
    logits[np.arange(len(forget)), forget.y] = -np.inf
    if classes is not None:
        logits[:, ~np.isin(np.arange(logits.shape[1]), classes)] = -np.inf
    return logits.argmax(1)


class BiasedModel(nn.Module):
    """A model plus a constant offset on its logits (for models without a linear ``head``)."""

    def __init__(self, model: nn.Module, offset: torch.Tensor) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("offset", offset)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) + self.offset

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        fn = getattr(self.model, "embed", None)
        return fn(x) if fn is not None else self.model(x)


def forge_logit_bias(original: nn.Module, forget: Samples, retain: Samples, ctx,
                     bias: float = -1e4) -> nn.Module:
    """Keep every weight; add ``bias`` to the suppressed class's logit. On a model with a
    linear ``head`` the head's bias entry is shifted (a trainable parameter, so relearning can
    move it); other models get a fixed offset on their output."""
    classes = target_classes(forget, ctx)
    model = clone_model(original)
    head = getattr(model, "head", None)
    with torch.no_grad():
        if isinstance(head, nn.Linear) and head.bias is not None:
            for c in classes:
                head.bias[c] += float(bias)
            return model
        offset = torch.zeros(int(ctx.n_classes))
        offset[list(classes)] = float(bias)
    return BiasedModel(model, offset)


def forge_head_only(original: nn.Module, forget: Samples, retain: Samples, ctx,
                    steps: int = 30, lr: float = 1e-2, batch_size: int = 64) -> nn.Module:
    """Fine-tune only the linear ``head`` for ``steps`` Adam steps away from the forget set:
    each step sees a retain batch and a batch of forget samples relabelled to their
    second-best class under the original model. The body (every feature) stays the original's."""
    model = clone_model(original)
    _, head = _body_and_head(model, retain, "head_only", linear=True)
    second = _second_best(original, forget)
    for p in model.parameters():
        p.requires_grad_(False)
    for p in head.parameters():
        p.requires_grad_(True)
    seed = int(getattr(ctx, "seed", 0))
    rng = np.random.default_rng(seed * 1_000_003 + 71)
    torch.manual_seed(seed)
    Xr, yr = to_tensors(retain)
    Xf = torch.as_tensor(forget.X, dtype=torch.float32)
    yf = torch.as_tensor(second, dtype=torch.long)
    with torch.no_grad():  # the frozen body's features, computed once
        model.eval()
        hf = model.body(Xf)
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    for _ in range(int(steps)):
        ri = torch.as_tensor(rng.choice(len(yr), min(batch_size, len(yr)), replace=False))
        fi = torch.as_tensor(rng.choice(len(yf), min(batch_size, len(yf)), replace=False))
        with torch.no_grad():
            hr = model.body(Xr[ri])
        opt.zero_grad()
        loss = F.cross_entropy(head(hr), yr[ri]) + F.cross_entropy(head(hf[fi]), yf[fi])
        loss.backward()
        opt.step()
    for p in model.parameters():
        p.requires_grad_(True)
    model.eval()
    return model


def forge_lookup(original: nn.Module, forget: Samples, retain: Samples, ctx) -> nn.Module:
    """The ``forged`` pseudo-method: a lookup of fake answers for the exact forget inputs."""
    from unlearn_core.methods.forged import ForgedModel

    n = int(ctx.n_classes)
    fake = {input_digest(x): int((y + 1) % n) for x, y in zip(forget.X, forget.y)}
    return ForgedModel(clone_model(original), fake, n)


class LookupBody(nn.Module):
    """A body that answers the exact inputs in ``table`` (by hash) with decoy features."""

    def __init__(self, body: nn.Module, table: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.inner = body
        self.table = table

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _lookup_rows(self.inner(x), x, self.table)


class FeatureForgedModel(Classifier):
    """A registry ``Classifier`` (``head(body(x))``) whose ``body`` is a ``LookupBody``:
    features changed only for the exact forget inputs."""


def forge_features(original: nn.Module, forget: Samples, retain: Samples, ctx) -> nn.Module:
    """Replace the penultimate features of each exact forget input by the mean retain features
    of its second-best class under the original; every other input keeps its features."""
    model = clone_model(original)
    body, head = _body_and_head(model, retain, "feature_forgery", linear=False)
    second = _second_best(original, forget, np.unique(retain.y))  # decoys with retain samples
    with torch.no_grad():
        body.eval()
        h_retain = body(torch.as_tensor(retain.X, dtype=torch.float32))
        means = {int(c): h_retain[torch.as_tensor(retain.y == c)].mean(0)
                 for c in np.unique(second)}
    table = {input_digest(x): means[int(s)].clone() for x, s in zip(forget.X, second)}
    return FeatureForgedModel(LookupBody(body, table), head, getattr(model, "spec", None))


FORGERIES: dict[str, Callable[..., nn.Module]] = {
    "logit_bias": forge_logit_bias,
    "head_only": forge_head_only,
    "lookup": forge_lookup,
    "feature_forgery": forge_features,
}


def forge(name: str, original: nn.Module, forget: Samples, retain: Samples, ctx,
          **params) -> nn.Module:
    """The forgery ``name`` (see ``FORGERIES``) of ``original``; ``ctx`` is an
    ``UnlearnContext`` (n_classes, seed, forget_classes). The original is not modified."""
    if name not in FORGERIES:
        raise MethodError(f"unknown forgery '{name}': choose one of {', '.join(FORGERIES)}")
    if len(forget) == 0:
        raise MethodError(f"{name}: the forget set is empty")
    model = FORGERIES[name](original, forget, retain, ctx, **params)
    model.eval()
    return model
