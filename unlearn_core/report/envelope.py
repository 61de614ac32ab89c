"""The report envelope: its version, content hash, the JSON it embeds in an HTML page or a PDF, and
reading it back. A leaf below the report builders, signing, bundles and verify."""


from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Optional

from unlearn_core.errors import ConfigError

REPORT_VERSION = 1


def content_hash(payload: dict) -> str:
    """SHA-256 of the canonical JSON of the result and reproducibility block."""

    canon = json.dumps({"result": payload["result"], "reproducibility":
                        payload["reproducibility"]}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()


EMBED_ID = "audit-report"  # <script type="application/json" id=...>: the payload in the HTML


def embedded_json(payload: dict) -> str:
    """The payload as the HTML report embeds it: JSON in a ``<script>`` block whose ``<``,
    ``>`` and ``&`` are escaped (still valid JSON), so no content can close the block."""
    text = json.dumps(payload, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{EMBED_ID}">{text}</script>'


def load_report(path: str | Path) -> dict:
    try:
        payload = json.loads(Path(path).read_text())
    except OSError as err:
        raise ConfigError(f"cannot read report '{path}': {err.strerror}")
    except ValueError as err:
        raise ConfigError(f"report '{path}' is not valid JSON: {err}")
    if not isinstance(payload, dict) or "result" not in payload or "reproducibility" not in payload:
        raise ConfigError(f"'{path}' is not an audit report (no result/reproducibility block)")
    return payload


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


_EMBED = re.compile(r'<script type="application/json" id="' + re.escape(EMBED_ID) +
                    r'">(.*?)</script>', re.S)


_META = re.compile(r'<meta name="audit-report-sha256" content="([^"]*)">')


class _Visible(HTMLParser):
    """What a reader sees: text outside scripts and styles per ``<section>`` (and the page
    header), and each section's plotly charts (their data and layout, element ids removed)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.section, self.order = "header", ["header"]
        self.text: dict[str, list[str]] = {"header": []}
        self.charts: dict[str, list[str]] = {"header": []}
        self.titles: dict[str, str] = {"header": "page header"}
        self._raw: Optional[str] = None
        self._buf: list[str] = []
        self._h2: Optional[list[str]] = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "section":
            self.section = dict(attrs).get("id") or f"section{len(self.order)}"
            self.order.append(self.section)
            self.text[self.section], self.charts[self.section] = [], []
        elif tag in ("script", "style"):
            self._raw, self._buf = tag, []
        elif tag == "h2":
            self._h2 = []

    def handle_endtag(self, tag: str) -> None:
        if tag == self._raw:
            body = "".join(self._buf)
            if tag == "script" and self.section != "header" and "Plotly.newPlot" in body:
                self.charts[self.section].append(" ".join(_UUID.sub("ID", body).split()))
            self._raw = None
        elif tag == "h2" and self._h2 is not None:
            self.titles[self.section] = " ".join("".join(self._h2).split())
            self._h2 = None
        elif tag == "section":
            self.section = "header"

    def handle_data(self, data: str) -> None:
        if self._raw is not None:
            self._buf.append(data)
            return
        self.text[self.section].append(data)
        if self._h2 is not None:
            self._h2.append(data)

    def canonical(self, section: str) -> str:
        return " ".join(" ".join(self.text.get(section, [])).split())


def visible_text(page: str) -> _Visible:
    """Parse an HTML report into its visible text and charts per section."""
    parser = _Visible()
    parser.feed(page)
    parser.close()
    return parser


def embedded_payload(page: str, source: str = "the HTML report") -> dict:
    """The report JSON an HTML report embeds (``ConfigError`` when it has none)."""
    blocks = _EMBED.findall(page)
    if not blocks:
        raise ConfigError(f"{source} embeds no audit report (written by an earlier release?): "
                          "verify its report.json")
    if len(blocks) > 1:
        raise ConfigError(f"{source} embeds {len(blocks)} audit reports: only one is written")
    try:
        payload = json.loads(blocks[0])
    except ValueError as err:
        raise ConfigError(f"the report embedded in {source} is not valid JSON: {err}")
    if not isinstance(payload, dict) or "result" not in payload or "reproducibility" not in payload:
        raise ConfigError(f"{source} embeds something that is not an audit report")
    return payload


def replace_embedded(page: str, payload: dict) -> str:
    """The HTML report with its embedded JSON replaced by ``payload`` (after signing) and its
    hash meta tag updated."""

    page = _EMBED.sub(lambda _: embedded_json(payload), page, count=1)
    return _META.sub(lambda _: f'<meta name="audit-report-sha256" content="'
                               f'{payload["content_sha256"]}">', page, count=1)


def _where_differs(shown: str, expected: str) -> str:
    i = next((k for k, (a, b) in enumerate(zip(shown, expected)) if a != b),
             min(len(shown), len(expected)))
    lo = max(0, i - 30)
    return (f"shows '...{shown[lo:i + 50]}...' where the embedded report renders "
            f"'...{expected[lo:i + 50]}...'")


def pdf_payload(attachments: list[bytes], source: str = "the PDF report") -> dict:
    """The report JSON a PDF report embeds (``ConfigError`` when it has none)."""
    if not attachments:
        raise ConfigError(f"{source} embeds no audit report (printed by an earlier release?): "
                          "verify its report.json")
    if len(attachments) > 1:
        raise ConfigError(f"{source} embeds {len(attachments)} audit reports: only one is "
                          "written")
    try:
        payload = json.loads(attachments[0].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise ConfigError(f"the report embedded in {source} is not valid JSON: {err}")
    if not isinstance(payload, dict) or "result" not in payload or "reproducibility" not in payload:
        raise ConfigError(f"{source} embeds something that is not an audit report")
    return payload
