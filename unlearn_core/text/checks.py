"""The text track's checks, judged by the same judge as the classifier checks.

Each check turns one model's per-sample scores (``ModelEvaluation``) into a ``Measurement``
(figure, sampling standard error, sample count), measured once per model: the audited methods,
every retrain of the reference ensemble and the untouched original (the do-nothing control).
The loops are the classifier audit's: ``checks.loop.measure_groups`` measures every check on
every model (leave-one-out for the closeness check), ``checks.verdict.judge_models`` places each
method's figure against the retrains' band with ``checks.judge.judge``, with power from the
original, and folds the checks into one verdict per method; nothing here re-implements them.

The figures are OpenUnlearning's (``locuslab/open-unlearning``) and TOFU's (Maini et al., arXiv
2401.06121) on the forget set: the truth-ratio distribution's KS distance to the retrains'
(forget quality reads the p-value of the same test; here the distance is judged, leave-one-out,
because a p-value is no figure to band), answer accuracy, answer probability, ROUGE-L recall
and extraction strength (Carlini et al., USENIX Security 2021); the four text membership
attacks' AUCs, forget vs never-trained items (LOSS; zlib, Carlini et al. 2021; Min-k%, Shi et
al., arXiv 2310.16789; Min-k%++, Zhang et al., arXiv 2404.02936); and utility (TOFU's model
utility and retained answer accuracy), which only fails when too low.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np
from scipy import stats

from unlearn_core.checks.base import Measurement, auc_se, bootstrap_se, proportion_se
from unlearn_core.checks.judge import CheckSpec
from unlearn_core.checks.loop import ReferenceGroup, measure_groups
from unlearn_core.checks.verdict import Verdict, judge_models
from unlearn_core.text.metrics import MIA_NAMES, SetScores, mia_auc, model_utility

if TYPE_CHECKING:
    from unlearn_core.text.evaluation import ModelEvaluation

TOFU = "TOFU (Maini et al., arXiv 2401.06121); OpenUnlearning"
MIA_PAPERS = {"loss": ("LOSS", "Yeom et al., CSF 2018"),
              "zlib": ("zlib", "Carlini et al., USENIX Security 2021"),
              "min_k": ("Min-k%", "Shi et al., arXiv 2310.16789"),
              "min_k_pp": ("Min-k%++", "Zhang et al., arXiv 2404.02936")}
Figure = tuple[float, float, int, dict]


@dataclass(frozen=True)
class TextCheck:
    """A check's plain-data description (``spec``, recorded with every result) and how it is
    measured on one model; ``closeness`` checks also get the other retrains' truth ratios."""

    spec: CheckSpec
    measure: Callable[..., Figure]
    closeness: bool = False


