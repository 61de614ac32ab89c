"""The HTML and PDF renderings: their visible text, status words and figures must be those of
the report they embed."""


from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import Callable, Optional

from unlearn_core.audit.run import AuditResult
from unlearn_core.report.envelope import _META, _where_differs, visible_text
from unlearn_core.verify.result import VerifyResult


def rendered_again(page: str, payload: dict, out: VerifyResult, name: str,
                   render: Callable[[], str]):
    """The page's visible text and that of its embedded report rendered again, as a pair, once
    the page's hash tag is checked; None (with the difference recorded) when the embedded report
    cannot be rendered or the two pages do not have the same sections. Shared by every track."""
    meta = _META.findall(page)
    if meta != [payload.get("content_sha256")]:
        out.differences.append(f"{name}: its hash tag ({', '.join(meta) or 'none'}) is not the "
                               "embedded report's content hash")
    try:
        again = visible_text(render())
    except Exception as err:  # an embedded report this code cannot render is itself a finding
        out.differences.append(f"{name}: its embedded report cannot be rendered again "
                               f"({type(err).__name__}: {err})")
        return None
    seen = visible_text(page)
    if seen.order != again.order:
        out.differences.append(f"{name}: its sections ({len(seen.order) - 1}) are not those of "
                               f"the report it embeds ({len(again.order) - 1})")
        return None
    return seen, again


# sections drawn partly from the audit's live models (thumbnails, relevance maps, inversion
# images): a rendering from the JSON alone cannot draw those parts
_LIVE = {"Forget set", "Relevance maps", "Verification attacks"}


def compare_html(page: str, payload: dict, out: VerifyResult, name: str = "report.html") -> None:
    """The HTML's visible text and charts must be what its embedded report renders to, and its
    hash tag the embedded report's hash: an HTML edited from FAIL to PASS, or a chart edited,
    is a difference. Parts drawn from the live models are named, not compared."""
    from unlearn_core.report.build import render_html

    pair = rendered_again(page, payload, out, name,
                          lambda: render_html(AuditResult.from_dict(payload["result"]), None,
                                              payload))
    if pair is None:
        return
    seen, again = pair
    skipped = []
    for sid in again.order:
        title, shown, expected = again.titles.get(sid, sid), seen.canonical(sid), \
            again.canonical(sid)
        if shown == expected and seen.charts[sid] == again.charts[sid]:
            continue
        if title in _LIVE:
            extra = shown[len(expected):] if shown.startswith(expected) else None
            if title == "Relevance maps" and shown != expected:
                skipped.append("the relevance maps")
                continue
            if title == "Forget set" and extra is not None and re.fullmatch(r"[\d\s]*", extra):
                skipped += ["the forget-set thumbnails and chart"] if extra.strip() or \
                    seen.charts[sid] != again.charts[sid] else []
                continue
            if title == "Verification attacks" and extra is not None and (
                    not extra or extra.lstrip().startswith("Unlearning inversion:")):
                skipped += ["the inversion images"] if extra else []
                continue
        if shown != expected:
            out.differences.append(f"{name}: the visible text of '{title}' differs from the "
                                   f"report it embeds: {_where_differs(shown, expected)}")
        else:
            out.differences.append(f"{name}: a chart of '{title}' differs from the one its "
                                   "embedded report draws")
    note = "its visible text and charts are what its embedded report renders"
    if skipped:
        note += f" ({', '.join(skipped)}, drawn from the live models, not compared)"
    if not any(d.startswith(f"{name}:") for d in out.differences):
        out.notes.append(f"{name}: {note}")


_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?%?")


_STATUS_WORDS = re.compile(r"\b(PASS|FAIL|INCONCLUSIVE|UNCERTAIN|pass|fail|uncertain|no power)\b")


