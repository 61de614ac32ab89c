"""Plotly figures of an audit, shared by the dashboard and the HTML/PDF report.

One colour per role everywhere: grey for the original model, green for the retrain reference,
a stable colour per method.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .audit import AuditResult
from .metrics import roc_points

BASELINE, RETRAIN = "#6b7280", "#16a34a"
METHOD_COLORS = ["#2563eb", "#ea580c", "#9333ea", "#db2777", "#0891b2", "#ca8a04", "#4f46e5",
                 "#dc2626", "#65a30d", "#0d9488"]


def color_for(name: str, methods: list[str]) -> str:
    """Grey for the original model, green for retrain, a stable colour per method."""
    if name in ("baseline", "original", "before"):
        return BASELINE
    if name == "retrain":
        return RETRAIN
    return METHOD_COLORS[methods.index(name) % len(METHOD_COLORS)] if name in methods else "#111"


def colors_of(result: AuditResult) -> dict[str, str]:
    methods = [e.name for e in result.methods]
    return {e.name: color_for(e.name, methods) for e in result.evaluations()}


def _layout(fig: go.Figure, height: int, **kw) -> go.Figure:
    fig.update_layout(height=height, margin=dict(t=30, b=10, l=10, r=10), **kw)
    return fig


def accuracy_bars(result: AuditResult) -> go.Figure:
    """Forget / retain / test accuracy per model, with the shift against the original."""
    colors, fig = colors_of(result), go.Figure()
    splits = ["forget", "retain", "test"]
    base = result.baseline.accuracy
    for e in result.evaluations():
        vals = [100 * getattr(e.accuracy, s) for s in splits]
        shift = [v - 100 * getattr(base, s) for v, s in zip(vals, splits)]
        fig.add_trace(go.Bar(name=e.name, x=splits, y=vals, marker_color=colors[e.name],
                             text=[f"{v:.0f}" + ("" if e.role == "baseline" else f" ({d:+.0f})")
                                   for v, d in zip(vals, shift)], textposition="outside"))
    return _layout(fig, 380, barmode="group", yaxis_title="accuracy %", yaxis_range=[0, 115])


def per_class_bars(result: AuditResult) -> go.Figure:
    """Test accuracy per class and model."""
    colors, fig = colors_of(result), go.Figure()
    for e in result.evaluations():
        fig.add_trace(go.Bar(name=e.name, x=result.class_names,
                             y=100 * np.asarray(e.accuracy.per_class_test),
                             marker_color=colors[e.name]))
    return _layout(fig, 320, barmode="group", yaxis_title="accuracy %",
                   xaxis=dict(type="category", title="class"))


def mia_histogram(result: AuditResult) -> go.Figure:
    """Forget-set membership scores per model, against unseen samples."""
    colors, fig = colors_of(result), go.Figure()
    for e in result.evaluations():
        fig.add_trace(go.Histogram(x=e.mia.forget_scores, name=f"{e.name} · forget",
                                   marker_color=colors[e.name], opacity=0.55, nbinsx=40,
                                   histnorm="probability"))
    fig.add_trace(go.Histogram(x=result.retrain.mia.test_scores, name="unseen samples",
                               marker_color="#111827", opacity=0.35, nbinsx=40,
                               histnorm="probability"))
    return _layout(fig, 340, barmode="overlay", xaxis_title=f"{result.config.mia_score} score "
                   "(higher = looks like a member)")


def mia_roc(result: AuditResult) -> go.Figure:
    """ROC of the attack telling forget samples from unseen ones, per model."""
    colors, fig = colors_of(result), go.Figure()
    for e in result.evaluations():
        fpr, tpr = roc_points(e.mia.forget_scores, e.mia.test_scores)
        fig.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", line=dict(color=colors[e.name]),
                                 name=f"{e.name} (AUC {e.mia.auc_forget_vs_test:.2f})"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance",
                             line=dict(dash="dot", color="#9ca3af")))
    return _layout(fig, 340, xaxis_title="false positive rate", yaxis_title="true positive rate")


def forget_class_counts(result: AuditResult, labels: np.ndarray) -> go.Figure:
    """How many forget samples each class holds."""
    counts = np.bincount(labels, minlength=len(result.class_names))
    fig = go.Figure(go.Bar(x=result.class_names, y=counts, marker_color=METHOD_COLORS[0]))
    return _layout(fig, 240, yaxis_title="samples", xaxis=dict(type="category", title="class"))


PANELS = [("before", "original"), ("after", "after"), ("retrain", "retrain"),
          ("after_minus_before", "after − original"),
          ("retrain_minus_before", "retrain − original")]


def relevance_figure(maps, image: bool, colors: dict, method: str) -> go.Figure:
    """Original, method, retrain and the two differences, as maps or per-feature bars."""
    arrays = [np.asarray(getattr(maps, attr)) for attr, _ in PANELS]
    titles = [t.replace("after", method) for _, t in PANELS]
    fig = make_subplots(rows=1, cols=len(PANELS), subplot_titles=titles)
    if image:
        lim = float(max(np.abs(a).max() for a in arrays) or 1.0)
        for i, a in enumerate(arrays):
            img = a.sum(0) if a.ndim == 3 else a  # channels summed
            fig.add_trace(go.Heatmap(z=img, zmin=-lim, zmax=lim, colorscale="RdBu_r",
                                     showscale=i == len(arrays) - 1), 1, i + 1)
            fig.update_yaxes(autorange="reversed", showticklabels=False, row=1, col=i + 1)
            fig.update_xaxes(showticklabels=False, row=1, col=i + 1)
        fig.update_layout(height=260)
    else:
        role = ["baseline", method, "retrain", method, "retrain"]
        for i, a in enumerate(arrays):
            fig.add_trace(go.Bar(x=np.arange(a.size), y=a.ravel(), showlegend=False,
                                 marker_color=colors.get(role[i], "#444")), 1, i + 1)
        fig.update_layout(height=280)
    fig.update_layout(margin=dict(t=30, b=10, l=10, r=10))
    return fig