def _values(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a[np.isfinite(a)]


def _share(values: np.ndarray) -> Figure:
    v = _values(values)
    if not len(v):
        return math.nan, math.nan, 0, {}
    return float(v.mean()), proportion_se(float(v.sum()), len(v)), len(v), {}


def _mean(values: np.ndarray, seed: int) -> Figure:
    v = _values(values)
    if not len(v):
        return math.nan, math.nan, 0, {}
    return float(v.mean()), bootstrap_se(v, seed=seed), len(v), {}


def _ks_distance(tr: np.ndarray, pool: np.ndarray) -> float:
    a, b = _values(tr), _values(pool)
    if not len(a) or not len(b):
        return math.nan
    return float(stats.ks_2samp(a, b).statistic)


def forget_quality_distance(ev: "ModelEvaluation", others: list[np.ndarray],
                            seed: int) -> Figure:
    """KS distance between the model's forget-set truth ratios and the pooled truth ratios of
    ``others`` (retrains), with a bootstrap error over the model's forget items; the detail
    keeps TOFU's forget quality (the KS p-value)."""
    pool = np.concatenate([_values(o) for o in others]) if others else np.zeros(0)
    tr = _values(ev.forget.truth_ratio)
    d = _ks_distance(tr, pool)
    if math.isnan(d):
        return math.nan, math.nan, 0, {}
    se = bootstrap_se(tr, statistic=lambda x: _ks_distance(x, pool), seed=seed)
    p = float(stats.ks_2samp(tr, pool).pvalue)
    return d, se, len(tr), {"forget quality (KS p)": p}


def _mia(attack: str) -> Callable[..., Figure]:
    def measure(ev: "ModelEvaluation", seed: int) -> Figure:
        f, h = ev.forget.mia.get(attack), ev.holdout.mia.get(attack)
        if f is None or h is None or not len(f) or not len(h):
            return math.nan, math.nan, 0, {}
        auc = mia_auc(f, h)
        return auc, auc_se(auc, len(f), len(h)), len(f), {"never-trained items": float(len(h))}
    return measure


def _take(s: SetScores, idx: np.ndarray) -> SetScores:
    """A resample of a set's per-sample scores (for the bootstrap of model utility)."""
    def pick(a: np.ndarray) -> np.ndarray:
        return a[idx] if len(a) else a
    return SetScores([s.ids[i] for i in idx], pick(s.mean_nll), pick(s.prob),
                     pick(s.truth_ratio), pick(s.exact_memorization),
                     pick(s.extraction_strength), pick(s.answer_correct), pick(s.exact_match),
                     pick(s.rouge_l), [s.completions[i] for i in idx], pick(s.option_prob))


def utility_figure(ev: "ModelEvaluation", seed: int, reps: int = 100) -> Figure:
    """TOFU's model utility on the retain and world items, with a bootstrap error over both."""
    value = ev.model_utility
    if not math.isfinite(value):
        return math.nan, math.nan, 0, {}
    rng = np.random.default_rng(seed)
    world = ev.world if ev.world is not None and len(ev.world) else None
    boots = []
    for _ in range(reps):
        r = _take(ev.retain, rng.integers(0, len(ev.retain), len(ev.retain)))
        w = _take(world, rng.integers(0, len(world), len(world))) if world is not None else None
        boots.append(model_utility(r, w))
    boots_arr = _values(np.array(boots))
    se = float(np.std(boots_arr, ddof=1)) if len(boots_arr) > 1 else math.nan
    return value, se, len(ev.retain) + (len(world) if world is not None else 0), {}


def _checks() -> list[TextCheck]:
    out = [
        TextCheck(CheckSpec("forget_quality", "truth-ratio KS distance to retrain", "forgetting",
                            "high", "", "", TOFU + " (forget quality)", bounds=(0.0, 1.0)),
                  forget_quality_distance, closeness=True),
        TextCheck(CheckSpec("forget_answer_accuracy", "forget answer accuracy", "forgetting",
                            "both", "low", "%", TOFU),
                  lambda ev, seed: _share(ev.forget.answer_correct)),
        TextCheck(CheckSpec("forget_answer_prob", "forget answer probability", "forgetting",
                            "both", "low", "", TOFU),
                  lambda ev, seed: _mean(ev.forget.prob, seed)),
        TextCheck(CheckSpec("forget_rouge_l", "forget ROUGE-L recall", "forgetting", "both",
                            "low", "", TOFU),
                  lambda ev, seed: _mean(ev.forget.rouge_l, seed)),
        TextCheck(CheckSpec("forget_extraction", "forget extraction strength", "forgetting",
                            "both", "low", "", "Carlini et al., USENIX Security 2021"),
                  lambda ev, seed: _mean(ev.forget.extraction_strength, seed)),
    ]
    for attack in MIA_NAMES:
        label, paper = MIA_PAPERS[attack]
        out.append(TextCheck(CheckSpec(f"mia_{attack}_auc", f"{label} MIA AUC", "forgetting",
                                       "both", "low", "", paper, bounds=(0.0, 1.0)),
                             _mia(attack)))
    out += [
        TextCheck(CheckSpec("model_utility", "model utility", "utility", "low", "", "", TOFU),
                  utility_figure),
        TextCheck(CheckSpec("retain_answer_accuracy", "retain answer accuracy", "utility", "low",
                            "", "%", TOFU),
                  lambda ev, seed: _share(ev.retain.answer_correct)),
    ]
    return out


TEXT_CHECKS: dict[str, TextCheck] = {c.spec.name: c for c in _checks()}


def measure_text_checks(evals: dict[str, "ModelEvaluation"], references: list[str],
                        control: str, audited: list[str], seed: int = 0
                        ) -> tuple[list[Measurement], list[CheckSpec]]:
    """Every text check on the references (closeness leave-one-out), the control and the
    audited models, by the shared measuring loop (``checks.loop.measure_groups``). A check no
    model can measure (no perturbed answers: no truth ratio) is left out."""
    measurements: list[Measurement] = []
    specs: list[CheckSpec] = []
    group = ReferenceGroup("retrain", list(references), control, list(audited))
    truth_ratios = {r: evals[r].forget.truth_ratio for r in references}
    for check in TEXT_CHECKS.values():
        def measure(g: ReferenceGroup, label: str, against: Optional[list[str]],
                    check: TextCheck = check) -> Measurement:
            ev = evals[label]
            if against is None:
                f, se, n, detail = check.measure(ev, seed)
            else:
                f, se, n, detail = check.measure(ev, [truth_ratios[r] for r in against], seed)
            return Measurement(check.spec.name, label, "", float(f), float(se), int(n),
                               dict(detail))

        rows = measure_groups([group], measure, check.closeness)
        if not any(math.isfinite(m.figure) for m in rows):
            continue
        specs.append(check.spec)
        measurements += rows
    return measurements, specs


# what raises the text checks' power (the classifier's advice names its attacks and flags)
TEXT_POWER_ADVICE = ("to raise the power: a model that memorises its facts (trained longer: "
                     "--epochs, or your own model), a larger forget set (more people or facts "
                     "in --forget) or more retrains (--retrain-seeds)")


def judge_text(measurements: list[Measurement], specs: list[CheckSpec], audited: list[str],
               references: list[str], control: str, alpha: float = 0.05) -> list[Verdict]:
    """One verdict per audited model from recorded measurements, by the shared judging loop
    (``checks.verdict.judge_models``): what the audit does and what ``verify`` repeats
    (Bonferroni over the recorded checks)."""
    by_key = {(m.check, m.model): m for m in measurements}
    return judge_models(by_key, specs, [(label, references, control) for label in audited],
                        alpha, advice=TEXT_POWER_ADVICE)


def _num(v) -> float:
    return math.nan if v is None else float(v)


def measurements_from_dicts(rows: list[dict]) -> list[Measurement]:
    """Recorded measurements (JSON: NaN written as null) back as ``Measurement``s."""
    return [Measurement(r["check"], r["model"], r["role"], _num(r["figure"]), _num(r["se"]),
                        int(r["n"]), {k: _num(v) for k, v in (r.get("detail") or {}).items()})
            for r in rows]


def specs_from_dicts(rows: list[dict]) -> list[CheckSpec]:
    return [CheckSpec(**r) for r in rows]
