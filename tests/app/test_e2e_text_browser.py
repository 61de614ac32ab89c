"""End-to-end in a real browser (Debian chromium via playwright): the Language models page with
the smallest settings: train the tiny model, pick a person by clicking a point of the embedding
map, run one method beside the retrain ensemble, see the verdict and download the report.

Screenshots land in a temporary folder. Skipped when chromium is absent; the app must make no
request outside itself and the run must not change any tracked file.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest

from tests.e2e_support import CHROMIUM, browser_page, running_app, tracked_changes, wait_idle

SHOTS = Path(tempfile.mkdtemp(prefix="unlearn-e2e-text-shots-"))
FAILED_SHOT = Path("/tmp/e2e_text_failure.png")

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no /usr/bin/chromium")]


@pytest.fixture()
def page(request):
    before = tracked_changes()
    with running_app() as url, browser_page(url, request, FAILED_SHOT) as pg:
        yield pg
    assert tracked_changes() == before


def _set_number(pg, label: str, value: int) -> None:
    box = pg.get_by_role("spinbutton", name=label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    wait_idle(pg)


def test_text_mode_in_a_real_browser(page):
    page.get_by_role("link", name="6 · Language models").click()
    page.get_by_role("button", name="Train the model").wait_for()
    wait_idle(page)
    for label, value in (("People", 4), ("Facts per person", 1), ("Training epochs", 20),
                         ("Reference retrains", 2)):
        _set_number(page, label, value)
    page.get_by_role("button", name="Train the model").click()
    page.get_by_text("Model ready").wait_for(timeout=300_000)
    wait_idle(page)

    # click one point of the embedding map: its person becomes the forget set
    plot = page.locator(".js-plotly-plot").first
    plot.wait_for()
    plot.scroll_into_view_if_needed()
    wait_idle(page)
    pts = plot.locator(".scatterlayer .trace path.point").evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return [r.x + r.width / 2, r.y + r.height / 2]; })")
    assert len(pts) == 4  # four people, one fact each
    cx, cy = pts[0]
    page.mouse.move(cx - 20, cy - 20)
    page.mouse.move(cx, cy, steps=5)
    page.mouse.down()
    page.mouse.up()
    page.get_by_text("1 people, 1 facts selected").wait_for(timeout=30_000)
    page.locator(".legendtext", has_text="selected (1)").wait_for()
    wait_idle(page)
    page.screenshot(path=str(SHOTS / "text_forget.png"))

    # one method: drop npo from the defaults, keep gradient difference
    page.locator("[data-testid='stMultiSelect']", has_text="npo").get_by_role(
        "button", name=re.compile("remove", re.I)).last.click()
    wait_idle(page)
    page.get_by_role("button", name="Run text audit").click()
    verdict = page.get_by_text(re.compile(r"gradient_difference: [A-Z]+: \d+ of \d+ checks pass"))
    verdict.first.wait_for(timeout=300_000)
    wait_idle(page)
    assert page.get_by_text(re.compile(r"^npo: ")).count() == 0
    page.get_by_text("Completions on the forget set").wait_for()
    page.screenshot(path=str(SHOTS / "text_audit.png"), full_page=True)

    with page.expect_download() as info:
        page.get_by_role("button", name="Download JSON report").click()
    report = json.loads(Path(info.value.path()).read_text())
    assert report["reproducibility"]["kind"] == "text"
    assert [v["method"] for v in report["result"]["verdicts"]] == ["gradient_difference"]
    assert len(report["result"]["forget_ids"]) == 1
    assert [r["name"] for r in report["result"]["retrains"]] == ["retrain", "retrain#2"]
