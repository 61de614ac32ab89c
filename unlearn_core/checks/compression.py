"""Compression recovery: does rounding the weights bring forgotten knowledge back?

Zhang et al., "Catastrophic Failure of LLM Unlearning via Quantization" (ICLR 2025, arXiv
2410.16454): when unlearning moved the weights by less than half a quantisation step,
quantising snaps them back to the original's buckets and the forgotten knowledge returns
(on LLMs, from 21% retained at full precision to 83% at 4 bits).

Recipe: per output channel of every weight matrix and convolution kernel (parameters named
``weight`` with two or more dimensions), symmetric round-to-nearest with b bits,
s = max|w_row| / (2^(b-1) - 1), w_q = clamp(round(w / s), -(2^(b-1) - 1), 2^(b-1) - 1) * s;
biases and norm parameters stay float. Figure: forget accuracy after 4-bit quantisation (a
figure above the retrain band fails); detail: forget accuracy at full precision and int8, the
recovery (4-bit minus full precision) and the bucket overlap, the share of weights whose 4-bit
bucket under the *original's* scales equals the original's bucket.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from unlearn_core.checks import register
from unlearn_core.checks.base import Check, CheckContext, Measurement, proportion_se
from unlearn_core.models.io import clone_model
from unlearn_core.models.training import predict_logits


def _quantisable(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    return [(name, p) for name, p in model.named_parameters()
            if name.split(".")[-1] == "weight" and p.dim() >= 2 and p.is_floating_point()]


def channel_scales(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Per-output-channel symmetric scale max|w_row| / (2^(bits-1) - 1), broadcastable to w."""
    q = 2 ** (bits - 1) - 1
    s = w.detach().abs().reshape(w.shape[0], -1).amax(1) / q
    s = torch.where(s > 0, s, torch.ones_like(s))
    return s.reshape(-1, *([1] * (w.dim() - 1)))


def quantise_tensor(w: torch.Tensor, bits: int,
                    scale: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Round-to-nearest symmetric quantisation of ``w``: (dequantised weights, integer buckets)."""
    q = 2 ** (bits - 1) - 1
    s = channel_scales(w, bits) if scale is None else scale
    buckets = torch.clamp(torch.round(w.detach() / s), -q, q)
    return buckets * s, buckets


def quantise_model(model: nn.Module, bits: int) -> nn.Module:
    """A copy of ``model`` with every weight matrix / kernel quantised to ``bits`` bits per
    output channel (biases and norms kept float). ``model`` itself is not modified."""
    if bits < 2:
        raise ValueError("quantisation needs at least 2 bits")
    copy = clone_model(model)
    with torch.no_grad():
        for _, p in _quantisable(copy):
            p.copy_(quantise_tensor(p, bits)[0])
    return copy


def bucket_overlap(model: nn.Module, original: nn.Module, bits: int) -> float:
    """Share of quantised weights of ``model`` that fall in the same ``bits``-bit bucket as the
    original's, both measured with the original's per-channel scales (NaN when the two models'
    weight matrices do not match in shape)."""
    mine, theirs = _quantisable(model), _quantisable(original)
    if len(mine) != len(theirs) or any(a.shape != b.shape for (_, a), (_, b) in
                                       zip(mine, theirs)):
        return math.nan
    same = total = 0
    with torch.no_grad():
        for (_, a), (_, b) in zip(mine, theirs):
            s = channel_scales(b, bits)
            same += int((quantise_tensor(a, bits, s)[1] == quantise_tensor(b, bits, s)[1]).sum())
            total += a.numel()
    return same / total if total else math.nan


@register
class CompressionCheck(Check):
    """Forget accuracy after 4-bit per-channel quantisation (Zhang et al., ICLR 2025,
    arXiv 2410.16454): suppression within half a quantisation step comes back."""

    name = "compression"
    title = "Forget accuracy after 4-bit rounding"
    paper = ("Zhang et al., 'Catastrophic Failure of LLM Unlearning via Quantization', "
             "ICLR 2025, arXiv 2410.16454")
    kind = "forgetting"
    sides = "high"
    forgotten_side = "low"
    closeness = False
    default = False
    unit = "%"
    cost = "two quantised copies and three forward passes over the forget set per model"
    rules_out = ("dormant",)  # a powered pass rules these forgery families out

    bits = 4

    def applicable(self, ctx: CheckContext) -> Optional[str]:
        if not _quantisable(ctx.original):
            return "the model has no weight matrices or kernels to quantise"
        return None

    def measure(self, model: nn.Module, ctx: CheckContext,
                others: Optional[list[nn.Module]] = None) -> Measurement:
        forget = ctx.data.forget
        n = len(forget)

        def acc(m: nn.Module) -> float:
            return float((predict_logits(m, forget.X).argmax(1) == forget.y).mean()) if n else 0.0

        full, q8 = acc(model), acc(quantise_model(model, 8))
        q4 = acc(quantise_model(model, self.bits))
        detail = {"full_precision": full, "int8": q8, f"int{self.bits}": q4,
                  "recovery": q4 - full, "recovery_int8": q8 - full,
                  "overlap": bucket_overlap(model, ctx.original, self.bits)}
        return self._m(q4, proportion_se(q4 * n, n), n, **detail)
