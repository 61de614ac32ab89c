"""Plain-text tables of an audit, for the command line and the benchmark scripts."""

from __future__ import annotations

import math
from typing import Optional

from unlearn_core.audit.run import AuditResult, ModelEvaluation
from unlearn_core.report.rows import (
    RANKING_COLUMNS,
    check_rows,
    closest_line,
    ranked,
    verdict_rows,
)


def pct(v: float) -> str:
    return "   -  " if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:6.1f}"


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    """Left-aligned first column, right-aligned others, a rule under the header."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    def line(cells):
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *map(line, rows)])


def audit_table(result: AuditResult) -> str:
    """One row per model: accuracies (%), MIA figures and time, with speed-up over retrain."""
    retrain_s = result.retrain.seconds
    headers = ["model", "forget%", "retain%", "test%", "test-other%", "MIA-AUC(f/t)",
               "f-member%", "MIA-eff%", "seconds", "speed-up"]
    rows = []
    for ev in result.evaluations():
        rows.append(_row(ev, retrain_s))
    return format_table(headers, rows)


def speed_up(ev: ModelEvaluation, retrain_s: float) -> Optional[float]:
    """How many times faster than a retrain from scratch a method ran; None for every other
    row (the original, the retrains themselves, a claim whose making is not known), which
    the front ends show as a dash, never as "None"."""
    return retrain_s / max(ev.seconds, 1e-9) if ev.role == "method" else None


def speed_cell(ev: ModelEvaluation, retrain_s: float, dash: str = "\u2013") -> str:
    """The speed-up as a table shows it: "12.3x" for a method, ``dash`` for the other rows."""
    speed = speed_up(ev, retrain_s)
    return dash if speed is None else f"{speed:.1f}x"


def _row(ev: ModelEvaluation, retrain_s: float) -> list[str]:
    speed = speed_cell(ev, retrain_s, dash="-")  # plain ASCII, as the other empty cells
    return [ev.name, pct(ev.accuracy.forget), pct(ev.accuracy.retain), pct(ev.accuracy.test),
            pct(ev.accuracy.test_other_classes), f"{ev.mia.auc_forget_vs_test:.3f}",
            pct(ev.mia.forget_member_rate), pct(ev.mia_efficacy), f"{ev.seconds:.2f}", speed]


def verdict_table(verdicts) -> str:
    """The headline per method first, then one line per check: status, figure with its
    interval, the retrain band, the original's figure and the sample count; last, when the
    verdicts are graded, the ranking: the level each method reaches, its distance from
    retraining and what the next level needs, closest first (``report.rows.ranked``)."""
    if not verdicts:
        return "verdict: no method to judge"
    rows = verdict_rows(verdicts)
    lines = [f"{v.method}: {v.headline}. {v.reason}"
             + (f"\n  {v.assurance}" if v.assurance else "")
             for v in rows]
    columns = ["method", "check", "status", "figure", "interval", "retrain band", "original", "n"]
    cells = [[str(x) for x in c.cells(columns, sep="..", no_band="-", shout_fail=True).values()]
             for c in check_rows(rows)]
    table = format_table(columns, cells)
    out = ["verdict:", *lines, "", table]
    if any(v.grade is not None for v in rows):
        order = ranked(rows)
        out += ["", "ranking, closest to retraining first (levels: 1 indistinguishable from "
                "retraining, 2 the forgotten data looks unseen and utility kept, 3 forgotten on "
                "the outputs only; distance: the largest from a retrain band, in band "
                "half-widths):",
                format_table(list(RANKING_COLUMNS),
                             [list(r.ranking_cells().values()) for r in order]),
                closest_line(order)]
    return "\n".join(out)


def attack_table(result: AuditResult) -> str:
    """Forget set vs unseen samples under each attack and model; U-LiRA per method."""
    rows = [[a.attack, a.model, f"{a.auc:.3f}", pct(a.tpr_at_1pct_fpr), pct(a.tpr_at_01pct_fpr)]
            for a in result.attack_summaries]
    rows += [["u-lira", u.method, f"{u.auc:.3f}", "-", "-"] for u in result.ulira]
    return format_table(["attack", "model", "AUC", "TPR@1%FPR", "TPR@0.1%FPR"], rows)
