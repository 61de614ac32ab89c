"""Levels of assurance: a verdict that grades methods, not only gates them (issue 26).

A verdict is FAIL as soon as one check lands outside the retrain band, which is the truth at the
strictest standard but cannot tell a user which cheaper method meets a weaker, still useful
one. Each level is a named set of checks that must all pass (or lack power), strict to weaker;
a method's grade is the strictest level it reaches, what kept it from the next (the checks that
did not pass, or the power that was missing), and one figure that ranks methods by closeness
to retraining.

1. *indistinguishable from retraining*: every check, outputs and internals, lands in the
   retrain band (today's plain PASS): retrain equivalence, the standard of Hayes et al.,
   "Inexact unlearning needs more careful evaluations to avoid a false sense of privacy", 2024,
   and of KLOM's distance between the output distributions of unlearned and retrained models
   (Georgiev et al., arXiv 2410.23232).
2. *the forgotten data looks unseen and the model kept its utility*: membership (the threshold
   attacks, MIA-efficacy of Jia et al., NeurIPS 2023; U-LiRA of Hayes et al. 2024 when run),
   the forget set's accuracy and class behaviour, utility and the checks that look inside
   (the probe, CKA, relearning) all pass, without requiring the retraining's exact loss levels
   (``LOSS_LEVEL``: the median forget loss, the divergence to the retrains' outputs, KLOM). A
   loss that fails on the *more* forgotten side still blocks it: an over-forgotten forget set
   is itself a membership signal (Hayes et al. 2024). It also needs a pass of a check that
   sees output suppression (``families``) with halfway power (``judge.HALFWAY_MARGIN``: a
   model that kept half of what the original holds would fail it), so that its words, the
   data's influence is gone, are backed by the model's internals.
3. *forgotten on the outputs only*: the forget set's and the forgotten class's accuracy and the
   utility checks pass (the model no longer predicts the data and kept its utility); neither
   membership nor the model's internals are required, so output suppression is not ruled out
   (a suppression forgery may reach it, and that is what it is).

An exact proof (outputs identical, bit for bit, to the method's own run from scratch without the
data) reaches level 1 whatever a statistical check says, as it decides the verdict
(``checks.verdict.fold``, judging rules 4).

Every level also needs a forgetting check that passed with power (doing nothing would have
failed it; it may be one the level does not require): a level no powered check supports is not
reached, and the blocker says the power was missing. An inconclusive verdict reaches no level.
The levels are nested: a model at level 1 is at 2 and 3.

The ranking figure (``gap``) is the largest distance of a band check's figure from its retrain
band, in band half-widths (0 inside), over the forgetting and utility checks, with an interval
from the checks' standard errors (the distance over each figure's interval, at the judge's
Bonferroni level), and names the check it comes from. Plain data in (judged checks, a status,
the forgery families each check sees), plain data out: ``verify`` grades the recorded figures
again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

from unlearn_core.checks.judge import FAIL, PASS, UNCERTAIN, CheckResult, rules_in_force

NO_LEVEL = 0  # no level reached
# the strictest level first: (short name, the words a verdict says)
LEVELS = {
    1: ("retrain-equivalent", "indistinguishable from retraining"),
    2: ("looks unseen", "the forgotten data looks unseen and the model kept its utility"),
    3: ("outputs only", "forgotten on the outputs only"),
}
# the checks of the retraining's exact output levels, required at level 1 only
LOSS_LEVEL = frozenset({"forget_loss", "output_divergence", "klom"})
# the membership checks, required from level 2 up
MEMBERSHIP = frozenset({"membership_auc", "mia_efficacy", "ulira"})
# the families whose exclusion by a powered inside check level 2 needs
INSIDE_FAMILY = "suppression"
# checks that see those families from the outputs alone (an exact method's outputs equal its
# run from scratch, bit for bit): required at every level, unlike the checks that look inside
OUTPUT_PROOFS = frozenset({"exact"})


@dataclass
class Grade:
    """A verdict's level of assurance and its ranking figure (see the module docstring)."""

    level: int = NO_LEVEL  # 1 strictest .. 3; 0: none reached
    blockers: list[str] = field(default_factory=list)  # what kept it from the next level
    gap: float = math.nan  # largest distance from a retrain band, in band half-widths
    gap_low: float = math.nan
    gap_high: float = math.nan
    gap_check: str = ""  # the title of the check the gap comes from

    @property
    def name(self) -> str:
        """The level's short name ("looks unseen"), or "none"."""
        return LEVELS[self.level][0] if self.level in LEVELS else "none"

    @property
    def words(self) -> str:
        """The level in plain words, or that none was reached."""
        return LEVELS[self.level][1] if self.level in LEVELS else "no level of assurance"

    @property
    def label(self) -> str:
        """'level 2: the forgotten data looks unseen ...' or 'no level'."""
        return f"level {self.level}: {self.words}" if self.level in LEVELS else "no level"


