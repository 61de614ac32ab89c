"""Re-check an audit report: is it untouched, are its artifacts the recorded files, and does
re-running the recorded config reproduce its fingerprints and figures?

Every figure is first recomputed exactly from the per-sample evidence the report records
(``audit.evidence``): a figure edited alone, even by half a point with the content hash recomputed
and no signature, is a difference. Re-running then has two parts. The stored weights (the
report's artifacts, or a bundle's) are evaluated again on the data: inference on identical
weights is deterministic up to float noise, so those figures must agree within one sample's
worth (``REEVAL_FLOAT_TOL`` for continuous ones). Only the re-trained models (a fresh audit of
the recorded config) keep the loose tolerances: accuracies within 2 points, attack AUCs and
MIA-efficacy within 0.05. Fingerprints of data, splits and forget set must match exactly. On the
same machine and library versions, model hashes match bit for bit; that is reported, not
required.

A report is a ``report.json``, a ``report.html`` (which embeds the JSON: its visible text must be
what that JSON renders to), a ``report.pdf`` (which embeds the JSON as an attachment: its
verdict lines must be those of that JSON, ``report/pdf_embed.py``) or a bundle ``report.zip``
(``report/bundle.py``: the report, its data file and its artifacts, verified in a temporary folder).
A signed report (``report.signing``) is checked against the auditor's public key; the data file is
found and checked by its SHA-256.

The steps live one per module (``integrity``, ``signature``, ``evidence``, ``rejudge``,
``rendering``, ``rerun``); ``tracks`` looks up which track's steps a payload takes (the
classifier audit or the text track), so a new track is one entry there, not a second pipeline.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator, Optional

from unlearn_core.errors import ConfigError, UnlearnError
from unlearn_core.progress import ProgressFn
from unlearn_core.report.envelope import (
    embedded_payload,
    load_report,
    pdf_payload,
    read_regular,
)
from unlearn_core.verify.integrity import check_integrity
from unlearn_core.verify.last_step import Announce
from unlearn_core.verify.result import VerifyResult
from unlearn_core.verify.signature import check_signature
from unlearn_core.verify.tracks import track_of

# what reading a hostile payload can raise before the re-run: a number out of range, a block of
# the wrong type, a missing key, nesting too deep; one "the report is malformed" line each
_MALFORMED = (ArithmeticError, RecursionError, ValueError, TypeError, KeyError, IndexError,
              AttributeError)


@contextlib.contextmanager
def _malformed_is_one_line(started: list) -> Iterator[None]:
    """A report whose content breaks a check is one ``ConfigError`` ("the report is malformed:
    ..."), not a traceback; once the re-run has started (``started``), errors pass as they are."""
    try:
        yield
    except UnlearnError:
        raise
    except _MALFORMED as err:
        if started:
            raise
        what = "it nests too deep" if isinstance(err, RecursionError) else \
            f"{type(err).__name__}: {(str(err).strip().splitlines() or [''])[0][:160]}"
        raise ConfigError(f"the report is malformed: {what}") from None


def verify_payload(payload: dict, out: VerifyResult, progress: Optional[ProgressFn] = None,
                   rerun: bool = True, public_key: Optional[str | Path] = None,
                   data: Optional[str | Path] = None, base: Optional[Path] = None,
                   artifacts: Optional[dict[str, Path]] = None,
                   announce: Optional[Announce] = None) -> VerifyResult:
    """Every check of one report payload: hash and artifacts, signature, then its track's steps
    (data by sha256, evidence, the verdicts judged again, then (``rerun``) the stored weights
    evaluated again and, last, a re-run compared: skipped once anything differs, and announced
    to ``announce`` when it starts)."""
    started: list = []

    def starting(line: str) -> None:
        started.append(True)
        if announce is not None:
            announce(line)

    with _malformed_is_one_line(started):
        check_integrity(payload, out, artifacts, base)
        check_signature(payload, out, public_key)
        return track_of(payload).verify(payload, out, progress, rerun, data, base, artifacts,
                                        announce=starting)


def _page(path: Path, what: str) -> str:
    """An HTML report's text, read as a report is (``read_regular``)."""
    try:
        return read_regular(path, what).decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"cannot read {what} '{path}': it is not UTF-8 text ({err.reason})")


def verify_report(path: str | Path, progress: Optional[ProgressFn] = None,
                  rerun: bool = True, public_key: Optional[str | Path] = None,
                  data: Optional[str | Path] = None,
                  announce: Optional[Announce] = None) -> VerifyResult:
    """Verify ``report.json``, ``report.html`` (its embedded report, and its visible text
    against it), ``report.pdf`` (its embedded report, and its verdict lines against it) or a
    bundle ``report.zip``: integrity and artifact checks, signature, renderings, data, evidence,
    verdicts judged again, then (``rerun``) stored weights evaluated again and, last, a re-run
    compared, only when nothing before differed (``announce``: told one line when the re-run
    starts). A file that is no regular file, one over ``MAX_REPORT_BYTES`` or a malformed report
    is one ``ConfigError``."""
    path = Path(path)
    if path.suffix.lower() == ".zip":
        return _verify_bundle(path, progress, rerun, public_key, data, announce)
    out = VerifyResult()
    with _malformed_is_one_line([]):
        if path.suffix.lower() == ".pdf":
            from unlearn_core.report.pdf_embed import read_pdf

            pdf = read_pdf(path)
            payload = pdf_payload(pdf.attachments, f"'{path}'")
            track_of(payload).compare_pdf(pdf.text, pdf.hash_entry, payload, out, path.name)
        elif path.suffix.lower() in (".html", ".htm"):
            page = _page(path, "report")
            payload = embedded_payload(page, f"'{path}'")
            track_of(payload).compare_html(page, payload, out, path.name)
        else:
            payload = load_report(path)
    return verify_payload(payload, out, progress, rerun, public_key, data, path.parent,
                          announce=announce)


def _verify_bundle(path: Path, progress: Optional[ProgressFn], rerun: bool,
                   public_key: Optional[str | Path], data: Optional[str | Path],
                   announce: Optional[Announce]) -> VerifyResult:
    """A bundle ``report.zip``, verified in a temporary folder: its report.json, the HTML and
    PDF it carries against it, then the payload with the bundle's data and artifacts."""
    from unlearn_core.report.bundle import open_bundle

    with open_bundle(path) as b:
        out = VerifyResult()
        with _malformed_is_one_line([]):
            payload = load_report(b.report)
            if b.html is not None:
                page = _page(b.html, "the bundle's report.html")
                inner = embedded_payload(page, "the bundle's report.html")
                if inner.get("content_sha256") != payload.get("content_sha256") or \
                        inner.get("signature") != payload.get("signature"):
                    out.differences.append("report.html embeds another report than the "
                                           "bundle's report.json")
                track_of(inner).compare_html(page, inner, out, "report.html")
            if b.pdf is not None:
                from unlearn_core.report.pdf_embed import read_pdf

                pdf = read_pdf(b.pdf)
                inner = pdf_payload(pdf.attachments, "the bundle's report.pdf")
                if inner.get("content_sha256") != payload.get("content_sha256") or \
                        inner.get("signature") != payload.get("signature"):
                    out.differences.append("report.pdf embeds another report than the "
                                           "bundle's report.json")
                track_of(inner).compare_pdf(pdf.text, pdf.hash_entry, inner, out,
                                            "report.pdf")
        return verify_payload(payload, out, progress, rerun, public_key,
                              data if data is not None else b.data, b.root, b.artifacts,
                              announce=announce)
