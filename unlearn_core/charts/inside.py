"""Plotly figures of the "Look inside" views (dashboard and report), from ``analysis.inside_view``'s
dataclasses and from an audit result's recorded measurements.

Colours: retrains grey (their envelope shaded), the original black, each method its own colour
(``charts.colors_of``) or, for the per-check bars, the colour of its status in the verdict.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from unlearn_core.analysis.inside_view import CkaCurves, RelearnCurves, TwinMap, band
from unlearn_core.charts.verdict import STATUS_COLOURS, interval_whiskers
from unlearn_core.checks.judge import figure_range

RETRAIN_GREY, ORIGINAL_BLACK, FALLBACK = "#9e9e9e", "#000000", "#1565c0"
CLASS_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf"]


def check_bars(result, check: str) -> go.Figure:
    """One inside check's figure as a bar per model (retrains, the original, each method
    coloured by its status) with its 95% interval, over the band of genuine retrains: e.g. the
    probe's recall of the forgotten class."""
    from unlearn_core.analysis.inside_view import main_group

    keep = main_group(result)
    ms = [m for m in result.measurements if m.check == check and m.model in keep]
    spec = next((s for s in result.check_specs if s.name == check), None)
    judged = {c.model: c for v in result.verdicts for c in v.checks
              if c.check == check and v.method in keep}
    scale = 100.0 if spec is not None and spec.unit == "%" else 1.0
    rng = figure_range(spec) if spec is not None else (-math.inf, math.inf)
    order = {"reference": 0, "control": 1, "method": 2}
    ms = sorted(ms, key=lambda m: order.get(m.role, 3))
    whiskers = [interval_whiskers(m.figure, m.se, rng, scale) for m in ms]
    colours = [RETRAIN_GREY if m.role == "reference" else ORIGINAL_BLACK if m.role == "control"
               else STATUS_COLOURS.get(getattr(judged.get(m.model), "status", ""), FALLBACK)
               for m in ms]
    fig = go.Figure(go.Bar(
        x=[m.model for m in ms], y=[m.figure * scale for m in ms], marker_color=colours,
        error_y=dict(type="data", symmetric=False, array=[w[0] for w in whiskers],
                     arrayminus=[w[1] for w in whiskers]),
        hovertext=[f"{m.model} ({m.role}): {m.figure * scale:.3g}, n={m.n}"
                   + (f"; {judged[m.model].status}" if m.model in judged else "") for m in ms],
        showlegend=False))
    first = next(iter(judged.values()), None)
    if first is not None:
        lo = first.band_low * scale if math.isfinite(first.band_low) else 0.0
        hi = first.band_high * scale if math.isfinite(first.band_high) else None
        if hi is not None:
            fig.add_hrect(y0=lo, y1=hi, fillcolor="rgba(120,120,120,0.2)", line_width=0,
                          annotation_text="retrain band", annotation_position="top left")
    title = spec.title if spec is not None else check
    fig.update_layout(height=380, margin=dict(l=60, r=20, t=30, b=110), xaxis_tickangle=-40,
                      yaxis_title=title + (" (%)" if scale == 100.0 else ""))
    if math.isfinite(rng[0]) and math.isfinite(rng[1]):  # a share or an AUC: its whole range
        fig.update_yaxes(range=[rng[0] * scale, rng[1] * scale])
    return fig


def _line(fig: go.Figure, x, y, name: str, colour: str, dash: str = "solid", row=None,
          col=None, show: bool = True, group: Optional[str] = None) -> None:
    kw = dict(row=row, col=col) if row else {}
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=name, legendgroup=group or name,
                             line=dict(color=colour, dash=dash), marker=dict(size=5),
                             showlegend=show), **kw)


def _envelope(fig: go.Figure, x, lo, hi, name: str, row=None, col=None,
              show: bool = True) -> None:
    kw = dict(row=row, col=col) if row else {}
    x = list(x)
    fig.add_trace(go.Scatter(x=x + x[::-1], y=list(hi) + list(lo)[::-1], fill="toself",
                             fillcolor="rgba(120,120,120,0.25)", line_width=0, name=name,
                             legendgroup=name, hoverinfo="skip", showlegend=show), **kw)


def cka_figure(curves: CkaCurves, colours: Optional[dict[str, str]] = None) -> go.Figure:
    """CKA with the original by layer: the original (1), the retrains (grey lines and their
    envelope) and each method."""
    colours = colours or {}
    fig = go.Figure()
    lo, hi = band(curves.curves)
    if len(lo):
        _envelope(fig, curves.layers, lo, hi, "retrains (range)")
    for i, c in enumerate(curves.curves):
        if c.role == "retrain":
            _line(fig, curves.layers, c.values, c.model, RETRAIN_GREY, "dot", show=False,
                  group="retrains (range)")
        elif c.role == "original":
            _line(fig, curves.layers, c.values, "original", ORIGINAL_BLACK, "dash")
        else:
            _line(fig, curves.layers, c.values, c.model, colours.get(c.model, FALLBACK))
    fig.update_layout(height=360, margin=dict(l=60, r=20, t=30, b=60),
                      yaxis=dict(title=f"linear CKA with the original ({curves.split}, "
                                       f"n={curves.n})", range=[0, 1.05]),
                      xaxis=dict(title="layer", type="category"))
    return fig


