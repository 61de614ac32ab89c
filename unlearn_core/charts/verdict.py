"""The verdict drawn: per check, the retrain band (grey), the method's figure with its interval
(a dot and whiskers) and the untouched original's figure (a cross), on one small panel each, so
an auditor sees at a glance where a method lands between "retrained" and "did nothing"."""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from unlearn_core.checks.judge import figure_range
from unlearn_core.checks.verdict import Verdict

STATUS_COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "uncertain": "#ef6c00",
                  "no power": "#757575", "no data": "#9e9e9e"}


def _finite(*values: float) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def interval_whiskers(figure: float, se: float, rng: tuple[float, float], scale: float = 1.0,
                      z: float = 1.96) -> tuple[float, float]:
    """(up, down) lengths of a figure's +/- z * se whiskers, stopped at the ends of its range
    (``checks.judge.figure_range``: a share's whiskers never reach below 0% or above 100%)."""
    if not (math.isfinite(se) and math.isfinite(figure)):
        return 0.0, 0.0
    return (max(0.0, min(figure + z * se, rng[1]) - figure) * scale,
            max(0.0, figure - max(figure - z * se, rng[0])) * scale)


def axis_range(lo: float, hi: float, rng: tuple[float, float], scale: float) -> list[float]:
    """An axis from ``lo`` to ``hi`` (already scaled), kept within the figure's range."""
    return [max(lo, rng[0] * scale), min(hi, rng[1] * scale)]


def verdict_figure(verdict: Verdict) -> go.Figure:
    """One row per check of ``verdict``: band, figure with interval, original."""
    rows = [c for c in verdict.checks if math.isfinite(c.figure)]
    fig = make_subplots(rows=max(1, len(rows)), cols=1, vertical_spacing=0.5 / max(1, len(rows)),
                        subplot_titles=[f"{c.title}: {c.status}" for c in rows])
    for i, c in enumerate(rows, start=1):
        scale = 100.0 if c.unit == "%" else 1.0
        pts = _finite(c.figure, c.ci_low, c.ci_high, c.control, c.band_low, c.band_high)
        lo_all, hi_all = min(pts) * scale, max(pts) * scale
        pad = (hi_all - lo_all) * 0.1 or 0.05 * max(abs(hi_all), 1.0)
        band_lo = c.band_low * scale if math.isfinite(c.band_low) else lo_all - pad
        band_hi = c.band_high * scale if math.isfinite(c.band_high) else hi_all + pad
        if math.isfinite(band_lo) and math.isfinite(band_hi):
            fig.add_trace(go.Scatter(x=[band_lo, band_hi, band_hi, band_lo, band_lo],
                                     y=[-0.4, -0.4, 0.4, 0.4, -0.4], fill="toself",
                                     fillcolor="rgba(120,120,120,0.25)", line_width=0,
                                     name="retrain band", showlegend=i == 1,
                                     hoverinfo="skip"), row=i, col=1)
        fig.add_trace(go.Scatter(
            x=[c.figure * scale], y=[0], mode="markers", name=verdict.method,
            marker=dict(size=11, color=STATUS_COLOURS.get(c.status, "#1565c0")),
            cliponaxis=False,  # a figure at 0% or 100% is drawn whole on the axis' end
            error_x=dict(type="data", symmetric=False,
                         array=[max(0.0, (c.ci_high - c.figure) * scale)],
                         arrayminus=[max(0.0, (c.figure - c.ci_low) * scale)])
            if math.isfinite(c.ci_high) else None,
            showlegend=i == 1, hovertext=c.reason), row=i, col=1)
        if math.isfinite(c.control):
            fig.add_trace(go.Scatter(x=[c.control * scale], y=[0], mode="markers",
                                     name="original (did nothing)", showlegend=i == 1,
                                     marker=dict(symbol="x", size=11, color="#000000"),
                                     cliponaxis=False),
                          row=i, col=1)
        fig.update_yaxes(visible=False, range=[-1, 1], row=i, col=1)
        rng = (0.0, 1.0) if c.unit == "%" else (-math.inf, math.inf)  # a share's axis: 0-100%
        fig.update_xaxes(ticksuffix="%" if c.unit == "%" else "", row=i, col=1,
                         range=axis_range(lo_all - pad, hi_all + pad, rng, scale)
                         if c.unit == "%" else None)
    fig.update_layout(height=90 + 85 * max(1, len(rows)), margin=dict(l=20, r=20, t=40, b=20),
                      legend=dict(orientation="h", y=1.0, yanchor="bottom"))
    return fig


def check_across_models(result, check: str) -> go.Figure:
    """One check's figure on every model of an audit: the retrains (grey), the original
    (black) and each method (coloured by its status), over the retrain band, so an auditor sees
    which models sit with the retrains and which with the original (e.g. the feature probe:
    the "Look inside" view)."""
    ms = [m for m in result.measurements if m.check == check]
    judged = {c.model: c for v in result.verdicts for c in v.checks if c.check == check}
    spec = next((s for s in result.check_specs if s.name == check), None)
    scale = 100.0 if spec is not None and spec.unit == "%" else 1.0
    rng = figure_range(spec) if spec is not None else (-math.inf, math.inf)
    fig = go.Figure()
    first = next(iter(judged.values()), None)
    if first is not None and math.isfinite(first.band_low) and math.isfinite(first.band_high):
        fig.add_hrect(y0=first.band_low * scale, y1=first.band_high * scale,
                      fillcolor="rgba(120,120,120,0.2)", line_width=0,
                      annotation_text="retrain band", annotation_position="top left")
    for m in ms:
        if m.role == "reference":
            colour = "#9e9e9e"
        elif m.role == "control":
            colour = "#000000"
        else:
            colour = STATUS_COLOURS.get(getattr(judged.get(m.model), "status", ""), "#1565c0")
        fig.add_trace(go.Scatter(
            x=[m.model], y=[m.figure * scale], mode="markers", showlegend=False,
            marker=dict(size=11, color=colour, symbol="x" if m.role == "control" else "circle"),
            error_y=dict(type="data", symmetric=False,
                         array=[interval_whiskers(m.figure, m.se, rng, scale)[0]],
                         arrayminus=[interval_whiskers(m.figure, m.se, rng, scale)[1]])
            if math.isfinite(m.se) else None, cliponaxis=False,
            hovertext=f"{m.model} ({m.role}): {m.figure:.4g}, n={m.n}"))
    fig.update_layout(height=380, margin=dict(l=40, r=20, t=30, b=110),
                      yaxis_title=(spec.title if spec is not None else check),
                      xaxis_tickangle=-40)
    if math.isfinite(rng[0]) and math.isfinite(rng[1]):  # a share or an AUC: its whole range
        fig.update_yaxes(range=[rng[0] * scale, rng[1] * scale])
    return fig
