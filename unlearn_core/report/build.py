"""Build the three report forms from the same ``AuditResult``.

The JSON report carries the result, a reproducibility block (config, seeds, fingerprints, model
hashes, versions, artifact hashes) and a SHA-256 of both, so an edited report is detected. The
HTML inlines plotly's JavaScript once, so it works offline. The PDF is that HTML printed by the
system chromium (no download, charts drawn by the same code).
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import html
import io
import json
import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np
from plotly.offline import get_plotlyjs

from unlearn_core.audit.run import AuditResult, AuditRun
from unlearn_core.charts import audit as charts
from unlearn_core.errors import ConfigError, UnlearnError
from unlearn_core.report.claim import THIRD_PARTY, baseline_block, claim_block, claim_html
from unlearn_core.report.envelope import REPORT_VERSION, content_hash, embedded_json
from unlearn_core.report.rows import (
    RANKING_COLUMNS,
    check_rows,
    closest_line,
    ranked,
    verdict_rows,
)
from unlearn_core.serialize import sha256_file, to_jsonable, write_files_atomic


def data_record(source: str, content: Optional[bytes] = None) -> Optional[dict]:
    """The audited data file by name, SHA-256 and size, so that a report is verified against
    its data by hash wherever the file lies (``verify --data PATH``, a report bundle). ``None``
    for a built-in dataset; ``sha256`` is None when the file cannot be read here. ``content``:
    the uploaded bytes when there is no file."""
    import hashlib

    from unlearn_core.data import BUILTIN_DATASETS

    if source in BUILTIN_DATASETS:
        return None
    name = Path(str(source)).name
    if content is not None:
        return {"file": name, "sha256": hashlib.sha256(content).hexdigest(),
                "bytes": len(content)}
    path = Path(str(source)).expanduser()
    if not path.is_file():
        return {"file": name, "sha256": None, "bytes": None}
    return {"file": name, "sha256": sha256_file(path), "bytes": path.stat().st_size}






def signoff_record(run_id: Optional[str] = None, auditor: Optional[str] = None,
                   run_by: Optional[str] = None, date: Optional[str] = None) -> dict:
    """Who ran the audit, when, under which run id, and the auditor who signs it (empty when
    not named: the printed block leaves a line to fill in). ``run_by`` defaults to the
    operating-system user, ``date`` to now (UTC, ISO 8601)."""
    import datetime
    import getpass

    if run_by is None:
        try:
            run_by = getpass.getuser()
        except Exception:  # no user name in this environment
            run_by = ""
    date = date or datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return {"auditor": auditor or "", "run_by": run_by, "date": date, "run_id": run_id or ""}


def signoff_html(signoff: dict) -> str:
    """The printed sign-off block of a ``signoff_record``: who, when, which run, and lines
    for the auditor's and a reviewer's signatures (a blank line where a field is empty)."""
    blank = "_" * 28

    def line(value: str) -> str:
        return html.escape(value) if value else blank

    rows = [["auditor", line(signoff.get("auditor", ""))],
            ["date", line(signoff.get("date", ""))],
            ["run id", line(signoff.get("run_id", ""))],
            ["run by", line(signoff.get("run_by", ""))]]
    return ("<table class=\"signoff\">" + "".join(
        f"<tr><th>{html.escape(a)}</th><td>{b}</td></tr>" for a, b in rows) + "</table>" +
        f'<p class="sign">Auditor\'s signature: {blank}&nbsp;&nbsp; Date: {blank}</p>'
        f'<p class="sign">Reviewed by: {blank}&nbsp;&nbsp; Signature: {blank}</p>')


def baseline_record(result: AuditResult, upload: Optional[dict] = None,
                    known: bool = True) -> dict:
    """Where the audited (original) model came from: trained here with the recorded recipe and
    seed, or uploaded (``upload``: its file name, SHA-256 and size); ``known=False``: a record
    that does not say (a stored run reopened). The weights' hash as measured is kept beside."""
    common = {"model_hash": result.baseline.model_hash, "arch": result.config.model}
    if not known:
        return {"source": "not recorded", **common}
    if upload is not None:
        return {"source": "uploaded", **{k: upload.get(k) for k in ("file", "sha256", "bytes")},
                **common}
    return {"source": "trained here", "seed": result.config.seed,
            "recipe": to_jsonable(result.train_config), **common}


