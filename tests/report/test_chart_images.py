"""The printed report's charts: a chromium that exits at once or never answers is one
``UnlearnError`` within the start deadline, never a wait, and the hung browser is killed
(issue 22: verify and the PDF export sat idle when chromium could not start)."""

from __future__ import annotations

import os
import time

import plotly.graph_objects as go
import pytest

from unlearn_core.errors import UnlearnError
from unlearn_core.report import build, chart_images


def _browser(tmp_path, body: str):
    path = tmp_path / "chromium"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie waits only for its parent to reap it
        return fh.read().split(") ", 1)[1][0] != "Z"


@pytest.mark.timeout(90)
@pytest.mark.parametrize("body", ["exit 1", 'echo $$ > "$(dirname "$0")/pid"; exec sleep 600'])
def test_a_browser_that_cannot_start_is_an_error_in_seconds(tmp_path, monkeypatch, body):
    monkeypatch.setenv("BROWSER_PATH", str(_browser(tmp_path, body)))
    monkeypatch.setattr(chart_images, "START_SECONDS", 3.0)
    start = time.monotonic()
    with pytest.raises(UnlearnError, match="static charts for the PDF"):
        with build._static_charts():
            build._figure_html(go.Figure(go.Bar(y=[1, 2])))
    assert time.monotonic() - start < 45
    pid_file = tmp_path / "pid"
    if pid_file.exists():  # the hung browser is killed, not left behind
        pid = int(pid_file.read_text())
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(pid)
