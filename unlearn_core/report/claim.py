"""The parts of a report that a third-party claim audit adds (``audit.claim``): the block of the
JSON report's reproducibility section (every submitted file by SHA-256, the recipe, where the
reference came from, the fit check's figures), the lines the command line prints and the HTML
section. All three from the recorded ``ClaimRecord``, so ``verify`` renders them again from the
embedded report."""

from __future__ import annotations

import html
import math
from typing import Any, Optional

from unlearn_core.audit.claim import ROLE_WORDS, FitCheck
from unlearn_core.audit.recipe import Recipe, recipe_mapping
from unlearn_core.audit.run import AuditResult
from unlearn_core.checks.judge import fmt
from unlearn_core.serialize import to_jsonable

THIRD_PARTY = "third-party claim"


def fit_block(fit: FitCheck) -> dict:
    """A fit check (``audit.claim.FitCheck``) as the report records it: the outcome, the
    originals trained here, and each figure with its band and the originals' figures."""
    return {"fits": fit.fits, "reason": fit.reason, "originals": fit.k,
            "seeds": list(fit.seeds),
            "figures": [{"check": r.check, "title": r.title, "status": r.status,
                         "figure": to_jsonable(r.figure),
                         "band": [to_jsonable(r.band_low), to_jsonable(r.band_high)],
                         "originals": [to_jsonable(m.figure) for m in fit.measurements
                                       if m.check == r.check and m.role == "reference"]}
                        for r in fit.results]}


def claim_fields(rec: Any, recipe: dict) -> dict:
    """What the reproducibility block of every claim audit (classifier or text) opens with:
    the audit kind, every submitted file, the recipe as its file holds it (``recipe``), the
    original's declared seed and where the reference came from."""
    return {"audit": THIRD_PARTY, "files": [to_jsonable(f) for f in rec.files],
            "recipe": recipe, "original_seed": rec.original_seed, "reference": rec.reference}


def claim_block(result: AuditResult) -> Optional[dict]:
    """The reproducibility block of a claim audit, or None for an audit of the tool's own
    unlearning."""
    rec = getattr(result, "claim", None)
    if rec is None:
        return None
    return {
        **claim_fields(rec, recipe_mapping(Recipe(rec.recipe, rec.original_seed))),
        "fit": fit_block(rec.fit),
        "submitted_retrains": None if rec.submitted is None else {
            "trusted": rec.submitted.trusted, "reason": rec.submitted.reason,
            "checked_against": rec.submitted.k},
    }


def baseline_block(result: AuditResult) -> Optional[dict]:
    """The report's baseline record for a claim audit: the original as the claimant submitted
    it (file, SHA-256, size), beside the hash of its weights as measured."""
    rec = getattr(result, "claim", None)
    if rec is None:
        return None
    f = next(x for x in rec.files if x.role == "original")
    return {"source": "submitted by the claimant", "file": f.file, "sha256": f.sha256,
            "bytes": f.bytes, "model_hash": result.baseline.model_hash,
            "arch": result.config.model}


def _span(values: list[float], unit: str) -> str:
    vals = [v for v in values if isinstance(v, float) and math.isfinite(v)]
    return f"{fmt(min(vals), unit)} to {fmt(max(vals), unit)}" if vals else "n/a"


def fit_rows(result: AuditResult) -> list[dict]:
    """The fit check figure by figure as plain text cells (figure, the original's value, the
    span of the recipe's originals, the band, the status): one builder for the lines the
    command line prints, the HTML table and the app's table. Empty for another audit."""
    rec = getattr(result, "claim", None)
    if rec is None:
        return []
    rows = []
    for r in rec.fit.results:
        refs = [m.figure for m in rec.fit.measurements if m.check == r.check
                and m.role == "reference"]
        rows.append({"figure": r.title, "original": fmt(r.figure, r.unit),
                     "recipe's originals": _span(refs, r.unit),
                     "band": f"{fmt(r.band_low, r.unit)} to {fmt(r.band_high, r.unit)}",
                     "status": r.status})
    return rows


