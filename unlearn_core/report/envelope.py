"""The report envelope: its version, content hash, the JSON it embeds in an HTML page or a PDF, and
reading it back. A leaf below the report builders, signing, bundles and verify."""


from __future__ import annotations

import hashlib
import json
import math
import os
import re
import stat
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


MAX_REPORT_BYTES = 256 << 20  # a report file (JSON, HTML, PDF or bundle) refused above this
MAX_JSON_DEPTH = 64  # nesting of a report's JSON (a real report nests 8 deep)
MAX_INT_DIGITS = 20  # a whole number in a report (sample ids reach 2**64)
TEXT_KIND = "text"  # ``reproducibility.kind`` of a text-track report (``report.text``)


def read_regular(path: str | Path, what: str = "report",
                 limit: int = MAX_REPORT_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, checked before reading: a FIFO
    or a device would block or never end (opened without blocking, then refused), and a huge
    file is refused by its size, not read whole. One ``ConfigError`` for anything else."""
    try:
        fd = os.open(Path(path).expanduser(), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        raise ConfigError(f"cannot read {what} '{path}': {err.strerror or err}")
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{what} '{path}' is not a regular file (a pipe, device or "
                              "folder): refused")
        if info.st_size > limit:
            raise ConfigError(f"{what} '{path}' is {info.st_size / 2**20:,.0f} MiB, over the "
                              f"limit of {limit / 2**20:g} MiB: refused before reading")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ConfigError(f"{what} '{path}' grew past the limit of {limit / 2**20:g} MiB while "
                          "being read: refused")
    return data


class _Malformed(ValueError):
    """Something no report writes: a bare NaN or Infinity, a number out of range."""


def _bare(name: str) -> str:
    return f"a bare {name} (a classifier report writes such figures as strings)"


def _refuse_constant(name: str) -> float:
    raise _Malformed(_bare(name))


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Malformed(f"the number {text[:40]} is out of range")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Malformed(f"a whole number of {len(text.lstrip('-'))} digits")
    return int(text)


def _depth(obj: object) -> int:
    """How deep lists and objects nest in ``obj`` (walked without recursion)."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        values = item.values() if isinstance(item, dict) else item
        stack.extend((v, depth + 1) for v in values if isinstance(v, (dict, list)))
    return deepest


def parse_json(text: str | bytes, source: str, constants: Optional[list] = None) -> object:
    """JSON read as a report is written: numbers in range, nesting at most ``MAX_JSON_DEPTH``
    deep, and no bare NaN or Infinity, unless ``constants`` is a list: then they are read as
    floats and their names appended to it. ``ConfigError`` ("... is malformed: ...")
    otherwise, or when it is no JSON."""
    def constant(name: str) -> float:
        constants.append(name)
        return float(name.replace("Infinity", "inf"))

    try:
        data = json.loads(text, parse_constant=_refuse_constant if constants is None else
                          constant, parse_float=_float, parse_int=_int)
    except _Malformed as err:
        raise ConfigError(f"{source} is malformed: {err}")
    except RecursionError:
        raise ConfigError(f"{source} is malformed: its JSON nests deeper than "
                          f"{MAX_JSON_DEPTH} levels")
    except (ValueError, UnicodeDecodeError) as err:
        raise ConfigError(f"{source} is not valid JSON: {err}")
    if isinstance(data, (dict, list)) and _depth(data) > MAX_JSON_DEPTH:
        raise ConfigError(f"{source} is malformed: its JSON nests deeper than "
                          f"{MAX_JSON_DEPTH} levels")
    return data


def _report_payload(data: object, source: str, constants: Optional[list] = None) -> dict:
    """``data`` if it is a report: result and reproducibility blocks, and bare NaN or Infinity
    (``constants``, as ``parse_json`` found them) only in a text-track report, whose writer
    leaves them bare; a classifier report writes them as strings."""
    if not isinstance(data, dict) or "result" not in data or "reproducibility" not in data:
        raise ConfigError(f"{source} is not an audit report (no result/reproducibility block)")
    if not isinstance(data["result"], dict) or not isinstance(data["reproducibility"], dict):
        raise ConfigError(f"{source} is malformed: its result and reproducibility blocks must "
                          "be JSON objects")
    if constants and data["reproducibility"].get("kind") != TEXT_KIND:
        raise ConfigError(f"{source} is malformed: {_bare(constants[0])}")
    return data


def _parse_report(text: str | bytes, source: str, label: str) -> object:
    """A report's JSON (``parse_json``) checked as a report (``_report_payload``)."""
    constants: list = []
    data = parse_json(text, source, constants)
    if isinstance(data, dict) and ("result" not in data or "reproducibility" not in data):
        return data  # not a report at all: the caller says so in its own words
    return _report_payload(data, label, constants)


def load_report(path: str | Path) -> dict:
    """A ``report.json`` read back: a regular file within ``MAX_REPORT_BYTES`` (``read_regular``)
    holding well-formed report JSON (``parse_json``); one ``ConfigError`` otherwise."""
    data = _parse_report(read_regular(path), f"report '{path}'", f"'{path}'")
    return _report_payload(data, f"'{path}'")


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
    what = f"the report embedded in {source}"
    payload = _parse_report(blocks[0], what, what)
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
    what = f"the report embedded in {source}"
    payload = _parse_report(attachments[0], what, what)
    if not isinstance(payload, dict) or "result" not in payload or "reproducibility" not in payload:
        raise ConfigError(f"{source} embeds something that is not an audit report")
    return payload
