"""More retrains where a pass is borderline: the sequential rule of the verdict.

K retrains estimate their own spread poorly, so the band they draw is wide (a t quantile with
K - 1 degrees of freedom, Bonferroni over the checks): with K = 6 a model that kept a third of
the original's difference from retraining can still land inside it (the forget-only
distillation on digits cnn class 8, seed 3 of the verdict benchmark: 27% kept, inside a band
whose edge lay at 34%). Training more retrains for every audit would cost every user; a
sequential design spends them only where they decide something. When a model passes and a
powered forgetting check puts its figure in the outer part of its band on the original's side
(beyond ``EXTEND_AT`` of the way from the retrains' mean to the band's edge, where a genuine
retrain seldom lands: about 3% of the time per check with K = 6), or when a model is uncertain
(a figure just outside its band, its interval reaching in: six retrains may have drawn the band
tight by chance), the audit trains more retrains and judges every model again against the
larger ensemble (a narrower band when the spread was well estimated, since t shrinks with K; a
fairer one when it was not). A model whose verdict rests on an exact proof (bit-identical to
its own run from scratch) never asks for more: the proof decides its verdict (judging rules 4;
under earlier rules it asked when uncertain, and its own from-scratch ensemble grew).

The rule is two-stage: a genuine model that triggers it is judged once more, against a band
drawn by more retrains that include fresh seeds, so its chance to fail stays near the error
level of the larger band (the verdict benchmark measures it: ``bench/bench_verdict.py``).
What it cannot do: a model whose figure lies within the retrains' own spread passes with any
number of retrains (two forget-only distillations on the benchmark's fresh seed 4, 2.3 and 0.7
retrain standard deviations from their mean); the statement of assurance says how much such a
model may keep (the detection floor).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from unlearn_core.checks.judge import PASS, UNCERTAIN, CheckResult, fmt

EXTEND_AT = 0.5  # a pass whose powered figure lies beyond half the band toward the original
DEFAULT_EXTRA = 4  # retrains added once (6 + 4: a K of about 10 where it decides something)


@dataclass
class Borderline:
    """One passing check whose figure lies in the outer part of its band toward the original:
    the model, the check and where the figure lies (0: the retrains' mean, 1: the edge)."""

    model: str
    check: str
    title: str
    position: float
    figure: float
    unit: str = ""
    uncertain: bool = False  # outside the band, its interval reaching in

    @property
    def text(self) -> str:
        where = f"{self.model}: {self.title} {fmt(self.figure, self.unit)} lies "
        if self.uncertain:
            return where + "just outside its band, its interval reaching into it"
        return (where + f"{100 * self.position:.0f}% of the way from the retrains' mean to "
                "the edge of its band, on the original's side")


def exact_backed(checks: Sequence[CheckResult]) -> bool:
    """The verdict rests on an exact proof: outputs identical to the model's own run from
    scratch without the data."""
    return any(c.check == "exact" and c.status == PASS for c in checks)


def borderline(verdicts: Iterable, at: float = EXTEND_AT) -> list[Borderline]:
    """Where more retrains would decide: the passing checks of passing verdicts whose
    powered figure lies beyond ``at`` of the band toward the original (a pass resting on an
    exact proof aside: it is proven), and the uncertain checks of uncertain verdicts."""
    out = []
    for v in verdicts:
        if v.status not in (PASS, UNCERTAIN) or (v.status == PASS and exact_backed(v.checks)):
            continue
        for c in v.checks:
            if v.status == UNCERTAIN and c.status == UNCERTAIN:
                out.append(Borderline(v.method, c.check, c.title, float(c.position),
                                      c.figure, c.unit, uncertain=True))
            elif (v.status == PASS and c.status == PASS and c.kind == "forgetting"
                  and c.powered and c.position > at):
                out.append(Borderline(v.method, c.check, c.title, float(c.position),
                                      c.figure, c.unit))
    return out


def extension_note(found: Sequence[Borderline], k_before: int, k_added: int) -> str:
    """Why the audit trained more retrains, in words (what the report and the CLI print)."""
    first = max(found, key=lambda b: (not b.uncertain, b.position))
    more = f" and {len(found) - 1} other borderline figure(s)" if len(found) > 1 else ""
    return (f"{k_added} more retrains trained ({k_before} + {k_added} = {k_before + k_added}) "
            f"and every model judged again against them: {first.text}{more}; a pass that "
            "close to the edge, or a figure just outside, is decided by a band of more "
            "retrains")


__all__ = ["Borderline", "DEFAULT_EXTRA", "EXTEND_AT", "borderline", "exact_backed",
           "extension_note"]
