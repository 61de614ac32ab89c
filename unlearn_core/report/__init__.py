"""Audit reports: JSON with every figure and fingerprint, self-contained HTML, and PDF."""

from unlearn_core.report.build import build_json_report, render_html, write_pdf, write_reports
from unlearn_core.report.envelope import REPORT_VERSION, content_hash

__all__ = ["REPORT_VERSION", "build_json_report", "content_hash", "render_html", "write_pdf",
           "write_reports"]
