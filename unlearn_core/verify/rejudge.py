"""The verdicts judged again from the recorded measurements: a flipped status is caught even when
the file was re-hashed, and so is a verdict or a check removed from it (every verdict and check
the recorded measurements imply must be there)."""


from __future__ import annotations

from unlearn_core.audit.run import AuditResult, judge_audit
from unlearn_core.checks.judge import judging_rules
from unlearn_core.verify.result import VerifyResult, _close
from unlearn_core.version import JUDGE_RULES


def rules_of(result: AuditResult) -> int:
    """The judging rules a result was judged under (``version.JUDGE_RULES``; 1 unrecorded)."""
    try:
        return int((getattr(result, "versions", None) or {}).get("judge_rules", 1))
    except (TypeError, ValueError):
        return 1


def rules_notes(then_v, today_v, then: int) -> list[str]:
    """What today's rules read otherwise than the rules ``then`` a report was judged under: the
    verdict and each check whose status moved, in words (notes, not differences)."""
    today = {c.check: c.status for c in today_v.checks}
    moved = [f"{c.title} {c.status} -> {today[c.check]}" for c in then_v.checks
             if today.get(c.check, c.status) != c.status]
    if not moved and then_v.status == today_v.status:
        return []
    return [f"{then_v.method}: judged {then_v.status} under rules {then}; today's rules read its "
            f"recorded figures as {today_v.status} ({'; '.join(moved) or 'no check moved'})"]


def rejudge(old: AuditResult, out: VerifyResult) -> None:
    """Judge the recorded measurements again with the recorded settings: a verdict or a check
    status edited in the report (even with its hash recomputed) differs from what its own
    figures give. Every method's verdict and each of its checks judged again must be in the
    report: one removed (its hash recomputed) is a difference, not a shorter report."""
    if old.verdicts and not old.measurements:
        if old.evidence is not None:  # a release that records evidence records measurements
            out.differences.append("the verdicts' measurements are not in the report "
                                   "(removed?): its verdicts cannot be judged again")
            return
        out.notes.append("the verdicts were recorded by an earlier release without their "
                         "measurements: they cannot be judged again, only re-run")
        return
    # the statuses are judged again under the rules the report was judged with (rules 3 moved
    # some); the statement of assurance and the grade follow rules that changed since an
    # earlier release judged the report: a difference there is a note, said with today's
    # reading, and so is a verdict today's rules read otherwise
    then = rules_of(old)
    with judging_rules(then):
        again = {v.method: v for v in judge_audit(old, old.config.thresholds)}
    recorded = {v.method for v in old.verdicts}
    earlier = then < JUDGE_RULES
    assurance = out.notes if earlier else out.differences
    if earlier:
        out.notes.append(f"judged under the verdict's rules {then}, before today's "
                         f"{JUDGE_RULES} (halfway power; a check without power fails only on "
                         "the forgotten side; an exact proof decides): where today's reading "
                         "differs, that is said below, not counted as an edit")
        for v in judge_audit(old, old.config.thresholds):
            was = again.get(v.method)
            if was is not None:
                out.notes += rules_notes(was, v, then)
    for method, new in again.items():
        if method not in recorded:
            out.differences.append(f"{method}: the report records no verdict, but its recorded "
                                   f"figures judge to {new.status} (removed?)")
    for v in old.verdicts:
        new = again.get(v.method)
        if new is None:
            out.differences.append(f"verdict of {v.method} has no recorded measurements")
            continue
        if new.status != v.status:
            out.differences.append(f"{v.method}: the recorded verdict says {v.status}, its "
                                   f"recorded figures judge to {new.status}")
        elif v.qualifier is not None and (new.qualifier != v.qualifier
                                          or list(new.not_ruled_out) != list(v.not_ruled_out)):
            # the statement of assurance is folded again too (None: an earlier release)
            assurance.append(
                f"{v.method}: the recorded verdict says {v.status}"
                f"{f' ({v.qualifier})' if v.qualifier else ''}, not ruling out "
                f"{', '.join(v.not_ruled_out) or 'nothing'}; its recorded figures judge to "
                f"{new.status}{f' ({new.qualifier})' if new.qualifier else ''}, not ruling out "
                f"{', '.join(new.not_ruled_out) or 'nothing'}")
        _regrade(v, new, out, assurance)
        by_check = {(c.check, c.title): c for c in new.checks}
        listed = {(c.check, c.title) for c in v.checks}
        for key, n in by_check.items():
            if key not in listed:
                out.differences.append(f"{v.method}: check {n.title} ({n.status}) is missing "
                                       "from the recorded verdict (removed?)")
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


def _regrade(v, new, out: VerifyResult, differences: list[str]) -> None:
    """The level of assurance and the ranking figure graded again (``checks.levels``): a level,
    its blockers or a distance edited in the report differs. A report without a grade (an
    earlier release) is noted, not a difference."""
    old_g, new_g = getattr(v, "grade", None), new.grade
    if new_g is None:
        return
    if old_g is None:
        if not any("no level of assurance" in n for n in out.notes):
            out.notes.append("the report records no level of assurance (an earlier release): "
                             "its figures grade again but there is nothing to compare")
        return

    def same(a: float, b: float) -> bool:
        return a == b or _close(a, b, 1e-9 * max(1.0, abs(b)))

    if old_g.level != new_g.level or list(old_g.blockers) != list(new_g.blockers):
        differences.append(
            f"{v.method}: the recorded grade says {old_g.label}, its recorded figures grade to "
            f"{new_g.label}" + (f" ({'; '.join(new_g.blockers)})" if new_g.blockers else ""))
    elif not all(same(getattr(old_g, k), getattr(new_g, k))
                 for k in ("gap", "gap_low", "gap_high")) or old_g.gap_check != new_g.gap_check:
        differences.append(
            f"{v.method}: the recorded distance from retraining is {old_g.gap:.4g} "
            f"({old_g.gap_check or 'inside every band'}), its recorded figures give "
            f"{new_g.gap:.4g} ({new_g.gap_check or 'inside every band'})")
