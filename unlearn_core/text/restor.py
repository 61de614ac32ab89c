"""RESTOR on text: knowledge recovery through unlearning (Rezaei et al., "RESTOR: Knowledge
Recovery through Machine Unlearning", arXiv 2411.00204).

A clean model knows its facts. It is then fine-tuned on a mixture of clean items and corrupted
ones (some people's facts with a wrong value, in the trained phrasing), and forgets the true
values. Unlearning the corrupted items should bring the clean knowledge back: the exact answer
is the same fine-tuning without the corrupted items (the retrain of that stage, same recipe and
seed), which recovers what the clean model knew. Recovery is the share of the lost accuracy on
the corrupted facts' true answers that comes back,
``(acc_after - acc_corrupted) / (acc_clean - acc_corrupted)``, for the method and for that
retrain; the classifier version is ``unlearn_core.scenarios.restor``.

Two departures from the paper (``DEPARTURES``), both to fit a fact set of one-line answers:
the corruption is the exact question with a wrong answer, and the probe is that same question.
The paper corrupts with documents that state wrong facts about the entity inside unrelated
context and probes with separate questions, so this version measures the recovery of the
trained phrasing, not of the knowledge behind it (an easier target: a method that only
un-memorises the corrupted string scores well). Like the paper it is measured against the clean
model (the denominator), and in addition against the retrain of the corruption stage.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from unlearn_core.errors import ConfigError
from unlearn_core.progress import ProgressFn
from unlearn_core.text.audit import TextAuditConfig, load_items, trained_base, trained_items
from unlearn_core.text.cache import ModelCache
from unlearn_core.text.facts import QAItem, select_forget
from unlearn_core.text.lm import LMTrainConfig, encode_items, train_lm
from unlearn_core.text.methods import TextContext, make_text_method
from unlearn_core.text.metrics import score_items

DEPARTURES = (
    "corruption: the corrupted item is the exact question with a wrong answer (its first "
    "perturbed answer); the paper corrupts with documents that put wrong facts about the entity "
    "in unrelated context",
    "probe: recovery is read on the same question; the paper probes with separate questions "
    "about the entity, so here the trained phrasing is measured, not the knowledge behind it",
)


@dataclass
class TextRestorResult:
    """True-answer accuracy (and mean probability) on the corrupted facts for the clean model,
    after corruption, after the method and for the retrain of the corruption stage, and the
    recoveries of the method and of that retrain (NaN when the corruption changed nothing)."""

    method: str
    n_corrupted: int
    acc_clean: float
    acc_corrupted: float
    acc_after: float
    acc_retrain: float
    prob_clean: float
    prob_corrupted: float
    prob_after: float
    prob_retrain: float
    recovery: float
    recovery_retrain: float
    seconds: float


def corrupt(items: list[QAItem]) -> list[QAItem]:
    """Each item with its first perturbed (wrong) answer as the answer: the corrupted
    document the model is fine-tuned on."""
    out = []
    for it in items:
        if not it.perturbed_answers:
            raise ConfigError(f"item '{it.id}' has no perturbed answer to corrupt it with")
        wrong = it.perturbed_answers[0]
        out.append(dataclasses.replace(it, id=f"{it.id}#corrupted", answer=wrong,
                                       perturbed_answers=(it.answer,), value=""))
    return out


def recovery(after: float, corrupted: float, clean: float) -> float:
    """Share of the accuracy lost to the corruption that came back (NaN if none was lost)."""
    lost = clean - corrupted
    return (after - corrupted) / lost if lost > 1e-9 else math.nan


def restor_text(cfg: TextAuditConfig, method: str, params: Optional[dict] = None,
                corrupt_request: str = "random:2",
                finetune: Optional[LMTrainConfig] = None,
                progress: Optional[ProgressFn] = None,
                cache: Optional[ModelCache] = None) -> TextRestorResult:
    """Corrupt the facts ``corrupt_request`` names (people or fact ids), unlearn the
    corruption with ``method`` and measure how much of the clean knowledge returns (see
    ``restor_text_methods``)."""
    return restor_text_methods(cfg, [(method, params or {})], corrupt_request, finetune,
                               progress, cache)[0]


def restor_text_methods(cfg: TextAuditConfig, methods: list[tuple[str, dict]],
                        corrupt_request: str = "random:2",
                        finetune: Optional[LMTrainConfig] = None,
                        progress: Optional[ProgressFn] = None,
                        cache: Optional[ModelCache] = None) -> list[TextRestorResult]:
    """RESTOR for several methods on one corrupted model (trained once); one result each.

    ``finetune``: the corruption stage's recipe (default: a quarter of the training epochs at
    a tenth of the training rate, the same seed: at the full rate the stage without the
    corrupted items already forgets them, measured 17% of the facts kept on the test set, so
    no method could be told from retraining)."""
    start = time.perf_counter()
    items = load_items(cfg)
    clean, _ = trained_base(cfg, items, trained_items(items), progress, cache)
    target_ids = set(select_forget(items, corrupt_request, cfg.seed))
    targets = [it for it in items if it.id in target_ids]
    bad = corrupt(targets)
    replay = [it for it in trained_items(items) if it.id not in target_ids]
    recipe = finetune or dataclasses.replace(cfg.train, epochs=max(1, cfg.train.epochs // 4),
                                             lr=cfg.train.lr / 10)
    recipe = dataclasses.replace(recipe, seed=cfg.seed)
    bad_enc, replay_enc = encode_items(clean, bad), encode_items(clean, replay)

    corrupted = clean.clone()
    train_lm(corrupted, encode_items(clean, bad + replay), recipe, progress, task="corrupt")
    retrained = clean.clone()  # the same stage without the corrupted documents
    train_lm(retrained, replay_enc, recipe, progress, task="corrupt (retrain)")
    holdout = [it for it in items if it.split == "holdout"]
    ctx = TextContext(seed=cfg.seed, train_config=recipe, progress=progress,
                      holdout=encode_items(clean, holdout) if holdout else None)

    def truth(lm) -> tuple[float, float]:
        s = score_items(lm, targets)
        return float(np.mean(s.answer_correct)), float(np.mean(s.prob))

    (a_c, p_c), (a_x, p_x), (a_r, p_r) = (truth(m) for m in (clean, corrupted, retrained))
    shared = time.perf_counter() - start
    out = []
    for method, params in methods:
        t0 = time.perf_counter()
        after = make_text_method(method, **(params or {})).unlearn(corrupted, bad_enc,
                                                                   replay_enc, ctx).lm
        a_a, p_a = truth(after)
        out.append(TextRestorResult(method, len(bad), a_c, a_x, a_a, a_r, p_c, p_x, p_a, p_r,
                                    recovery(a_a, a_x, a_c), recovery(a_r, a_x, a_c),
                                    shared + time.perf_counter() - t0))
    return out
