"""Starting the app and a browser for end-to-end tests and the app benchmark."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app():
    """Start `streamlit run app.py` on a free port; yield its URL; stop it."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
         str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
         # source edits during a run would show a "File change" notice in the status widget,
         # which wait_idle reads as a run that never ends
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("streamlit did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def wait_idle(page) -> None:
    """Wait until Streamlit has finished the current rerun."""
    page.wait_for_timeout(400)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=90_000)


def tracked_changes() -> str:
    """``git status`` of the tracked files ('' outside a git checkout): a test must leave it
    as it found it."""
    try:
        return subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                              cwd=ROOT, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


@contextmanager
def browser_page(url: str, request, failed_shot: Path, path: str = ""):
    """A chromium page on ``url`` + ``path`` (1400 x 1000, downloads on); on leaving, a
    screenshot to ``failed_shot`` when the test failed, then no page error and no request that
    left the app (it must work offline)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        pg.set_default_timeout(90_000)
        errors: list[str] = []
        external: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:"))
              else external.append(r.url))
        pg.goto(url + path)
        yield pg
        if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
            pg.screenshot(path=str(failed_shot), full_page=True)
        browser.close()
    assert not errors, errors
    assert not external, external
