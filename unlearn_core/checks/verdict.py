"""The verdict: one per method, folded from its judged checks (``checks/judge.py``).

- FAIL when any check fails: the method's figure lies outside what genuine retrains show,
  beyond sampling error.
- UNCERTAIN when none fails but a figure sits outside the band with an interval reaching into
  it: more samples (or retrains) would decide.
- PASS only when at least one *powered* forgetting check passes (a check on which the untouched
  original model lands outside the band) and nothing fails or is uncertain.
- INCONCLUSIVE when nothing failed but no powered check could decide: the checks could not have
  told doing nothing from retraining for this request, so "pass" would be a false assurance.
- An exact proof decides (judging rules 4): a model whose outputs equal, bit for bit, its own
  method's run from scratch without the data (the auditor trains it: ``audit.run``'s exact
  counterpart) passes even where a band drawn by that method's runs with other seeds misses one
  of its figures; the check stays in the table as judged, and the reason says why it does not
  count.

- A PASS says what it rules out (``FAMILIES``): doing nothing, and for each check that passed
  with power the forgery families that check sees (``Check.rules_out``: the probe rules out output
  suppression, relearning dormant knowledge). When no check able to see output suppression
  passed with power (the probe's band reaches the original's figure, the model has no hidden
  layer, its features could not be read), the pass is qualified ``outputs only``: the outputs
  match retraining, but the model's internals could not be checked on this request, so output
  suppression is not ruled out (``Verdict.qualifier``, ``ruled_out``, ``not_ruled_out``).

Thresholds users set replace a check's band (and the result says so); the defaults are bands
from the retrain ensemble. Over-forgetting counts as failure too (Hayes et al., 2024): the
forget set should look like never-seen data, not like poison.

``judge_models`` is the judging loop of every track (the classifier audit's ``judge_result``
and the text track's ``judge_text`` call it): plain measurements in, one verdict per model out.
"""

from __future__ import annotations

import math
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
    rules_in_force,
)
from unlearn_core.checks.levels import Grade
from unlearn_core.errors import ConfigError

INCONCLUSIVE = "inconclusive"

# Names earlier releases used for fixed-gap thresholds, mapped to today's checks.
_ALIASES = {"forget_acc_gap": "forget_accuracy", "retain_acc_gap": "retain_accuracy",
            "test_acc_gap": "test_accuracy", "mia_auc_gap": "membership_auc",
            "mia_efficacy_gap": "mia_efficacy", "js_forget_max": "output_divergence",
            "ulira_auc_gap": "ulira"}

