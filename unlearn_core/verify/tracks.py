"""Which track a report belongs to, looked up from its payload: each track names how to tell its
reports, how to verify them past integrity and signature, and how to compare their HTML page
and PDF. The classifier audit is the fallback; the text track (``reproducibility.kind ==
"text"``) is an entry. A new track is one more entry in ``TRACKS``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from unlearn_core.report.text import is_text_payload
from unlearn_core.verify import text_track
from unlearn_core.verify.classifier import verify_classifier_payload
from unlearn_core.verify.rendering import compare_html, compare_pdf


def _verify_text(payload, out, progress=None, rerun=True, data=None, base=None, artifacts=None,
                 announce=None):
    return text_track.verify_text_payload(payload, out, progress, rerun, data, base, announce,
                                          artifacts)


@dataclass(frozen=True)
class Track:
    """One kind of audit report, as ``verify`` handles it."""

    name: str
    matches: Callable[[dict], bool]
    verify: Callable  # (payload, out, progress, rerun, data, base, artifacts, announce) -> out
    compare_html: Callable  # (page, payload, out, name) -> None
    compare_pdf: Callable  # (text, hash_entry, payload, out, name) -> None


TRACKS: tuple[Track, ...] = (
    Track("text", is_text_payload, _verify_text, text_track.compare_text_html,
          text_track.compare_text_pdf),
    Track("classifier", lambda payload: True, verify_classifier_payload, compare_html,
          compare_pdf),
)


def track_of(payload: dict) -> Track:
    """The first track whose ``matches`` accepts the payload (the classifier audit otherwise)."""
    return next(t for t in TRACKS if t.matches(payload))
