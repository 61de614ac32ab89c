"""Features are read from a model's real computation (the activation feeding its output layer
during a forward pass), never from what a model says about itself: a model whose ``body`` and
``embed`` are another network's while its ``forward`` runs the original's weights is read as
the original; an exported program and a TorchScript module are read from their graphs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from tests.checks.test_inside_support import class3_zoo, fresh_ctx, one_thread  # noqa: F401
from unlearn_core.checks.probe import ProbeCheck, layer_features
from unlearn_core.errors import ModelError
from unlearn_core.models import export_model, load_exported
from unlearn_core.models.features import features_problem, read_features


class Liar(nn.Module):
    """Declares ``decoy``'s features as its own (``body``, ``head``, ``embed``) while its
    output is ``real``'s."""

    def __init__(self, real: nn.Module, decoy: nn.Module) -> None:
        super().__init__()
        self.real = real
        self.body, self.head = decoy.body, decoy.head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.real(x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


@pytest.fixture(scope="module")
def zoo():
    return class3_zoo()


def _body(model, X) -> np.ndarray:
    with torch.no_grad():
        return model.body(torch.as_tensor(X, dtype=torch.float32)).double().numpy()


def test_a_model_declaring_a_retrains_features_is_read_as_what_it_computes(zoo):
    ctx, check = fresh_ctx(zoo), ProbeCheck()
    X = zoo.ctx.data.test.X
    forged, retrain = zoo.forgeries["bias_1e4"], zoo.retrains[0]
    liar = Liar(forged, retrain)  # outputs: the bias forgery; claims: the retrain's features
    assert np.array_equal(liar.embed(torch.as_tensor(X)).detach().numpy(),
                          retrain.embed(torch.as_tensor(X)).detach().numpy())
    feats = layer_features(liar, X)["penultimate"]
    assert np.array_equal(feats, _body(zoo.original, X))  # what feeds its output layer
    assert not np.allclose(feats, _body(retrain, X))
    m_liar, m_orig = check.measure(liar, ctx), check.measure(zoo.original, ctx)
    assert m_liar.figure == m_orig.figure  # the probe reads the original's features
    tops = [check.measure(r, ctx).figure for r in zoo.retrains]
    assert m_liar.figure > max(tops) + 0.2
    # the other way round: a retrain claiming the original's features is read as a retrain
    honest = Liar(retrain, zoo.original)
    assert np.array_equal(layer_features(honest, X)["penultimate"], _body(retrain, X))


def test_exported_programs_and_torchscript_are_read_from_their_graphs(zoo):
    X = zoo.ctx.data.forget.X[:40]
    want = _body(zoo.original, X)
    shape = zoo.ctx.data.dataset.sample_shape
    for model in (load_exported(export_model(zoo.forgeries["bias_20"], shape)),
                  torch.jit.script(zoo.forgeries["bias_20"]), torch.jit.script(zoo.original)):
        got = read_features(model, X)["penultimate"]
        assert got.shape == want.shape and np.allclose(got, want, atol=1e-5), type(model)
        assert features_problem(model, X) is None


def test_several_heads_that_run_are_read_side_by_side(zoo):
    X = zoo.ctx.data.test.X[:30]
    a, b = zoo.original, zoo.retrains[1]

    class Mixture(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = a, b

        def forward(self, x):
            return self.a(x) + 0.0 * self.b(x)  # b's head runs: its features count too

    got = read_features(Mixture(), X)["penultimate"]
    assert np.array_equal(got, np.concatenate([_body(a, X), _body(b, X)], 1))


def test_an_output_layer_that_sees_only_some_rows_cannot_be_read(zoo):
    ctx = fresh_ctx(zoo)
    original = zoo.original

    class Router(nn.Module):
        """Runs the original's head on the first half of a batch only."""

        def __init__(self):
            super().__init__()
            self.inner = original

        def forward(self, x):
            n = x.shape[0] // 2
            h = self.inner.body(x)
            fixed = torch.zeros(x.shape[0] - n, 10)
            return torch.cat([self.inner.head(h[:n]), fixed])

    with pytest.raises(ModelError, match="only some rows"):
        read_features(Router(), ctx.data.test.X[:10])
    m = ProbeCheck().measure(Router(), ctx)
    assert math.isnan(m.figure) and m.n == 0  # judged "no data", never a pass
