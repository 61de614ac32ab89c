"""Interclass Confusion test (Goel et al., arXiv 2201.06640): the planted label swap shows as
confusion on clean test data, retraining removes it, a lookup forgery does not."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.checks.test_inside_support import one_thread  # noqa: F401
from unlearn_core.data import load_builtin
from unlearn_core.data.dataset import Samples
from unlearn_core.scenarios.confusion import (
    confusion_rate,
    interclass_confusion,
    most_confused_pair,
)


class AlwaysOne(torch.nn.Module):
    """Predicts class 1 for every input."""

    def forward(self, x):
        out = torch.zeros(len(x), 3)
        out[:, 1] = 1.0
        return out


def test_most_confused_pair_is_symmetric():
    cm = np.array([[9, 1, 0], [0, 8, 2], [0, 3, 7]])
    assert most_confused_pair(cm) == (1, 2)
    assert most_confused_pair(cm.T) == (1, 2)


def test_confusion_rate_counts_both_directions_over_both_classes():
    s = Samples(np.zeros((5, 2), dtype=np.float32), np.array([0, 0, 1, 2, 1]), np.arange(5))
    assert confusion_rate(AlwaysOne(), s, 0, 1) == pytest.approx(2 / 4)  # 0->1 twice
    assert confusion_rate(AlwaysOne(), s, 1, 2) == pytest.approx(1 / 3)  # 2->1 once
    assert np.isnan(confusion_rate(AlwaysOne(), s.take(np.array([3])), 0, 1))


def test_swap_is_planted_removed_by_retrain_and_kept_by_a_lookup():
    r = interclass_confusion(load_builtin("digits"), "cnn", "forged", seed=0)
    assert r.class_a < r.class_b and r.n_swapped % 2 == 0 and r.n_swapped >= 30
    assert r.conf_before > r.conf_clean + 0.1  # power: the swap was learned
    assert r.conf_retrain <= r.conf_clean + 0.03
    # the lookup hides the swapped inputs themselves but the confusion on clean data stays
    assert r.conf_forget_after == pytest.approx(0.0, abs=0.05)
    assert r.conf_after == pytest.approx(r.conf_before) and r.gap > 0.1