def build_json_report(result: AuditResult, artifacts: Optional[list] = None,
                      data: Optional[dict] = None, signoff: Optional[dict] = None,
                      baseline: Optional[dict] = None) -> dict:
    """The JSON report: result, reproducibility block and content hash. ``data``: the data
    file's record (``data_record``); by default read from the config's dataset path.
    ``signoff`` (``signoff_record``) and ``baseline`` (``baseline_record``; by default: trained
    here) are covered by the content hash like the rest of the block."""
    repro = {
        "config": to_jsonable(result.config),
        "seed": result.config.seed,
        "train_config": to_jsonable(result.train_config),
        "dataset_fingerprint": result.dataset_fingerprint,
        "splits_fingerprint": result.splits_fingerprint,
        "forget_fingerprint": result.forget_fingerprint,
        "model_hashes": {e.name: e.model_hash for e in result.evaluations()},
        "versions": result.versions,
        "artifacts": [to_jsonable(a) for a in (artifacts or [])],
    }
    data = data or data_record(result.config.dataset)
    if data is not None:
        repro["data"] = data
    repro["baseline"] = baseline or baseline_block(result) or baseline_record(result)
    claim = claim_block(result)  # a third-party claim: its files by SHA-256, recipe, fit check
    if claim is not None:
        repro["audit"] = THIRD_PARTY
        repro["claim"] = claim
    if signoff is not None:
        repro["signoff"] = signoff
    payload = {"report_version": REPORT_VERSION, "result": result.to_dict(),
               "reproducibility": repro}
    payload["content_sha256"] = content_hash(payload)
    return payload


def _pct(v: float) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _not_run(what: str) -> str:
    return f'<p class="muted">Not run in this audit: {html.escape(what)}.</p>'


# charts as static SVG images (kaleido, for print) instead of interactive plotly: the browser
# that draws them, set by render_html(static=True) for the figures of one rendering
_STATIC: contextvars.ContextVar = contextvars.ContextVar("static_charts", default=None)
CHART_WIDTH = 1000  # px of a static chart; the page is 1100 px wide
# every chart of a report is drawn in this named plotly template, never in the process's
# default one: importing Streamlit makes its own theme plotly's default, and a page exported
# from the app would then draw other charts than verify draws from the embedded JSON
REPORT_TEMPLATE = "plotly"


def _figure_html(fig, alt: str = "chart") -> str:
    """One chart: interactive (plotly, no logo) or, when rendering for print, an SVG image
    drawn by kaleido with the system chromium (no toolbar, nothing left to lay out). The
    figure is drawn in ``REPORT_TEMPLATE``, written as plotly writes a default template."""
    import plotly.io as pio

    spec = fig.to_dict()
    spec.setdefault("layout", {})["template"] = pio.templates[REPORT_TEMPLATE].to_plotly_json()
    if not _STATIC.get():
        return pio.to_html(spec, full_html=False, include_plotlyjs=False, validate=False,
                           config={"displaylogo": False, "responsive": True})
    svg = _STATIC.get().svg(spec, CHART_WIDTH, int(fig.layout.height or 400))
    return (f'<img class="chart" alt="{html.escape(alt)}" '
            f'src="data:image/svg+xml;base64,{base64.b64encode(svg).decode()}">')


@contextlib.contextmanager
def _static_charts(chromium: str = "/usr/bin/chromium"):
    """Render charts as static images for this block; one kaleido browser serves them all
    (``chart_images``: a chromium that cannot start is an ``UnlearnError``, never a wait)."""
    from unlearn_core.report.chart_images import ChartImages

    with ChartImages(chromium) as images:
        token = _STATIC.set(images)
        try:
            yield
        finally:
            _STATIC.reset(token)


def _png_uri(img: np.ndarray, size: int = 48) -> str:
    """An (h, w) or (h, w, 3) image in [0, 1] as an inline PNG data URI."""
    from PIL import Image

    arr = (np.clip(img, 0, 1) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).resize((size, size), Image.NEAREST).save(buf, format="PNG")
    return f"data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}"


def _thumbnails(run: Optional[AuditRun], limit: int = 24) -> str:
    if run is None or run.data.dataset.kind != "image":
        return ""
    ds, out = run.data.dataset, []
    for pos in run.data.forget_set.forget[:limit]:
        x = ds.X[pos]
        img = x[0] if x.shape[0] == 1 else np.transpose(x, (1, 2, 0))
        out.append(f'<figure><img alt="sample {ds.ids[pos]}" src="{_png_uri(img)}">'
                   f"<figcaption>{ds.ids[pos]}</figcaption></figure>")
    return f'<div class="thumbs">{"".join(out)}</div>'


