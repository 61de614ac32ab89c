"""Prediction matrix: where each model sends the samples of each true class, as confusion bubbles.

The Unlearning Comparator (Lee et al., "Unlearning Comparator: A Visual Analytics System for
Comparative Evaluation of Machine Unlearning Methods", arXiv 2508.12730) shows, per model, a
matrix of true class (rows) against predicted class (columns) in which each cell is a bubble:
its size is the share of the row's samples predicted as that column, its colour the model's
mean confidence in those predictions. A genuinely unlearned class spreads over the classes a
retrained model confuses it with; a suppressed one moves wholesale to one decoy column, or sits
on the diagonal with low confidence.

``prediction_matrix(model, X, y, n_classes)`` computes one matrix (plain numpy; ``pair_counts``
its counts from predictions already made);
``prediction_matrices(run, split)`` one per model of an audit; ``prediction_matrix_figure``
draws them side by side with one shared size and colour scale (so panels compare).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from torch import nn

from unlearn_core.models.training import predict_proba

SPLITS = ("forget", "test", "retain")


@dataclass
class PredictionMatrix:
    """One model's predictions on one split: ``counts[true, predicted]`` and the mean
    probability the model gave its predicted class in each cell (NaN where a cell is empty)."""

    model: str
    split: str
    counts: np.ndarray  # (c, c) int64
    confidence: np.ndarray  # (c, c) float64, mean max-probability of the cell's samples
    class_names: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    @property
    def shares(self) -> np.ndarray:
        """Row-normalised counts: the share of each true class predicted as each class (rows
        without samples are 0)."""
        rows = self.counts.sum(1, keepdims=True).astype(np.float64)
        return np.divide(self.counts, rows, out=np.zeros(self.counts.shape), where=rows > 0)

    def accuracy(self, classes: Optional[Sequence[int]] = None) -> float:
        """Share on the diagonal, over ``classes`` (rows) or every class."""
        rows = list(range(len(self.counts))) if classes is None else [int(c) for c in classes]
        total = self.counts[rows].sum()
        return float(self.counts[rows, rows].sum() / total) if total else float("nan")


def pair_counts(y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """The confusion matrix of predictions already made: ``counts[true, predicted]``, (c, c)
    int64."""
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(y, dtype=np.int64), np.asarray(pred, dtype=np.int64)), 1)
    return counts


def prediction_matrix(model: nn.Module, X: np.ndarray, y: np.ndarray, n_classes: int,
                      name: str = "", split: str = "",
                      class_names: Optional[list[str]] = None) -> PredictionMatrix:
    """Counts of (true, predicted) pairs of ``model`` on ``X`` and the mean confidence (the
    predicted class's probability) per cell."""
    y = np.asarray(y, dtype=np.int64)
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    conf_sum = np.zeros((n_classes, n_classes), dtype=np.float64)
    if len(y):
        p = predict_proba(model, X)
        pred = p.argmax(1)
        counts = pair_counts(y, pred, n_classes)
        np.add.at(conf_sum, (y, pred), p[np.arange(len(y)), pred])
    confidence = np.divide(conf_sum, counts, out=np.full(counts.shape, np.nan),
                           where=counts > 0)
    names = list(class_names) if class_names is not None else [str(c) for c in range(n_classes)]
    return PredictionMatrix(name, split, counts, confidence, names)


def prediction_matrices(run, split: str = "test",
                        models: Optional[Sequence[str]] = None) -> list[PredictionMatrix]:
    """One matrix per model of an audit run (``AuditRun``), on ``split`` ("forget", "test" or
    "retain"): by default the original ("baseline"), the first retrain and every method."""
    if split not in SPLITS:
        raise ValueError(f"unknown split '{split}': use one of {', '.join(SPLITS)}")
    samples = getattr(run.data, split)
    ds = run.data.dataset
    names = list(models) if models is not None else [e.name for e in run.result.evaluations()]
    return [prediction_matrix(run.models[n], samples.X, samples.y, ds.n_classes, n, split,
                              list(ds.class_names)) for n in names if n in run.models]


def prediction_matrix_figure(matrices: Sequence[PredictionMatrix],
                             highlight: Sequence[int] = (), max_size: float = 26.0,
                             cols: int = 4) -> go.Figure:
    """Confusion bubbles, one panel per matrix: rows are true classes, columns predicted ones;
    bubble area is the share of the row, colour the mean confidence (one scale for all panels);
    the rows of ``highlight`` (the forgotten classes) are shaded."""
    matrices = list(matrices)
    n = max(1, len(matrices))
    cols = max(1, min(cols, n))
    nrows = (n + cols - 1) // cols
    fig = make_subplots(rows=nrows, cols=cols, subplot_titles=[
        f"{m.model} ({m.split}, n={m.n})" for m in matrices],
        horizontal_spacing=0.06, vertical_spacing=0.12 / max(1, nrows - 1) if nrows > 1 else 0.1)
    for i, m in enumerate(matrices):
        r, c = i // cols + 1, i % cols + 1
        names = m.class_names or [str(k) for k in range(len(m.counts))]
        t, p = np.nonzero(m.counts)
        share = m.shares[t, p]
        fig.add_trace(go.Scatter(
            x=[names[j] for j in p], y=[names[j] for j in t], mode="markers",
            marker=dict(size=np.sqrt(share) * max_size, sizemode="diameter",
                        color=m.confidence[t, p], colorscale="Viridis", cmin=0.0, cmax=1.0,
                        showscale=i == 0, line=dict(width=0.5, color="#333"),
                        colorbar=dict(title="confidence", len=0.8) if i == 0 else None),
            customdata=np.stack([m.counts[t, p], 100 * share, m.confidence[t, p]], axis=1),
            hovertemplate=("true %{y} → predicted %{x}<br>%{customdata[0]:.0f} samples "
                           "(%{customdata[1]:.1f}% of the class)<br>mean confidence "
                           "%{customdata[2]:.2f}<extra>" + m.model + "</extra>"),
            showlegend=False), row=r, col=c)
        axis = dict(type="category", categoryorder="array", categoryarray=names,
                    tickmode="array", tickvals=names, ticktext=names)
        fig.update_xaxes(title_text="predicted" if r == nrows else None, row=r, col=c, **axis)
        fig.update_yaxes(title_text="true" if c == 1 else None, autorange="reversed", row=r,
                         col=c, **axis)
        for h in highlight:
            if 0 <= int(h) < len(names):
                fig.add_hrect(y0=int(h) - 0.5, y1=int(h) + 0.5, fillcolor="rgba(220,38,38,0.12)",
                              line_width=0, row=r, col=c)
    fig.update_layout(height=60 + 330 * nrows, margin=dict(t=50, b=50, l=60, r=20))
    return fig