def relearn_figure(curves: RelearnCurves, colours: Optional[dict[str, str]] = None
                   ) -> go.Figure:
    """Held-out accuracy and loss of the forgotten data per relearning step: retrains' envelope
    (grey), the original (black, dashed) and each method."""
    colours = colours or {}
    fig = make_subplots(rows=1, cols=2, subplot_titles=[
        f"held-out forgotten accuracy (n={curves.n_eval})", "held-out loss"])
    for col, series in ((1, curves.accuracy), (2, curves.loss)):
        lo, hi = band(series)
        if len(lo):
            _envelope(fig, curves.steps, lo, hi, "retrains (range)", 1, col, show=col == 1)
        for c in series:
            if c.role == "retrain":
                continue
            colour = ORIGINAL_BLACK if c.role == "original" else colours.get(c.model, FALLBACK)
            _line(fig, curves.steps, c.values, c.model, colour,
                  "dash" if c.role == "original" else "solid", 1, col, show=col == 1)
    fig.update_xaxes(title_text=f"step (Adam, lr {curves.lr:g}, {curves.n_attack} forget "
                                "samples + retain)")
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", row=1, col=1)
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_layout(height=380, margin=dict(l=60, r=20, t=40, b=60))
    return fig


def twin_map_figure(tm: TwinMap, class_names: Optional[list[str]] = None) -> go.Figure:
    """Two panels (before, after) on the same axes: every sample coloured by its class, the
    forget samples drawn larger with a dark outline."""
    names = class_names or [str(c) for c in range(int(tm.labels.max()) + 1)]
    fig = make_subplots(rows=1, cols=2, shared_xaxes=True, shared_yaxes=True,
                        subplot_titles=[f"before: {tm.before}", f"after: {tm.after}"])
    both = np.concatenate([tm.coords_before, tm.coords_after])
    pad = 0.05 * (both.max(0) - both.min(0) + 1e-9)
    xr = [float(both[:, 0].min() - pad[0]), float(both[:, 0].max() + pad[0])]
    yr = [float(both[:, 1].min() - pad[1]), float(both[:, 1].max() + pad[1])]
    for col, coords in ((1, tm.coords_before), (2, tm.coords_after)):
        for c in np.unique(tm.labels):
            for forget in (False, True):
                keep = (tm.labels == c) & (tm.is_forget == forget)
                if not keep.any():
                    continue
                label = names[int(c)] if int(c) < len(names) else str(c)
                fig.add_trace(go.Scatter(
                    x=coords[keep, 0], y=coords[keep, 1], mode="markers",
                    name=f"forget ({label})" if forget else label,
                    legendgroup=f"{'f' if forget else 'c'}{c}", showlegend=col == 1,
                    customdata=tm.ids[keep],
                    hovertemplate=f"sample %{{customdata}} · class {label}"
                                  + (" · forget" if forget else "") + "<extra></extra>",
                    marker=dict(color=CLASS_COLOURS[int(c) % len(CLASS_COLOURS)],
                                size=9 if forget else 5, opacity=0.95 if forget else 0.45,
                                symbol="diamond" if forget else "circle",
                                line=dict(width=1.2 if forget else 0, color="#111"))),
                    row=1, col=col)
    fig.update_xaxes(range=xr, title_text=f"PC1 ({100 * tm.explained[0]:.0f}%)")
    fig.update_yaxes(range=yr)
    fig.update_yaxes(title_text=f"PC2 ({100 * tm.explained[1]:.0f}%)", row=1, col=1)
    fig.update_layout(height=430, margin=dict(l=60, r=20, t=40, b=50))
    return fig


INSIDE_CHECKS = ("probe", "relearn", "cka", "compression")


def report_figures(result) -> list[tuple[str, go.Figure, str]]:
    """The "Look inside" figures a report draws from a recorded result alone (no live model,
    so ``verify`` redraws them from the JSON): each inside check's bars over the retrain band,
    and the CKA-by-layer curves when ``cka`` ran. Empty when no inside check ran."""
    from unlearn_core.analysis.inside_view import cka_curves_from_result

    out = []
    specs = {s.name: s for s in result.check_specs}
    for name in INSIDE_CHECKS:
        if name in specs and any(m.check == name for m in result.measurements):
            out.append((specs[name].title, check_bars(result, name),
                        "Grey: retrains; black: the untouched original; coloured: each method "
                        "by its status; shaded: the band of genuine retrains."))
    curves = cka_curves_from_result(result)
    if curves is not None and len(curves.layers) > 1:
        out.append(("CKA with the original, layer by layer", cka_figure(curves),
                    "A method whose curve stays at 1 up to the last layer kept the original's "
                    "features: only its output changed."))
    return out
