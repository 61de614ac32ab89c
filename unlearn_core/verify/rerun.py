"""Re-running: the data found by its SHA-256, the stored weights evaluated again, the recorded
config run again and compared."""


from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import numpy as np

from unlearn_core.audit.run import AuditConfig, AuditResult, run_audit
from unlearn_core.errors import ConfigError
from unlearn_core.progress import ProgressFn
from unlearn_core.serialize import from_jsonable, sha256_file
from unlearn_core.verify.integrity import _artifact_path
from unlearn_core.verify.result import (
    ACC_TOL,
    REEVAL_FLOAT_TOL,
    SCORE_TOL,
    VerifyResult,
    _close,
    _fmt,
)


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


def _stored_models(payload: dict, out: VerifyResult, artifacts: dict[str, Path],
                   base: Optional[Path]) -> dict:
    """The stored models (weights + spec artifacts, unchanged since the audit) by label."""
    from unlearn_core.models import load_model

    arts = {a["name"]: a for a in payload["reproducibility"].get("artifacts", [])}
    models = {}
    for name, art in arts.items():
        if not name.endswith(".safetensors") or name[:-len(".safetensors")] + ".json" not in arts:
            continue
        label = name[:-len(".safetensors")]
        weights = _artifact_path(art, artifacts, base)
        spec = _artifact_path(arts[label + ".json"], artifacts, base)
        if not (weights.is_file() and spec.is_file()) or sha256_file(weights) != art["sha256"] \
                or sha256_file(spec) != arts[label + ".json"]["sha256"]:
            continue  # already a difference of check_integrity
        try:
            models[label] = load_model(weights, spec)
        except Exception as err:  # a stored model this code cannot load is itself a finding
            out.differences.append(f"stored weights of {label} cannot be loaded ({err})")
    return models


def reevaluate(payload: dict, old: AuditResult, out: VerifyResult, data: Optional[Path],
               artifacts: Optional[dict[str, Path]] = None, base: Optional[Path] = None) -> None:
    """The stored weights evaluated again on the data, without training: each figure of each
    stored model within one sample's worth of the recorded one (a share over n samples: 1/n;
    an AUC: 1/n forget samples; continuous figures: ``REEVAL_FLOAT_TOL`` relative)."""
    from unlearn_core.audit.data import AuditData
    from unlearn_core.audit.evidence import (
        collect,
        measurement_figure,
        model_figures,
        recorded_model_figures,
        unpack_bits,
    )
    from unlearn_core.audit.run import load_data
    from unlearn_core.data.forget import resolve_forget
    from unlearn_core.metrics.mia import auc, membership_score
    from unlearn_core.models import model_hash
    from unlearn_core.models.training import predict_log_proba

    models = _stored_models(payload, out, artifacts or {}, base)
    if not models:
        out.notes.append("no stored weights to evaluate again: the figures are compared with "
                         "re-trained models only")
        return
    config = from_jsonable(AuditConfig, payload["reproducibility"]["config"])
    if data is not None:
        config.dataset = str(data)
    dataset, splits = load_data(config)
    forget_set = resolve_forget(dataset, splits, config.forget, config.seed)
    for name, now in (("dataset_fingerprint", dataset.fingerprint()),
                      ("splits_fingerprint", splits.fingerprint()),
                      ("forget_fingerprint", forget_set.fingerprint())):
        if getattr(old, name) != now:
            out.differences.append(f"re-evaluation: {name.replace('_', ' ')} differs: the data "
                                   "or split is not the one audited")
            return
    audit_data = AuditData(dataset, splits, forget_set)
    fresh = collect(old, models, audit_data, keep_exact=False)
    n_classes = len(old.class_names)
    forget, test = audit_data.forget, audit_data.test
    same_class = np.isin(test.y, old.forget_classes) if old.forget_classes else \
        np.ones(len(test), bool)
    before = len(out.differences)
    evals = {e.name: e for e in [*old.evaluations(), *old.references, *old.controls]}
    for mev in fresh.models:
        e = evals[mev.model]
        got = model_figures(mev, fresh.test_labels, old.forget_classes, n_classes)
        recorded = recorded_model_figures(e, n_classes)
        sizes = {"forget accuracy": len(forget), "retain accuracy": old.n_retain,
                 "test accuracy": len(test), "MIA-efficacy": len(forget),
                 "test accuracy, other classes": int((~np.isin(test.y, old.forget_classes))
                                                     .sum()),
                 "test accuracy, forgotten classes": int(np.isin(test.y, old.forget_classes)
                                                         .sum())}
        sizes.update({f"test accuracy of class {c}": int((test.y == c).sum())
                      for c in range(n_classes)})
        model = models[mev.model]
        lp = predict_log_proba(model, forget.X), predict_log_proba(model, test.X)
        got["MIA AUC forget vs unseen"] = auc(
            membership_score(lp[0], forget.y, old.config.mia_score),
            membership_score(lp[1], test.y, old.config.mia_score)[same_class])
        recorded["MIA AUC forget vs unseen"] = e.mia.auc_forget_vs_test
        sizes["MIA AUC forget vs unseen"] = len(forget)
        for label, value in got.items():
            tol = 1.0 / max(sizes.get(label, 1), 1) + 1e-9
            if not _close(value, recorded[label], tol):
                out.differences.append(f"{e.name}: {label} recorded {_fmt(recorded[label])}, "
                                       f"its stored weights give {_fmt(value)} (tolerance one "
                                       f"sample, {tol:.3g})")
        if model_hash(model) != e.model_hash:
            out.differences.append(f"{e.name}: the stored weights are not the model audited "
                                   "(model hash differs)")
    recorded_m = {(m.check, m.model): m for m in old.measurements}
    for mev in fresh.measurements:
        m = recorded_m[(mev.check, mev.model)]
        value = measurement_figure(mev)
        if mev.stat == "share":
            flags = unpack_bits(mev.bits)
            tol = 1.0 / max(len(flags) if flags is not None else 1, 1) + 1e-9
        elif mev.stat == "weighted_auc":
            tol = 1.0 / max(mev.n_pos, 1) + 1e-9
        else:
            tol = REEVAL_FLOAT_TOL * max(1.0, abs(m.figure)) if not math.isnan(m.figure) else 0
        if not _close(value, m.figure, tol):
            out.differences.append(f"{m.model}: check {m.check} recorded {_fmt(m.figure)}, its "
                                   f"stored weights give {_fmt(value)} (tolerance {tol:.3g})")
    if len(out.differences) == before:
        out.notes.append(f"stored weights of {len(fresh.models)} models evaluated again on the "
                         f"data: {len(fresh.models)} models' figures and "
                         f"{len(fresh.measurements)} check figures within one sample's worth")


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


