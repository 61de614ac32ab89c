"""Reports render every section from a real audit, open offline in chromium, and print to PDF."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from unlearn_core.report import build_json_report, content_hash, render_html, write_reports
from unlearn_core.store.db import RunStore

SECTIONS = ["Summary verdict", "Setup", "Forget set", "Methods compared", "Accuracy shifts",
            "Membership inference", "Closeness to retrain", "Relevance maps",
            "Verification attacks", "Reproducibility"]
CHROMIUM = Path("/usr/bin/chromium")


def test_json_report_has_figures_fingerprints_and_hash(small_run):
    payload = build_json_report(small_run.result)
    repro = payload["reproducibility"]
    assert repro["dataset_fingerprint"] == small_run.result.dataset_fingerprint
    assert set(repro["model_hashes"]) == {"baseline", "retrain", "finetune", "random_label"}
    assert payload["content_sha256"] == content_hash(payload)
    payload["result"]["methods"][0]["accuracy"]["forget"] = 0.0
    assert payload["content_sha256"] != content_hash(payload)


def test_html_has_every_section_and_inlines_plotly_once(small_run):
    page = render_html(small_run.result, small_run)
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in page, title
    assert page.count("Plotly.newPlot") >= 4
    assert len(re.findall(r"plotly\.js v\d", page)) == 1  # the library itself, once
    assert "Not run in this audit" in page  # optional sections say so instead of vanishing
    rel = page.split("<h2>Relevance maps</h2>")[1].split("<h2>")[0]
    assert "Plotly.newPlot" in rel and "finetune" in rel  # maps drawn from the live models
    assert "Not run" in render_html(small_run.result).split("<h2>Relevance maps</h2>")[1][:300]


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")
def test_html_opens_offline_and_charts_draw_and_pdf_has_pages(tmp_path, small_run, digits):
    from playwright.sync_api import sync_playwright

    from unlearn_core import AuditConfig, MethodSpec, run_audit
    from unlearn_core.models import TrainConfig

    store = RunStore(data_dir=tmp_path / "runs")
    run_id = store.record(small_run)
    paths = write_reports(small_run.result, tmp_path / "rep", small_run, store.artifacts(run_id))
    pdf = paths["pdf"].read_bytes()
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 2
    # an image audit renders thumbnails
    img = run_audit(AuditConfig(dataset="digits", model="mlp", forget="class:3",
                                train=TrainConfig(epochs=3), methods=[MethodSpec("finetune")]))
    img_page = render_html(img.result, img)
    assert img_page.count("data:image/png;base64") >= 10

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        blocked, errors = [], []
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
            "file:") else (blocked.append(route.request.url), route.abort()))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(paths["html"].resolve().as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length"
                               " >= 4", timeout=30_000)
        assert page.locator(".js-plotly-plot").count() >= 5
        browser.close()
    assert not errors, errors
    assert not blocked, blocked
    saved = json.loads(paths["json"].read_text())
    assert saved["reproducibility"]["artifacts"]



def test_membership_charts_are_readable(small_run):
    """Issue 13: the loss histogram was a spike at 0 on a linear axis, two legend entries shared
    grey, the per-sample scatter piled at (0, 0) and the ROC was linear."""
    from unlearn_core.charts import audit as charts

    res = small_run.result
    hist = charts.mia_histogram(res)
    colours = [t.line.color for t in hist.data]
    assert len(set(colours)) == len(colours), colours  # one colour per legend entry
    unseen = next(t for t in hist.data if t.name == "unseen samples")
    assert unseen.line.dash == "dash"
    # the x axis is log10(loss): the bins cover several decades instead of one spike at 0
    xs = np.concatenate([np.asarray(t.x) for t in hist.data])
    assert xs.max() - xs.min() > 1.5
    assert "log" in hist.layout.xaxis.title.text
    for t in hist.data:  # no single bin holds nearly everything
        assert max(t.y) < 0.9, t.name
    roc = charts.mia_roc(res)
    assert roc.layout.xaxis.type == "log" and roc.layout.yaxis.type == "log"
    assert all(min(t.x) > 0 and min(t.y) > 0 for t in roc.data)
    shift = charts.score_shift(res, "finetune")
    assert shift.layout.xaxis.type == "log" and shift.layout.yaxis.type == "log"
    pts = shift.data[0]
    spread = np.log10(np.asarray(pts.x)).max() - np.log10(np.asarray(pts.x)).min()
    assert spread > 1  # spread over decades, not piled at (0, 0)


def test_ten_class_axes_label_every_class(class_audit):
    from unlearn_core.charts import audit as charts

    res = class_audit.result
    for fig in (charts.per_class_bars(res),
                charts.forget_class_counts(res, np.array([3, 3, 5]))):
        assert list(fig.layout.xaxis.tickvals) == list(res.class_names)
        assert fig.layout.xaxis.type == "category"


def test_charts_leave_room_for_ticks_and_titles(small_run):
    from unlearn_core.charts import audit as charts

    res = small_run.result
    for fig in (charts.accuracy_bars(res), charts.per_class_bars(res), charts.mia_histogram(res),
                charts.mia_roc(res)):
        m = fig.layout.margin
        assert m.l >= 50 and m.b >= 40, (m.l, m.b)
        assert fig.layout.yaxis.automargin and fig.layout.xaxis.automargin


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")
def test_printable_report_draws_static_charts_without_toolbar(small_run):
    """Issue 13: the PDF printed plotly's toolbar and clipped charts; it is printed from a
    static form whose charts are SVG images drawn by kaleido, at the size they were laid out."""
    page = render_html(small_run.result, small_run, static=True)
    assert "Plotly.newPlot" not in page
    assert not re.search(r"plotly\.js v\d", page)  # no script at all
    svgs = re.findall(r'<img class="chart" alt="([^"]*)" src="data:image/svg\+xml;base64,',
                      page)
    assert len(svgs) >= 7, svgs  # 4 audit charts, forget counts, 2 relevance figures
    rel = page.split("<h2>Relevance maps</h2>")[1].split("<h2>")[0]
    assert "coloured by model" in rel and "Red:" not in rel  # caption matches tabular bars
    # the interactive form keeps plotly, without its logo
    assert '"displaylogo": false' in render_html(small_run.result, small_run)
