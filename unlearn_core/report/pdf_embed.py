"""The PDF report carries the report it was printed from, so ``verify report.pdf`` can check it.

After chromium prints the page (``build.write_pdf``), the report's JSON (the one the HTML embeds)
is attached to the PDF as an embedded file, ``report.json`` (ISO 32000 EmbeddedFiles, which PDF
readers list as an attachment), and its content hash is written into the document information
as ``/AuditReportSHA256``; both with pypdf. ``read_pdf`` gives them back with the text a reader
sees, which ``verify`` compares with the verdict lines of the embedded record.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from unlearn_core.serialize import write_atomic

ATTACHMENT = "report.json"
HASH_KEY = "/AuditReportSHA256"


@contextlib.contextmanager
def _quiet():
    """pypdf's warnings about chromium's PDFs (e.g. a trailer size it corrects) are not the
    user's concern: kept out of the audit's and verify's output."""
    log = logging.getLogger("pypdf")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


@dataclass
class PdfReport:
    """What a PDF report holds: its embedded report(s) (raw bytes), hash entry and page text."""

    attachments: list[bytes]
    hash_entry: Optional[str]
    text: str


def embed_report(pdf_path: str | Path, payload: dict) -> Path:
    """Attach ``payload`` to the PDF (replacing an earlier attachment of that name) and write
    its content hash into the document information; in place."""
    from pypdf import PdfReader, PdfWriter

    pdf_path = Path(pdf_path)
    buf = io.BytesIO()
    with _quiet():
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_path.read_bytes())))
        names = writer.root_object.get("/Names")
        names = names.get_object() if names is not None else None
        if names is not None and "/EmbeddedFiles" in names:
            del names["/EmbeddedFiles"]  # one report per PDF: a re-signed one replaces the old
        writer.add_attachment(ATTACHMENT, json.dumps(payload, separators=(",", ":")).encode())
        writer.add_metadata({HASH_KEY: str(payload.get("content_sha256", ""))})
        writer.write(buf)
    return write_atomic(pdf_path, buf.getvalue())


def embed_from_html(html_path: str | Path, pdf_path: str | Path) -> bool:
    """Embed the report the printed HTML embeds (nothing when it embeds none). True if done."""
    from unlearn_core.errors import ConfigError
    from unlearn_core.report.envelope import embedded_payload

    try:
        payload = embedded_payload(Path(html_path).read_text(encoding="utf-8"))
    except ConfigError:
        return False
    embed_report(pdf_path, payload)
    return True


def read_pdf(pdf_path: str | Path) -> PdfReport:
    """The PDF's embedded reports, hash entry and visible text (``ConfigError`` when it is not
    a readable PDF)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    from unlearn_core.errors import ConfigError
    from unlearn_core.report.envelope import read_regular

    raw = read_regular(pdf_path)  # a regular file within the size limit, or one ConfigError
    try:
        with _quiet():
            reader = PdfReader(io.BytesIO(raw))
            attachments = list(reader.attachments.get(ATTACHMENT, []))
            meta = reader.metadata or {}
            text = "\n".join(page.extract_text() or "" for page in reader.pages)
    except OSError as err:
        raise ConfigError(f"cannot read report '{pdf_path}': {err.strerror}")
    except (PdfReadError, ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"'{pdf_path}' is not a readable PDF: {err}")
    entry = meta.get(HASH_KEY)
    return PdfReport(attachments, None if entry is None else str(entry), text)
