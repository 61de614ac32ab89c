"""Verification scenarios as named checks of an audit (``AuditConfig.checks``, CLI ``--checks``).

Each check runs for every method of the audit and for the retrain reference, and passes when the
method does no worse than retraining would:

- ``inversion``: unlearning inversion, label side (Hu et al., S&P 2024). From the original model
  and the released unlearned one, an attacker guesses the forgotten class. Retraining leaks the
  same way, so a method passes when the attacker's first right guess comes no earlier than
  against the retrained model. The feature side (``feature_inversions``: reconstructions of
  the forgotten inputs from the two models) is shown next to it in the report and the app.
- ``backdoor``: backdoor verification (Sommer et al., "Athena", PETS 2022). Triggered samples are
  planted and then forgotten; the trigger's attack success rate must fall to the retrain level.
- ``restor``: knowledge recovery (RESTOR, 2024). Label-flipped samples are planted and then
  forgotten; the clean model's accuracy on the corrupted class must come back as far as with
  retraining.
- ``confusion``: the Interclass Confusion test (Goel et al., arXiv 2201.06640). Labels are
  swapped between the two most confused classes and the swapped samples forgotten; on clean
  test data the method may leave no more confusion between them than retraining does.

``backdoor``, ``restor`` and ``confusion`` are scenarios on the audit's dataset and architecture
(they train their own poisoned model), so they test the method, not the particular baseline.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from unlearn_core.checks.verdict import VerdictThresholds, VerificationCheck
from unlearn_core.errors import ConfigError
from unlearn_core.progress import ProgressFn, report

CHECKS = ("inversion", "backdoor", "restor", "confusion")


def validate_checks(names: list[str]) -> None:
    """Refuse unknown check names with the list of known ones."""
    unknown = sorted(set(names) - set(CHECKS))
    if unknown:
        raise ConfigError(f"unknown check '{unknown[0]}': use {', '.join(CHECKS)}")


def inversion_checks(run) -> list[VerificationCheck]:
    """Label inversion against each method, judged against the same attack on retraining."""
    from unlearn_core.scenarios.inversion import infer_forgotten_label

    start = time.perf_counter()
    data, models = run.data, run.models
    forgotten = forgotten_classes(run)
    names = [e.name for e in run.result.methods]
    if not forgotten:
        reason = "the forget set spans the classes evenly: no forgotten label to infer"
        return [VerificationCheck("inversion", name, math.nan, math.nan, 0.0, True, reason)
                for name in names]
    probes = data.test.X
    ref = infer_forgotten_label(models["baseline"], models["retrain"], probes, forgotten)
    out = []
    for name in names:
        r = infer_forgotten_label(models["baseline"], models[name], probes, forgotten)
        passed = r.rank_of_truth >= ref.rank_of_truth
        cls = run.result.class_names[forgotten[0]] if len(forgotten) == 1 else "the classes"
        reason = (f"an attacker holding both models names class {cls} at guess "
                  f"{r.rank_of_truth + 1} (retrain: guess {ref.rank_of_truth + 1}): "
                  f"{'no more' if passed else 'more'} leakage than retraining")
        out.append(VerificationCheck("inversion", name, float(r.rank_of_truth),
                                     float(ref.rank_of_truth), 0.0, passed, reason,
                                     time.perf_counter() - start))
    return out


def forgotten_classes(run) -> list[int]:
    """The forgotten classes; for sample forgetting, the majority class when one dominates."""
    data = run.data
    forgotten = list(data.forget_set.classes)
    if not forgotten:  # sample forgetting: a label to infer only when one class dominates
        counts = np.bincount(data.forget.y, minlength=data.dataset.n_classes)
        top = int(counts.argmax())
        if counts[top] > 0.5 * counts.sum():
            forgotten = [top]
    return forgotten


def feature_inversions(run, methods: Optional[list[str]] = None) -> dict[str, list]:
    """Unlearning inversion, feature side (Hu et al., S&P 2024), per method: reconstructions
    from the original and the unlearned model (parameter difference; and the probability drop
    when a forgotten class exists), scored against the forget set's mean input. The label is
    inferred from the test inputs, as the attacker would; the audit's seed makes it repeatable.
    The report and the app show these next to the forgotten class's mean image."""
    from unlearn_core.scenarios.inversion import INVERSION_MODES, invert_features

    data, models = run.data, run.models
    names = methods if methods is not None else [e.name for e in run.result.methods]
    modes = INVERSION_MODES if forgotten_classes(run) else ("gradient",)
    train = data.train
    forget = data.forget
    return {name: invert_features(models["baseline"], models[name], data.test.X, forget.X,
                                  forget.y, train.X, train.y, modes=modes,
                                  seed=run.result.config.seed)
            for name in names if name in models}


