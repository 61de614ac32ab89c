"""Which checks does each forgery fool? The forgeries (``methods.forgeries``) are attacks an
auditor runs against its own checks; this reads an audit's judged verdicts and says, per forgery,
which checks it passes (fooled), which catch it (fail) and which cannot decide (uncertain, no
power). A check that a forgery fools is blind to that way of hiding knowledge on this data."""

from __future__ import annotations

from dataclasses import dataclass, field

FORGERY_METHODS = ("forged", "forge_logit_bias", "forge_head_only", "forge_features",
                   # the adaptive forgeries, tuned on the forger's own retrains (issue 21)
                   "forge_calibrated_bias", "forge_calibrated_head", "forge_forget_distill",
                   "forge_exact_suppression")


@dataclass
class ForgeryOutcome:
    """One forgery's audit: its verdict and each check's status, split by what it means."""

    forgery: str  # the run label
    method: str  # the registry name
    verdict: str
    statuses: dict[str, str] = field(default_factory=dict)  # check title -> status

    @property
    def fooled(self) -> list[str]:
        return [c for c, s in self.statuses.items() if s == "pass"]

    @property
    def caught_by(self) -> list[str]:
        return [c for c, s in self.statuses.items() if s == "fail"]

    @property
    def undecided(self) -> list[str]:
        return [c for c, s in self.statuses.items() if s not in ("pass", "fail")]


def forgery_outcomes(result) -> list[ForgeryOutcome]:
    """The outcome of every forgery the audit ran, in run order (empty when none ran)."""
    registry = {e.name: (e.method or e.name) for e in result.methods}
    out = []
    for v in getattr(result, "verdicts", None) or []:
        method = registry.get(v.method, v.method)
        if method in FORGERY_METHODS:
            out.append(ForgeryOutcome(v.method, method, v.status,
                                      {c.title: c.status for c in v.checks}))
    return out