def _required(level: int, c: CheckResult, families: dict[str, Sequence[str]]) -> bool:
    """Whether ``level`` requires check ``c`` to pass: level 1 every check; level 2 all but the
    loss levels (a loss failed on the over-forgotten side stays required); level 3 neither
    those nor the membership checks nor the checks that look inside."""
    if level == 1:
        return True
    if level == 2:
        return c.check not in LOSS_LEVEL or (c.over_forgetting and c.status == FAIL)
    return (c.check not in LOSS_LEVEL | MEMBERSHIP
            and (c.check in OUTPUT_PROOFS or not families.get(c.check)))


def _blockers(level: int, checks: Sequence[CheckResult], status: str,
              families: dict[str, Sequence[str]]) -> list[str]:
    """What keeps a model from ``level``, in words; empty when it reaches it."""
    if status not in (PASS, FAIL, UNCERTAIN):
        return [f"the verdict is {status}: no check with power decided"]
    if status == PASS and rules_in_force() >= 4 and any(
            c.check in OUTPUT_PROOFS and c.status == PASS for c in checks):
        return []  # an exact proof reaches every level, as it decides the verdict (rules 4)
    needed = [c for c in checks if _required(level, c, families)]
    out = [f"{c.title}: {c.status}" + (" (more forgotten than retraining)"
                                      if c.over_forgetting else "")
           for c in needed if c.status in (FAIL, UNCERTAIN)]
    if not any(c.status == PASS and c.powered and c.kind == "forgetting" for c in checks):
        out.append("no forgetting check with power passed (doing nothing could pass them)")
    sees = [c for c in needed if INSIDE_FAMILY in families.get(c.check, ())]
    if (level <= 2 and not any(c.status == PASS and c.halfway_powered for c in sees)
            and not any(c.status in (FAIL, UNCERTAIN) for c in sees)):  # else listed above
        inside = [f"{c.title}: {c.status}" + (" with too little power to rule out a partial "
                                              "forgery" if c.status == PASS else "")
                  for c in checks if INSIDE_FAMILY in families.get(c.check, ())]
        out.append("no powered check of the model's inside passed ("
                   + (", ".join(inside) if inside else "none ran") + "), so output suppression "
                   "is not ruled out")
    return out


def gap_of(checks: Sequence[CheckResult]) -> tuple[float, float, float, str]:
    """(gap, low, high, check title): the largest distance from a retrain band in band
    half-widths over the forgetting and utility checks (0 inside every band), its interval
    from the figures' intervals, and the check it comes from; NaN when none has a band."""
    banded = [c for c in checks if c.kind in ("forgetting", "utility")
              and math.isfinite(getattr(c, "distance", math.nan))]
    if not banded:
        return math.nan, math.nan, math.nan, ""
    far = max(banded, key=lambda c: c.distance)
    return (far.distance, max(c.distance_low for c in banded),
            max(c.distance_high for c in banded), far.title if far.distance > 0 else "")


def grade(checks: Sequence[CheckResult], status: str,
          families: dict[str, Sequence[str]]) -> Grade:
    """The strictest level a verdict with ``status`` and judged ``checks`` reaches, what kept it
    from the next, and its ranking figure. ``families``: check name -> the forgery families a
    powered pass of it rules out (``checks.verdict.check_families``)."""
    gap, low, high, where = gap_of(checks)
    level, blockers = NO_LEVEL, _blockers(3, checks, status, families)
    for lv in (3, 2, 1):
        if _blockers(lv, checks, status, families):
            break
        level = lv
        blockers = _blockers(lv - 1, checks, status, families) if lv > 1 else []
    return Grade(level, blockers, gap, low, high, where)


def rank_key(g: Grade | None) -> tuple[int, float]:
    """Sort key: the strictest level first, then the smallest gap (ungraded last)."""
    if g is None:
        return (len(LEVELS) + 2, math.inf)
    lv = g.level if g.level in LEVELS else len(LEVELS) + 1
    return (lv, g.gap if math.isfinite(g.gap) else math.inf)


__all__ = ["Grade", "LEVELS", "LOSS_LEVEL", "MEMBERSHIP", "NO_LEVEL", "gap_of", "grade", "rank_key"]
