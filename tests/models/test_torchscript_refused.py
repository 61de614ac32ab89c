"""TorchScript carries code: the loaders refuse it unless ``trust_code=True`` is passed, and a
refused file runs nothing (issue 22)."""

from __future__ import annotations

import pytest
import torch

from tests.hostile_models import file_writing_torchscript, scripted
from unlearn_core.errors import ModelError
from unlearn_core.models import (
    ModelSpec,
    build_model,
    load_model,
    load_model_file,
    load_torchscript,
)
from unlearn_core.models.io import TORCHSCRIPT_REFUSED, is_torchscript


@pytest.fixture
def target(tmp_path):
    path = tmp_path / "server-file.txt"
    path.write_bytes(b"safe contents")
    return path


def _forward(model) -> None:
    with torch.no_grad():
        model(torch.zeros(2, 1, 8, 8))


def test_the_hostile_module_does_write_when_trusted(target):
    """The attack is real: trusted and called, its forward overwrites the file."""
    model = load_torchscript(file_writing_torchscript(target), trust_code=True)
    _forward(model)
    assert target.read_bytes().startswith(b"AAAA")


def test_every_loader_refuses_torchscript_without_trust(target):
    raw = file_writing_torchscript(target)
    assert is_torchscript(raw)
    for load in (lambda: load_torchscript(raw), lambda: load_model_file(raw, name="m.pt"),
                 lambda: load_model_file(raw, name="m.pt2"),
                 lambda: load_model(raw, ModelSpec("mlp", (64,), 10))):
        with pytest.raises(ModelError) as err:
            load()
        assert str(err.value) == TORCHSCRIPT_REFUSED
    assert "deprecated" in TORCHSCRIPT_REFUSED and ".pt2" in TORCHSCRIPT_REFUSED
    assert target.read_bytes() == b"safe contents"


def test_trust_code_must_be_passed_as_true(target):
    raw = file_writing_torchscript(target)
    for value in (False, 1, "yes", None):
        with pytest.raises(ModelError, match="TorchScript is refused"):
            load_torchscript(raw, trust_code=value)


def test_other_formats_are_not_taken_for_torchscript(tmp_path):
    from unlearn_core.models import export_model, save_model

    model = build_model(ModelSpec("mlp", (13,), 3), seed=0)
    weights, spec = save_model(model, tmp_path / "m")
    assert not is_torchscript(weights.read_bytes())
    assert load_model_file(weights, spec) is not None
    program = export_model(model, (13,))
    assert not is_torchscript(program)
    assert load_model_file(program, name="m.pt2") is not None
    assert load_model_file(scripted(model), trust_code=True) is not None