def compare_pdf(text: str, hash_entry: Optional[str], payload: dict, out: VerifyResult,
                name: str = "report.pdf") -> None:
    """A classifier audit's PDF report against the report it embeds (``compare_printed``). The
    page is rendered again with interactive charts: its visible text is that of the printed
    (static) form, and no browser is started to check a PDF."""
    from unlearn_core.report.build import render_html

    def rendered() -> tuple[list[tuple[str, str]], str]:
        result = AuditResult.from_dict(payload["result"])
        return [(v.method, v.status) for v in result.verdicts], \
            render_html(result, None, payload)

    compare_printed(text, hash_entry, payload, out, name, rendered)


def compare_printed(text: str, hash_entry: Optional[str], payload: dict, out: VerifyResult,
                    name: str, rendered: Callable[[], tuple[list[tuple[str, str]], str]]) -> None:
    """A PDF report must show the verdicts of the report it embeds: each method's verdict line
    ('finetune: INCONCLUSIVE: ...') says the embedded record's status, every verdict and check
    status word on its pages is one the embedded report renders, and its hash entry is the
    embedded report's content hash; every figure (number) the embedded report renders is on its
    pages (charts add numbers of their own). A PDF printed from an edited page (FAIL to PASS, a
    figure changed) with the original report attached, or one whose attachment was swapped, is
    a difference. ``rendered``: the track's (method, status) verdicts and its HTML page of the
    embedded report. Shared by every track."""
    if hash_entry != payload.get("content_sha256"):
        out.differences.append(f"{name}: its hash entry ({hash_entry or 'none'}) is not the "
                               "embedded report's content hash")
    # the PDF's text as read back has the font's ligatures ("ﬀ" in gradient_difference, "ﬁ"
    # in finetune's "figure"): compatibility-normalised on both sides
    shown = " ".join(unicodedata.normalize("NFKC", text).split())
    try:
        verdicts, printed = rendered()
        page = visible_text(re.sub(r"<title>.*?</title>", "", printed, count=1, flags=re.S))
    except Exception as err:  # an embedded report this code cannot render is itself a finding
        out.differences.append(f"{name}: its embedded report cannot be rendered again "
                               f"({type(err).__name__}: {err})")
        return
    before = len(out.differences)
    for method, status in verdicts:
        said = str(status).upper()
        lines = re.findall(re.escape(method) + r":\s*(PASS|FAIL|INCONCLUSIVE|UNCERTAIN)\b",
                           shown)
        if not lines:
            out.differences.append(f"{name}: shows no verdict line for {method} (its embedded "
                                   f"report says {method}: {said})")
        for word in sorted(set(lines) - {said}):
            out.differences.append(f"{name}: shows '{method}: {word}' where its embedded "
                                   f"report says '{method}: {said}'")
    expected = unicodedata.normalize("NFKC", " ".join(page.canonical(sid) for sid in page.order))
    want: dict[str, int] = {}
    got: dict[str, int] = {}
    for words, counts in ((expected, want), (shown, got)):
        for w in _STATUS_WORDS.findall(words):
            counts[w] = counts.get(w, 0) + 1
    for w in sorted(set(want) | set(got)):
        if want.get(w, 0) != got.get(w, 0):
            out.differences.append(f"{name}: shows '{w}' {got.get(w, 0)} times where its "
                                   f"embedded report renders it {want.get(w, 0)} times")
    need = Counter(_NUMBER.findall(expected))
    have = Counter(_NUMBER.findall(shown))  # charts add numbers (axes): only lacking ones count
    lacking = [(w, have[w], k) for w, k in need.items() if have[w] < k]
    if lacking:
        out.differences.append(f"{name}: its pages lack figures its embedded report renders: "
                               + ", ".join(f"'{w}' (shown {h} of {k} times)"
                                           for w, h, k in lacking[:8])
                               + (f" and {len(lacking) - 8} more" if len(lacking) > 8 else ""))
    if len(out.differences) == before:
        out.notes.append(f"{name}: its verdict lines, status words and figures are those of the "
                         "report it embeds")
