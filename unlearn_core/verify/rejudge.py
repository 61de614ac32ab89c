"""The verdicts judged again from the recorded measurements: a flipped status is caught even when
the file was re-hashed."""


from __future__ import annotations

from unlearn_core.audit.run import AuditResult
from unlearn_core.checks.verdict import judge_result
from unlearn_core.verify.result import VerifyResult, _close


def rejudge(old: AuditResult, out: VerifyResult) -> None:
    """Judge the recorded measurements again with the recorded settings: a verdict or a check
    status edited in the report (even with its hash recomputed) differs from what its own
    figures give."""
    if old.verdicts and not old.measurements:
        out.notes.append("the verdicts were recorded by an earlier release without their "
                         "measurements: they cannot be judged again, only re-run")
        return
    again = {v.method: v for v in judge_result(old, old.config.thresholds)}
    for v in old.verdicts:
        new = again.get(v.method)
        if new is None:
            out.differences.append(f"verdict of {v.method} has no recorded measurements")
            continue
        if new.status != v.status:
            out.differences.append(f"{v.method}: the recorded verdict says {v.status}, its "
                                   f"recorded figures judge to {new.status}")
        by_check = {(c.check, c.title): c for c in new.checks}
        for c in v.checks:
            n = by_check.get((c.check, c.title))
            if n is None:
                out.differences.append(f"{v.method}: check {c.title} cannot be judged again "
                                       "from the recorded figures")
            elif n.status != c.status or not _close(n.figure, c.figure, 1e-9):
                out.differences.append(f"{v.method}: check {c.title} recorded {c.status} at "
                                       f"{c.figure:.4g}, its figures give {n.status} at "
                                       f"{n.figure:.4g}")
    if old.verdicts and not out.differences:
        out.notes.append("the recorded verdicts follow from the recorded figures")
