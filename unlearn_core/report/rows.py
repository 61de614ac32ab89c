"""The verdict as rows of plain data, built once and rendered by every front end.

``verdict_rows(verdicts)`` turns the judged verdicts (``checks/verdict.py``) into one
``VerdictRow`` per method: its status, headline and reason, the checks that decided it as
one-line sentences (``deciding``: failed checks first, then uncertain ones; for a pass the powered
checks that passed; for an inconclusive verdict what lacked power or data; at most ``limit`` of
them, then "and N more <status> check(s) in the detail"), its statement of assurance (the
``qualifier`` of a pass on the outputs only, and which forgery families it rules out and which
not, ``assurance``), and one ``CheckRow`` per judged check
with its figure, interval, band and the original's figure formatted once (``checks.judge.fmt``).
Each row also carries its grade (``checks.levels``): the level of assurance reached, what kept
it from the next, and the ranking figure (the largest distance from a retrain band in band
half-widths, with its interval); ``ranked(rows)`` orders them strictest level first, then
closest to retraining, for the ranking every front end shows first.

The front ends keep only their presentation: the plain-text tables of the command line
(``report/table.py``, ``cli/text.py``), the HTML report (``report/build.py``) and the dashboard's
table (``pages/audit.py``). Where they show a row differently (" to " or ".." between the ends of
an interval, a dash for a check without any band, FAIL in capitals) it is a parameter of the
rendering helpers below, not a second copy of the logic.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from unlearn_core.checks.judge import FAIL, NO_DATA, NO_POWER, PASS, UNCERTAIN, CheckResult, fmt
from unlearn_core.checks.levels import LEVELS, Grade, rank_key

# every column a check row can show, in the HTML report's order
COLUMNS = ("method", "check", "status", "figure", "interval", "n", "retrain band", "band from",
           "original", "powered", "reason")


@dataclass(frozen=True)
class CheckRow:
    """One judged check of one method, its figures formatted for reading."""

    method: str
    check: str  # the check's title
    status: str  # pass, fail, uncertain, no power, no data
    figure: str
    ci_low: str
    ci_high: str
    band_low: str
    band_high: str
    has_band: bool  # False when the check has no band at all (both ends unknown)
    n: int
    original: str  # the untouched original's figure (the do-nothing control)
    powered: Optional[bool]  # None for checks without a power test (utility, scenarios)
    band_from: str
    reason: str

    def interval(self, sep: str = " to ") -> str:
        """The figure's interval, its ends joined by ``sep``."""
        return f"{self.ci_low}{sep}{self.ci_high}"

    def band(self, sep: str = " to ", none: Optional[str] = None) -> str:
        """The retrain band, its ends joined by ``sep``; ``none``: what a check without any band
        shows instead (by default its ends as they are: "n/a to n/a")."""
        if none is not None and not self.has_band:
            return none
        return f"{self.band_low}{sep}{self.band_high}"

    def power(self, unknown: str = "–") -> str:
        """'yes' or 'no'; ``unknown`` for a check without a power test."""
        return {True: "yes", False: "no", None: unknown}[self.powered]

    def status_word(self, shout_fail: bool = False) -> str:
        """The status; ``shout_fail``: a fail in capitals (FAIL), for plain text."""
        return self.status.upper() if shout_fail and self.status == FAIL else self.status

    def cells(self, columns: Sequence[str] = COLUMNS, *, sep: str = " to ",
              no_band: Optional[str] = None, unknown: str = "–",
              shout_fail: bool = False) -> dict[str, object]:
        """The row as {column: value} for ``columns`` (names from ``COLUMNS``), in that order."""
        every = {"method": self.method, "check": self.check,
                 "status": self.status_word(shout_fail), "figure": self.figure,
                 "interval": self.interval(sep), "n": self.n,
                 "retrain band": self.band(sep, no_band), "band from": self.band_from,
                 "original": self.original, "powered": self.power(unknown),
                 "reason": self.reason}
        return {c: every[c] for c in columns}


