"""The app keeps the user's work, in a real browser (Debian chromium via playwright; issue 22):
a run recorded beforehand through the Python API into the app's store opens by its address
(``/audit?run=<id>``) on a server that has served nothing yet, shows the same verdict after a
reload and in a fresh tab, and the run list opens a run by a click on its row. The first load
lists the pages by their titles, never the ``pages/`` folder's file names. Skipped when
chromium is absent."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from tests.e2e_support import CHROMIUM, browser_page, running_app, tracked_changes, wait_idle
from unlearn_core.report.rows import verdict_rows
from unlearn_core.store.db import RunStore

FAILED_SHOT = Path("/tmp/e2e_reload_failure.png")
FILE_NAMES = ("contrast view", "inside view", "relevance view", "shared", "csv view")

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no /usr/bin/chromium")]


@pytest.fixture(scope="module")
def recorded(small_run):
    """small_run recorded into the store the app opens ($UNLEARN_DATA_DIR): its id and the
    verdict lines the Audit page must show."""
    run_id = RunStore(data_dir=os.environ["UNLEARN_DATA_DIR"]).record(small_run)
    return run_id, [f"{v.method}: {v.headline}" for v in verdict_rows(small_run.result.verdicts)]


@pytest.fixture(scope="module")
def app_url(recorded):
    with running_app() as url:  # started after the run is recorded, serving nothing yet
        yield url


@pytest.fixture(autouse=True)
def tracked_files_untouched():
    before = tracked_changes()
    yield
    assert tracked_changes() == before


def _audit_shown(pg, run_id: str, verdicts: list[str]) -> None:
    """The Audit page shows the run: its context line and every verdict headline."""
    pg.get_by_text("Verdict per method").wait_for(timeout=120_000)
    wait_idle(pg)
    main = pg.get_by_test_id("stMain").inner_text()
    assert main.startswith("Audit"), main[:200]
    assert f"run {run_id[:12]}" in main, main[:400]
    assert "Data set wine · forget request class class_1" in main
    for line in verdicts:
        assert line in main, (line, main[:800])
    assert f"run={run_id}" in pg.url
    # the views draw from the stored models (plotly renders after the page is idle: wait)
    pg.locator(".js-plotly-plot").nth(2).wait_for(timeout=120_000)


def test_a_run_opens_by_its_address_after_a_reload_and_in_a_new_tab(app_url, recorded,
                                                                     request):
    run_id, verdicts = recorded
    # the server's very first page is the run's address: Streamlit would serve it in its
    # pages/ folder mode (the page file alone); the app runs it, and its sidebar lists page
    # titles from the first moment, never file names
    with browser_page(app_url, request, FAILED_SHOT, f"/audit?run={run_id}") as pg:
        seen, t0 = set(), time.time()
        while time.time() - t0 < 120:
            text = pg.evaluate("() => { const s = document.querySelector("
                               "\"[data-testid='stSidebar']\"); return s ? s.innerText : ''; }")
            seen.add(text)
            if "Audits this session: 1" in text:
                break
            pg.wait_for_timeout(50)
        assert "4 · Audit" in text and not any(n in t for t in seen for n in FILE_NAMES), seen
        _audit_shown(pg, run_id, verdicts)
        pg.reload()
        _audit_shown(pg, run_id, verdicts)
    with browser_page(app_url, request, FAILED_SHOT) as pg:  # a fresh tab, a new session
        pg.goto(f"{app_url}/audit?run={run_id[:10]}")
        _audit_shown(pg, run_id, verdicts)


def test_the_run_list_opens_a_run_by_a_click_on_its_row(app_url, recorded, request):
    run_id, verdicts = recorded
    with browser_page(app_url, request, FAILED_SHOT) as pg:
        pg.get_by_role("link", name="5 · Report").click()
        pg.get_by_text("Run history").wait_for(timeout=120_000)
        wait_idle(pg)
        grid = pg.get_by_test_id("stDataFrame").first
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        pg.mouse.click(box["x"] + 15, box["y"] + 35 + 17)  # the first row's selection box
        pg.wait_for_url(re.compile(r"/audit\?run="), timeout=120_000)
        _audit_shown(pg, run_id, verdicts)
