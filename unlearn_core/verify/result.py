"""What a verification found (differences and notes) and the tolerances it compares with."""


from __future__ import annotations

import math
from dataclasses import dataclass, field

ACC_TOL = 0.02


SCORE_TOL = 0.05


REEVAL_FLOAT_TOL = 1e-4  # relative, for continuous figures of re-evaluated stored weights


@dataclass
class VerifyResult:
    """What was checked and what differs; ``ok`` only when nothing does."""

    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # not a difference, but worth saying

    @property
    def ok(self) -> bool:
        return not self.differences


def _close(a: float, b: float, tol: float) -> bool:
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= tol


def _fmt(v: float) -> str:
    return "NaN" if v is None or math.isnan(v) else f"{v:.4f}"
