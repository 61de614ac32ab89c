"""Fisher forgetting (Golatkar et al., "Eternal Sunshine of the Spotless Net", CVPR 2020): add
Gaussian noise to each weight with variance alpha * clamp(1 / (F + 1e-8), max=1e3), F the
per-sample Fisher information on the retain set (the model's own predictive distribution over
labels, as in the authors' code), averaged over each output row's inputs, times 10 on the
output head and on 1-D parameters (biases), so weights the retain set does not pin down are
scrambled. For class requests the forgotten classes' output rows get mean 0 and variance 1e-4
(before the x10), as in the authors' code."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from unlearn_core.data.dataset import Samples
from unlearn_core.methods.base import UnlearningMethod, hparam
from unlearn_core.methods.registry import register
from unlearn_core.models.training import to_tensors

FISHER_EPS = 1e-8  # the authors' 1 / (F + 1e-8)
MAX_INVERSE = 1e3  # clamp on 1 / F
MAX_INVERSE_HEAD = 1e2  # tighter clamp on the output layer
HEAD_AND_BIAS_FACTOR = 10.0  # the authors' x10 on the last layer and on 1-D parameters
FORGOTTEN_ROW_VARIANCE = 1e-4  # a forgotten class's output row: mean 0, this variance


def per_sample_fisher(model: nn.Module, samples: Samples, chunk: int = 64) -> list[torch.Tensor]:
    """Golatkar et al.'s Fisher: mean over samples of sum_y p(y|x) (d CE(x, y) / d w)^2, every
    label weighted by the model's probability, per sample (not per batch). Linear and Conv2d
    layers get their per-sample gradients from activations and output gradients (one batched
    backward pass per label); other architectures fall back to a per-sample loop."""
    layers = [m for m in model.modules() if any(True for _ in m.parameters(recurse=False))]
    if not all(isinstance(m, nn.Linear) or (isinstance(m, nn.Conv2d) and m.groups == 1
                                           and isinstance(m.padding, tuple))
               for m in layers):
        return _per_sample_fisher_loop(model, samples)
    model.eval()
    X, _ = to_tensors(samples)
    acts: dict[nn.Module, torch.Tensor] = {}
    hooks = [m.register_forward_hook(lambda m, i, o: acts.__setitem__(m, (i[0], o)))
             for m in layers]
    fisher = {id(p): torch.zeros_like(p) for p in model.parameters()}
    try:
        for s in range(0, len(X), chunk):
            xb = X[s:s + chunk]
            logits = model(xb)
            prob = torch.softmax(logits.detach(), -1)
            outs = [acts[m][1] for m in layers]
            inputs = [_layer_input(m, acts[m][0].detach()) for m in layers]
            for y in range(logits.shape[1]):
                target = torch.full((len(xb),), y, dtype=torch.long)
                loss = torch.nn.functional.cross_entropy(logits, target, reduction="sum")
                deltas = torch.autograd.grad(loss, outs, retain_graph=True)
                w = prob[:, y]
                for m, a, delta in zip(layers, inputs, deltas):
                    gw, gb = _sample_grads(m, a, delta)
                    fisher[id(m.weight)] += torch.einsum("b,b...->...", w, gw ** 2)
                    if m.bias is not None:
                        fisher[id(m.bias)] += torch.einsum("b,b...->...", w, gb ** 2)
    finally:
        for h in hooks:
            h.remove()
    n = max(1, len(X))
    return [fisher[id(p)] / n for p in model.parameters() if p.requires_grad]


def _layer_input(m: nn.Module, a: torch.Tensor) -> torch.Tensor:
    """A layer's input as (samples, positions, features) for a Linear layer, or its unfolded
    patches (samples, features, positions) for a Conv2d layer."""
    if isinstance(m, nn.Linear):
        return a.reshape(len(a), -1, a.shape[-1])
    return torch.nn.functional.unfold(a, m.kernel_size, m.dilation, m.padding, m.stride)


def _sample_grads(m: nn.Module, a: torch.Tensor,
                  delta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample gradients of a Linear or Conv2d layer's weight and bias from its input
    (``_layer_input``) and the gradient ``delta`` at its output (each sample's loss is its own
    term of the summed loss)."""
    if isinstance(m, nn.Linear):
        d2 = delta.reshape(len(a), -1, delta.shape[-1])
        return torch.einsum("bto,bti->boi", d2, a), d2.sum(1)
    d = delta.reshape(len(a), delta.shape[1], -1)
    return (torch.einsum("bol,bkl->bok", d, a).reshape((len(a),) + m.weight.shape),
            d.sum(2))