@dataclass(frozen=True)
class VerdictRow:
    """One method's verdict: status, headline, reason, the checks that decided it (as
    sentences) and every judged check as a ``CheckRow``."""

    method: str
    status: str  # pass, fail, uncertain, inconclusive
    headline: str  # "PASS: 5 of 6 checks pass; 1 without power" style
    reason: str
    deciding: tuple[str, ...]
    checks: tuple[CheckRow, ...]
    qualifier: str = ""  # "outputs only": a pass no check of the model's inside supported
    assurance: str = ""  # "rules out ...; does not rule out ..." (empty for a fail)
    grade: Optional[Grade] = None  # level of assurance and ranking figure (None: not graded)

    @property
    def plain_pass(self) -> bool:
        """A pass without a qualifier (what a front end may show as an unreserved pass)."""
        return self.status == PASS and not self.qualifier

    @property
    def level(self) -> str:
        """'1', '2', '3', 'none', or '–' when not graded."""
        if self.grade is None:
            return "–"
        return str(self.grade.level) if self.grade.level in LEVELS else "none"

    @property
    def level_words(self) -> str:
        """The level reached in words ('level 2: the forgotten data looks unseen ...')."""
        return self.grade.label if self.grade is not None else "not graded"

    @property
    def gap(self) -> str:
        """The ranking figure as read: '0', or '3.2 (2.1 to 4.5) forget-set loss' (the
        largest distance from a retrain band, in band half-widths, and its check)."""
        g = self.grade
        if g is None or not math.isfinite(g.gap):
            return "–"
        if g.gap == 0 and g.gap_high == 0:
            return "0"
        return (f"{g.gap:.2f} ({g.gap_low:.2f} to {g.gap_high:.2f})"
                + (f" {g.gap_check}" if g.gap_check else ""))

    @property
    def next_level(self) -> str:
        """What it would take to reach the next stricter level, in words ('' at level 1)."""
        g = self.grade
        if g is None or g.level == 1 or not g.blockers:
            return ""
        target = g.level - 1 if g.level in LEVELS else max(LEVELS)
        return f"to reach level {target}: " + "; ".join(g.blockers)

    def ranking_cells(self) -> dict[str, str]:
        """The row of the ranking table: method, level, its words, the gap, the next level."""
        return {"method": self.method, "level": self.level,
                "assurance level": self.level_words, "distance from retraining": self.gap,
                "verdict": self.status + (f" ({self.qualifier})" if self.qualifier else ""),
                "to reach the next level": self.next_level or "–"}


def check_row(method: str, c: CheckResult) -> CheckRow:
    """One judged check as a row (figures through ``fmt``: shares in percent)."""
    u = c.unit
    return CheckRow(
        method=method, check=c.title, status=c.status, figure=fmt(c.figure, u),
        ci_low=fmt(c.ci_low, u), ci_high=fmt(c.ci_high, u), band_low=fmt(c.band_low, u),
        band_high=fmt(c.band_high, u),
        has_band=not (math.isnan(c.band_low) and math.isnan(c.band_high)), n=c.n,
        original=fmt(c.control, u), powered=c.powered, band_from=c.band_source,
        reason=c.reason)


def deciding_checks(v) -> list[CheckResult]:
    """The checks that decided a verdict, most telling first: failed, then uncertain ones (a
    failed or uncertain verdict); the powered checks that passed (a pass); what lacked power,
    then what could not be measured (an inconclusive verdict)."""
    order = [FAIL, UNCERTAIN] if v.status in (FAIL, UNCERTAIN) else \
        [PASS] if v.status == PASS else [NO_POWER, NO_DATA]
    return [c for status in order for c in v.checks if c.status == status
            and (status != PASS or c.powered)]


