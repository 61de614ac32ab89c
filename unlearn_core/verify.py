"""Re-check an audit report: is it untouched, are its artifacts the recorded files, and does
re-running the recorded config reproduce its fingerprints and figures?

Every figure is first recomputed exactly from the per-sample evidence the report records
(``evidence.py``): a figure edited alone, even by half a point with the content hash recomputed
and no signature, is a difference. Re-running then has two parts. The stored weights (the
report's artifacts, or a bundle's) are evaluated again on the data: inference on identical
weights is deterministic up to float noise, so those figures must agree within one sample's
worth (``REEVAL_FLOAT_TOL`` for continuous ones). Only the re-trained models (a fresh audit of
the recorded config) keep the loose tolerances: accuracies within 2 points, attack AUCs and
MIA-efficacy within 0.05. Fingerprints of data, splits and forget set must match exactly. On the
same machine and library versions, model hashes match bit for bit; that is reported, not
required.

A report is a ``report.json``, a ``report.html`` (which embeds the JSON: its visible text must be
what that JSON renders to), a ``report.pdf`` (which embeds the JSON as an attachment: its
verdict lines must be those of that JSON, ``report/pdf_embed.py``) or a bundle ``report.zip``
(``bundle.py``: the report, its data file and its artifacts, verified in a temporary folder).
A signed report (``signing.py``) is checked against the auditor's public key; the data file is
found and checked by its SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Optional

import numpy as np

from .audit import AuditConfig, AuditResult, run_audit
from .errors import ConfigError
from .progress import ProgressFn
from .report.build import EMBED_ID, REPORT_VERSION, content_hash
from .serialize import from_jsonable
from .store import sha256_file
from .verdict import judge_result

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


def check_integrity(payload: dict, out: VerifyResult,
                    artifacts: Optional[dict[str, Path]] = None,
                    base: Optional[Path] = None) -> None:
    """Report version, content hash, and each artifact's SHA-256. ``artifacts``: where each
    artifact is (by name) when not at its recorded path, as in a bundle; else the recorded path,
    then ``base/artifacts/<name>`` (a report folder carried with its artifacts)."""
    if payload.get("report_version") != REPORT_VERSION:
        out.differences.append(f"report version {payload.get('report_version')} is not "
                               f"{REPORT_VERSION}")
    if payload.get("content_sha256") != content_hash(payload):
        out.differences.append("report content was edited: its SHA-256 does not match the one "
                               "recorded when it was written")
    for art in payload["reproducibility"].get("artifacts", []):
        path = _artifact_path(art, artifacts or {}, base)
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


def _fmt(v: float) -> str:
    return "NaN" if v is None or math.isnan(v) else f"{v:.4f}"


def check_evidence(old: AuditResult, out: VerifyResult) -> None:
    """Every figure of every model and every per-sample check measurement recomputed exactly
    from the per-sample evidence the report records: an edited figure (its hash recomputed, no
    signature) differs from what its own evidence gives."""
    from .evidence import (
        STATS,
        measurement_figure,
        model_figures,
        recorded_model_figures,
        same,
        unpack_bits,
    )
    from .metrics.mia import auc

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
    k = value * n
    return abs(k - round(k)) < 1e-6 and -1e-9 <= value <= 1 + 1e-9


def check_shares(old: AuditResult, out: VerifyResult) -> None:
    """Accuracies and MIA-efficacy are shares of a known number of samples: a figure that is no
    k / n (an edit by less than one sample) is a difference, with or without evidence."""
    from .evidence import STATS

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


def _stored_models(payload: dict, out: VerifyResult, artifacts: dict[str, Path],
                   base: Optional[Path]) -> dict:
    """The stored models (weights + spec artifacts, unchanged since the audit) by label."""
    from .models import load_model

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
    from .audit import load_data
    from .audit_data import AuditData
    from .evidence import (
        collect,
        measurement_figure,
        model_figures,
        recorded_model_figures,
        unpack_bits,
    )
    from .forget import resolve_forget
    from .metrics.mia import auc, membership_score
    from .models import model_hash
    from .models.training import predict_log_proba

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


def _artifact_path(art: dict, overrides: dict[str, Path], base: Optional[Path]) -> Path:
    if art.get("name") in overrides:
        return overrides[art["name"]]
    path = Path(art["path"])
    if not path.exists() and base is not None and (base / "artifacts" / path.name).exists():
        return base / "artifacts" / path.name
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_signature(payload: dict, out: VerifyResult,
                    public_key: Optional[str | Path] = None) -> None:
    """A signed report must carry a valid signature over its recomputed content hash (by the
    auditor's ``public_key`` when one is given); an unsigned one is said to be unsigned, and is
    a difference when a public key was given."""
    from .signing import check_signature as valid
    from .signing import load_public_key

    trusted = load_public_key(public_key) if public_key is not None else None
    if "signature" not in payload:
        if trusted is not None:
            out.differences.append("signature: the report is not signed, but --public-key was "
                                   "given: it is not the auditor's signed report")
        else:
            out.warnings.append("the report is unsigned: an edit whose content hash was "
                                "recomputed is caught only by re-judging its verdicts and by a "
                                "re-run (sign with audit --sign-key, check with --public-key)")
        return
    ok, what = valid(payload, content_hash(payload), trusted)
    if not ok:
        out.differences.append(f"signature: {what}")
    elif trusted is not None:
        out.notes.append(f"{what}, the --public-key given: signature valid over the content hash")
    else:
        out.warnings.append(f"{what} (the key named inside the report, valid over the content "
                            "hash); pass --public-key auditor.pub to check it is the auditor's")


def check_data(payload: dict, out: VerifyResult, data: Optional[str | Path] = None,
               base: Optional[Path] = None, needed: bool = True) -> Optional[Path]:
    """Find the audited data file and check it by SHA-256: ``data`` (``--data``) if given, else
    the recorded path, else the file of that name beside the report or under its ``data/``.
    Returns the file a re-run should read (``None``: a built-in dataset, or none usable; the
    latter is a difference when ``needed``)."""
    repro = payload["reproducibility"]
    dataset = str(repro.get("config", {}).get("dataset", ""))
    rec = repro.get("data")
    from .data import BUILTIN_DATASETS

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
            out.warnings.append(f"the report records no sha256 of its data file '{name}': "
                                f"--data {path.name} is taken on trust (a re-run still compares "
                                "the data fingerprint)")
            return path
        got = _sha256(path)
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
            out.warnings.append(f"the report records no sha256 of its data file '{name}': "
                                f"{path} is taken on trust (a re-run still compares the data "
                                "fingerprint)")
            return path
        got = _sha256(path)
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


# --- the HTML report: its embedded JSON, and its visible text against that JSON's rendering ---

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_EMBED = re.compile(r'<script type="application/json" id="' + re.escape(EMBED_ID) +
                    r'">(.*?)</script>', re.S)
_META = re.compile(r'<meta name="audit-report-sha256" content="([^"]*)">')
# sections drawn partly from the audit's live models (thumbnails, relevance maps, inversion
# images): a rendering from the JSON alone cannot draw those parts
_LIVE = {"Forget set", "Relevance maps", "Verification attacks"}


class _Visible(HTMLParser):
    """What a reader sees: text outside scripts and styles per ``<section>`` (and the page
    header), and each section's plotly charts (their data and layout, element ids removed)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.section, self.order = "header", ["header"]
        self.text: dict[str, list[str]] = {"header": []}
        self.charts: dict[str, list[str]] = {"header": []}
        self.titles: dict[str, str] = {"header": "page header"}
        self._raw: Optional[str] = None
        self._buf: list[str] = []
        self._h2: Optional[list[str]] = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "section":
            self.section = dict(attrs).get("id") or f"section{len(self.order)}"
            self.order.append(self.section)
            self.text[self.section], self.charts[self.section] = [], []
        elif tag in ("script", "style"):
            self._raw, self._buf = tag, []
        elif tag == "h2":
            self._h2 = []

    def handle_endtag(self, tag: str) -> None:
        if tag == self._raw:
            body = "".join(self._buf)
            if tag == "script" and self.section != "header" and "Plotly.newPlot" in body:
                self.charts[self.section].append(" ".join(_UUID.sub("ID", body).split()))
            self._raw = None
        elif tag == "h2" and self._h2 is not None:
            self.titles[self.section] = " ".join("".join(self._h2).split())
            self._h2 = None
        elif tag == "section":
            self.section = "header"

    def handle_data(self, data: str) -> None:
        if self._raw is not None:
            self._buf.append(data)
            return
        self.text[self.section].append(data)
        if self._h2 is not None:
            self._h2.append(data)

    def canonical(self, section: str) -> str:
        return " ".join(" ".join(self.text.get(section, [])).split())


def visible_text(page: str) -> _Visible:
    """Parse an HTML report into its visible text and charts per section."""
    parser = _Visible()
    parser.feed(page)
    parser.close()
    return parser


def embedded_payload(page: str, source: str = "the HTML report") -> dict:
    """The report JSON an HTML report embeds (``ConfigError`` when it has none)."""
    blocks = _EMBED.findall(page)
    if not blocks:
        raise ConfigError(f"{source} embeds no audit report (written by an earlier release?): "
                          "verify its report.json")
    if len(blocks) > 1:
        raise ConfigError(f"{source} embeds {len(blocks)} audit reports: only one is written")
    try:
        payload = json.loads(blocks[0])
    except ValueError as err:
        raise ConfigError(f"the report embedded in {source} is not valid JSON: {err}")
    if not isinstance(payload, dict) or "result" not in payload or "reproducibility" not in payload:
        raise ConfigError(f"{source} embeds something that is not an audit report")
    return payload


def replace_embedded(page: str, payload: dict) -> str:
    """The HTML report with its embedded JSON replaced by ``payload`` (after signing) and its
    hash meta tag updated."""
    from .report.build import embedded_json

    page = _EMBED.sub(lambda _: embedded_json(payload), page, count=1)
    return _META.sub(lambda _: f'<meta name="audit-report-sha256" content="'
                               f'{payload["content_sha256"]}">', page, count=1)


def _where_differs(shown: str, expected: str) -> str:
    i = next((k for k, (a, b) in enumerate(zip(shown, expected)) if a != b),
             min(len(shown), len(expected)))
    lo = max(0, i - 30)
    return (f"shows '...{shown[lo:i + 50]}...' where the embedded report renders "
            f"'...{expected[lo:i + 50]}...'")


def compare_html(page: str, payload: dict, out: VerifyResult, name: str = "report.html") -> None:
    """The HTML's visible text and charts must be what its embedded report renders to, and its
    hash tag the embedded report's hash: an HTML edited from FAIL to PASS, or a chart edited,
    is a difference. Parts drawn from the live models are named, not compared."""
    from .report.build import render_html

    if _is_text(payload):
        return _verify_text(payload, out, html=(page, name))
    meta = _META.findall(page)
    if meta != [payload.get("content_sha256")]:
        out.differences.append(f"{name}: its hash tag ({', '.join(meta) or 'none'}) is not the "
                               "embedded report's content hash")
    try:
        result = AuditResult.from_dict(payload["result"])
        again = visible_text(render_html(result, None, payload))
    except Exception as err:  # an embedded report this code cannot render is itself a finding
        out.differences.append(f"{name}: its embedded report cannot be rendered again "
                               f"({type(err).__name__}: {err})")
        return
    seen = visible_text(page)
    if seen.order != again.order:
        out.differences.append(f"{name}: its sections ({len(seen.order) - 1}) are not those of "
                               f"the report it embeds ({len(again.order) - 1})")
        return
    skipped = []
    for sid in again.order:
        title, shown, expected = again.titles.get(sid, sid), seen.canonical(sid), \
            again.canonical(sid)
        if shown == expected and seen.charts[sid] == again.charts[sid]:
            continue
        if title in _LIVE:
            extra = shown[len(expected):] if shown.startswith(expected) else None
            if title == "Relevance maps" and shown != expected:
                skipped.append("the relevance maps")
                continue
            if title == "Forget set" and extra is not None and re.fullmatch(r"[\d\s]*", extra):
                skipped += ["the forget-set thumbnails and chart"] if extra.strip() or \
                    seen.charts[sid] != again.charts[sid] else []
                continue
            if title == "Verification attacks" and extra is not None and (
                    not extra or extra.lstrip().startswith("Unlearning inversion:")):
                skipped += ["the inversion images"] if extra else []
                continue
        if shown != expected:
            out.differences.append(f"{name}: the visible text of '{title}' differs from the "
                                   f"report it embeds: {_where_differs(shown, expected)}")
        else:
            out.differences.append(f"{name}: a chart of '{title}' differs from the one its "
                                   "embedded report draws")
    note = "its visible text and charts are what its embedded report renders"
    if skipped:
        note += f" ({', '.join(skipped)}, drawn from the live models, not compared)"
    if not any(d.startswith(f"{name}:") for d in out.differences):
        out.notes.append(f"{name}: {note}")


# --- the PDF report: its embedded JSON and hash entry, its verdict lines against them -------

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?%?")
_STATUS_WORDS = re.compile(r"\b(PASS|FAIL|INCONCLUSIVE|UNCERTAIN|pass|fail|uncertain|no power)\b")


def pdf_payload(attachments: list[bytes], source: str = "the PDF report") -> dict:
    """The report JSON a PDF report embeds (``ConfigError`` when it has none)."""
    if not attachments:
        raise ConfigError(f"{source} embeds no audit report (printed by an earlier release?): "
                          "verify its report.json")
    if len(attachments) > 1:
        raise ConfigError(f"{source} embeds {len(attachments)} audit reports: only one is "
                          "written")
    try:
        payload = json.loads(attachments[0].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise ConfigError(f"the report embedded in {source} is not valid JSON: {err}")
    if not isinstance(payload, dict) or "result" not in payload or "reproducibility" not in payload:
        raise ConfigError(f"{source} embeds something that is not an audit report")
    return payload


def compare_pdf(text: str, hash_entry: Optional[str], payload: dict, out: VerifyResult,
                name: str = "report.pdf") -> None:
    """A PDF report must show the verdicts of the report it embeds: each method's verdict line
    ('finetune: INCONCLUSIVE: ...') says the embedded record's status, every verdict and check
    status word on its pages is one the embedded report renders, and its hash entry is the
    embedded report's content hash; every figure (number) the embedded report renders is on its
    pages (charts add numbers of their own). A PDF printed from an edited page (FAIL to PASS, a
    figure changed) with the original report attached, or one whose attachment was swapped, is
    a difference."""
    from .report.build import render_html

    if hash_entry != payload.get("content_sha256"):
        out.differences.append(f"{name}: its hash entry ({hash_entry or 'none'}) is not the "
                               "embedded report's content hash")
    shown = " ".join(text.split())
    try:
        result = AuditResult.from_dict(payload["result"])
        printed = render_html(result, None, payload, static=True)
        page = visible_text(re.sub(r"<title>.*?</title>", "", printed, count=1, flags=re.S))
    except Exception as err:  # an embedded report this code cannot render is itself a finding
        out.differences.append(f"{name}: its embedded report cannot be rendered again "
                               f"({type(err).__name__}: {err})")
        return
    before = len(out.differences)
    for v in result.verdicts:
        said = v.status.upper()
        lines = re.findall(re.escape(v.method) + r":\s*(PASS|FAIL|INCONCLUSIVE|UNCERTAIN)\b",
                           shown)
        if not lines:
            out.differences.append(f"{name}: shows no verdict line for {v.method} (its embedded "
                                   f"report says {v.method}: {said})")
        for status in sorted(set(lines) - {said}):
            out.differences.append(f"{name}: shows '{v.method}: {status}' where its embedded "
                                   f"report says '{v.method}: {said}'")
    expected = " ".join(page.canonical(sid) for sid in page.order)
    want: dict[str, int] = {}
    got: dict[str, int] = {}
    for words, counts in ((expected, want), (shown, got)):
        for w in _STATUS_WORDS.findall(words):
            counts[w] = counts.get(w, 0) + 1
    for w in sorted(set(want) | set(got)):
        if want.get(w, 0) != got.get(w, 0):
            out.differences.append(f"{name}: shows '{w}' {got.get(w, 0)} times where its "
                                   f"embedded report renders it {want.get(w, 0)} times")
    need = Counter(_NUMBER.findall(expected))
    have = Counter(_NUMBER.findall(shown))  # charts add numbers (axes): only lacking ones count
    lacking = [(w, have[w], k) for w, k in need.items() if have[w] < k]
    if lacking:
        out.differences.append(f"{name}: its pages lack figures its embedded report renders: "
                               + ", ".join(f"'{w}' (shown {h} of {k} times)"
                                           for w, h, k in lacking[:8])
                               + (f" and {len(lacking) - 8} more" if len(lacking) > 8 else ""))
    if len(out.differences) == before:
        out.notes.append(f"{name}: its verdict lines, status words and figures are those of the "
                         "report it embeds")


def _rerun(payload: dict, old: AuditResult, out: VerifyResult, data: Optional[Path],
           progress: Optional[ProgressFn]) -> None:
    config = from_jsonable(AuditConfig, payload["reproducibility"]["config"])
    if data is not None:
        config.dataset = str(data)
    new = run_audit(config, progress).result
    compare_results(old, new, out)
    compare_measurements(old, new, out)


def verify_payload(payload: dict, out: VerifyResult, progress: Optional[ProgressFn] = None,
                   rerun: bool = True, public_key: Optional[str | Path] = None,
                   data: Optional[str | Path] = None, base: Optional[Path] = None,
                   artifacts: Optional[dict[str, Path]] = None) -> VerifyResult:
    """Every check of one report payload: hash and artifacts, signature, data by sha256, the
    verdicts judged again from the recorded figures, then (``rerun``) a re-run compared."""
    check_integrity(payload, out, artifacts, base)
    check_signature(payload, out, public_key)
    if _is_text(payload):
        return _verify_text(payload, out, progress, rerun, data, base)
    data_path = check_data(payload, out, data, base, needed=rerun)
    try:
        old = AuditResult.from_dict(payload["result"])
    except (KeyError, TypeError, ValueError) as err:
        out.differences.append(f"the result block cannot be read: {err}")
        return out
    check_evidence(old, out)
    check_shares(old, out)
    rejudge(old, out)
    if rerun:
        if any(d.startswith("data:") for d in out.differences):
            out.differences.append("not re-run: the audited data file is not here")
        else:
            reevaluate(payload, old, out, data_path, artifacts, base)
            _rerun(payload, old, out, data_path, progress)
    return out


def _is_text(payload: dict) -> bool:
    from .report.text import is_text_payload

    return is_text_payload(payload)


def _verify_text(payload: dict, out: VerifyResult, progress: Optional[ProgressFn] = None,
                 rerun: bool = True, data: Optional[str | Path] = None,
                 base: Optional[Path] = None, html: Optional[tuple[str, str]] = None):
    """Text audit reports (``reproducibility.kind == "text"``): their HTML page, verdicts,
    data and re-run are checked by ``unlearn_core.text.verify`` (dispatched here only)."""
    from .text import verify as text_verify

    if html is not None:
        text_verify.compare_text_html(html[0], payload, out, html[1])
        return None
    return text_verify.verify_text_payload(payload, out, progress, rerun, data, base)


def verify_report(path: str | Path, progress: Optional[ProgressFn] = None,
                  rerun: bool = True, public_key: Optional[str | Path] = None,
                  data: Optional[str | Path] = None) -> VerifyResult:
    """Verify ``report.json``, ``report.html`` (its embedded report, and its visible text
    against it), ``report.pdf`` (its embedded report, and its verdict lines against it) or a
    bundle ``report.zip``: integrity and artifact checks, signature, data, evidence, verdicts
    judged again, then (``rerun``) stored weights evaluated again, re-run and compare."""
    path = Path(path)
    if path.suffix.lower() == ".zip":
        from .bundle import open_bundle

        with open_bundle(path) as b:
            out = VerifyResult()
            payload = load_report(b.report)
            if b.html is not None:
                page = b.html.read_text(encoding="utf-8")
                inner = embedded_payload(page, "the bundle's report.html")
                if inner.get("content_sha256") != payload.get("content_sha256") or \
                        inner.get("signature") != payload.get("signature"):
                    out.differences.append("report.html embeds another report than the "
                                           "bundle's report.json")
                compare_html(page, inner, out)
            if b.pdf is not None:
                from .report.pdf_embed import read_pdf

                pdf = read_pdf(b.pdf)
                inner = pdf_payload(pdf.attachments, "the bundle's report.pdf")
                if inner.get("content_sha256") != payload.get("content_sha256") or \
                        inner.get("signature") != payload.get("signature"):
                    out.differences.append("report.pdf embeds another report than the "
                                           "bundle's report.json")
                compare_pdf(pdf.text, pdf.hash_entry, inner, out)
            return verify_payload(payload, out, progress, rerun, public_key,
                                  data if data is not None else b.data, b.root, b.artifacts)
    out = VerifyResult()
    if path.suffix.lower() == ".pdf":
        from .report.pdf_embed import read_pdf

        pdf = read_pdf(path)
        payload = pdf_payload(pdf.attachments, f"'{path}'")
        compare_pdf(pdf.text, pdf.hash_entry, payload, out, path.name)
    elif path.suffix.lower() in (".html", ".htm"):
        try:
            page = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"cannot read report '{path}': {err}")
        payload = embedded_payload(page, f"'{path}'")
        compare_html(page, payload, out, path.name)
    else:
        payload = load_report(path)
    return verify_payload(payload, out, progress, rerun, public_key, data, path.parent)
