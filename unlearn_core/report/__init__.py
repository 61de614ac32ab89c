"""Audit reports: JSON with every figure and fingerprint, self-contained HTML, and PDF."""

from .build import (
    REPORT_VERSION,
    build_json_report,
    content_hash,
    render_html,
    write_pdf,
    write_reports,
)

__all__ = ["REPORT_VERSION", "build_json_report", "content_hash", "render_html", "write_pdf",
           "write_reports"]