def _on_trust(out: VerifyResult, name: str, path: Path, shown: str) -> Path:
    """``path``, with the warning that the report records no SHA-256 of its data file
    ``name``, so the file (``shown``) is taken on trust."""
    out.warnings.append(f"the report records no sha256 of its data file '{name}': {shown} is "
                        "taken on trust (a re-run still compares the data fingerprint)")
    return path


def check_data(payload: dict, out: VerifyResult, data: Optional[str | Path] = None,
               base: Optional[Path] = None, needed: bool = True) -> Optional[Path]:
    """Find the audited data file and check it by SHA-256: ``data`` (``--data``) if given, else
    the recorded path, else the file of that name beside the report or under its ``data/``.
    Returns the file a re-run should read (``None``: a built-in dataset, or none usable; the
    latter is a difference when ``needed``)."""
    repro = payload["reproducibility"]
    dataset = str(repro.get("config", {}).get("dataset", ""))
    rec = repro.get("data")
    from unlearn_core.data import BUILTIN_DATASETS

    if rec is None and dataset in BUILTIN_DATASETS:
        if data is not None:
            out.warnings.append(f"--data ignored: the audit used the built-in dataset {dataset}")
        return None
    recorded = (rec or {}).get("sha256")
    name = (rec or {}).get("file") or Path(dataset).name
    if data is not None:
        path = Path(data).expanduser()
        if not path.is_file():
            raise ConfigError(f"--data '{data}' is not a file")
        if recorded is None:
            return _on_trust(out, name, path, f"--data {path.name}")
        got = sha256_file(path)
        if got != recorded:
            out.differences.append(f"data: --data '{data}' has sha256 {got[:16]}..., the audited "
                                   f"file '{name}' has sha256 {recorded[:16]}...: not the data "
                                   "audited")
            return None
        out.notes.append(f"data file {path.name} matches the audited '{name}' by sha256")
        return path
    candidates = [Path(dataset).expanduser()]
    if base is not None:
        candidates += [base / name, base / "data" / name]
    changed = None
    for path in candidates:
        if not path.is_file():
            continue
        if recorded is None:
            return _on_trust(out, name, path, str(path))
        got = sha256_file(path)
        if got == recorded:
            out.notes.append(f"data file {name} matches its recorded sha256")
            return path
        changed = changed or (path, got)
    if changed is not None:
        out.differences.append(f"data: the file at {changed[0]} has sha256 {changed[1][:16]}..., "
                               f"the audited '{name}' has {recorded[:16]}...: it changed since "
                               "the audit (pass --data PATH to point at the audited file)")
    elif needed:
        out.differences.append(f"data: the audited file '{name}'"
                               f"{f' (sha256 {recorded[:16]}...)' if recorded else ''} is not at "
                               f"'{dataset}': pass --data PATH to re-run on it")
    else:
        out.warnings.append(f"data file '{name}' not checked: not at '{dataset}' (pass --data "
                            "PATH)")
    return None


def _rerun(payload: dict, old: AuditResult, out: VerifyResult, data: Optional[Path],
           progress: Optional[ProgressFn], claim_files: Optional[dict] = None) -> None:
    config = from_jsonable(AuditConfig, payload["reproducibility"]["config"])
    if data is not None:
        config.dataset = str(data)
    if config.claim is not None:  # the submitted files where they were found, re-loaded
        from unlearn_core.verify.claim import relocate

        config.claim = relocate(config.claim, claim_files or {})
    new = run_audit(config, progress).result
    compare_results(old, new, out)
    compare_measurements(old, new, out)
