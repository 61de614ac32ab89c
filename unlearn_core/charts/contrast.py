"""Figures of the contrast views (``analysis.contrast``): two models and the retrain, per class,
along the attack's thresholds, and sample by sample (after the Unlearning Comparator, IEEE
TVCG 2026)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from unlearn_core.analysis.contrast import Sweep
from unlearn_core.charts.audit import FLOOR, _every_class, _layout


def per_class_figure(class_names: list[str], accuracy: dict[str, np.ndarray],
                     colors: dict[str, str]) -> go.Figure:
    """Grouped bars: accuracy per class of each model (NaN classes drawn as gaps)."""
    fig = go.Figure()
    for name, acc in accuracy.items():
        fig.add_trace(go.Bar(name=name, x=class_names, y=100 * np.asarray(acc),
                             marker_color=colors.get(name, "#111")))
    return _layout(fig, 300, barmode="group", xaxis=_every_class(class_names),
                   yaxis=dict(title="accuracy %", range=[0, 100]),
                   legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))


def sweep_figure(sweeps: list[Sweep], colors: dict[str, str], threshold: float) -> go.Figure:
    """Share of forget samples (solid) and unseen samples (dotted) the attack calls members, per
    threshold (log axis), with the chosen threshold marked."""
    fig = go.Figure()
    for s in sweeps:
        c = colors.get(s.model, "#111")
        fig.add_trace(go.Scatter(x=s.thresholds, y=100 * s.tpr, mode="lines",
                                 name=f"{s.model} · forget called members",
                                 line=dict(color=c, width=2.5)))
        fig.add_trace(go.Scatter(x=s.thresholds, y=100 * s.fpr, mode="lines",
                                 name=f"{s.model} · unseen called members",
                                 line=dict(color=c, width=1.5, dash="dot")))
    fig.add_vline(x=threshold, line=dict(color="#111827", dash="dash", width=1))
    return _layout(fig, 340, xaxis=dict(type="log", title="threshold on the membership loss "
                                                          "(log; at or below = member)"),
                   yaxis=dict(title="called members %", range=[0, 100]),
                   legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))


def per_sample_figure(ids: np.ndarray, loss_a: np.ndarray, loss_b: np.ndarray,
                      retrain_called: np.ndarray, a: str, b: str,
                      threshold: float) -> go.Figure:
    """Each forget sample's membership loss under model A (x) and B (y), log-log; the dashed
    lines are the threshold: lower-left = the attack succeeds on both, upper-right on neither.
    Red points are those the attack still calls members under the retrained model too."""
    la, lb = np.maximum(loss_a, FLOOR), np.maximum(loss_b, FLOOR)
    called = np.asarray(retrain_called, bool)
    fig = go.Figure()
    for mask, name, color in ((~called, "not a member under retrain", "#2563eb"),
                              (called, "a member under retrain too", "#dc2626")):
        fig.add_trace(go.Scatter(
            x=la[mask], y=lb[mask], mode="markers", name=name, customdata=ids[mask][:, None],
            marker=dict(color=color, size=7, opacity=0.75),
            hovertemplate="id %{customdata[0]}<br>" + a + " %{x:.3g}<br>" + b +
                          " %{y:.3g}<extra></extra>"))
    fig.add_vline(x=threshold, line=dict(color="#111827", dash="dash", width=1))
    fig.add_hline(y=threshold, line=dict(color="#111827", dash="dash", width=1))
    return _layout(fig, 380, xaxis=dict(type="log", title=f"membership loss under {a} (log)"),
                   yaxis=dict(type="log", title=f"membership loss under {b} (log)"),
                   legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