# the forgery families a verdict can rule out; a check declares which it sees (``rules_out``)
FAMILIES = {
    "nothing": "doing nothing (the model left as it was)",
    "suppression": ("output suppression (the forgotten data hidden at the output by a logit "
                    "bias, a re-fitted head or a lookup while the features keep it)"),
    "dormant": "dormant knowledge (suppression that a few fine-tuning steps undo)",
}
OUTPUTS_ONLY = "outputs only"  # the qualifier of a pass no check of the inside could support

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
    # the statement of assurance, set by the fold when the track knows what its checks see
    # (None: not assessed, e.g. a verdict recorded by an earlier release): "outputs only" for
    # a pass no check of the model's inside could support, else ""
    qualifier: Optional[str] = None
    ruled_out: list[str] = field(default_factory=list)  # FAMILIES keys
    not_ruled_out: list[str] = field(default_factory=list)
    # the level of assurance reached and the ranking figure (``checks.levels``), set once the
    # verdict is final (``audit.run.judge_audit``); None: not graded (an earlier release)
    grade: Optional[Grade] = None

    @property
    def passed(self) -> bool:
        """A pass, qualified or not (see ``plain_pass``)."""
        return self.status == PASS

    @property
    def plain_pass(self) -> bool:
        """A pass without a qualifier: a check of the model's inside supported it."""
        return self.status == PASS and not self.qualifier

    @property
    def assurance(self) -> str:
        """'Rules out ... . Does not rule out ... .' in words; empty when not assessed or
        failed."""
        if self.qualifier is None or self.status == FAIL:
            return ""
        parts = []
        if self.ruled_out:
            parts.append("Rules out " + "; ".join(FAMILIES.get(k, k) for k in self.ruled_out)
                         + self._floor_text())
        if self.not_ruled_out:
            parts.append("Does not rule out " + "; ".join(FAMILIES.get(k, k)
                                                          for k in self.not_ruled_out))
        return " ".join(p + "." for p in parts)

    def _floor_text(self) -> str:
        """How much of the original a model could keep and still pass the inside checks that
        rule suppression out: the tightest of their detection floors, in words."""
        families = check_families()
        seen = [c for c in self.checks if c.status == PASS and c.halfway_powered
                and c.check != "exact" and math.isfinite(c.detection_floor)
                and "suppression" in families.get(c.check, ())]
        if "suppression" not in self.ruled_out or not seen:
            return ""
        best = min(seen, key=lambda c: c.detection_floor)
        return (f" ({best.title}: keeping more than {100 * best.detection_floor:.0f}% of the "
                "original's difference from retraining fails it; less passes as retraining)")

    def count(self, status: str) -> int:
        return sum(c.status == status for c in self.checks)

    @property
    def headline(self) -> str:
        """'PASS 5 of 6 checks; 1 without power' style: the status, then the counts."""
        n = len(self.checks)
        word = self.status.upper() + (f" ({self.qualifier.upper()})" if self.qualifier else "")
        parts = [f"{word}: {self.count(PASS)} of {n} checks pass"]
        for status, word in ((FAIL, "fail"), (UNCERTAIN, "uncertain"),
                             (NO_POWER, "without power"), (NO_DATA, "not measurable")):
            k = self.count(status)
            if k:
                parts.append(f"{k} {word}")
        return "; ".join(parts)


@dataclass
class VerificationCheck:
    """One verification scenario run for one method: its figure beside the retrain reference's,
    the threshold, pass/fail and a one-line reason (see ``unlearn_core.scenarios.checks``)."""

    name: str  # "inversion", "backdoor", "restor" or "confusion"
    method: str
    figure: float
    reference: float  # the same figure for the retrain reference
    threshold: float
    passed: bool
    reason: str
    seconds: float = 0.0


def fold(method: str, results: list[CheckResult],
         families: Optional[dict[str, Sequence[str]]] = None,
         unavailable: Optional[dict[str, str]] = None, advice: str = POWER_ADVICE) -> Verdict:
    """The verdict of one method from its judged checks. With ``families`` (check name -> the
    forgery families a powered pass of it rules out) the verdict also states its assurance
    (``assure``); ``unavailable``: checks that could not run on this request, and why;
    ``advice``: what an inconclusive verdict says would raise the power (the track's own)."""
    fails = [r for r in results if r.status == FAIL]
    uncertain = [r for r in results if r.status == UNCERTAIN]
    powered = [r for r in results if r.status == PASS and r.kind == "forgetting" and r.powered]
    proof = [r for r in results if r.check == "exact" and r.status == PASS]
    if proof and (fails or uncertain) and rules_in_force() >= 4:
        # the model is its own method's run from scratch without the data, bit for bit: a band
        # drawn by that method's runs with other seeds that misses one of its figures missed
        # where such runs land, it is no sign the data was kept (sisa's MIA-efficacy of 12%
        # against a band from 68%, an attack's threshold falling the other way on a model with
        # no membership signal: breast cancer, seed 7 of the verdict benchmark)
        status = PASS
        missed = fails + uncertain
        reason = (f"decided by {proof[0].title}: {proof[0].reason}; "
                  + ", ".join(r.title for r in missed) + (" lie" if len(missed) > 1 else " lies")
                  + " outside bands drawn by the same method's runs from scratch with other "
                  "seeds, where this run from scratch lands too: those bands missed where such "
                  "runs land, which is no sign the data was kept")
    elif fails:
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
                  "for this request; " + advice)
    verdict = Verdict(method, status, list(results), reason)
    if families is not None:
        assure(verdict, families, unavailable or {})
    return verdict


