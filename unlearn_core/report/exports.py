"""The three downloads of one audit as the dashboard hands them out (the Report page's buttons
call these, and the Language models page its PDF's): the HTML page, the JSON report and the PDF,
each from the same payload, so that each of them verifies (``verify``) untouched."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Optional

from unlearn_core.audit.run import AuditResult, AuditRun
from unlearn_core.report.build import render_html, write_pdf


def html_export(result: AuditResult, run: Optional[AuditRun], payload: dict) -> str:
    """The HTML report of ``payload`` (interactive charts, the payload embedded)."""
    return render_html(result, run, payload)


def json_export(payload: dict) -> str:
    """The JSON report: the payload as written, byte for byte what its hash covers."""
    return json.dumps(payload, indent=1)


def pdf_export(result: AuditResult, run: Optional[AuditRun], payload: dict) -> bytes:
    """The PDF report: the static page (SVG charts, no toolbar) printed by chromium, the
    payload attached (``write_pdf``); ``UnlearnError`` when chromium is missing or fails."""
    return _printed(render_html(result, run, payload, static=True))


def text_pdf_export(payload: dict) -> bytes:
    """A text audit's PDF report: its HTML page (no charts) printed as ``pdf_export`` prints."""
    from unlearn_core.report.text import render_text_html

    return _printed(render_text_html(payload))


def _printed(page: str) -> bytes:
    """The PDF of an HTML page that embeds its report, printed in a temporary folder."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.html"
        path.write_text(page, encoding="utf-8")
        return write_pdf(path, Path(tmp) / "report.pdf").read_bytes()
