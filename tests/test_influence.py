"""Influence updates on a convex model land near the retrained optimum: for deletion, label
correction and feature removal."""

import numpy as np
import pytest
import torch

from unlearn_core.data import Samples, load_builtin, make_splits
from unlearn_core.methods import UnlearnContext, make_method
from unlearn_core.methods.influence import correct_labels, influence_step, remove_feature
from unlearn_core.models import ModelSpec, TrainConfig, build_model, train_epochs

RECIPE = TrainConfig(epochs=200, lr=1e-2, batch_size=128, weight_decay=1e-3)


def _theta(m):
    return torch.cat([p.detach().flatten() for p in m.parameters()]).numpy()


def _optimum(train: Samples, spec, start=None, wd: float = RECIPE.weight_decay):
    """Many damped Newton steps: the regularised optimum on ``train`` (damping changes the
    path, not the fixed point)."""
    m = start or build_model(spec, 0)
    for _ in range(40):
        influence_step(m, train, 2, wd, damping=1e-3)
    return m


@pytest.fixture(scope="module")
def convex():
    ds = load_builtin("breast_cancer")
    sp = make_splits(ds, 0)
    spec = ModelSpec("logreg", ds.sample_shape, ds.n_classes)
    train = ds.subset(sp.train)
    base = _optimum(train, spec, train_epochs(build_model(spec, 0), train, RECIPE, 0))
    return ds, sp, spec, train, base


def test_deletion_lands_on_the_retrained_optimum(convex):
    import copy

    _, _, spec, train, base = convex
    forget, retain = train.take(np.arange(20)), train.take(np.arange(20, len(train)))
    ctx = UnlearnContext(2, 0, spec, RECIPE)
    one = make_method("influence").unlearn(base, forget, retain, ctx).model
    first = make_method("influence", order=1, tau=1e-4).unlearn(base, forget, retain, ctx).model
    ref = _optimum(retain, spec, copy.deepcopy(base))
    d_base = np.linalg.norm(_theta(base) - _theta(ref))
    assert np.linalg.norm(_theta(one) - _theta(ref)) < 0.1 * d_base
    assert np.linalg.norm(_theta(first) - _theta(ref)) < d_base  # first order helps, less


WD = 1e-2  # label flips on near-separable data need firmer regularisation


def test_label_correction_and_feature_removal(convex):
    import copy

    _, _, spec, train, base = convex
    base = _optimum(train, spec, copy.deepcopy(base), WD)  # the optimum at this regularisation
    pos = np.arange(5)
    flipped = 1 - train.y[pos]
    fixed = correct_labels(copy.deepcopy(base), train, pos, flipped, weight_decay=WD,
                           damping=0.0)
    y = train.y.copy()
    y[pos] = flipped
    ref = _optimum(Samples(train.X, y, train.ids), spec, copy.deepcopy(base), WD)
    # flipped labels move the optimum far: one Newton step covers a good part of the way
    assert np.linalg.norm(_theta(fixed) - _theta(ref)) < 0.8 * np.linalg.norm(
        _theta(base) - _theta(ref))
    gone = remove_feature(copy.deepcopy(base), train, feature=0, weight_decay=WD, damping=0.0)
    X = train.X.copy()
    X[:, 0] = 0
    ref2 = _optimum(Samples(X, train.y, train.ids), spec, copy.deepcopy(base), WD)
    assert np.linalg.norm(_theta(gone) - _theta(ref2)) < 0.8 * np.linalg.norm(
        _theta(base) - _theta(ref2))
    assert abs(gone.head.weight[:, 0]).max() < abs(base.head.weight[:, 0]).max()
