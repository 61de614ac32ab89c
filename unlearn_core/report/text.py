"""The text audit's report: JSON with every figure and the recorded measurements, and a
self-contained HTML page that is a pure function of that JSON (so ``verify`` can render it again
and compare what a reader sees).

The JSON has the classifier report's shape (``report_version``, ``result``, ``reproducibility``,
``content_sha256``; ``reproducibility.kind == "text"`` tells the two apart), so the same
integrity, signing and bundling code reads it. The page leads with the verdict per method
(headline, reason), then every judged check with its figure, interval, retrain band and the
untouched original's figure, the metric table, the forget set's completions and the
reproducibility block. Every model is keyed by its run label (``npo``, ``npo#2`` for a second
run of NPO), and the setup names the method behind a label that is not its name.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any, Optional

# the classifier report's table and sign-off block
from unlearn_core.report.build import _table, data_record, signoff_html
from unlearn_core.report.envelope import (
    EMBED_ID,
    REPORT_VERSION,
    TEXT_KIND,
    content_hash,
    embedded_json,
)

KIND = TEXT_KIND


def is_text_payload(payload: dict) -> bool:
    """Whether a report payload is a text audit's."""
    repro = payload.get("reproducibility")
    return isinstance(repro, dict) and repro.get("kind") == KIND


def text_versions() -> dict[str, str]:
    """Library versions recorded with a text report."""
    import platform

    import tokenizers
    import torch
    import transformers

    from unlearn_core.audit.run import versions

    out = dict(versions())
    out.update(transformers=transformers.__version__, tokenizers=tokenizers.__version__,
               torch=torch.__version__, python=platform.python_version())
    return out


def build_text_json_report(result: Any, artifacts: Optional[list] = None,
                           signoff: Optional[dict] = None) -> dict:
    """The JSON report of a ``TextAuditResult``: result, reproducibility block (with the run
    store's ``artifacts`` when the run was recorded, the definition each metric follows and,
    when given, the ``signoff_record``), content hash."""
    from unlearn_core.serialize import to_jsonable
    from unlearn_core.text.metrics import metric_definitions

    d = result.to_dict()
    cfg = d.get("config") or {}
    repro = {
        "kind": KIND,
        "config": cfg,
        "seed": cfg.get("seed"),
        "fingerprint": result.fingerprint,
        "forget_ids": list(result.forget_ids),
        "model_hashes": {e.name: e.model_hash for e in
                         [result.original, *result.retrains, *result.methods]},
        "versions": text_versions(),
        "artifacts": [to_jsonable(a) for a in (artifacts or [])],
        "definitions": metric_definitions(cfg.get("truth_side") or "answer"),
    }
    if cfg.get("data_path"):
        repro["data"] = data_record(str(cfg["data_path"]))
    claim = text_claim_block(result)  # a third-party claim: its files by SHA-256, the recipe
    if claim is not None:
        repro["audit"] = claim["audit"]
        repro["claim"] = claim
    if d.get("inputs"):  # the user's own model folder and recipe, by SHA-256
        repro["inputs"] = {"files": d["inputs"]}
    if signoff is not None:
        repro["signoff"] = signoff
    payload = {"report_version": REPORT_VERSION, "result": d, "reproducibility": repro}
    payload["content_sha256"] = content_hash(payload)
    return payload


def text_claim_block(result: Any) -> Optional[dict]:
    """The reproducibility block of a text claim audit (every submitted file with its SHA-256,
    the recipe as a recipe file holds it, the retrains' seeds, the learned and fit checks'
    outcomes), or None for an audit of the tool's own unlearning."""
    rec = getattr(result, "claim", None)
    if rec is None:
        return None
    from unlearn_core.report.claim import claim_fields, fit_block
    from unlearn_core.text.recipe import TextRecipe, text_recipe_mapping

    return {
        **claim_fields(rec, text_recipe_mapping(TextRecipe(rec.recipe, rec.original_seed))),
        "retrain_seeds": list(rec.retrain_seeds),
        "learned": rec.learned.reason,
        "fit": None if rec.fit is None else fit_block(rec.fit),
    }