def assure(v: Verdict, families: dict[str, Sequence[str]], unavailable: dict[str, str]) -> None:
    """Set ``v``'s statement of assurance: the families its powered passes rule out, those they
    do not, and the ``outputs only`` qualifier of a pass that no check able to see output
    suppression supported (with the reason in plain words)."""
    if v.status == FAIL:
        v.qualifier, v.ruled_out, v.not_ruled_out = "", [], []
        return
    # a pass rules out doing nothing; a family beyond it needs a pass with halfway power
    powered = [c for c in v.checks if c.status == PASS and c.halfway_powered]
    out = {"nothing"} if v.status == PASS else set()
    for c in powered:
        out.update(families.get(c.check, ()))
    v.ruled_out = [k for k in FAMILIES if k in out]
    v.not_ruled_out = [k for k in FAMILIES if k not in out]
    v.qualifier = OUTPUTS_ONLY if v.status == PASS and "suppression" not in out else ""
    if v.qualifier:
        inside = [c for c in v.checks if "suppression" in families.get(c.check, ())]
        why = [f"{c.title}: {c.status}" + (" (the untouched original lands in its band "
                                           "too)" if c.status == NO_POWER else
                                           weak_power(c) if c.status == PASS else "")
               for c in inside]
        why += [f"{name}: {text}" for name, text in unavailable.items()
                if "suppression" in families.get(name, ())]
        v.reason += ("; outputs match retraining, but the model's internals could not be "
                     "checked on this request (" + ("; ".join(why) or "no check of the "
                                                    "features ran") +
                     "), so output suppression is not ruled out")


def weak_power(c: CheckResult) -> str:
    """Why a powered pass does not rule a family out, in words ('' when it does)."""
    if not c.powered or c.halfway_powered:
        return ""
    return (f" (the original lies only {c.power_margin:.2f} band half-widths beyond its band: "
            "a model that kept half of what the original holds would pass it too)")


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
                 extras: Optional[Callable[[str], list[CheckResult]]] = None,
                 families: Optional[dict[str, Sequence[str]]] = None,
                 unavailable: Optional[dict[str, str]] = None,
                 advice: str = POWER_ADVICE) -> list[Verdict]:
    """One verdict per audited model from plain data, the judging loop every track shares:
    each recorded forgetting and utility check (``specs``) of the model judged against its
    references' measurements and its control's (``by_key``: (check, model label) ->
    measurement), Bonferroni over those checks, with a user's fixed limit per check
    (``overrides``); ``extras(label)`` adds checks judged elsewhere (exactness, U-LiRA,
    scenarios) before folding; ``families`` and ``unavailable`` go to ``fold`` (the statement
    of assurance), and ``advice`` (what would raise the power)."""
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
        verdicts.append(fold(label, out, families, unavailable, advice))
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

    return judge_models(by_key, result.check_specs, audited, t.alpha, t.overrides, extras,
                        check_families(), dict(getattr(result, "skipped_checks", {}) or {}))


def check_families() -> dict[str, tuple[str, ...]]:
    """Check name -> the forgery families a powered pass of it rules out, from the registered
    checks (never from a report, whose specs a forger could edit)."""
    from unlearn_core.checks import CHECKS, available_checks

    available_checks()
    families = {name: tuple(cls.rules_out) for name, cls in CHECKS.items()}
    # an exact method's outputs equal, bit for bit, its own run from scratch without the data
    # (the auditor runs it): no family of forgery is left
    families["exact"] = ("suppression", "dormant")
    return families


__all__ = ["VerdictThresholds", "Verdict", "VerificationCheck", "CheckResult", "CheckSpec",
           "fold", "assure", "check_families", "judge_models", "judge_result", "scenario_result",
           "FAMILIES", "OUTPUTS_ONLY", "PASS", "FAIL", "UNCERTAIN", "NO_POWER", "INCONCLUSIVE"]