def file_rows(result: AuditResult) -> list[dict]:
    """Every submitted file as plain cells (what it is, file, SHA-256, bytes, the label it was
    judged under), for the app's table. Empty for another audit."""
    rec = getattr(result, "claim", None)
    return [] if rec is None else [
        {"submitted": ROLE_WORDS.get(f.role, f.role), "file": f.file, "SHA-256": f.sha256,
         "bytes": f.bytes, "judged as": f.label} for f in rec.files]


def claim_lines(result: AuditResult) -> list[str]:
    """The claim audit in a few lines: what was submitted, the fit check figure by figure, the
    reference and whether submitted retrains were trusted."""
    rec = getattr(result, "claim", None)
    if rec is None:
        return []
    claimed = [f for f in rec.files if f.role == "claimed"]
    lines = [f"third-party claim audit: {len(claimed)} claimed model(s) judged blind, like a "
             "method's output, by every default check"]
    for f in rec.files:
        lines.append(f"  submitted {ROLE_WORDS.get(f.role, f.role)}: {f.file} sha256 {f.sha256}"
                     + (f" -> {f.label}" if f.label else ""))
    lines.append("  recipe: " + ", ".join(f"{k}={v}" for k, v in recipe_mapping(
        Recipe(rec.recipe, rec.original_seed)).items()))
    fit = rec.fit
    lines.append(f"  fit check ({fit.k} originals trained here with the recipe, seeds "
                 f"{', '.join(map(str, fit.seeds))}): {'fits' if fit.fits else 'DOES NOT FIT'}")
    for row in fit_rows(result):
        figure, original, refs, band, status = row.values()
        lines.append(f"    {figure}: original {original}, recipe's originals {refs}, band "
                     f"{band}: {status}")
    if not fit.fits:
        lines.append(f"  {fit.reason}")
    if rec.submitted is not None:
        lines.append(f"  submitted retrains: {rec.submitted.reason}")
    lines.append(f"  reference: retrains {rec.reference}")
    return lines


def claim_html(result: AuditResult) -> str:
    """The HTML section of a claim audit: submitted files, recipe, fit check table."""
    rec = getattr(result, "claim", None)
    if rec is None:
        return ""
    esc = html.escape
    files = "".join(
        f"<tr><td>{esc(ROLE_WORDS.get(f.role, f.role))}</td><td>{esc(f.file)}</td>"
        f"<td><code>{esc(f.sha256)}</code></td><td>{f.bytes}</td><td>{esc(f.label)}</td></tr>"
        for f in rec.files)
    recipe = ", ".join(f"{k} = {v}" for k, v in recipe_mapping(
        Recipe(rec.recipe, rec.original_seed)).items())
    fit = rec.fit
    rows = ["<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in row.values()) + "</tr>"
            for row in fit_rows(result)]
    outcome = "the recipe reproduces the original" if fit.fits else \
        "the recipe does not reproduce the original"
    submitted = "" if rec.submitted is None else \
        f"<p><b>Submitted retrains:</b> {esc(rec.submitted.reason)}.</p>"
    return (f"<p>A {THIRD_PARTY} audit: the claimed models were made elsewhere and are judged "
            "blind, like a method's output, by every default check, against retrains trained "
            f"with the recipe declared for the original (reference: retrains "
            f"{esc(rec.reference)}).</p>"
            "<table><thead><tr><th>submitted</th><th>file</th><th>SHA-256</th><th>bytes</th>"
            f"<th>judged as</th></tr></thead><tbody>{files}</tbody></table>"
            f"<p><b>Declared recipe:</b> {esc(recipe)}.</p>"
            f"<p><b>Fit check</b> ({fit.k} originals trained here with the recipe, seeds "
            f"{esc(', '.join(map(str, fit.seeds)))}): {outcome}.</p>"
            "<table><thead><tr><th>figure</th><th>original</th><th>recipe's originals</th>"
            f"<th>band</th><th>status</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
            + ("" if fit.fits else f"<p>{esc(fit.reason)}.</p>") + submitted)


__all__ = ["THIRD_PARTY", "baseline_block", "claim_block", "claim_html", "claim_lines",
           "file_rows", "fit_rows"]