def _claim_section(repro: dict) -> str:
    """The "Third-party claim" section: the learned check, the recipe and its fit figure by
    figure, and every submitted file with its SHA-256."""
    c = repro.get("claim") or {}
    fit = c.get("fit") or {}
    rows = [[f["title"], f["status"], _fmt(f["figure"]),
             f"{_fmt(f['band'][0])} to {_fmt(f['band'][1])}",
             ", ".join(_fmt(v) for v in f.get("originals") or [])]
            for f in fit.get("figures") or []]
    files = [[f.get("role"), f.get("file"), f.get("sha256"), f.get("bytes"), f.get("label")]
             for f in c.get("files") or []]
    return (f"<p>The claimed models were judged blind, like a method's output, against "
            f"retrains of the declared recipe (seeds {c.get('retrain_seeds')}; reference "
            f"{html.escape(str(c.get('reference')))}).</p>"
            f"<p>{html.escape(str(c.get('learned', '')))}.</p>"
            f"<p><b>Recipe:</b> <code>{html.escape(json.dumps(c.get('recipe'), sort_keys=True))}"
            f"</code></p><p><b>Fit check:</b> {html.escape(str(fit.get('reason', '')))}.</p>"
            + _table(["figure", "status", "original", "band", "originals trained here"], rows)
            + _table(["role", "file", "SHA-256", "bytes", "judged as"], files))


def _f(v: Optional[float], digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float) and math.isinf(v):
        return "-inf" if v < 0 else "inf"
    return f"{v:.{digits}g}" if abs(v) < 1e-3 and v != 0 else f"{v:.{digits}f}"


def _fmt(v: Optional[float], unit: str = "") -> str:
    from unlearn_core.checks.judge import fmt

    return fmt(math.nan if v is None else float(v), unit)


def _mean(values: list) -> float:
    v = [x for x in (values or []) if x is not None and not (isinstance(x, float) and
                                                             math.isnan(x))]
    return float(sum(v) / len(v)) if v else math.nan


def _verdict_section(r: dict) -> str:
    verdicts = r.get("verdicts") or []
    warned = "".join(f'<p class="muted">Warning: {html.escape(str(w))}</p>'
                     for w in r.get("warnings") or [])
    if not verdicts:
        return warned + '<p class="muted">No method ran: nothing to judge.</p>'
    heads = "".join(
        f'<p class="verdict verdict-{html.escape(str(v["status"]).replace(" ", "-"))}"><b>'
        f'{html.escape(v["method"])}: {html.escape(v["headline"])}</b><br>'
        f'{html.escape(v["reason"])}</p>' for v in verdicts)
    rows = []
    for v in verdicts:
        for c in v["checks"]:
            u = c.get("unit", "")
            band = f"{_fmt(c['band_low'], u)} to {_fmt(c['band_high'], u)}"
            power = {True: "yes", False: "no", None: "–"}[c.get("powered")]
            rows.append([v["method"], c["title"], c["status"], _fmt(c["figure"], u),
                         f"{_fmt(c['ci_low'], u)} to {_fmt(c['ci_high'], u)}", c["n"], band,
                         _fmt(c["control"], u), power, c["reason"]])
    refs = [e["name"] for e in r.get("retrains", [])]
    cached = [e["name"] for e in r.get("retrains", []) if e.get("cached")]
    seeds = r.get("retrain_seeds")  # recorded since the sequential rule; before: consecutive
    said = f"seeds {', '.join(map(str, seeds))}" if seeds else f"seeds seed to seed+{len(refs) - 1}"
    note = (f"<p>Bands come from {len(refs)} models retrained from scratch without the forget "
            f"set ({', '.join(refs)}; {said})"
            + (f", {len(cached)} of them from the model cache" if cached else "") + ".</p>"
            + (f"<p>{html.escape(r['extended_because'])}.</p>" if r.get("extended_because")
               else ""))
    warn = warned + ("" if r.get("control_powered") else (
        '<p class="muted">Warning: no check can tell the untouched original from retraining '
        "for this request (the forget set is too small or not memorised): a pass is not "
        "possible.</p>"))
    legend = ('<p class="muted">pass: the figure lies where genuine retrains land; fail: '
              "outside their band beyond sampling error; uncertain: outside, but its interval "
              "reaches into the band; no power: the untouched original lands in the band too. "
              "A verdict passes only when a powered check passes and none fails or is "
              f"uncertain. Bands and intervals are Bonferroni-adjusted over the checks "
              f"(alpha {r.get('alpha')}).</p>")
    return (heads + warn + note +
            _table(["method", "check", "status", "figure", "interval", "n", "retrain band",
                    "original", "powered", "reason"], rows) + legend)