def _verdict_class(v) -> str:
    """The CSS class of a verdict row: its status, ``qualified`` for a pass on outputs only."""
    return "qualified" if v.qualifier else html.escape(v.status.replace(" ", "-"))


def _assurance(v) -> str:
    """The verdict's statement of assurance (what it rules out and what not), or nothing."""
    if not v.assurance:
        return ""
    return f'<br><span class="assurance">{html.escape(v.assurance)}</span>'


def _ranking(vrows, words: bool = False) -> str:
    """The ranking of the graded verdicts, closest to retraining first, with the one-line
    summary (``report.rows.ranked``, ``closest_line``): a table, or with ``words`` one line per
    method (page one reads in words); nothing when none is graded."""
    if not any(v.grade is not None for v in vrows):
        return ""
    order = ranked(vrows)
    head = f'<p class="ranking"><b>{html.escape(closest_line(order))}</b></p>'
    if words:
        items = "".join(
            f"<li>{html.escape(r.method)}: {html.escape(r.level_words)}; distance from "
            f"retraining {html.escape(r.gap)}"
            + (f"; {html.escape(r.next_level)}" if r.next_level else "") + "</li>"
            for r in order)
        return head + f'<ol class="ranking">{items}</ol>'
    return (head
            + _table(list(RANKING_COLUMNS), [list(r.ranking_cells().values()) for r in order])
            + '<p class="muted">Levels of assurance, strict to weaker: 1 indistinguishable '
            "from retraining (every check); 2 the forgotten data looks unseen and the model "
            "kept its utility (membership, forget-set behaviour, utility and the checks of the "
            "model's inside, without the retraining's exact loss levels); 3 forgotten on the "
            "outputs only (output suppression not ruled out). Distance: the largest distance "
            "of a figure from its retrain band, in band half-widths (0 inside every band), "
            "with its interval.</p>")


def _verdict_section(result: AuditResult) -> str:
    """Headline per method first (status, counts, reason), then every check with its figure,
    interval, sample count, the retrain band and where it came from, and the original's figure
    (the do-nothing control)."""
    verdicts = getattr(result, "verdicts", None)
    if not verdicts:
        return _not_run("verdict checks (no method ran)")
    vrows = verdict_rows(verdicts)
    heads = "".join(
        f'<p class="verdict verdict-{_verdict_class(v)}"><b>'
        f"{html.escape(v.method)}: {html.escape(v.headline)}</b><br>{html.escape(v.reason)}"
        f"{_assurance(v)}</p>" for v in vrows)
    columns = ["method", "check", "status", "figure", "interval", "n", "retrain band",
               "band from", "original", "powered", "reason"]
    rows = [list(c.cells(columns, no_band="–").values()) for c in check_rows(vrows)]
    ens = "".join(f"<li>{html.escape(e.kind)}: {e.k} models from scratch on the retain set, "
                  + (f"submitted by the claimant ({html.escape(', '.join(e.submitted))})</li>"
                     if getattr(e, "submitted", None) else
                     f"seeds {', '.join(map(str, e.seeds))}"
                     f"{' (from the cache)' if e.cached else f', {e.seconds:.1f} s'}"
                     + (f". {html.escape(e.extended_because)}" if getattr(e, "extended_because",
                                                                        "") else "")
                     + "</li>")
                  for e in getattr(result, "ensembles", []))
    warn = "".join(f'<p class="muted">Warning: {html.escape(w)}</p>'
                   for w in getattr(result, "warnings", []))
    legend = ('<p class="muted">pass: the figure lies where genuine retrains land; fail: '
              "outside their band beyond sampling error; uncertain: outside, but its interval "
              "reaches into the band; no power: the untouched original lands in the band too, "
              "so the check cannot tell doing nothing from retraining here. A verdict passes only "
              "when a powered check passes and none fails or is uncertain; otherwise it is "
              "inconclusive, uncertain or failed. A pass that no powered check of the model's "
              "inside (the feature probe) supported reads 'pass (outputs only)': output "
              "suppression is not ruled out. Intervals and bands are Bonferroni-adjusted "
              "over the checks of a verdict.</p>")
    return (heads + _ranking(vrows) + warn +
            (f"<p>Bands come from:</p><ul>{ens}</ul>" if ens else "") +
            _table(columns, rows) + legend +
            _thresholds_explained(result))


