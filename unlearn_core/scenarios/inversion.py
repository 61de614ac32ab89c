"""Unlearning inversion (Hu et al., "Learn What You Want to Unlearn: Unlearning Inversion
Attacks against Machine Unlearning", S&P 2024): whoever holds the model before and after
unlearning can learn what was forgotten. The attacker's success is the privacy cost of
releasing both models.

Label side, ``infer_forgotten_label``: probe both models on any inputs; the classes whose
predicted probability drops most are the ones that were forgotten. Feature side,
``reconstruct_forgotten``: invert the parameter difference (a multiple of the forgotten data's
loss gradient) into an input, or, for class forgetting, find inputs whose class probability
drops most; ``invert_features`` scores the reconstructions against the true forgotten samples
when they are known."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from unlearn_core.errors import ConfigError, ModelError
from unlearn_core.models.training import predict_proba


@dataclass
class InversionResult:
    """Per-class probability drop on the probes, the attacker's guess, and whether it is right."""

    drops: np.ndarray  # mean p(class) before - after, per class
    guess: int
    true_classes: list[int]  # the forgotten classes (or the most frequent one in a sample set)
    success: bool
    rank_of_truth: int  # 0 = the attacker's first guess


def infer_forgotten_label(before, after, probes: np.ndarray,
                          forgotten: list[int]) -> InversionResult:
    """Guess the forgotten class from the output shift between two releases of a model."""
    drops = (predict_proba(before, probes) - predict_proba(after, probes)).mean(0)
    order = np.argsort(-drops)
    guess = int(order[0])
    rank = int(min(np.flatnonzero(np.isin(order, forgotten)))) if forgotten else -1
    return InversionResult(drops, guess, list(forgotten), guess in forgotten, rank)


# --- feature side ----------------------------------------------------------------------------

INVERSION_MODES = ("gradient", "output")


@dataclass
class ClassSimilarity:
    """How close a reconstruction is to the true forgotten samples, against the other classes.

    Similarity is Pearson correlation over the input (cosine of the mean-centred vectors)."""

    class_correlations: np.ndarray  # with each class's mean input (reference samples)
    forget_correlation: float  # with the forget set's mean input
    forget_mean: np.ndarray  # the forget set's mean input, input shape
    forgotten_class: int  # the forget set's majority class
    closest_class: int  # the class whose mean the reconstruction is closest to
    rank: int  # other classes' means closer than the forget set's mean (0 = the closest)


@dataclass
class FeatureInversion:
    """A reconstruction of what was forgotten, from the model before and after unlearning.

    ``match`` is the attack's own objective at the end: for ``gradient``, the cosine between
    the dummies' loss gradient and ``after - before``; for ``output``, the mean drop
    p_before(label) - p_after(label) at the dummies."""

    mode: str  # "gradient" (parameter difference) or "output" (probability drop)
    label: int  # the label the dummies carried (the inferred forgotten class unless told)
    image: np.ndarray  # the mean reconstruction, input shape (zeros when nothing to invert)
    images: np.ndarray  # every dummy, (n_dummies, *input shape)
    match: float
    nothing_to_invert: bool
    reason: str
    similarity: Optional[ClassSimilarity] = None
    steps: int = 0
    seconds: float = 0.0


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a.ravel() - a.mean()
    b = b.ravel() - b.mean()
    den = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / den) if den > 0 else 0.0


def class_similarity(image: np.ndarray, reference_X: np.ndarray, reference_y: np.ndarray,
                     forget_X: np.ndarray, forget_y: np.ndarray) -> ClassSimilarity:
    """Correlate a reconstruction with the forget set's mean input and with each class's mean
    (from labelled reference samples, e.g. the training split); rank the forget set's mean."""
    classes = np.unique(reference_y)
    n_classes = int(max(classes.max(), forget_y.max())) + 1
    corr = np.full(n_classes, np.nan)
    for c in classes:
        corr[c] = _pearson(image, reference_X[reference_y == c].mean(0))
    forget_mean = forget_X.mean(0)
    forget_corr = _pearson(image, forget_mean)
    forgotten = int(np.bincount(forget_y, minlength=n_classes).argmax())
    others = np.delete(corr, forgotten)
    rank = int(np.sum(others[~np.isnan(others)] > forget_corr))
    return ClassSimilarity(corr, forget_corr, forget_mean, forgotten,
                           int(np.nanargmax(corr)), rank)


