"""The verdict: one per method, folded from its judged checks (``checks/judge.py``).

- FAIL when any check fails: the method's figure lies outside what genuine retrains show,
  beyond sampling error.
- UNCERTAIN when none fails but a figure sits outside the band with an interval reaching into
  it: more samples (or retrains) would decide.
- PASS only when at least one *powered* forgetting check passes (a check on which the untouched
  original model lands outside the band) and nothing fails or is uncertain.
- INCONCLUSIVE when nothing failed but no powered check could decide: the checks could not have
  told doing nothing from retraining for this request, so "pass" would be a false assurance.

Thresholds users set replace a check's band (and the result says so); the defaults are bands
from the retrain ensemble. Over-forgetting counts as failure too (Hayes et al., 2024): the
forget set should look like never-seen data, not like poison.

``judge_models`` is the judging loop of every track (the classifier audit's ``judge_result``
and the text track's ``judge_text`` call it): plain measurements in, one verdict per model out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Sequence

from unlearn_core.checks.base import Measurement
from unlearn_core.checks.judge import (
    FAIL,
    NO_DATA,
    NO_POWER,
    PASS,
    UNCERTAIN,
    CheckResult,
    CheckSpec,
    judge,
)
from unlearn_core.errors import ConfigError

INCONCLUSIVE = "inconclusive"

# Names earlier releases used for fixed-gap thresholds, mapped to today's checks.
_ALIASES = {"forget_acc_gap": "forget_accuracy", "retain_acc_gap": "retain_accuracy",
            "test_acc_gap": "test_accuracy", "mia_auc_gap": "membership_auc",
            "mia_efficacy_gap": "mia_efficacy", "js_forget_max": "output_divergence",
            "ulira_auc_gap": "ulira"}

POWER_ADVICE = ("to raise the power: a setting where the model memorises its training samples "
                "(a smaller training split, longer training, label-noise canaries), stronger "
                "per-example attacks (--attacks lira,ulira with more --shadows), or a larger "
                "forget set")


@dataclass
class VerdictThresholds:
    """The verdict's settings: the family-wise error level ``alpha`` (Bonferroni over the checks
    of a verdict), optional fixed limits per check (``overrides``: the band becomes the retrain
    mean +/- the limit), and the verification scenarios' tolerances."""

    alpha: float = 0.05
    overrides: dict[str, float] = field(default_factory=dict)
    backdoor_asr_gap: float = 0.10  # |attack success rate after - retrain's| (backdoor check)
    restor_recovery_gap: float = 0.20  # recovery may fall this far short of retrain's (RESTOR)
    confusion_gap: float = 0.05  # confusion above retrain's (Interclass Confusion), at least

    def update(self, items: dict[str, str]) -> "VerdictThresholds":
        from unlearn_core.checks import available_checks

        known = set(available_checks()) | {"ulira", "exact"}
        for key, value in items.items():
            key = _ALIASES.get(key, key)
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ConfigError(f"threshold {key} must be a number, got '{value}'")
            if number != number or number < 0:
                raise ConfigError(f"threshold {key} must be a non-negative number, got '{value}'")
            if key in ("alpha", "backdoor_asr_gap", "restor_recovery_gap", "confusion_gap"):
                if key == "alpha" and not 0 < number < 1:
                    raise ConfigError(f"alpha must lie between 0 and 1, got '{value}'")
                setattr(self, key, number)
            elif key in known:
                self.overrides[key] = number
            else:
                raise ConfigError(f"unknown verdict threshold '{key}': use alpha, "
                                  f"backdoor_asr_gap, restor_recovery_gap, confusion_gap or a "
                                  f"check name "
                                  f"({', '.join(sorted(known))})")
        return self


@dataclass
class Verdict:
    """All judged checks of one method and the status they fold to."""

    method: str
    status: str = INCONCLUSIVE
    checks: list[CheckResult] = field(default_factory=list)
    reason: str = ""

    @property
    def passed(self) -> bool:
        return self.status == PASS

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.checks)

    @property
    def headline(self) -> str:
        """'PASS 5 of 6 checks; 1 without power' style: the status, then the counts."""
        n = len(self.checks)
        parts = [f"{self.status.upper()}: {self.count(PASS)} of {n} checks pass"]
        for status, word in ((FAIL, "fail"), (UNCERTAIN, "uncertain"),
                             (NO_POWER, "without power"), (NO_DATA, "not measurable")):
            k = self.count(status)
            if k:
                parts.append(f"{k} {word}")
        return "; ".join(parts)


@dataclass
class VerificationCheck:
    """One verification scenario run for one method: its figure beside the retrain reference's,
    the threshold, pass/fail and a one-line reason (see ``unlearn_core.verification.checks``)."""

    name: str  # "inversion", "backdoor", "restor" or "confusion"
    method: str
    figure: float
    reference: float  # the same figure for the retrain reference
    threshold: float
    passed: bool
    reason: str
    seconds: float = 0.0