def thresholds_explained(result: AuditResult) -> list[str]:
    """Why each threshold of the verdict is what it is, in the audit's own numbers: the error
    level and its Bonferroni split, the retrain ensemble behind every band, the stricter level a
    fail needs, the sample count below which a figure cannot decide, and any fixed limits."""
    from unlearn_core.checks.judge import FAIL_STRICTER, MIN_SAMPLES, critical_level

    th = result.config.thresholds
    m = max((len(v.checks) for v in getattr(result, "verdicts", []) or []), default=1)
    q = critical_level(m, th.alpha)
    ks = sorted({e.k for e in getattr(result, "ensembles", []) or []})
    k_text = " or ".join(map(str, ks)) if ks else "the"
    lines = [
        f"Error level alpha = {th.alpha:g} per method, split over its {m} checks (Bonferroni): "
        f"each band and interval is two-sided at {q:.4f}, so a genuine retrain fails a check "
        f"by chance at most alpha / {m} of the time.",
        f"Every band is where {k_text} retrains from scratch land (their t prediction band, "
        "widened by each figure's sampling error), not a number chosen in advance: it moves "
        "with the data, the model and the forget set.",
        f"A fail needs its interval to clear a band at a {FAIL_STRICTER} times smaller error "
        "level; outside the pass band but inside that one is 'uncertain'. A few retrains "
        "estimate their own spread poorly, and this keeps an unlucky genuine model from a fail.",
        "A check has power only when the untouched original's interval clears the pass band; "
        "without power it cannot decide and the verdict says so.",
        f"A forget-set figure on fewer than {MIN_SAMPLES} samples is flagged as low resolution: "
        "its interval is too wide to trust.",
    ]
    if th.overrides:
        fixed = ", ".join(f"{k} = {v:g}" for k, v in sorted(th.overrides.items()))
        lines.append(f"Fixed limits set by the auditor replace the band's width for: {fixed} "
                     "(the band is the retrains' mean plus or minus the limit).")
    return lines


def _thresholds_explained(result: AuditResult) -> str:
    items = "".join(f"<li>{html.escape(line)}</li>" for line in thresholds_explained(result))
    return f"<h3>Why the thresholds are what they are</h3><ul>{items}</ul>"


def _summary_section(result: AuditResult, payload: dict) -> str:
    """Page one: the verdict per method with its reasons, what was audited, where the
    baseline came from, and the sign-off block. Everything from the payload, so ``verify``
    renders it again from the embedded report."""
    repro = payload["reproducibility"]
    parts = []
    verdicts = getattr(result, "verdicts", None) or []
    if not verdicts:
        parts.append('<p class="verdict">No verdict: no method ran in this audit.</p>')
    summary_rows = verdict_rows(verdicts)
    parts.append(_ranking(summary_rows, words=True))
    for v in summary_rows:
        reasons = "".join(f"<li>{html.escape(r)}</li>" for r in v.deciding)
        parts.append(
            f'<div class="verdict verdict-{_verdict_class(v)}">'
            f"<b>{html.escape(v.method)}: {html.escape(v.headline)}</b><br>"
            f"Why: {html.escape(v.reason or '-')}<ul>{reasons}</ul>{_assurance(v)}</div>")
    for f in result.failures:
        parts.append(f'<div class="verdict verdict-fail"><b>{html.escape(f.name)}: did not '
                     f"run</b><br>{html.escape(f.message)}</div>")
    k = result.ensembles[0].k if getattr(result, "ensembles", None) else 0
    parts.append(f'<p class="muted">Each check is judged against {k} models retrained from '
                 "scratch without the forget set (other seeds), with the untouched original as "
                 "the do-nothing control: PASS needs a check with power to pass and none to "
                 "fail. Figures, intervals and bands follow in the detail.</p>")
    audited = (f"{result.dataset_name} · model {result.config.model} · forget "
               f"{result.forget_description} ({result.n_forget} of {result.n_train} training "
               f"samples) · seed {result.config.seed}")
    base = repro.get("baseline")
    if base is None or base.get("source") == "not recorded":
        origin = ("not recorded: this report does not say whether it was trained here or "
                  "uploaded")
    elif base.get("source") == "submitted by the claimant":
        origin = (f"submitted by the claimant of a third-party claim: {base.get('file')}, "
                  f"SHA-256 {base.get('sha256')}")
    elif base.get("source") == "uploaded":
        origin = (f"uploaded by the user: {base.get('file') or 'a file'}, SHA-256 "
                  f"{base.get('sha256') or 'unknown'}")
    else:
        origin = (f"trained here from scratch, architecture {base.get('arch')}, seed "
                  f"{base.get('seed')}, recipe {json.dumps(base.get('recipe'))}")
    weights = f"weights hash {base.get('model_hash')}" if base else ""
    signoff = signoff_html(repro.get("signoff") or {})
    return ("".join(parts) +
            f"<h3>What was audited</h3><p>{html.escape(audited)}</p>"
            f"<p><b>Baseline (the model before unlearning):</b> {html.escape(origin)}"
            f"{'; ' + html.escape(weights) if weights else ''}.</p>"
            "<h3>Sign-off</h3>" + signoff +
            f'<p class="muted">Report content SHA-256 {html.escape(payload["content_sha256"])}: '
            "<code>python -m unlearn_core verify</code> re-checks the report, its figures and "
            "verdicts.</p>")