def band_phrase(c: CheckResult) -> str:
    """The retrain band in words: 'retrain band A to B', one-sided 'at most' / 'at least', or
    'no band'."""
    lo, hi = c.band_low, c.band_high
    if math.isnan(lo) and math.isnan(hi):
        return "no band"
    if lo == -math.inf:
        return f"retrain band: at most {fmt(hi, c.unit)}"
    if hi == math.inf:
        return f"retrain band: at least {fmt(lo, c.unit)}"
    return f"retrain band {fmt(lo, c.unit)} to {fmt(hi, c.unit)}"


def deciding_lines(v, limit: int = 3) -> list[str]:
    """The deciding checks (``deciding_checks``) as one sentence each, at most ``limit``, then
    how many more there are of which status ("and 1 more uncertain check(s) in the detail")."""
    picked = deciding_checks(v)
    lines = [f"{c.title}: {c.status}, {fmt(c.figure, c.unit)} ({band_phrase(c)}; the untouched "
             f"original {fmt(c.control, c.unit)})" for c in picked[:limit]]
    more = Counter(c.status for c in picked[limit:])  # in the order listed: fail first
    if more:
        lines.append("and " + " and ".join(f"{k} more {s}" for s, k in more.items())
                     + " check(s) in the detail")
    return lines


def verdict_row(v, limit: int = 3) -> VerdictRow:
    """One verdict (``checks.verdict.Verdict``) as a row."""
    return VerdictRow(method=v.method, status=v.status, headline=v.headline, reason=v.reason,
                      deciding=tuple(deciding_lines(v, limit)),
                      checks=tuple(check_row(v.method, c) for c in v.checks),
                      qualifier=getattr(v, "qualifier", None) or "",
                      assurance=getattr(v, "assurance", ""), grade=getattr(v, "grade", None))


def verdict_rows(verdicts: Optional[Iterable], limit: int = 3) -> list[VerdictRow]:
    """Every verdict as a row, in the order given (the audit's method order)."""
    return [verdict_row(v, limit) for v in verdicts or []]


RANKING_COLUMNS = ("method", "level", "assurance level", "distance from retraining", "verdict",
                   "to reach the next level")


def ranked(rows: Iterable[VerdictRow]) -> list[VerdictRow]:
    """The rows strictest level first, then closest to retraining (smallest gap); the
    audit's order among ties."""
    return sorted(rows, key=lambda r: rank_key(r.grade))


def closest_line(rows: Sequence[VerdictRow]) -> str:
    """One sentence for the first screen: which method comes closest to retraining, at which
    level, and what it would take to reach the next; '' when nothing is graded."""
    graded = [r for r in ranked(rows) if r.grade is not None]
    if not graded:
        return ""
    top = graded[0]
    text = f"Closest to retraining: {top.method}, {top.level_words}"
    if top.gap not in ("–", "0"):
        text += f", {top.gap.split(' (')[0]} band half-widths from the retrains at most"
    return text + (f"; {top.next_level}" if top.next_level else "") + "."


def check_rows(rows: Iterable[VerdictRow]) -> list[CheckRow]:
    """The check rows of every verdict row, method by method: one table of all checks."""
    return [c for r in rows for c in r.checks]


def extension_lines(result) -> list[str]:
    """Why the audit trained more retrains, one line per ensemble the sequential rule grew
    (``checks.sequential``; a text audit's one ensemble: the result's own
    ``extended_because``): what the command line, the report and the app pages say."""
    own = getattr(result, "extended_because", "")
    return ([own] if own else []) + [e.extended_because for e in
                                     getattr(result, "ensembles", None) or []
                                     if getattr(e, "extended_because", "")]


__all__ = ["COLUMNS", "RANKING_COLUMNS", "CheckRow", "VerdictRow", "check_row",
           "deciding_checks", "band_phrase", "deciding_lines", "verdict_row", "verdict_rows",
           "ranked", "closest_line", "check_rows", "extension_lines"]
