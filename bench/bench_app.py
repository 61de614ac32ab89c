"""Time the dashboard's default flow as the browser sees it, from a fresh start: setup
(digits + CNN), select a class, one method plus retrain, open the audit.

    python bench/bench_app.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright

from tests.e2e_support import CHROMIUM, CHROMIUM_ARGS, running_app, wait_idle
from unlearn_core.table import format_table


def main() -> None:
    rows = []
    t_start = time.perf_counter()
    with running_app() as url, sync_playwright() as p:
        rows.append(["start the server", f"{time.perf_counter() - t_start:.2f}"])
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(180_000)

        def step(name, action, done):
            t0 = time.perf_counter()
            action()
            done()
            wait_idle(page)
            rows.append([name, f"{time.perf_counter() - t0:.2f}"])

        step("open the app", lambda: page.goto(url),
             lambda: page.get_by_role("button", name="Load data and train the baseline")
             .wait_for())
        step("setup: train the default baseline",
             lambda: page.get_by_role("button", name="Load data and train the baseline").click(),
             lambda: page.get_by_text("Confusion matrix").wait_for())
        step("open the forget page (embedding map)",
             lambda: page.get_by_role("link", name="Choose the forget set").click(),
             lambda: page.locator(".js-plotly-plot").first.wait_for())

        def pick_class():
            page.get_by_role("tab", name="Classes").click()
            page.locator("[data-testid='stMultiSelect']").first.click()
            page.get_by_role("option", name="3").click()
            page.keyboard.press("Escape")
            page.get_by_role("button", name="Forget these classes").click()

        step("select class 3", pick_class, lambda: page.get_by_text("Next: unlearn").wait_for())
        step("open the unlearn page", lambda: page.get_by_role("link", name="Next: unlearn")
             .click(), lambda: page.get_by_role("button", name="Run unlearning").wait_for())
        step("run finetune + retrain",
             lambda: page.get_by_role("button", name="Run unlearning").click(),
             lambda: page.get_by_text("Finished: retrain, finetune").wait_for())
        step("open the audit", lambda: page.get_by_role("link", name="Open the audit").click(),
             lambda: page.get_by_text("Per-sample score shifts").wait_for())
        browser.close()
    total = sum(float(r[1]) for r in rows)
    rows.append(["total", f"{total:.2f}"])
    print(format_table(["step (fresh start, 2 cores)", "seconds"], rows))


if __name__ == "__main__":
    main()
