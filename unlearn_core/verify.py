"""Re-check an audit report: is it untouched, are its artifacts the recorded files, and does
re-running the recorded config reproduce its fingerprints and figures?

Tolerances (stated in every verdict): accuracies within 2 points, attack AUCs and MIA-efficacy
within 0.05. Fingerprints of data, splits and forget set must match exactly. On the same machine
and library versions, model hashes match bit for bit; that is reported, not required.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .audit import AuditConfig, AuditResult, run_audit
from .errors import ConfigError
from .progress import ProgressFn
from .report.build import REPORT_VERSION, content_hash
from .serialize import from_jsonable
from .store import sha256_file
from .verdict import judge_result

ACC_TOL = 0.02
SCORE_TOL = 0.05


@dataclass
class VerifyResult:
    """What was checked and what differs; ``ok`` only when nothing does."""

    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def load_report(path: str | Path) -> dict:
    try:
        payload = json.loads(Path(path).read_text())
    except OSError as err:
        raise ConfigError(f"cannot read report '{path}': {err.strerror}")
    except ValueError as err:
        raise ConfigError(f"report '{path}' is not valid JSON: {err}")
    if not isinstance(payload, dict) or "result" not in payload or "reproducibility" not in payload:
        raise ConfigError(f"'{path}' is not an audit report (no result/reproducibility block)")
    return payload


def _close(a: float, b: float, tol: float) -> bool:
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= tol


def check_integrity(payload: dict, out: VerifyResult) -> None:
    if payload.get("report_version") != REPORT_VERSION:
        out.differences.append(f"report version {payload.get('report_version')} is not "
                               f"{REPORT_VERSION}")
    if payload.get("content_sha256") != content_hash(payload):
        out.differences.append("report content was edited: its SHA-256 does not match the one "
                               "recorded when it was written")
    for art in payload["reproducibility"].get("artifacts", []):
        path = Path(art["path"])
        if not path.exists():
            out.differences.append(f"artifact {art['name']} is missing ({path})")
        elif sha256_file(path) != art["sha256"]:
            out.differences.append(f"artifact {art['name']} changed since the audit ({path})")
        else:
            out.notes.append(f"artifact {art['name']} unchanged")


def compare_results(old: AuditResult, new: AuditResult, out: VerifyResult) -> None:
    for name in ("dataset_fingerprint", "splits_fingerprint", "forget_fingerprint"):
        if getattr(old, name) != getattr(new, name):
            out.differences.append(f"{name.replace('_', ' ')} differs: the data or split is not "
                                   "the one audited")
    new_by_name = {e.name: e for e in new.evaluations()}
    for e in old.evaluations():
        n = new_by_name.get(e.name)
        if n is None:
            out.differences.append(f"{e.name} did not run again")
            continue
        figures = [("forget accuracy", e.accuracy.forget, n.accuracy.forget, ACC_TOL),
                   ("retain accuracy", e.accuracy.retain, n.accuracy.retain, ACC_TOL),
                   ("test accuracy", e.accuracy.test, n.accuracy.test, ACC_TOL),
                   ("MIA AUC forget vs unseen", e.mia.auc_forget_vs_test,
                    n.mia.auc_forget_vs_test, SCORE_TOL),
                   ("MIA-efficacy", e.mia_efficacy, n.mia_efficacy, SCORE_TOL)]
        for label, a, b, tol in figures:
            if not _close(a, b, tol):
                out.differences.append(f"{e.name}: {label} recorded {a:.4f}, reproduced {b:.4f} "
                                       f"(tolerance {tol})")
        if e.model_hash == n.model_hash:
            out.notes.append(f"{e.name}: model bit-identical")
    new_checks = {(c.name, c.method): c for c in new.checks}
    for c in old.checks:
        n_c = new_checks.get((c.name, c.method))
        if n_c is None:
            out.differences.append(f"check {c.name} of {c.method} did not run again")
        elif not _close(c.figure, n_c.figure, SCORE_TOL) or c.passed != n_c.passed:
            out.differences.append(f"check {c.name} of {c.method}: recorded {c.figure:.4f} "
                                   f"({'pass' if c.passed else 'fail'}), reproduced "
                                   f"{n_c.figure:.4f} ({'pass' if n_c.passed else 'fail'})")


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


def compare_measurements(old: AuditResult, new: AuditResult, out: VerifyResult) -> None:
    """Every recorded check figure of every model, re-measured, within tolerance."""
    new_by = {(m.check, m.model): m for m in new.measurements}
    for m in old.measurements:
        n = new_by.get((m.check, m.model))
        if n is None:
            out.differences.append(f"{m.model}: check {m.check} was not measured again")
            continue
        tol = ACC_TOL if m.check.endswith("accuracy") else SCORE_TOL * max(1.0, abs(m.figure))
        if not _close(m.figure, n.figure, tol):
            out.differences.append(f"{m.model}: {m.check} recorded {m.figure:.4f}, reproduced "
                                   f"{n.figure:.4f} (tolerance {tol:.3g})")
    again = {v.method: v.status for v in new.verdicts}
    for v in old.verdicts:
        if again.get(v.method) != v.status:
            out.differences.append(f"{v.method}: verdict recorded {v.status}, reproduced "
                                   f"{again.get(v.method)}")


def verify_report(path: str | Path, progress: Optional[ProgressFn] = None,
                  rerun: bool = True) -> VerifyResult:
    """Integrity and artifact checks, then (``rerun``) re-run and compare."""
    payload = load_report(path)
    out = VerifyResult()
    check_integrity(payload, out)
    try:
        old = AuditResult.from_dict(payload["result"])
    except (KeyError, TypeError, ValueError) as err:
        out.differences.append(f"the result block cannot be read: {err}")
        return out
    rejudge(old, out)
    if rerun:
        config = from_jsonable(AuditConfig, payload["reproducibility"]["config"])
        new = run_audit(config, progress).result
        compare_results(old, new, out)
        compare_measurements(old, new, out)
    return out