def _per_sample_fisher_loop(model: nn.Module, samples: Samples) -> list[torch.Tensor]:
    """The same Fisher one sample and one label at a time, as the authors' code: any
    architecture (TorchScript included), slower."""
    model.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    fisher = [torch.zeros_like(p) for p in params]
    X, _ = to_tensors(samples)
    for x in X:
        logits = model(x[None])
        prob = torch.softmax(logits.detach(), -1)[0]
        for y in range(logits.shape[1]):
            loss = torch.nn.functional.cross_entropy(logits, torch.tensor([y]))
            grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
            for f, g in zip(fisher, grads):
                if g is not None:
                    f += prob[y] * g ** 2
    return [f / max(1, len(X)) for f in fisher]


def noise_variance(model: nn.Module, fisher: list[torch.Tensor], alpha: float,
                   forget_classes: tuple[int, ...] = ()) -> list[tuple[torch.Tensor,
                                                                      torch.Tensor]]:
    """Per parameter (mean, variance) of Golatkar et al.'s noise: variance alpha * clamp(1 /
    (F + 1e-8), max=1e3) (1e2 on the head), averaged over dim 1 for matrices and kernels,
    x10 on the head and on 1-D parameters; forgotten classes' head rows get mean 0."""
    head = getattr(model, "head", None)
    head_ids = {id(q) for q in head.parameters()} if head is not None else set()
    out = []
    params = [p for p in model.parameters() if p.requires_grad]
    for p, f in zip(params, fisher):
        is_head = id(p) in head_ids
        var = torch.clamp(1.0 / (f + FISHER_EPS), max=MAX_INVERSE)
        if is_head:
            var = torch.clamp(var, max=MAX_INVERSE_HEAD)
        var = alpha * var
        if p.dim() > 1:
            var = var.mean(dim=1, keepdim=True).expand_as(p).clone()
        mean = p.detach().clone()
        if is_head and forget_classes:
            rows = list(forget_classes)
            mean[rows] = 0.0
            var[rows] = FORGOTTEN_ROW_VARIANCE
        if is_head or p.dim() == 1:
            var = var * HEAD_AND_BIAS_FACTOR
        out.append((mean, var))
    return out


@register
@dataclass
class FisherForgetting(UnlearningMethod):
    """Fisher forgetting: noise on each weight scaled by its inverse retain-set Fisher
    information (Golatkar et al., 'Eternal Sunshine of the Spotless Net', CVPR 2020)."""

    name = "fisher"
    paper = "Fisher forgetting (Golatkar et al., CVPR 2020, 'Eternal Sunshine of the Spotless Net')"

    alpha: float = hparam(1e-6, "noise scale: variance = alpha * clamp(1 / (Fisher + 1e-8), "
                                "max=1e3), as in the authors' code (their value 1e-6)",
                          low=0, high=1)
    max_samples: int = hparam(2000, "retain samples for the per-sample Fisher (a seeded "
                                    "subsample; 0 = all). Paper: all retain samples; capped "
                                    "here to bound the cost on large data (an unbiased "
                                    "estimate of the same mean)", low=0, high=10_000_000)

    def _unlearn(self, model, forget, retain, ctx, log):
        data = _subsample(retain, self.max_samples, ctx.seed)
        fisher = per_sample_fisher(model, data)
        gen = torch.Generator().manual_seed(ctx.seed)
        total, stds = 0.0, []
        with torch.no_grad():
            params = [p for p in model.parameters() if p.requires_grad]
            for p, (mean, var) in zip(params, noise_variance(model, fisher, self.alpha,
                                                              ctx.forget_classes)):
                p.copy_(mean + torch.randn(p.shape, generator=gen) * var.sqrt())
                total += float(var.sum())
                stds.append(f"{float(var.sqrt().mean()):.1e}")
        log.append(f"Fisher noise from {len(data)} retain samples: total variance {total:.3g}, "
                   f"mean std per parameter tensor {', '.join(stds)}")
        return model


def _subsample(samples: Samples, cap: int, seed: int) -> Samples:
    if cap <= 0 or len(samples) <= cap:
        return samples
    rng = np.random.default_rng(seed)
    return samples.take(np.sort(rng.choice(len(samples), cap, replace=False)))


