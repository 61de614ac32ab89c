"""Unlearning methods for causal language models, one small class each, one signature:
``method.unlearn(lm, forget, retain, ctx) -> TextUnlearnOutput(lm, seconds, log)`` with
hyperparameters as constructor fields (as ``unlearn_core.methods`` does for classifiers).

The losses follow OpenUnlearning (``locuslab/open-unlearning:src/trainer/unlearn/*.py``):
gradient ascent, gradient difference, NPO (Zhang et al., arXiv 2404.05868), SimNPO (Fan et
al., arXiv 2410.07163); the ICU-style method follows "Learn while Unlearn" (Tang et al., arXiv
2407.20271); retraining from scratch on retain is the exact reference (Cao & Yang, S&P 2015).
``forget`` and ``retain`` are ``Encoded`` sets; L-bar is the mean answer-token NLL. Every
method works on a copy; the input model is never modified.

Hyperparameters are declared with their allowed ranges (``hparam``), validated, converted from
user values and listed with their help by the machinery the classifier methods use too
(``unlearn_core.methods.params``: ``Hyperparameters``, ``Registry``), so a value out of range
or of the wrong type is one ``MethodError`` naming the parameter and what it allows.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from unlearn_core.errors import MethodError
from unlearn_core.methods.params import Hyperparameters, Registry, declared_type, hparam
from unlearn_core.progress import ProgressFn, report
from unlearn_core.text.lm import (
    Encoded,
    LanguageModel,
    LMTrainConfig,
    lm_threads,
    logits_of,
    make_optimizer,
    mean_token_nll,
    sequence_nll,
    token_scores,
    train_lm,
)
from unlearn_core.text.metrics import extraction_strength


@dataclass
class TextContext:
    """What a method may need beyond the data: the training recipe (for retraining), the seed,
    never-trained items (ICU's stopping level) and where to report progress."""

    seed: int = 0
    train_config: LMTrainConfig = field(default_factory=LMTrainConfig)
    holdout: Optional[Encoded] = None
    progress: Optional[ProgressFn] = None


@dataclass
class TextUnlearnOutput:
    """The unlearned model, the wall time of the unlearning step and a short log."""

    lm: LanguageModel
    seconds: float
    log: list[str]


# upper bounds of the declared ranges (sane limits, far above any useful setting)
STEPS_MAX = 100_000  # optimiser steps
EPOCHS_MAX = 10_000  # ICU's passes over the active forget samples
BATCH_MAX = 65536  # as the classifier methods' batch_size
WEIGHT_MAX = 1000.0  # loss weights and inverse temperatures
MARGIN_MAX = 100.0  # SimNPO's margin on the mean token loss (nats)


@dataclass
class TextMethod(Hyperparameters):
    """Base class: subclasses set the class attributes and implement ``_unlearn``;
    ``get_params``, ``param_help`` and ``validate`` come from the shared ``Hyperparameters``."""

    name: ClassVar[str] = ""
    paper: ClassVar[str] = ""
    # where this implementation departs from the paper: what it does, the paper's choice and
    # why (shown with the paper in the app, ``methods`` and the docs)
    departures: ClassVar[tuple[str, ...]] = ()
    exact: ClassVar[bool] = False
    needs_retain: ClassVar[bool] = True

    @classmethod
    def type_word(cls, f: dataclasses.Field) -> str:
        """The text track's wording of a field's type in messages: ``steps must be a int``."""
        return f"a {declared_type(f)}"

    def unlearn(self, lm: LanguageModel, forget: Encoded, retain: Encoded,
                ctx: TextContext) -> TextUnlearnOutput:
        """Return an unlearned copy of ``lm``."""
        self.validate()
        if len(forget) == 0:
            raise MethodError(f"{self.name}: the forget set is empty")
        if self.needs_retain and len(retain) == 0:
            raise MethodError(f"{self.name} needs retain data and the retain set is empty")
        log: list[str] = []
        work = lm.clone()
        torch.manual_seed(ctx.seed)
        with lm_threads():
            start = time.perf_counter()
            result = self._unlearn(work, forget, retain, ctx, log)
            seconds = time.perf_counter() - start
        result.model.eval()
        report(ctx.progress, self.name, 1, 1)
        return TextUnlearnOutput(result, seconds, log)

    def _unlearn(self, lm: LanguageModel, forget: Encoded, retain: Encoded, ctx: TextContext,
                 log: list[str]) -> LanguageModel:
        raise NotImplementedError


TEXT_REGISTRY = Registry("text method")
TEXT_METHODS: dict[str, type[TextMethod]] = TEXT_REGISTRY.classes


def register(cls: type[TextMethod]) -> type[TextMethod]:
    """Class decorator: make a text method available by its ``name``."""
    return TEXT_REGISTRY.register(cls)


def available_text_methods() -> list[str]:
    return TEXT_REGISTRY.available()


def make_text_method(name: str, **params) -> TextMethod:
    """Instantiate by name: values (strings from the command line or the app included) are
    converted to the field types without loss and checked against the declared ranges."""
    return TEXT_REGISTRY.make(name, **params)


LossFn = Callable[[nn.Module, Encoded, Optional[Encoded]], tuple[torch.Tensor, dict]]


@dataclass
class _Stepped(TextMethod):
    """Shared loop: ``steps`` AdamW steps, each on one forget batch (cycling through a seeded
    order) and, when the method uses retain, one random retain batch. Each method's default
    steps and learning rate were chosen on the built-in set (200 people, 2 forgotten, seed 0)
    as the strongest setting that kept retained answers at about 0.9 accuracy or more."""

    steps: int = hparam(20, "optimiser steps", low=1, high=STEPS_MAX)
    lr: float = hparam(1e-3, "learning rate (AdamW)", low=0, high=1, low_open=True)
    batch_size: int = hparam(16, "forget and retain batch size", low=1, high=BATCH_MAX)

    def _loop(self, lm: LanguageModel, forget: Encoded, retain: Encoded, ctx: TextContext,
              log: list[str], loss_fn: LossFn, use_retain: bool) -> LanguageModel:
        model = lm.model
        rng = np.random.default_rng(ctx.seed)
        opt = make_optimizer(model, self.lr)
        order = rng.permutation(len(forget))
        cursor = 0
        model.train()
        for step in range(self.steps):
            take = [order[(cursor + i) % len(forget)]
                    for i in range(min(self.batch_size, len(forget)))]
            cursor = (cursor + len(take)) % len(forget)
            fb = forget.subset(take)
            rb = None
            if use_retain:
                rb = retain.subset(rng.choice(len(retain), min(self.batch_size, len(retain)),
                                              replace=False))
            opt.zero_grad()
            loss, parts = loss_fn(model, fb, rb)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            report(ctx.progress, self.name, step + 1, self.steps)
            if step == 0 or step + 1 == self.steps:
                log.append(f"step {step + 1}: " + ", ".join(f"{k} {v:.3f}"
                                                             for k, v in parts.items()))
        model.eval()
        return lm


@register
@dataclass
class GradientAscent(_Stepped):
    """L = -L-bar(forget); unbounded below, so bounded by ``steps``."""

    name = "gradient_ascent"
    paper = "Gradient ascent (Jang et al., arXiv 2210.01504; OpenUnlearning GradAscent)"
    needs_retain = False

    steps: int = hparam(10, "optimiser steps", low=1, high=STEPS_MAX)
    lr: float = hparam(2e-4, "learning rate (AdamW)", low=0, high=1, low_open=True)

    def _unlearn(self, lm, forget, retain, ctx, log):
        def loss_fn(model, fb, rb):
            f = mean_token_nll(model, fb)
            return -f, {"forget nll": f.item()}
        return self._loop(lm, forget, retain, ctx, log, loss_fn, use_retain=False)


def _kl_to_reference(model: nn.Module, ref: nn.Module, enc: Encoded) -> torch.Tensor:
    """KL(pi_ref || pi_theta) over the target tokens' next-token distributions, batch mean."""
    with torch.no_grad():
        ref_lp = F.log_softmax(logits_of(ref, enc.ids, enc.attn)[:, :-1], -1)
    lp = F.log_softmax(logits_of(model, enc.ids, enc.attn)[:, :-1], -1)
    mask = enc.target[:, 1:]
    kl = (ref_lp.exp() * (ref_lp - lp)).sum(-1)
    return kl[mask].mean()


def _retain_term(kind: str, model: nn.Module, ref: Optional[nn.Module],
                 rb: Encoded) -> torch.Tensor:
    if kind == "kl" and ref is not None:
        return _kl_to_reference(model, ref, rb)
    return mean_token_nll(model, rb)


def _frozen(model: nn.Module) -> nn.Module:
    ref = copy.deepcopy(model).eval()
    for p in ref.parameters():
        p.requires_grad_(False)
    return ref


@register
@dataclass
class GradientDifference(_Stepped):
    """L = gamma * (-L-bar(forget)) + alpha * retain term (NLL, or KL to the starting model)."""

    name = "gradient_difference"
    paper = "Gradient difference (Liu et al., CoLLAs 2022; Maini et al., TOFU, arXiv 2401.06121)"

    steps: int = hparam(10, "optimiser steps", low=1, high=STEPS_MAX)
    lr: float = hparam(3e-4, "learning rate (AdamW)", low=0, high=1, low_open=True)

    gamma: float = hparam(1.0, "weight of the forget ascent", low=0, high=WEIGHT_MAX)
    alpha: float = hparam(3.0, "weight of the retain term (OpenUnlearning: 1; 3 keeps the tiny "
                               "model's retained facts)", low=0, high=WEIGHT_MAX)
    retain_loss: str = hparam("nll", "retain term: nll or kl (to the starting model)",
                              choices=("nll", "kl"))

    def _unlearn(self, lm, forget, retain, ctx, log):
        ref = _frozen(lm.model) if self.retain_loss == "kl" else None

        def loss_fn(model, fb, rb):
            f = mean_token_nll(model, fb)
            r = _retain_term(self.retain_loss, model, ref, rb)
            return -self.gamma * f + self.alpha * r, {"forget nll": f.item(), "retain": r.item()}
        return self._loop(lm, forget, retain, ctx, log, loss_fn, use_retain=True)


@register
@dataclass
class NPO(_Stepped):
    """L = -(2/beta) mean ln sigmoid(-beta [ln pi(y|x) - ln pi_ref(y|x)]) on forget (sequence
    log-probabilities over answer tokens, pi_ref the frozen starting model) + alpha NLL(retain)."""

    name = "npo"
    paper = "NPO (Zhang et al., 'Negative Preference Optimization', arXiv 2404.05868)"

    steps: int = hparam(10, "optimiser steps", low=1, high=STEPS_MAX)
    lr: float = hparam(2e-4, "learning rate (AdamW)", low=0, high=1, low_open=True)

    beta: float = hparam(0.1, "inverse temperature", low=0, high=WEIGHT_MAX, low_open=True)
    alpha: float = hparam(1.0, "weight of the retain NLL", low=0, high=WEIGHT_MAX)
    gamma: float = hparam(1.0, "weight of the NPO term", low=0, high=WEIGHT_MAX)

    def _unlearn(self, lm, forget, retain, ctx, log):
        with torch.no_grad():
            ref_lp = -sequence_nll(lm.model.eval(), forget)[0]
        index = {ident: i for i, ident in enumerate(forget.item_ids)}

        def loss_fn(model, fb, rb):
            lp = -sequence_nll(model, fb)[0]
            ref = ref_lp[[index[i] for i in fb.item_ids]]
            npo = -(2 / self.beta) * F.logsigmoid(-self.beta * (lp - ref)).mean()
            r = mean_token_nll(model, rb)
            return self.gamma * npo + self.alpha * r, {"npo": npo.item(), "retain": r.item()}
        return self._loop(lm, forget, retain, ctx, log, loss_fn, use_retain=True)


@register
@dataclass
class SimNPO(_Stepped):
    """Reference-free, length-normalised NPO: L = -(2/beta) mean ln sigmoid(beta (L-bar -
    delta)) on forget, weighted by gamma, + alpha NLL(retain) (OpenUnlearning's form)."""

    name = "simnpo"
    paper = "SimNPO (Fan et al., 'Simplicity Prevails', arXiv 2410.07163)"

    steps: int = hparam(20, "optimiser steps", low=1, high=STEPS_MAX)
    lr: float = hparam(5e-4, "learning rate (AdamW)", low=0, high=1, low_open=True)

    beta: float = hparam(4.5, "inverse temperature", low=0, high=WEIGHT_MAX, low_open=True)
    delta: float = hparam(0.0, "margin on the mean token loss (the paper's gamma >= 0)", low=0,
                          high=MARGIN_MAX)
    gamma: float = hparam(0.125, "weight of the SimNPO term", low=0, high=WEIGHT_MAX)
    alpha: float = hparam(1.0, "weight of the retain NLL", low=0, high=WEIGHT_MAX)

    def _unlearn(self, lm, forget, retain, ctx, log):
        def loss_fn(model, fb, rb):
            total, count = sequence_nll(model, fb)
            sim = -(2 / self.beta) * F.logsigmoid(self.beta * (total / count - self.delta)).mean()
            r = mean_token_nll(model, rb)
            return self.gamma * sim + self.alpha * r, {"simnpo": sim.item(), "retain": r.item()}
        return self._loop(lm, forget, retain, ctx, log, loss_fn, use_retain=True)


def analogous_pairs(model: nn.Module, forget: Encoded, retain: Encoded) -> np.ndarray:
    """For each forget sequence, the retain sequence nearest by cosine similarity of mean
    input-token embeddings (ICU's analogous sample, with the model's own embeddings in place
    of a sentence encoder)."""
    emb = model.get_input_embeddings().weight.detach()

    def pooled(enc: Encoded) -> torch.Tensor:
        m = enc.attn.float().unsqueeze(-1)
        v = (emb[enc.ids] * m).sum(1) / m.sum(1).clamp(min=1)
        return F.normalize(v, dim=-1)
    return (pooled(forget) @ pooled(retain).T).argmax(1).numpy()


@register
@dataclass
class ICU(TextMethod):
    """Iterative contrastive unlearning: each epoch, every still-active forget sample is
    ascended (-w_u L-bar) while its analogous retain sample is kept (w_l L-bar) and held to the
    starting model's token distributions (w_kl KL); after the epoch a sample whose extraction
    strength has fallen to the never-trained level leaves the active set. Stops when none
    remain or after ``max_epochs``. Two departures from the paper (``departures``): the
    neighbours and the stop rule; the KL weight is the authors' release's, 1.0."""

    name = "icu"
    paper = ("ICU, 'Learn while Unlearn: an iterative unlearning framework for generative "
             "language models' (Tang et al., arXiv 2407.20271)")
    departures = (
        "neighbours: each forget item's analogous sample is the retain item nearest by the "
        "model's own mean input-token embeddings; the paper retrieves analogous samples with a "
        "separate sentence encoder (none ships here: no download at run time)",
        "stop rule: a sample stops when its extraction strength falls to the starting model's "
        "mean on never-trained items (es_threshold < 0); the paper stops at memorisation "
        "thresholds (memorisation accuracy and extraction likelihood, after Jang et al., arXiv "
        "2210.01504), whose values are tuned to its corpora and not to a given fact set",
    )

    max_epochs: int = hparam(40, "most passes over the active forget samples", low=1,
                             high=EPOCHS_MAX)
    lr: float = hparam(2e-4, "learning rate (AdamW)", low=0, high=1, low_open=True)
    batch_size: int = hparam(16, "forget batch size", low=1, high=BATCH_MAX)
    w_unlearn: float = hparam(1.0, "weight of the forget ascent", low=0, high=WEIGHT_MAX)
    w_learn: float = hparam(0.5, "weight of the analogous samples' NLL", low=0, high=WEIGHT_MAX)
    w_kl: float = hparam(1.0, "weight of the KL to the starting model on analogous samples "
                              "(1.0, the authors' release's value)", low=0, high=WEIGHT_MAX)
    es_threshold: float = hparam(-1.0, "extraction strength (0 to 1) at which a sample stops; "
                                       "< 0: the starting model's mean on never-trained items "
                                       "(the paper: memorisation thresholds instead)", high=1)

    def _unlearn(self, lm, forget, retain, ctx, log):
        model = lm.model
        ref = _frozen(model)
        threshold = self.es_threshold
        if threshold < 0:
            if ctx.holdout is None or len(ctx.holdout) == 0:
                raise MethodError("icu needs never-trained items (holdout) for its stopping "
                                  "level, or an explicit es_threshold")
            threshold = float(np.mean(_extraction(ref, ctx.holdout)))
        log.append(f"stop level: extraction strength {threshold:.3f}")
        partner = analogous_pairs(model, forget, retain)
        rng = np.random.default_rng(ctx.seed)
        opt = make_optimizer(model, self.lr)
        active = np.arange(len(forget))
        for epoch in range(self.max_epochs):
            model.train()
            order = rng.permutation(active)
            for b in range(0, len(order), self.batch_size):
                idx = order[b: b + self.batch_size]
                fb, ab = forget.subset(idx), retain.subset(partner[idx])
                opt.zero_grad()
                loss = (-self.w_unlearn * mean_token_nll(model, fb)
                        + self.w_learn * mean_token_nll(model, ab)
                        + self.w_kl * _kl_to_reference(model, ref, ab))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
            es = _extraction(model, forget.subset(active))
            active = active[es > threshold]
            report(ctx.progress, self.name, epoch + 1, self.max_epochs)
            if len(active) == 0:
                log.append(f"epoch {epoch + 1}: every forget sample at the stop level")
                break
        else:
            log.append(f"stopped after {self.max_epochs} epochs, {len(active)} still active")
        model.eval()
        return lm


def _extraction(model: nn.Module, enc: Encoded) -> np.ndarray:
    ts = token_scores(model, enc)
    return np.array([extraction_strength(ts.correct[i][ts.mask[i]][:-1])
                     for i in range(len(enc))])


@register
@dataclass
class Retrain(TextMethod):
    """Exact: a fresh model of the same architecture trained on retain with the original
    recipe and the context's seed."""

    name = "retrain"
    paper = "Retrain from scratch (Cao & Yang, S&P 2015)"
    exact = True

    def _unlearn(self, lm, forget, retain, ctx, log):
        fresh = lm.fresh(ctx.seed)
        cfg = dataclasses.replace(ctx.train_config, seed=ctx.seed)
        seconds = train_lm(fresh, retain, cfg, ctx.progress, task=self.name)
        log.append(f"trained {cfg.epochs} epochs on {len(retain)} sequences in {seconds:.1f}s")
        return fresh