def _metric_rows(r: dict) -> list[list[str]]:
    ref_seconds = r["retrains"][0]["seconds"] if r.get("retrains") else math.nan
    rows = []
    for e in [r["original"], *r.get("retrains", []), *r.get("methods", [])]:
        auc = e.get("mia_auc") or {}
        seconds = e.get("seconds") or 0.0
        speed = "" if e["name"] == "original" else f"{ref_seconds / max(seconds, 1e-9):.1f}x"
        rows.append([e["name"], _f(_mean(e["forget"]["answer_correct"]), 2),
                     _f(_mean(e["retain"]["answer_correct"]), 2),
                     _f(_mean(e["forget"]["rouge_l"]), 2), _f(e.get("forget_quality")),
                     _f(e.get("model_utility")), _f(auc.get("loss"), 2), _f(auc.get("zlib"), 2),
                     _f(auc.get("min_k"), 2), _f(auc.get("min_k_pp"), 2),
                     _f(e.get("privleak"), 3),
                     "" if e["name"] == "original" else f"{seconds:.1f}"
                     + (" (cached)" if e.get("cached") else ""), speed])
    return rows


def _definitions_section(definitions: list) -> str:
    """Which definition each metric follows, as the report records them."""
    return ("<p>Each metric as computed here and the implementation and paper it follows.</p>"
            + _table(["metric", "as computed", "follows"],
                     [[d.get("metric"), d.get("definition"), d.get("follows")]
                      for d in definitions]))


def _completions(r: dict, limit: int = 30) -> str:
    models = [r["original"], *r.get("retrains", [])[:1], *r.get("methods", [])]
    ids = r["original"]["forget"]["ids"][:limit]
    rows = []
    for i, ident in enumerate(ids):
        rows.append([ident, *[m["forget"]["completions"][i] for m in models]])
    more = len(r["original"]["forget"]["ids"]) - len(ids)
    return (_table(["fact", *[m["name"] for m in models]], rows) +
            (f'<p class="muted">{more} more in the JSON.</p>' if more > 0 else ""))