def _attack_section(result: AuditResult) -> str:
    if not result.attack_summaries and not result.ulira:
        return _not_run("threshold family, LiRA and U-LiRA (audit --attacks threshold,lira,ulira)")
    rows = [[a.attack, a.model, f"{a.auc:.3f}", _pct(a.tpr_at_1pct_fpr), _pct(a.tpr_at_01pct_fpr)]
            for a in result.attack_summaries]
    rows += [["U-LiRA (unlearned vs never seen)", u.method, f"{u.auc:.3f}", "–", "–"]
             for u in result.ulira]
    return ("<h3>Attacks: forget set vs unseen samples</h3>" +
            _table(["attack", "model", "AUC", "TPR at 1% FPR", "TPR at 0.1% FPR"], rows))


def _relevance_section(result: AuditResult, run: Optional[AuditRun]) -> str:
    """Integrated Gradients maps per method: the forgotten class's mean for class requests,
    the first forget sample otherwise. Needs the live models (reports written after an audit)."""
    if run is None or not result.methods:
        return _not_run("relevance maps (they need the audit's models: write the report "
                        "right after the audit)")
    from unlearn_core.analysis.relevance import class_relevance, sample_relevance

    colors, parts = charts.colors_of(result), []
    image = run.data.dataset.kind == "image"
    for e in result.methods:
        if result.forget_classes:
            maps = class_relevance(run, result.forget_classes[0], e.name, "ig", n=16)
        else:
            maps = sample_relevance(run, int(result.forget_ids[0]), e.name, "ig")
        parts.append(f"<h3>{html.escape(e.name)}: {html.escape(maps.title)}</h3>" +
                     _figure_html(charts.relevance_figure(
                         maps, image, colors, e.name, run.data.dataset.feature_names),
                         f"relevance {e.name}"))
    return ("".join(parts) + '<p class="muted">Integrated Gradients for the true class. ' +
            html.escape(charts.relevance_caption(image)) + "</p>")


def _inside_section(result: AuditResult) -> list[tuple[str, str]]:
    """'Look inside the model' (issue 10): the inside checks' bars over the retrain band and
    the CKA-by-layer curves, drawn from the recorded measurements alone (so ``verify``
    redraws them); no section when no inside check ran."""
    from unlearn_core.charts.inside import report_figures

    figs = report_figures(result)
    if not figs:
        return []
    return [("Look inside the model", "".join(
        f"<h3>{html.escape(t)}</h3>" + _figure_html(f, t) +
        f'<p class="muted">{html.escape(n)}</p>' for t, f, n in figs))]


def _closeness_section(result: AuditResult) -> str:
    if not result.closeness:
        return _not_run("closeness to retrain (no method ran)")
    rows = [[c.name, f"{c.js_forget:.4f}", f"{c.js_test:.4f}", f"{c.kl_forget:.4f}",
             _pct(c.agreement_forget), _pct(c.agreement_test),
             f"{c.activation_distance_forget:.4f}", f"{c.weight_l2:.3f}"]
            for c in result.closeness]
    return _table(["method", "JS forget", "JS test", "KL forget", "agreement forget %",
                   "agreement test %", "activation distance forget", "weight L2"], rows)


