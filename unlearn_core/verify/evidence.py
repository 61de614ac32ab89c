"""Every headline figure recomputed exactly from the per-sample evidence the report records, and
shares checked to be counts over their n."""


from __future__ import annotations

import math

import numpy as np

from unlearn_core.audit.run import AuditResult
from unlearn_core.verify.result import VerifyResult, _fmt


def check_evidence(old: AuditResult, out: VerifyResult) -> None:
    """Every figure of every model and every per-sample check measurement recomputed exactly
    from the per-sample evidence the report records: an edited figure (its hash recomputed, no
    signature) differs from what its own evidence gives."""
    from unlearn_core.audit.evidence import (
        STATS,
        measurement_figure,
        model_figures,
        recorded_model_figures,
        same,
        unpack_bits,
    )
    from unlearn_core.metrics.mia import auc

    ev = old.evidence
    if ev is None:
        out.warnings.append("the report records no per-sample evidence (an earlier release): "
                            "its figures are checked only by a re-run")
        return
    before, checked = len(out.differences), 0
    n_classes = len(old.class_names)
    sizes = {"forget": old.n_forget, "retain": old.n_retain, "test": old.n_test}
    seen: set[str] = set()
    for e in [*old.evaluations(), *old.references, *old.controls]:
        if e.name in seen:
            continue
        seen.add(e.name)
        mev = ev.model(e.name)
        if mev is None:
            if not any(u.startswith(f"{e.name}: ") for u in ev.uncovered):
                out.differences.append(f"{e.name}: its figures have no per-sample evidence in "
                                       "the report (removed?)")
            continue
        try:
            for part, n in sizes.items():
                flags = unpack_bits(getattr(mev, f"{part}_correct"))
                if flags is not None and len(flags) != n:
                    raise ValueError(f"{len(flags)} {part} outcomes for {n} {part} samples")
            got = model_figures(mev, ev.test_labels, old.forget_classes, n_classes)
        except ValueError as err:
            out.differences.append(f"{e.name}: its per-sample evidence cannot be read ({err})")
            continue
        recorded = recorded_model_figures(e, n_classes)
        got["MIA AUC forget vs unseen"] = auc(np.asarray(e.mia.forget_scores),
                                              np.asarray(e.mia.test_scores))
        recorded["MIA AUC forget vs unseen"] = e.mia.auc_forget_vs_test
        for label, value in got.items():
            checked += 1
            if not same(value, recorded[label]):
                source = "scores give" if label.startswith("MIA AUC") else "evidence gives"
                out.differences.append(f"{e.name}: {label} recorded {_fmt(recorded[label])}, "
                                       f"its per-sample {source} {_fmt(value)}")
    for mev in ev.models:  # evidence of a model whose figures left the report: removed
        if mev.model not in seen:
            out.differences.append(f"{mev.model}: the report holds its per-sample evidence "
                                   "but not its figures (removed?)")
    measured = {(m.check, m.model) for m in old.measurements}
    for mev in ev.measurements:
        if (mev.check, mev.model) not in measured:
            out.differences.append(f"{mev.model}: the report holds the per-sample evidence of "
                                   f"check {mev.check} but not its measurement (removed?)")
    for m in old.measurements:
        if m.check not in STATS:
            continue
        mev = ev.measurement(m.check, m.model)
        if mev is None:
            if f"{m.model}: check {m.check}" not in ev.uncovered:
                out.differences.append(f"{m.model}: check {m.check} has no per-sample evidence "
                                       "in the report (removed?)")
            continue
        try:
            got = measurement_figure(mev) if mev.stat == STATS[m.check] else None
        except ValueError as err:
            out.differences.append(f"{m.model}: the evidence of check {m.check} cannot be read "
                                   f"({err})")
            continue
        checked += 1
        if got is None or not same(got, m.figure):
            out.differences.append(f"{m.model}: check {m.check} recorded {_fmt(m.figure)}, its "
                                   f"per-sample evidence gives {_fmt(got)}")
    if ev.uncovered:
        out.warnings.append("no per-sample evidence (not reproduced exactly when recorded): "
                            + ", ".join(ev.uncovered))
    if len(out.differences) == before:
        out.notes.append(f"every figure ({checked}) follows exactly from the per-sample evidence "
                         "the report records")


def _share_of(value: float, n: int) -> bool:
    """Whether ``value`` can be a share of ``n`` samples (k / n for a whole k)."""
    if value is None or math.isnan(value) or n <= 0:
        return True
    if not math.isfinite(value):  # an infinite share is no share (and round() would overflow)
        return False
    k = value * n
    return abs(k - round(k)) < 1e-6 and -1e-9 <= value <= 1 + 1e-9


def check_shares(old: AuditResult, out: VerifyResult) -> None:
    """Accuracies and MIA-efficacy are shares of a known number of samples: a figure that is no
    k / n (an edit by less than one sample) is a difference, with or without evidence."""
    from unlearn_core.audit.evidence import STATS

    seen: set[str] = set()
    for e in [*old.evaluations(), *old.references, *old.controls]:
        if e.name in seen:
            continue
        seen.add(e.name)
        for label, value, n in (("forget accuracy", e.accuracy.forget, old.n_forget),
                                ("retain accuracy", e.accuracy.retain, old.n_retain),
                                ("test accuracy", e.accuracy.test, old.n_test),
                                ("MIA-efficacy", e.mia_efficacy, old.n_forget)):
            if not _share_of(value, n):
                out.differences.append(f"{e.name}: {label} recorded {value!r} is no share of "
                                       f"its {n} samples (k / {n})")
    for m in old.measurements:
        if STATS.get(m.check) == "share" and not _share_of(m.figure, m.n):
            out.differences.append(f"{m.model}: check {m.check} recorded {m.figure!r} is no "
                                   f"share of its {m.n} samples (k / {m.n})")