def _total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of neighbouring pixels (zero for flat, tabular inputs)."""
    if x.dim() < 3:
        return x.new_zeros(())
    return ((x[..., 1:, :] - x[..., :-1, :]).abs().mean() +
            (x[..., :, 1:] - x[..., :, :-1]).abs().mean())


def _frozen_copy(model: nn.Module, grads: bool) -> nn.Module:
    m = copy.deepcopy(model).eval()
    for p in m.parameters():
        p.requires_grad_(grads)
    return m


def _same_parameters(before: nn.Module, after: nn.Module) -> bool:
    """Identical releases (within 1e-7 of the parameters' norm): no difference to invert."""
    pb, pa = list(before.parameters()), list(after.parameters())
    if len(pb) != len(pa) or any(b.shape != a.shape for b, a in zip(pb, pa)):
        return False
    diff = sum(float(((a.detach() - b.detach()).float() ** 2).sum()) for b, a in zip(pb, pa))
    scale = sum(float((b.detach().float() ** 2).sum()) for b in pb)
    return diff <= 1e-14 * max(scale, 1e-24)


def _parameter_difference(before: nn.Module, after: nn.Module) -> list[torch.Tensor]:
    """``after - before`` per parameter; the two releases must share the architecture."""
    pb, pa = list(before.named_parameters()), list(after.named_parameters())
    if [(n, p.shape) for n, p in pb] != [(n, p.shape) for n, p in pa]:
        raise ModelError("gradient inversion needs two releases of the same architecture: "
                         "the models' parameters differ in name or shape")
    return [(a.detach() - b.detach()).float() for (_, b), (_, a) in zip(pb, pa)]


def reconstruct_forgotten(before: nn.Module, after: nn.Module,
                          probes: Optional[np.ndarray] = None, label: Optional[int] = None,
                          mode: str = "gradient", n_dummies: int = 8, steps: int = 200,
                          lr: float = 0.03, tv_weight: float = 0.05, seed: int = 0,
                          bounds: Optional[tuple[float, float]] = None,
                          input_shape: Optional[tuple[int, ...]] = None) -> FeatureInversion:
    """Reconstruct what was forgotten from two releases of a model (Hu et al., "Learn What You
    Want to Unlearn", S&P 2024, feature side; gradient inversion after Geiping et al.,
    "Inverting Gradients", NeurIPS 2020).

    ``gradient``: unlearning moves the parameters up the loss of the forgotten data, so
    ``after - before`` approximates a positive multiple of its loss gradient (Hu et al. write
    it as before - after, the negated update). A batch of ``n_dummies`` inputs carrying
    ``label`` is optimised (Adam, ``steps`` steps, inputs kept within ``bounds``) so that the
    gradient of their mean loss at ``before`` matches that difference in cosine similarity,
    with a total-variation prior. ``output`` (cheaper, for class forgetting): the dummies
    maximise p_before(label) - p_after(label) under the same prior.

    ``label`` defaults to the class whose probability drops most on ``probes`` (the label side,
    ``infer_forgotten_label``); ``bounds`` default to the probes' range, else [0, 1]. Seeded and
    deterministic (one CPU thread while it runs). Identical releases give
    ``nothing_to_invert``."""
    if mode not in INVERSION_MODES:
        raise ConfigError(f"unknown inversion mode '{mode}': use {', '.join(INVERSION_MODES)}")
    if n_dummies < 1 or steps < 1:
        raise ConfigError("inversion needs at least one dummy and one step")
    if input_shape is None:
        if probes is None or len(probes) == 0:
            raise ConfigError("feature inversion needs probe inputs or the input shape")
        input_shape = tuple(probes.shape[1:])
    if bounds is None:
        bounds = ((float(probes.min()), float(probes.max()))
                  if probes is not None and len(probes) else (0.0, 1.0))
    start = time.perf_counter()
    empty = np.zeros((n_dummies, *input_shape), dtype=np.float32)
    diff = _parameter_difference(before, after) if mode == "gradient" else None
    if _same_parameters(before, after):
        return FeatureInversion(mode, -1 if label is None else int(label), empty[0], empty, 0.0,
                                True, "the two releases have the same parameters: nothing to "
                                "invert", seconds=time.perf_counter() - start)
    if label is None:
        if probes is None or len(probes) == 0:
            raise ConfigError("feature inversion needs a label or probe inputs to infer it")
        drops = (predict_proba(before, probes) - predict_proba(after, probes)).mean(0)
        label = int(np.argmax(drops))
    lo, hi = bounds
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gen = torch.Generator().manual_seed(int(seed))
        x = (lo + (hi - lo) * torch.rand((n_dummies, *input_shape), generator=gen))
        x.requires_grad_(True)
        opt = torch.optim.Adam([x], lr=lr * (hi - lo))
        y = torch.full((n_dummies,), int(label), dtype=torch.long)
        if diff is not None:
            model = _frozen_copy(before, grads=True)
            params = list(model.parameters())
            target_norm = torch.sqrt(sum((d ** 2).sum() for d in diff))
        else:
            b, a = _frozen_copy(before, grads=False), _frozen_copy(after, grads=False)
        match = 0.0
        for _ in range(steps):
            opt.zero_grad()
            if diff is not None:
                loss = F.cross_entropy(model(x), y)
                grads = torch.autograd.grad(loss, params, create_graph=True)
                dot = sum((g * d).sum() for g, d in zip(grads, diff))
                gnorm = torch.sqrt(sum((g ** 2).sum() for g in grads) + 1e-20)
                score = dot / (gnorm * target_norm)
            else:
                score = (F.softmax(b(x), 1)[:, label] - F.softmax(a(x), 1)[:, label]).mean()
            objective = -score + tv_weight * _total_variation(x) / max(hi - lo, 1e-12)
            objective.backward()
            opt.step()
            with torch.no_grad():
                x.clamp_(lo, hi)
            match = float(score.detach())
    finally:
        torch.set_num_threads(threads)
    images = x.detach().numpy().astype(np.float32)
    if mode == "output" and match <= 1e-4:
        return FeatureInversion(mode, int(label), empty[0], empty, match, True,
                                f"no input makes class {label} less likely after than before: "
                                "nothing to invert", steps=steps,
                                seconds=time.perf_counter() - start)
    what = ("gradient cosine with after - before" if mode == "gradient"
            else f"mean drop of p(class {label})")
    return FeatureInversion(mode, int(label), images.mean(0), images, match, False,
                            f"{n_dummies} dummies of class {label}, {steps} steps: {what} "
                            f"{match:.3f}", steps=steps, seconds=time.perf_counter() - start)


def invert_features(before: nn.Module, after: nn.Module, probes: np.ndarray,
                    forget_X: Optional[np.ndarray] = None, forget_y: Optional[np.ndarray] = None,
                    reference_X: Optional[np.ndarray] = None,
                    reference_y: Optional[np.ndarray] = None, label: Optional[int] = None,
                    modes: tuple[str, ...] = INVERSION_MODES, seed: int = 0,
                    **options) -> list[FeatureInversion]:
    """``reconstruct_forgotten`` in each mode, scored against the true forgotten samples when
    they are known (``class_similarity``: the forget set's mean vs each class's mean from the
    labelled reference samples)."""
    out = []
    for mode in modes:
        r = reconstruct_forgotten(before, after, probes, label, mode=mode, seed=seed, **options)
        known = (forget_X is not None and forget_y is not None and len(forget_X) > 0
                 and reference_X is not None and reference_y is not None)
        if known and not r.nothing_to_invert:
            r.similarity = class_similarity(r.image, reference_X, reference_y, forget_X,
                                            forget_y)
        out.append(r)
    return out


def display_image(x: np.ndarray) -> np.ndarray:
    """A (channels, h, w) input as an (h, w) or (h, w, 3) image in [0, 1], contrast-stretched
    (reconstructions and mean images use only part of the input range)."""
    img = x[0] if x.shape[0] == 1 else np.transpose(x[:3], (1, 2, 0))
    lo, hi = float(img.min()), float(img.max())
    return (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
