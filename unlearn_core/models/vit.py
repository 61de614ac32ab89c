"""A small Vision Transformer for 32x32 images.

Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for Image Recognition at
Scale", ICLR 2021: non-overlapping patches embedded linearly, a learned class token and
position embeddings, pre-norm Transformer encoder layers (multi-head self-attention and a GELU
MLP), the class token's final LayerNorm as the embedding and a linear head. The CIFAR-sized
defaults (patch 4, so 64 tokens on 32x32; width 192, depth 6, 3 heads, MLP 2x) give about
1.8M weights, a ViT-Tiny cut to 6 layers, the size used to train ViTs from scratch on
CIFAR-10. No pretrained weights: truncated-normal (std 0.02) initialisation as the paper's
reference code.
"""

from __future__ import annotations

import torch
from torch import nn

from unlearn_core.errors import ModelError
from unlearn_core.models.registry import Classifier, ModelSpec, register_architecture

VIT_DEFAULTS = {"patch": 4, "dim": 192, "depth": 6, "heads": 3}
MAX_TOKENS = 4096  # patches per image: attention costs tokens**2 per head


class ViTBody(nn.Module):
    """Patch embedding, class token, position embedding, encoder, final LayerNorm."""

    def __init__(self, in_channels: int, height: int, width: int, patch: int, dim: int,
                 depth: int, heads: int) -> None:
        super().__init__()
        self.patch_embed = nn.Conv2d(in_channels, dim, patch, stride=patch)
        tokens = (height // patch) * (width // patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens + 1, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=0.0,
                                           activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.out_features = dim
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x).flatten(2).transpose(1, 2)  # (n, tokens, dim)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        return self.norm(self.encoder(x)[:, 0])


def vit_params(spec: ModelSpec) -> dict[str, int]:
    """The ViT's sizes from the spec's params (defaults where not given), checked for shape:
    the patch must divide the image, the width the number of heads."""
    p = {k: int(spec.params.get(k, v)) for k, v in VIT_DEFAULTS.items()}
    if len(spec.input_shape) != 3:
        raise ModelError(f"vit needs image data (channels, height, width); this dataset has "
                         f"samples of shape {spec.input_shape}: use 'mlp' or 'logreg'")
    _, h, w = spec.input_shape
    if h % p["patch"] or w % p["patch"]:
        raise ModelError(f"vit: patch {p['patch']} must divide the image size {h}x{w}")
    if p["dim"] % p["heads"]:
        raise ModelError(f"vit: dim {p['dim']} must be a multiple of heads {p['heads']}")
    if (h // p["patch"]) * (w // p["patch"]) > MAX_TOKENS:
        raise ModelError(f"vit: {h}x{w} images in {p['patch']}-pixel patches make "
                         f"{(h // p['patch']) * (w // p['patch'])} tokens; the limit is "
                         f"{MAX_TOKENS} (use a larger patch)")
    return p


def vit_weights(spec: ModelSpec) -> int:
    """About how many weights ``vit`` has for this spec (checked before building it)."""
    p = vit_params(spec)
    c, h, w = spec.input_shape
    d, tokens = p["dim"], (h // p["patch"]) * (w // p["patch"])
    embed = c * p["patch"] ** 2 * d + d + (tokens + 2) * d
    layer = 8 * d * d + 11 * d  # attention 4d^2 + MLP 4d^2, their biases and two LayerNorms
    return embed + p["depth"] * layer + 2 * d + d * spec.n_classes + spec.n_classes


@register_architecture("vit")
def _vit(spec: ModelSpec) -> Classifier:
    """A small ViT (Dosovitskiy et al., ICLR 2021); params patch, dim, depth, heads."""
    p = vit_params(spec)
    c, h, w = spec.input_shape
    body = ViTBody(c, h, w, p["patch"], p["dim"], p["depth"], p["heads"])
    return Classifier(body, nn.Linear(body.out_features, spec.n_classes), spec)