def render_text_html(payload: dict) -> str:
    """The HTML report of a text audit, drawn from its JSON payload alone."""
    r = payload["result"]
    repro = payload["reproducibility"]
    cfg = repro.get("config") or {}
    facts, model, train = cfg.get("facts") or {}, cfg.get("model") or {}, cfg.get("train") or {}
    data = cfg.get("data_path") or (f"built-in fact set: {facts.get('n_people')} people, "
                                    f"{facts.get('n_holdout')} never trained, "
                                    f"{facts.get('n_attributes')} facts each")
    arch = (cfg.get("claim") or {}).get("original") or cfg.get("model_path") or (
        f"tiny GPT-2: {model.get('n_layer')} layers, width "
                                     f"{model.get('n_embd')}, {model.get('n_head')} heads")
    methods = [[m["name"], json.dumps(m.get("params", {}))] for m in cfg.get("methods", [])]
    labels = [e.get("name") for e in r.get("methods", [])]  # each run's label, in config order
    if len(labels) == len(methods):  # a repeated method runs as name#2: say which run is which
        methods = [[n if label == n else f"{label} = {n}", p]
                   for (n, p), label in zip(methods, labels)]
    sections = [
        ("Summary verdict", _verdict_section(r)),
        *([("Third-party claim", _claim_section(repro))] if repro.get("claim") else []),
        ("Setup", _table(["item", "value"], [
            ["data", data], ["model", arch], ["seed", cfg.get("seed")],
            ["training recipe", json.dumps(train, sort_keys=True) + (
                f" (declared in {Path(str(cfg['recipe'])).name})" if cfg.get("recipe") else
                " (the built-in recipe, or --epochs/--lr)" if cfg.get("model_path") else "")],
            ["reference retrains", len(r.get("retrains", []))],
            ["methods", "; ".join(f"{n} {p}" for n, p in methods) or "–"]])),
        ("Forget set", f"<p>{html.escape(str(cfg.get('forget', '')))}: "
                       f"{len(r.get('forget_ids', []))} facts.</p><p class=\"muted\">"
                       f"{html.escape(', '.join(r.get('forget_ids', [])[:60]))}</p>"),
        ("Metrics", _table(["model", "forget acc", "retain acc", "forget ROUGE-L",
                            "forget quality (KS p)", "model utility", "LOSS AUC", "zlib AUC",
                            "Min-k% AUC", "Min-k%++ AUC", "PrivLeak", "seconds", "speed-up"],
                           _metric_rows(r)) +
         '<p class="muted">MIA AUCs: forget vs never-trained items (0.5: like never seen, '
         "1: remembered). Forget quality: TOFU's KS p-value of truth ratios against the "
         "retrains (high: cannot be told apart).</p>"),
        *([("Metric definitions", _definitions_section(repro["definitions"]))]
          if repro.get("definitions") else []),
        ("Completions on the forget set", _completions(r)),
        *([("Sign-off", signoff_html(repro["signoff"]))] if repro.get("signoff") else []),
        ("Reproducibility", "<pre>" + html.escape(json.dumps(repro, indent=1)) + "</pre>" +
         f"<p>Report content SHA-256: <code>{payload['content_sha256']}</code>. Re-check with "
         "<code>python -m unlearn_core verify report.json</code>.</p>"),
    ]
    nav = "".join(f'<a href="#s{i}">{html.escape(t)}</a>' for i, (t, _) in enumerate(sections))
    body = "".join(f'<section id="s{i}"><h2>{html.escape(t)}</h2>{c}</section>'
                   for i, (t, c) in enumerate(sections))
    title = f"Text unlearning audit: forget {cfg.get('forget', '')}"
    subtitle = f"{data} · {arch} · forget {cfg.get('forget', '')} · seed {cfg.get('seed')}"
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="audit-report-sha256" content="{payload['content_sha256']}">
<title>{html.escape(title)}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#111;padding:0 1em}}
h2{{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}}
table{{border-collapse:collapse;margin:.6em 0;font-size:.9em}}
td,th{{border:1px solid #ddd;padding:4px 8px;text-align:right}}
td:first-child,th:first-child{{text-align:left}}
.muted{{color:#666;font-size:.9em}} nav a{{margin-right:1em;font-size:.9em}}
pre{{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:.8em}}
table.signoff th{{text-align:left;width:8em}} table.signoff td{{text-align:left;min-width:20em}}
</style></head><body>
<h1>Text unlearning audit</h1>
<p class="muted">{html.escape(subtitle)}</p>
<nav>{nav}</nav>{body}{embedded_json(payload)}</body></html>"""


def write_text_reports(result: Any, out_dir: str | Path, pdf: bool = False,
                       artifacts: Optional[list] = None,
                       signoff: Optional[dict] = None) -> dict[str, Path]:
    """Write report.json and report.html (and, with ``pdf``, report.pdf printed by chromium);
    ``artifacts``: the run store's files of the recorded run (weights, scores), which the
    report names by SHA-256 and a bundle carries; ``signoff``: a ``signoff_record``."""
    from unlearn_core.errors import ConfigError
    from unlearn_core.serialize import write_files_atomic

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = build_text_json_report(result, artifacts, signoff)
    paths = {"json": out / "report.json", "html": out / "report.html"}
    try:  # both or neither, each whole: a full disk leaves no truncated report
        write_files_atomic({paths["json"]: json.dumps(payload, indent=1),
                            paths["html"]: render_text_html(payload)})
    except OSError as err:
        raise ConfigError(f"cannot write the reports in '{out}': {err.strerror or err} "
                          "(nothing was written)") from None
    # an earlier audit's PDF in this folder would sit beside this audit's JSON and HTML
    (out / "report.pdf").unlink(missing_ok=True)
    if pdf:  # the page has no charts: printed as it is
        from unlearn_core.report.build import write_pdf

        paths["pdf"] = write_pdf(paths["html"], out / "report.pdf")
    return paths


__all__ = ["EMBED_ID", "KIND", "build_text_json_report", "is_text_payload", "render_text_html",
           "text_claim_block", "write_text_reports"]
