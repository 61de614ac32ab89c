"""The verdict: does a method's result look like the retrain reference? Each check has its
figure, threshold, pass/fail and a one-line reason. Thresholds are defaults users can change.

The checks compare with retraining, the exact answer, because "low forget accuracy" alone can
be faked (Thudi et al., USENIX Security 2022) and over-forgetting is itself a privacy signal
(Hayes et al., 2024): the forget set should look like never-seen data, not like poison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from .errors import ConfigError


@dataclass
class VerdictThresholds:
    """Largest allowed distance to the retrain reference per check."""

    forget_acc_gap: float = 0.05  # |forget accuracy - retrain's|
    retain_acc_gap: float = 0.03
    test_acc_gap: float = 0.03
    mia_auc_gap: float = 0.05  # |forget-vs-unseen attack AUC - retrain's|
    mia_efficacy_gap: float = 0.10
    js_forget_max: float = 0.10  # mean JS divergence to retrain on the forget set (nats)
    ulira_auc_gap: float = 0.10  # |U-LiRA AUC - 0.5| when U-LiRA ran
    backdoor_asr_gap: float = 0.10  # |attack success rate after - retrain's| (backdoor check)
    restor_recovery_gap: float = 0.20  # recovery may fall this far short of retrain's (RESTOR)

    def update(self, items: dict[str, str]) -> "VerdictThresholds":
        names = {f.name for f in fields(self)}
        for key, value in items.items():
            if key not in names:
                raise ConfigError(f"unknown verdict threshold '{key}': use "
                                  f"{', '.join(sorted(names))}")
            try:
                setattr(self, key, float(value))
            except ValueError:
                raise ConfigError(f"threshold {key} must be a number, got '{value}'")
        return self


@dataclass
class Check:
    """One check of one method."""

    name: str
    figure: float
    threshold: float
    passed: bool
    reason: str


@dataclass
class Verdict:
    """All checks of one method; it passes only when every check does."""

    method: str
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


@dataclass
class VerificationCheck:
    """One verification scenario run for one method: its figure beside the retrain reference's,
    the threshold, pass/fail and a one-line reason (see ``unlearn_core.verification.checks``)."""

    name: str  # "inversion", "backdoor" or "restor"
    method: str
    figure: float
    reference: float  # the same figure for the retrain reference
    threshold: float
    passed: bool
    reason: str
    seconds: float = 0.0


def _gap_check(name: str, what: str, value: float, reference: float, limit: float,
               scale: float = 100.0, unit: str = " points") -> Check:
    gap = abs(value - reference)
    if math.isnan(gap):
        return Check(name, gap, limit, True, f"{what}: not measurable here, not held against it")
    passed = gap <= limit
    fmt = ".1f" if scale != 1.0 else ".3f"
    reason = (f"{what} {scale * value:{fmt}} vs retrain {scale * reference:{fmt}}: "
              f"{'within' if passed else 'off by more than'} {scale * limit:{fmt}}{unit}")
    return Check(name, gap, limit, passed, reason)


def judge(result, thresholds: VerdictThresholds | None = None) -> list[Verdict]:
    """One verdict per method of an ``AuditResult``."""
    t = thresholds or VerdictThresholds()
    ref = result.retrain
    closeness = {c.name: c for c in getattr(result, "closeness", [])}
    out = []
    for e in result.methods:
        v = Verdict(e.name)
        v.checks.append(_gap_check("forget accuracy", "forget accuracy", e.accuracy.forget,
                                   ref.accuracy.forget, t.forget_acc_gap))
        v.checks.append(_gap_check("retain accuracy", "retain accuracy", e.accuracy.retain,
                                   ref.accuracy.retain, t.retain_acc_gap))
        v.checks.append(_gap_check("test accuracy", "test accuracy", e.accuracy.test,
                                   ref.accuracy.test, t.test_acc_gap))
        v.checks.append(_gap_check("membership AUC", "attack AUC forget vs unseen",
                                   e.mia.auc_forget_vs_test, ref.mia.auc_forget_vs_test,
                                   t.mia_auc_gap, scale=1.0, unit=""))
        v.checks.append(_gap_check("MIA-efficacy", "MIA-efficacy", e.mia_efficacy,
                                   ref.mia_efficacy, t.mia_efficacy_gap))
        c = closeness.get(e.name)
        if c is not None:
            ok = c.js_forget <= t.js_forget_max
            v.checks.append(Check("output divergence", c.js_forget, t.js_forget_max, ok,
                                  f"JS divergence to retrain on the forget set {c.js_forget:.3f}"
                                  f" {'<=' if ok else '>'} {t.js_forget_max:.3f}"))
        u = next((r for r in getattr(result, "ulira", []) if r.method == e.name), None)
        if u is not None:
            gap = abs(u.auc - 0.5)
            ok = gap <= t.ulira_auc_gap
            v.checks.append(Check("U-LiRA", gap, t.ulira_auc_gap, ok,
                                  f"U-LiRA AUC {u.auc:.3f}: unlearned {'cannot' if ok else 'can'}"
                                  f" be told from never seen ({len(u.scores_unlearned)} trials)"))
        for vc in getattr(result, "checks", []):
            if vc.method == e.name:
                v.checks.append(Check(vc.name, vc.figure, vc.threshold, vc.passed, vc.reason))
        out.append(v)
    return out
