"""Plotly figures of an audit, shared by the dashboard and the HTML/PDF report.

One colour per role everywhere: grey for the original model, green for the retrain reference,
a stable colour per method.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from unlearn_core.audit.run import AuditResult
from unlearn_core.metrics import roc_points

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


# room for tick labels and axis titles: a report or PDF has no automatic resize to save them
MARGIN = dict(t=40, b=60, l=70, r=20)
UNSEEN = "#111827"  # the unseen (never trained on) samples: black, dashed, unlike any model
FLOOR = 1e-6  # smallest loss / rate drawn on a log axis (zero has no place there)


def _layout(fig: go.Figure, height: int, **kw) -> go.Figure:
    fig.update_layout(height=height, margin=MARGIN, **kw)
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def _every_class(names: list[str]) -> dict:
    """A category axis that labels every class (plotly skips labels on numeric-looking names)."""
    return dict(type="category", title="class", tickmode="array", tickvals=list(names),
                ticktext=list(names), categoryorder="array", categoryarray=list(names))


def member_loss(scores: np.ndarray, kind: str) -> np.ndarray:
    """Membership scores as a positive "distance from being remembered", for log axes.

    ``loss`` scores are log p(true class), so this is the cross-entropy loss; ``confidence``
    scores are p(true class), so this is 1 - p. Members sit near 0, hence the log axis; values
    are floored at ``FLOOR`` so that a perfect fit stays on the chart."""
    s = np.asarray(scores, dtype=np.float64)
    out = -s if kind == "loss" else 1.0 - s
    return np.maximum(out, FLOOR)


def member_loss_title(kind: str) -> str:
    """Axis title of ``member_loss`` values."""
    what = "cross-entropy loss" if kind == "loss" else "1 − confidence in the true class"
    return f"{what} (log scale; lower = looks like a member)"


def _log_ticks(lo: float, hi: float) -> dict:
    """Tick values and labels (10^k) for an axis drawn in log10 units."""
    ks = list(range(int(np.floor(lo)), int(np.ceil(hi)) + 1))
    return dict(tickvals=ks, ticktext=[f"1e{k}" if k < -2 else f"{10.0 ** k:g}" for k in ks])


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
                                   for v, d in zip(vals, shift)], textposition="outside",
                             cliponaxis=False))  # a label over a 100% bar sits in the margin
    return _layout(fig, 380, barmode="group", yaxis_title="accuracy %", yaxis_range=[0, 100])


def per_class_bars(result: AuditResult) -> go.Figure:
    """Test accuracy per class and model."""
    colors, fig = colors_of(result), go.Figure()
    for e in result.evaluations():
        fig.add_trace(go.Bar(name=e.name, x=result.class_names,
                             y=100 * np.asarray(e.accuracy.per_class_test),
                             marker_color=colors[e.name]))
    return _layout(fig, 320, barmode="group", yaxis_title="accuracy %", yaxis_range=[0, 100],
                   xaxis=_every_class(result.class_names))


def mia_histogram(result: AuditResult) -> go.Figure:
    """Forget-set membership scores per model, against unseen samples, on a log loss axis.

    Each model is a step line of its own colour; the unseen samples a dashed black line. Bins
    are shared and equal in log10(loss), so a pile of near-zero losses spreads out."""
    kind = result.config.mia_score
    series = [(f"{e.name} · forget", member_loss(e.mia.forget_scores, kind), colors_of(result)[
        e.name], "solid") for e in result.evaluations()]
    series.append(("unseen samples", member_loss(result.retrain.mia.test_scores, kind), UNSEEN,
                   "dash"))
    logs = [np.log10(v) for _, v, _, _ in series]
    everything = np.concatenate([v for v in logs if v.size] or [np.zeros(1)])
    lo, hi = float(everything.min()), float(everything.max())
    edges = np.linspace(lo, hi if hi > lo else lo + 1, 31)
    fig = go.Figure()
    for (name, _, color, dash), v in zip(series, logs):
        counts, _ = np.histogram(v, bins=edges)
        share = counts / max(len(v), 1)
        fig.add_trace(go.Scatter(x=edges, y=np.r_[share, share[-1:]], mode="lines", name=name,
                                 line=dict(color=color, dash=dash, width=2.5, shape="hv")))
    return _layout(fig, 340, xaxis=dict(title=member_loss_title(kind), **_log_ticks(lo, hi)),
                   yaxis_title="share of samples",
                   legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))


def mia_roc(result: AuditResult) -> go.Figure:
    """ROC of the attack telling forget samples from unseen ones, per model, on log-log axes
    (the low false-positive region is where an attack is convincing; Carlini et al., 2022)."""
    colors, fig = colors_of(result), go.Figure()
    n_unseen = max(len(result.retrain.mia.test_scores), 1)
    floor = 1.0 / (10 * n_unseen)
    for e in result.evaluations():
        fpr, tpr = roc_points(e.mia.forget_scores, e.mia.test_scores)
        fig.add_trace(go.Scatter(x=np.maximum(fpr, floor), y=np.maximum(tpr, floor),
                                 mode="lines", line=dict(color=colors[e.name], width=2.5),
                                 name=f"{e.name} (AUC {e.mia.auc_forget_vs_test:.2f})"))
    fig.add_trace(go.Scatter(x=[floor, 1], y=[floor, 1], mode="lines", name="chance",
                             line=dict(dash="dot", color="#9ca3af")))
    lo = float(np.log10(1.0 / n_unseen))
    return _layout(fig, 340, xaxis=dict(type="log", title="false positive rate (log)",
                                        range=[lo, 0]),
                   yaxis=dict(type="log", title="true positive rate (log)", range=[lo, 0]))


def score_shift(result: AuditResult, model: str) -> go.Figure:
    """Each forget sample's loss before (x) and after ``model`` (y), on log-log axes: points
    above the diagonal look less like members after unlearning."""
    kind = result.config.mia_score
    ev = next(e for e in result.evaluations() if e.name == model)
    before = member_loss(result.baseline.mia.forget_scores, kind)
    after = member_loss(ev.mia.forget_scores, kind)
    ids = np.asarray(result.forget_ids)
    fig = go.Figure(go.Scatter(
        x=before, y=after, mode="markers", customdata=ids[:, None], name=model,
        marker=dict(color=colors_of(result)[model], size=7, opacity=0.7),
        hovertemplate="id %{customdata[0]}<br>before %{x:.3g}<br>after %{y:.3g}"
                      "<extra></extra>"))
    both = np.r_[before, after] if len(ids) else np.array([FLOOR, 1.0])
    lo, hi = float(both.min()) / 1.5, float(both.max()) * 1.5
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="no change",
                             line=dict(dash="dot", color="#9ca3af"), hoverinfo="skip"))
    title = "loss" if kind == "loss" else "1 − confidence"
    return _layout(fig, 380, showlegend=False,
                   xaxis=dict(type="log", title=f"{title} before (log)"),
                   yaxis=dict(type="log", title=f"{title} after {model} (log)"))


def forget_class_counts(result: AuditResult, labels: np.ndarray) -> go.Figure:
    """How many forget samples each class holds."""
    counts = np.bincount(labels, minlength=len(result.class_names))
    fig = go.Figure(go.Bar(x=result.class_names, y=counts, marker_color=METHOD_COLORS[0]))
    return _layout(fig, 260, yaxis_title="samples", xaxis=_every_class(result.class_names))


PANELS = [("before", "original"), ("after", "after"), ("retrain", "retrain"),
          ("after_minus_before", "after − original"),
          ("retrain_minus_before", "retrain − original")]


def relevance_figure(maps, image: bool, colors: dict, method: str,
                     feature_names: list[str] | None = None) -> go.Figure:
    """Original, method, retrain and the two differences, as maps or per-feature bars.

    Images: five heatmaps on one colour scale (red for the class, blue against). Tabular data:
    horizontal bars labelled with the feature names, coloured by model, each model's relevance
    on the left and its change against the original on the right, on one shared scale."""
    arrays = [np.asarray(getattr(maps, attr), dtype=np.float64) for attr, _ in PANELS]
    lim = float(max(np.abs(a).max() for a in arrays) or 1.0)
    if image:
        titles = [t.replace("after", method) for _, t in PANELS]
        fig = make_subplots(rows=1, cols=len(PANELS), subplot_titles=titles,
                            horizontal_spacing=0.03)
        for i, a in enumerate(arrays):
            img = a.sum(0) if a.ndim == 3 else a  # channels summed
            fig.add_trace(go.Heatmap(z=img, zmin=-lim, zmax=lim, colorscale="RdBu_r",
                                     showscale=i == len(arrays) - 1,
                                     colorbar=dict(title="relevance")), 1, i + 1)
            fig.update_yaxes(autorange="reversed", showticklabels=False, scaleanchor=f"x{i + 1}",
                             row=1, col=i + 1)
            fig.update_xaxes(showticklabels=False, row=1, col=i + 1)
        fig.update_layout(height=280, margin=dict(t=40, b=20, l=20, r=20))
        return fig
    n = arrays[0].size
    names = list(feature_names or [])
    if len(names) != n:
        names = [f"feature {i}" for i in range(n)]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=["relevance for the class",
                                        "change against the original"])
    bars = [(0, "original", colors.get("baseline", BASELINE), 1),
            (1, method, colors.get(method, METHOD_COLORS[0]), 1),
            (2, "retrain", colors.get("retrain", RETRAIN), 1),
            (3, f"{method} − original", colors.get(method, METHOD_COLORS[0]), 2),
            (4, "retrain − original", colors.get("retrain", RETRAIN), 2)]
    for i, name, color, col in bars:
        fig.add_trace(go.Bar(y=names, x=arrays[i].ravel(), orientation="h", name=name,
                             marker=dict(color=color, pattern_shape="/" if col == 2 else ""),
                             legendgroup=str(col)), 1, col)
    fig.update_xaxes(range=[-1.1 * lim, 1.1 * lim], zeroline=True, zerolinecolor="#111")
    fig.update_yaxes(autorange="reversed", type="category", tickmode="array", tickvals=names,
                     ticktext=names, automargin=True)
    fig.update_layout(barmode="group", height=max(300, 60 + 22 * n * 1.2),
                      margin=dict(t=40, b=40, l=20, r=20), bargap=0.25,
                      legend=dict(orientation="h", yanchor="top", y=-0.06, x=0))
    return fig


def relevance_caption(image: bool) -> str:
    """What the relevance figure's colours mean (the page and the report say the same)."""
    if image:
        return ("Red: evidence for the class, blue: against, on one colour scale for all five "
                "panels. After good forgetting of a class, the method's map loses the evidence "
                "the original used, like the retrained model's map.")
    return ("Bars are coloured by model (grey original, green retrain, the method's own "
            "colour); right of zero is evidence for the class, left against, on one scale. "
            "Hatched bars: change against the original. Good forgetting changes the features "
            "the way retraining does.")
