"""Architectures build for the data they fit, save/load is safe and exact, misfits are refused."""

import io

import numpy as np
import pytest
import torch

from unlearn_core.errors import ModelError
from unlearn_core.models import (
    ModelSpec,
    TrainConfig,
    accuracy,
    build_model,
    check_compatible,
    load_model,
    load_torchscript,
    model_hash,
    predict_logits,
    save_model,
    train_epochs,
)


@pytest.mark.parametrize("arch", ["logreg", "mlp", "cnn"])
def test_each_architecture_learns_digits(digits, arch):
    ds, splits = digits
    model = build_model(ModelSpec(arch, ds.sample_shape, ds.n_classes), seed=0)
    train_epochs(model, ds.subset(splits.train), TrainConfig(epochs=10, lr=5e-3), seed=0)
    assert accuracy(model, ds.subset(splits.test)) > 0.85


def test_cnn_refuses_tabular_input():
    with pytest.raises(ModelError, match="image data"):
        build_model(ModelSpec("cnn", (30,), 2))


def test_unknown_architecture():
    with pytest.raises(ModelError, match="unknown model 'resnet'"):
        build_model(ModelSpec("resnet", (30,), 2))


def test_same_seed_same_weights_different_seed_different():
    spec = ModelSpec("mlp", (64,), 10)
    assert model_hash(build_model(spec, 1)) == model_hash(build_model(spec, 1))
    assert model_hash(build_model(spec, 1)) != model_hash(build_model(spec, 2))


def test_safetensors_round_trip(tmp_path, digits):
    ds, _ = digits
    model = build_model(ModelSpec("cnn", ds.sample_shape, ds.n_classes), seed=3)
    weights, spec = save_model(model, tmp_path / "m")
    loaded = load_model(weights, spec)
    assert model_hash(loaded) == model_hash(model)
    assert np.allclose(predict_logits(loaded, ds.X[:20]), predict_logits(model, ds.X[:20]))
    # bytes and file-like objects work as uploads do
    again = load_model(io.BytesIO(weights.read_bytes()), spec.read_bytes())
    assert model_hash(again) == model_hash(model)


def test_weights_only_state_dict_loads(tmp_path):
    model = build_model(ModelSpec("mlp", (13,), 3), seed=0)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    assert model_hash(load_model(buf.getvalue(), model.spec)) == model_hash(model)


def test_pickled_object_is_refused(tmp_path):
    model = build_model(ModelSpec("mlp", (13,), 3), seed=0)
    buf = io.BytesIO()
    torch.save({"model": model}, buf)  # a whole pickled module: weights_only must refuse it
    with pytest.raises(ModelError):
        load_model(buf.getvalue(), model.spec)


def test_weights_for_another_spec_are_refused(tmp_path):
    weights, _ = save_model(build_model(ModelSpec("mlp", (13,), 3)), tmp_path / "a")
    with pytest.raises(ModelError, match="do not match"):
        load_model(weights, ModelSpec("mlp", (13,), 5))


def test_garbage_files_are_refused():
    with pytest.raises(ModelError):
        load_model(b"not a model", ModelSpec("mlp", (13,), 3))
    with pytest.raises(ModelError, match="not a TorchScript file"):
        load_torchscript(b"not a model", trust_code=True)
    with pytest.raises(ModelError, match="spec"):
        load_model(b"x", b"{not json")


def test_torchscript_round_trip_and_compatibility(digits):
    ds, _ = digits
    model = build_model(ModelSpec("cnn", ds.sample_shape, ds.n_classes), seed=0)
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(model), buf)
    loaded = load_torchscript(buf.getvalue(), trust_code=True)  # a local file made here
    assert np.allclose(predict_logits(loaded, ds.X[:5]), predict_logits(model, ds.X[:5]),
                       atol=1e-5)
    check_compatible(loaded, ds.sample_shape, ds.n_classes)
    with pytest.raises(ModelError, match="3 classes"):
        check_compatible(loaded, ds.sample_shape, 3)
    with pytest.raises(ModelError, match="does not accept inputs"):
        check_compatible(loaded, (30,), 10)