def fold(method: str, results: list[CheckResult]) -> Verdict:
    """The verdict of one method from its judged checks."""
    fails = [r for r in results if r.status == FAIL]
    uncertain = [r for r in results if r.status == UNCERTAIN]
    powered = [r for r in results if r.status == PASS and r.kind == "forgetting" and r.powered]
    if fails:
        over = [r.title for r in fails if r.over_forgetting]
        reason = ("outside the retrain band beyond sampling error: "
                  + ", ".join(r.title for r in fails)
                  + (f" (over-forgetting: {', '.join(over)})" if over else ""))
        status = FAIL
    elif uncertain:
        status = UNCERTAIN
        reason = ("no check fails, but " + ", ".join(r.title for r in uncertain)
                  + " cannot be decided with these samples")
    elif powered:
        status = PASS
        reason = ("every check lands where genuine retrains land; decided by "
                  + ", ".join(r.title for r in powered)
                  + ", on which doing nothing would have failed")
    else:
        status = INCONCLUSIVE
        reason = ("nothing fails, but no check could tell doing nothing from retraining "
                  "for this request; " + POWER_ADVICE)
    return Verdict(method, status, list(results), reason)


def scenario_result(vc: VerificationCheck) -> CheckResult:
    """A verification scenario as a judged check (fixed tolerance, pass or fail)."""
    return CheckResult(
        check=vc.name, title=vc.name, model=vc.method, kind="scenario",
        status=PASS if vc.passed else FAIL, figure=vc.figure, se=float("nan"), n=0,
        ci_low=vc.figure, ci_high=vc.figure, band_low=float("nan"), band_high=float("nan"),
        band_source=f"scenario tolerance {vc.threshold:g} against retraining",
        reference_mean=vc.reference, reference_sd=float("nan"), k=1, control=float("nan"),
        powered=None, power_margin=float("nan"), over_forgetting=False, low_resolution=False,
        reason=vc.reason)


Audited = tuple[str, Sequence[str], str]  # (model label, its references' labels, its control)


def judge_models(by_key: dict[tuple[str, str], Measurement], specs: list[CheckSpec],
                 audited: Iterable[Audited], alpha: float = 0.05,
                 overrides: Optional[dict[str, float]] = None,
                 extras: Optional[Callable[[str], list[CheckResult]]] = None) -> list[Verdict]:
    """One verdict per audited model from plain data, the judging loop every track shares:
    each recorded forgetting and utility check (``specs``) of the model judged against its
    references' measurements and its control's (``by_key``: (check, model label) ->
    measurement), Bonferroni over those checks, with a user's fixed limit per check
    (``overrides``); ``extras(label)`` adds checks judged elsewhere (exactness, U-LiRA,
    scenarios) before folding."""
    overrides = overrides or {}
    band_checks = [s for s in specs if s.kind in ("forgetting", "utility")]
    n_checks = max(1, len(band_checks))
    verdicts = []
    for label, refs, control in audited:
        out: list[CheckResult] = []
        for spec in band_checks:
            m = by_key.get((spec.name, label))
            if m is None:
                continue
            ref_ms = [by_key[(spec.name, r)] for r in refs if (spec.name, r) in by_key]
            out.append(judge(spec, m, ref_ms, by_key.get((spec.name, control)), n_checks, alpha,
                             overrides.get(spec.name)))
        if extras is not None:
            out += extras(label)
        verdicts.append(fold(label, out))
    return verdicts


def judge_result(result, thresholds: Optional[VerdictThresholds] = None) -> list[Verdict]:
    """Judge every method of an ``AuditResult`` from its recorded measurements: what the audit
    does, and what ``verify`` repeats to catch an edited verdict."""
    t = thresholds or VerdictThresholds()
    by_key = {}
    for m in result.measurements:
        by_key.setdefault((m.check, m.model), m)
    audited = [(e.name, [r.name for r in result.references if r.reference_group == e.reference],
                e.control) for e in result.methods]

    def extras(label: str) -> list[CheckResult]:
        return ([x for x in result.extra_results if x.model == label]
                + [scenario_result(vc) for vc in getattr(result, "checks", [])
                   if vc.method == label])

    return judge_models(by_key, result.check_specs, audited, t.alpha, t.overrides, extras)


__all__ = ["VerdictThresholds", "Verdict", "VerificationCheck", "CheckResult", "CheckSpec",
           "fold", "judge_models", "judge_result", "scenario_result", "PASS", "FAIL", "UNCERTAIN",
           "NO_POWER", "INCONCLUSIVE"]