def _inversion_gallery(run: AuditRun) -> str:
    """Feature-side unlearning inversion (Hu et al., S&P 2024) per method: the reconstructions
    from the original and unlearned models next to the forget set's mean image."""
    from unlearn_core.errors import UnlearnError
    from unlearn_core.scenarios.checks import feature_inversions
    from unlearn_core.scenarios.inversion import display_image

    titles = {"gradient": "from the parameter difference", "output": "from the probability drop"}
    rows = []
    for name in [e.name for e in run.result.methods]:
        try:
            recs = feature_inversions(run, [name]).get(name, [])
        except UnlearnError as err:
            rows.append(f"<p>{html.escape(name)}: {html.escape(str(err))}</p>")
            continue
        sim = next((r.similarity for r in recs if r.similarity is not None), None)
        figs = []
        if sim is not None:
            figs.append(f'<figure><img alt="forget-set mean" '
                        f'src="{_png_uri(display_image(sim.forget_mean), 72)}">'
                        f"<figcaption>forget-set mean</figcaption></figure>")
        for r in recs:
            if r.nothing_to_invert:
                figs.append(f"<figure><figcaption>{html.escape(titles[r.mode])}: "
                            f"{html.escape(r.reason)}</figcaption></figure>")
                continue
            s = r.similarity
            note = "" if s is None else (
                f"r = {s.forget_correlation:.2f} with the forget set; closest class mean "
                f"{html.escape(run.result.class_names[s.closest_class])}; "
                f"{s.rank} other class{'es' if s.rank != 1 else ''} closer")
            figs.append(f'<figure><img alt="reconstruction {html.escape(name)} {r.mode}" '
                        f'src="{_png_uri(display_image(r.image), 72)}"><figcaption>'
                        f"{html.escape(titles[r.mode])}<br>{note}</figcaption></figure>")
        rows.append(f"<h4>{html.escape(name)}</h4>" + '<div class="thumbs inv">' + "".join(figs) +
                    "</div>")
    return ("<h3>Unlearning inversion: what the two models reveal of the forgotten data</h3>" +
            "".join(rows) +
            '<p class="muted">An attacker holding the model before and after unlearning '
            "reconstructs inputs of the forgotten class (Hu et al., S&amp;P 2024): by matching "
            "the loss gradient of dummy inputs to the parameter difference, or by finding "
            "inputs whose class probability dropped most. r is the correlation with the forget "
            "set's mean image; the closer the reconstruction is to it, and not to the other "
            "classes' means, the more the release of both models leaks. Images are "
            "contrast-stretched.</p>")


def _verification_section(result: AuditResult, run: Optional[AuditRun] = None) -> str:
    """The verification scenarios (audit --checks), each judged against retraining; with the
    live models of an image audit, the inversion check also shows its reconstructions."""
    if not result.checks:
        return _not_run("verification scenarios (audit --checks inversion,backdoor,restor)")
    gallery = ""
    if (run is not None and run.data.dataset.kind == "image" and result.methods
            and any(c.name == "inversion" for c in result.checks)):
        gallery = _inversion_gallery(run)
    rows = [[c.name, c.method, f"{c.figure:.4g}", f"{c.reference:.4g}", f"{c.threshold:.4g}",
             "pass" if c.passed else "FAIL", html.escape(c.reason)] for c in result.checks]
    return (_table(["check", "method", "figure", "retrain", "threshold", "result", "reason"],
                   rows) +
            '<p class="muted">inversion: rank of the first right guess of the forgotten class '
            "by an attacker holding the models before and after (0 = first guess); backdoor: "
            "attack success rate of the planted trigger after unlearning; restor: share of the "
            "clean model's accuracy recovered after forgetting label-flipped samples. Each passes "
            "when the method does no worse than retraining.</p>" + gallery)


