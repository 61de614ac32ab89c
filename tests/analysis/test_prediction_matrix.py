"""Prediction matrix (confusion bubbles): counts, shares and confidences against a model whose
answers are known by construction, and the figure's panels and shared scale."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from unlearn_core.analysis.prediction_matrix import (
    PredictionMatrix,
    prediction_matrix,
    prediction_matrix_figure,
)


class Fixed(nn.Module):
    """Logits read from the input: x[:, :3] are the logits themselves."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :3]


def _logits(rows):
    return np.asarray(rows, dtype=np.float32)


def test_counts_shares_and_confidence_are_exact():
    # class 0: two predicted 0 (confident), one predicted 2; class 1: one predicted 1;
    # class 2: nothing
    X = _logits([[5, 0, 0], [5, 0, 0], [0, 0, 1], [0, 3, 0]])
    y = np.array([0, 0, 0, 1])
    m = prediction_matrix(Fixed(), X, y, 3, name="toy", split="test")
    assert m.counts.tolist() == [[2, 0, 1], [0, 1, 0], [0, 0, 0]]
    assert m.n == 4
    np.testing.assert_allclose(m.shares[0], [2 / 3, 0, 1 / 3])
    assert m.shares[2].tolist() == [0, 0, 0]  # an empty row is 0, not NaN
    p5 = np.exp(5) / (np.exp(5) + 2)
    p1 = np.e / (np.e + 2)
    assert m.confidence[0, 0] == pytest.approx(p5)
    assert m.confidence[0, 2] == pytest.approx(p1)
    assert np.isnan(m.confidence[0, 1]) and np.isnan(m.confidence[2, 2])
    assert m.accuracy() == pytest.approx(3 / 4)
    assert m.accuracy([0]) == pytest.approx(2 / 3)
    assert m.class_names == ["0", "1", "2"]


def test_a_suppressed_class_moves_to_one_decoy_column():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    X = np.eye(3, dtype=np.float32)[y] * 4
    honest = prediction_matrix(Fixed(), X, y, 3)
    X_bias = X.copy()
    X_bias[:, 1] -= 100  # class 1 suppressed at the output: its samples go elsewhere
    forged = prediction_matrix(Fixed(), X_bias, y, 3)
    assert honest.accuracy([1]) == 1.0
    assert forged.accuracy([1]) == 0.0
    assert forged.counts[:, 1].sum() == 0
    assert forged.counts[1].sum() == (y == 1).sum()  # every sample still counted


def test_figure_one_panel_per_model_on_one_colour_scale():
    X = _logits([[5, 0, 0], [0, 3, 0], [0, 0, 2], [0, 0, 2]])
    y = np.array([0, 1, 2, 1])
    mats = [prediction_matrix(Fixed(), X, y, 3, name=n, split="forget",
                              class_names=["a", "b", "c"]) for n in ("original", "retrain",
                                                                     "method")]
    fig = prediction_matrix_figure(mats, highlight=[1])
    assert len(fig.data) == 3
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["original (forget, n=4)", "retrain (forget, n=4)", "method (forget, n=4)"]
    for trace, m in zip(fig.data, mats):
        assert trace.marker.cmin == 0.0 and trace.marker.cmax == 1.0
        assert len(trace.x) == int((m.counts > 0).sum())  # one bubble per non-empty cell
        assert set(trace.y) <= {"a", "b", "c"}
    # bubble sizes follow the shares: class b is split in two halves
    sizes = dict(zip(zip(fig.data[0].y, fig.data[0].x), fig.data[0].marker.size))
    assert sizes[("b", "b")] == pytest.approx(sizes[("b", "c")])
    assert sizes[("a", "a")] > sizes[("b", "b")]
    assert sum(s.type == "rect" for s in fig.layout.shapes) == 3  # the highlighted row, each


def test_empty_split_gives_an_empty_matrix():
    m = prediction_matrix(Fixed(), np.zeros((0, 3), np.float32), np.zeros(0, int), 3)
    assert m.n == 0 and np.isnan(m.accuracy())
    assert isinstance(m, PredictionMatrix)