def backdoor_checks(run, thresholds: VerdictThresholds) -> list[VerificationCheck]:
    """The Athena backdoor scenario for each method of the audit."""
    from unlearn_core.scenarios.backdoor import backdoor_check

    cfg = run.result.config
    out = []
    for spec in _method_specs(run):
        r = backdoor_check(run.data.dataset, cfg.model, spec.name, spec.params, seed=cfg.seed,
                           tolerance=thresholds.backdoor_asr_gap)
        out.append(VerificationCheck("backdoor", spec.label, r.asr_after, r.asr_retrain,
                                     r.threshold, r.passed, r.reason, r.seconds))
    return out


def restor_checks(run, thresholds: VerdictThresholds) -> list[VerificationCheck]:
    """The RESTOR label-flip recovery scenario for each method of the audit."""
    from unlearn_core.scenarios.restor import restor_check

    cfg = run.result.config
    n = run.data.dataset.n_classes
    source, target = (1, 7) if n > 7 else (0, 1)
    gap = thresholds.restor_recovery_gap
    out = []
    for spec in _method_specs(run):
        t0 = time.perf_counter()
        r = restor_check(run.data.dataset, cfg.model, spec.name, spec.params, source=source,
                         target=target, seed=cfg.seed)
        if math.isnan(r.recovery_retrain):
            passed, reason = True, "the corruption did not change the model: nothing to recover"
        else:
            passed = r.recovery >= r.recovery_retrain - gap
            reason = (f"class {source} relabelled {target} then forgotten: "
                      f"{100 * r.recovery:.0f}% of the clean accuracy recovered vs "
                      f"{100 * r.recovery_retrain:.0f}% by retrain "
                      f"({'within' if passed else 'short by more than'} {100 * gap:.0f} points)")
        out.append(VerificationCheck("restor", spec.label, r.recovery, r.recovery_retrain, gap,
                                     passed, reason, time.perf_counter() - t0))
    return out


def confusion_tolerance(result, gap: float) -> float:
    """How far the method's confusion may exceed retrain's: the auditor's ``gap``, or two
    standard errors of the difference of the two rates (each a share of the clean test samples
    of classes A and B) when sampling error alone is larger."""
    n = max(1, result.n_test_pair)
    var = sum(p * (1 - p) for p in (result.conf_after, result.conf_retrain)) / n
    return max(gap, 2.0 * math.sqrt(var))


def confusion_checks(run, thresholds: VerdictThresholds) -> list[VerificationCheck]:
    """The Interclass Confusion scenario for each method of the audit. No power (and no fail)
    when the planted swap did not confuse the two classes beyond retrain's level."""
    from unlearn_core.scenarios.confusion import interclass_confusion

    cfg = run.result.config
    gap = thresholds.confusion_gap
    out = []
    for spec in _method_specs(run):
        r = interclass_confusion(run.data.dataset, cfg.model, spec.name, spec.params,
                                 seed=cfg.seed)
        a, b = (run.result.class_names[c] for c in (r.class_a, r.class_b))
        tol = confusion_tolerance(r, gap)
        pair = f"classes {a} and {b} swapped on {r.n_swapped} samples, then forgotten"
        if r.conf_before - r.conf_retrain <= tol:
            passed = True
            reason = (f"{pair}: the swap confused them only {100 * r.conf_before:.0f}% against "
                      f"{100 * r.conf_retrain:.0f}% after retraining, no power to tell")
        else:
            passed = r.gap <= tol
            reason = (f"{pair}: {100 * r.conf_after:.0f}% of clean test samples of the pair "
                      f"confused after the method, {100 * r.conf_retrain:.0f}% after "
                      f"retraining, {100 * r.conf_before:.0f}% doing nothing "
                      f"({'within' if passed else 'more than'} {100 * tol:.0f} points)")
        out.append(VerificationCheck("confusion", spec.label, r.conf_after, r.conf_retrain,
                                     tol, passed, reason, r.seconds))
    return out


@dataclass
class _Ran:
    """A method run of the audit: its unique label, registry name and hyperparameters."""

    label: str
    name: str
    params: dict


def _method_specs(run) -> list[_Ran]:
    return [_Ran(e.name, e.method or e.name, dict(e.params)) for e in run.result.methods]


def run_checks(run, names: list[str], thresholds: Optional[VerdictThresholds] = None,
               progress: Optional[ProgressFn] = None) -> list[VerificationCheck]:
    """Run the named verification checks for every method of an audit run."""
    validate_checks(names)
    t = thresholds or VerdictThresholds()
    out: list[VerificationCheck] = []
    for i, name in enumerate(names):
        report(progress, f"verification: {name}", i, len(names))
        if name == "inversion":
            out += inversion_checks(run)
        elif name == "backdoor":
            out += backdoor_checks(run, t)
        elif name == "confusion":
            out += confusion_checks(run, t)
        else:
            out += restor_checks(run, t)
    report(progress, "verification", len(names), len(names))
    return out