def render_html(result: AuditResult, run: Optional[AuditRun] = None,
                payload: Optional[dict] = None, static: bool = False) -> str:
    """A self-contained HTML report (plotly JS inlined once in the head; no network needed).

    ``static=True`` draws every chart as an SVG image instead (kaleido with the system
    chromium; no JavaScript): the form printed to PDF."""
    if static and not _STATIC.get():
        with _static_charts():
            return render_html(result, run, payload, static=True)
    payload = payload or build_json_report(result)
    figs = [("Accuracy before / after / retrain", charts.accuracy_bars(result),
             "Good: forget accuracy near retrain; retain and test near the original."),
            ("Per-class test accuracy", charts.per_class_bars(result),
             "A forgotten class drops to the retrain level; the others stay."),
            ("Membership scores of the forget set", charts.mia_histogram(result),
             "Good: the method's distribution sits on the retrain one."),
            ("Membership-inference ROC (forget vs unseen)", charts.mia_roc(result),
             "Good: close to the retrain curve.")]
    chart_html = {}
    for title, fig, note in figs:
        chart_html[title] = (_figure_html(fig, title) +
                             f'<p class="muted">{html.escape(note)}</p>')
    forget_counts = ""
    if run is not None:
        forget_counts = _figure_html(charts.forget_class_counts(
            result, run.data.dataset.y[run.data.forget_set.forget]), "forget set per class")
    evals = result.evaluations()
    acc_rows = [[e.name, e.role, _pct(e.accuracy.forget), _pct(e.accuracy.retain),
                 _pct(e.accuracy.test), _pct(e.accuracy.test_other_classes),
                 f"{e.seconds:.2f}"] for e in evals]
    mia_rows = [[e.name, f"{e.mia.auc_forget_vs_test:.3f}", _pct(e.mia.forget_member_rate),
                 _pct(e.mia_efficacy), f"{e.mia.auc_retain_vs_population:.3f}",
                 f"{e.mia.auc_test_vs_population:.3f}"] for e in evals]
    method_rows = [[e.name, json.dumps(e.params), "; ".join(e.log[-2:])] for e in result.methods]
    fail_rows = [[f.name, f.message] for f in result.failures]
    repro = payload["reproducibility"]
    cfg = result.config
    sections = [
        ("Summary", _summary_section(result, payload)),
        *([("Third-party claim", claim_html(result))] if getattr(result, "claim", None) else []),
        ("Summary verdict", _verdict_section(result)),
        ("Setup", _table(["item", "value"], [
            ["dataset", result.dataset_name], ["model", cfg.model], ["seed", cfg.seed],
            ["training", json.dumps(to_jsonable(result.train_config))],
            ["split sizes (train / test / population)",
             f"{result.n_train} / {result.n_test} / {result.n_population}"]])),
        ("Forget set", f"<p>{html.escape(result.forget_description)}: {result.n_forget} "
                       f"samples, {result.n_retain} retained.</p>" + forget_counts +
                       _thumbnails(run)),
        ("Methods compared", _table(["method", "hyperparameters", "log"], method_rows) +
         (_table(["failed method", "reason"], fail_rows) if fail_rows else "")),
        ("Accuracy shifts", _table(["model", "role", "forget %", "retain %", "test %",
                                    "test other classes %", "seconds"], acc_rows) +
         chart_html["Accuracy before / after / retrain"] + chart_html["Per-class test accuracy"]),
        ("Membership inference", _table(["model", "AUC forget vs unseen", "called members %",
                                         "MIA-efficacy %", "AUC retain vs population",
                                         "AUC test vs population (≈0.5)"], mia_rows) +
         chart_html["Membership scores of the forget set"] +
         chart_html["Membership-inference ROC (forget vs unseen)"] + _attack_section(result)),
        ("Closeness to retrain", _closeness_section(result)),
        ("Relevance maps", _relevance_section(result, run)),
        *_inside_section(result),
        ("Verification attacks", _verification_section(result, run)),
        ("Reproducibility", "<pre>" + html.escape(json.dumps(repro, indent=1)) + "</pre>" +
         f"<p>Report content SHA-256: <code>{payload['content_sha256']}</code>. Re-check with "
         "<code>python -m unlearn_core verify report.json</code>.</p>"),
    ]
    nav = "".join(f'<a href="#s{i}">{html.escape(t)}</a>' for i, (t, _) in enumerate(sections)
                  if i)
    # the summary fills page one of the PDF; the contents and the detail follow
    body = "".join((f'<section id="s{i}" class="summary">' if i == 0 else
                    f'<section id="s{i}">') + f"<h2>{html.escape(t)}</h2>{c}</section>" +
                   (f"<nav>{nav}</nav>" if i == 0 else "") for i, (t, c) in enumerate(sections))
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="audit-report-sha256" content="{payload['content_sha256']}">
<title>Unlearning audit: {html.escape(result.dataset_name)}, {html.escape(result.forget_description)}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#111;padding:0 1em}}
h1{{margin-bottom:.2em}} h2{{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}}
table{{border-collapse:collapse;margin:.6em 0;font-size:.9em}}
td,th{{border:1px solid #ddd;padding:4px 8px;text-align:right}} td:first-child,th:first-child{{text-align:left}}
.muted{{color:#666;font-size:.9em}} nav a{{margin-right:1em;font-size:.9em}}
pre{{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:.8em}}
.thumbs{{display:flex;flex-wrap:wrap;gap:6px}} .thumbs figure{{margin:0;text-align:center;font-size:.7em}}
.inv{{gap:14px}} .inv figure{{max-width:170px;font-size:.8em}}
section{{break-inside:avoid-page}} img.chart{{max-width:100%;height:auto;display:block}}
.verdict{{margin:.5em 0;padding:.4em .7em;border-left:5px solid #999;background:#f7f7f7}}
.verdict ul{{margin:.2em 0 0 1.2em;padding:0}} .verdict-pass{{border-color:#15803d}}
.verdict-fail{{border-color:#b91c1c}} .verdict-uncertain{{border-color:#b45309}}
.verdict-qualified{{border-color:#b45309}}
table.signoff th{{text-align:left;width:8em}} table.signoff td{{text-align:left;min-width:20em}}
p.sign{{margin-top:1.6em}}
@page{{size:A4;margin:12mm}}
body{{font-variant-ligatures:none}}
@media print{{.modebar-container{{display:none!important}} nav{{display:none}}
body{{margin:0;max-width:none;font-size:12px}} h1{{margin-top:0}}
section.summary{{break-after:page;break-inside:auto}} section.summary h2{{margin-top:.6em}}
table{{font-size:.85em}} td,th{{padding:2px 4px}}
pre{{white-space:pre-wrap;word-break:break-all}}}}
</style>{"" if static else f"<script>{get_plotlyjs()}</script>"}</head><body>
<h1>Unlearning audit</h1>
<p class="muted">{html.escape(result.dataset_name)} · {html.escape(cfg.model)} · forget {html.escape(result.forget_description)} · seed {cfg.seed} · unlearn_core {html.escape(result.versions.get("unlearn_core", ""))}</p>
{body}{embedded_json(payload)}</body></html>"""


PRINT_SECONDS = 180  # chromium's whole run printing one PDF


def write_pdf(html_path: Path, pdf_path: Path, chromium: str = "/usr/bin/chromium") -> Path:
    """Print the HTML report to PDF with the system chromium (charts drawn as on screen)."""
    exe = chromium if Path(chromium).exists() else shutil.which("chromium")
    if not exe:
        raise UnlearnError("PDF export needs chromium (apt-get install chromium); the HTML and "
                           "JSON reports were written")
    # printed and embedded into a temporary file renamed into place: never a truncated PDF
    part = pdf_path.with_name(f".{pdf_path.name}.{os.getpid()}.part")
    try:
        with tempfile.TemporaryDirectory() as profile:
            try:
                proc = subprocess.run(
                    [exe, "--headless", "--no-sandbox", "--disable-gpu",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                     "--no-pdf-header-footer", "--virtual-time-budget=15000",
                     f"--print-to-pdf={part.resolve()}", html_path.resolve().as_uri()],
                    capture_output=True, timeout=PRINT_SECONDS)
            except subprocess.TimeoutExpired:  # killed by subprocess.run: no wait beyond this
                raise UnlearnError(f"chromium did not print the PDF within {PRINT_SECONDS} s")
            except OSError as err:
                raise UnlearnError(f"chromium could not be started to print the PDF: "
                                   f"{err.strerror or err}")
        if proc.returncode != 0 or not part.exists():
            raise UnlearnError(f"chromium could not print the PDF (exit {proc.returncode})")
        from unlearn_core.report.pdf_embed import embed_from_html

        try:
            embed_from_html(html_path, part)  # the report it shows, for `verify report.pdf`
            os.replace(part, pdf_path)
        except OSError as err:
            raise UnlearnError(f"the PDF could not be written to '{pdf_path}': "
                               f"{err.strerror or err}")
    finally:
        part.unlink(missing_ok=True)
    return pdf_path


def write_reports(result: AuditResult, out_dir: str | Path, run: Optional[AuditRun] = None,
                  artifacts: Optional[list] = None, pdf: bool = True,
                  signoff: Optional[dict] = None,
                  baseline: Optional[dict] = None) -> dict[str, Path]:
    """Write report.json, report.html and (when chromium is there) report.pdf. ``signoff``:
    ``signoff_record`` (by default: now, the current user, no run id or auditor named)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = build_json_report(result, artifacts, signoff=signoff or signoff_record(),
                                baseline=baseline)
    paths = {"json": out / "report.json", "html": out / "report.html"}
    try:  # both or neither, each whole: a full disk or `ulimit -f` leaves no truncated report
        write_files_atomic({paths["json"]: json.dumps(payload, indent=1),
                            paths["html"]: render_html(result, run, payload)})
    except OSError as err:
        raise ConfigError(f"cannot write the reports in '{out}': {err.strerror or err} "
                          "(nothing was written)") from None
    # an earlier audit's PDF in this folder would sit beside this audit's JSON and HTML, also
    # when this one cannot be printed
    (out / "report.pdf").unlink(missing_ok=True)
    if pdf:  # printed from the static form: SVG charts, no toolbar, nothing clipped
        with tempfile.TemporaryDirectory() as tmp:
            printable = Path(tmp) / "report.html"
            printable.write_text(render_html(result, run, payload, static=True),
                                 encoding="utf-8")
            paths["pdf"] = write_pdf(printable, out / "report.pdf")
    return paths
