"""Time the dashboard's default flow as the browser sees it, from a fresh start: setup
(digits + CNN), select a class, one method plus retrain, open the audit.

Each repeat is a fresh start: a new server process, a new browser, and empty model, ensemble
and run caches (``UNLEARN_CACHE_DIR`` and ``UNLEARN_DATA_DIR`` point to new temporary folders),
so nothing trained by an earlier repeat is reused. Prints each step's mean and standard
deviation over the repeats, and every repeat's own figure.

    python bench/bench_app.py --repeats 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright

from tests.e2e_support import CHROMIUM, CHROMIUM_ARGS, running_app, wait_idle
from unlearn_core.report.table import format_table


def one_run() -> list[tuple[str, float]]:
    """The default flow once, from a fresh server and browser; (step, seconds) pairs."""
    rows: list[tuple[str, float]] = []
    t_start = time.perf_counter()
    with running_app() as url, sync_playwright() as p:
        rows.append(("start the server", time.perf_counter() - t_start))
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(180_000)

        def step(name, action, done):
            t0 = time.perf_counter()
            action()
            done()
            wait_idle(page)
            rows.append((name, time.perf_counter() - t0))

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

        step("select class 3 (and its difficulty)", pick_class,
             lambda: page.get_by_text("Next: unlearn").wait_for())
        step("open the unlearn page", lambda: page.get_by_role("link", name="Next: unlearn")
             .click(), lambda: page.get_by_role("button", name="Run unlearning").wait_for())
        step("run finetune + retrain ensemble",
             lambda: page.get_by_role("button", name="Run unlearning").click(),
             lambda: page.get_by_text("Finished: retrain, finetune").wait_for())
        step("open the audit (with the contrast view)",
             lambda: page.get_by_role("link", name="Open the audit").click(),
             lambda: page.get_by_text("Per-sample score shifts").wait_for())
        browser.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="fresh starts to time (default 3)")
    args = ap.parse_args()
    runs, load_before = [], os.getloadavg()[0]
    for i in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as data:
            os.environ["UNLEARN_CACHE_DIR"], os.environ["UNLEARN_DATA_DIR"] = cache, data
            runs.append(one_run())
        print(f"repeat {i + 1}: {sum(t for _, t in runs[-1]):.2f} s", file=sys.stderr)
    steps = [name for name, _ in runs[0]]
    table = [[name, *[r[k][1] for r in runs]] for k, name in enumerate(steps)]
    table.append(["total", *[sum(t for _, t in r) for r in runs]])
    rows = []
    for name, *times in table:
        spread = statistics.stdev(times) if len(times) > 1 else 0.0
        rows.append([name, f"{statistics.mean(times):.2f} ± {spread:.2f}",
                     " ".join(f"{t:.2f}" for t in times)])
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}; load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after (other work on the machine slows every step); "
          f"{args.repeats} fresh starts (mean ± standard deviation)")
    print(format_table(["step", "seconds", "each repeat"], rows))


if __name__ == "__main__":
    main()
