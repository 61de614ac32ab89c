"""Bad model input (issue 22): a model that is NaN on some samples is refused where it is first
probed, naming how many; a state dict with integer keys and JSON nested 100,000 deep (a spec, a
``.pt2`` program) are one readable ``ModelError``, never a crash."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import torch
from torch import nn

from unlearn_core import AuditConfig, MethodSpec, run_audit
from unlearn_core.data import load_builtin
from unlearn_core.errors import ModelError
from unlearn_core.models import ModelSpec, build_model, check_compatible, load_model
from unlearn_core.models.export import export_model, load_exported
from unlearn_core.serialize import json_depth

DEEP = 100_000
SPEC = {"arch": "logreg", "input_shape": [13], "n_classes": 3}


class _NaNOnSome(nn.Module):
    """Finite on zeros, on random inputs and on the first 32 wine samples; NaN on the samples
    whose second feature is above 1.4 (21 of wine's 178, none of them among the first 32)."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(13, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.lin(x)
        return torch.where(x[:, 1:2] > 1.4, torch.full_like(out, float("nan")), out)


@pytest.fixture(scope="module")
def wine():
    return load_builtin("wine")


def test_a_model_nan_on_some_samples_is_refused_naming_how_many(wine):
    model = _NaNOnSome()
    bad = int((wine.X[:, 1] > 1.4).sum())
    assert bad == 21 and not (wine.X[:32, 1] > 1.4).any()  # the old 32-row probe saw none
    check_compatible(model, wine.sample_shape, 3, probe=wine.X[:32])
    first = int(wine.ids[np.flatnonzero(wine.X[:, 1] > 1.4)[0]])
    with pytest.raises(ModelError, match=rf"NaN or infinite scores on 21 of 178 samples of the "
                                         rf"dataset \(the first: sample id {first}\)"):
        check_compatible(model, wine.sample_shape, 3, probe=wine.X, probe_ids=wine.ids)


def test_the_audit_refuses_such_a_model_before_any_training(wine, monkeypatch):
    import unlearn_core.audit.run as audit_run

    def no_training(*a, **k):
        raise AssertionError("the audit trained although the model was refused")

    monkeypatch.setattr(audit_run, "reference_ensemble", no_training)
    config = AuditConfig(dataset="wine", model="logreg", forget="class:1",
                         methods=[MethodSpec("finetune")])
    with pytest.raises(ModelError, match="on 21 of 178 samples of the dataset"):
        run_audit(config, baseline=_NaNOnSome())


def test_a_state_dict_with_integer_keys_is_refused():
    buf = io.BytesIO()
    torch.save({0: torch.zeros(3, 13), 1: torch.zeros(3)}, buf)
    with pytest.raises(ModelError, match=r"not a state dict of tensors: it has a key 0 \(int\)"):
        load_model(buf.getvalue(), json.dumps(SPEC).encode())
    buf = io.BytesIO()
    torch.save({"head.weight": torch.zeros(3, 13), "head.bias": [0.0, 0.0, 0.0]}, buf)
    with pytest.raises(ModelError, match=r"entry 'head\.bias' holding a list"):
        load_model(buf.getvalue(), json.dumps(SPEC).encode())


@pytest.mark.parametrize("text", ["[" * DEEP + "]" * DEEP,
                                  '{"arch": "logreg", "params": ' + '{"a": ' * DEEP + "1"
                                  + "}" * DEEP + "}",
                                  "[" * DEEP],  # unterminated as well
                         ids=["array", "object", "unterminated"])
def test_a_spec_nested_100000_deep_is_refused_before_parsing(text):
    with pytest.raises(ModelError, match="model spec nests deeper than 100 levels"):
        load_model(b"unused", text.encode())


def test_json_depth_skips_strings_and_counts_both_brackets():
    assert json_depth('{"a": [1, "]]][[[", {"b": []}]}') == 4
    assert json_depth(json.dumps(SPEC)) == 2
    assert json_depth("[" * DEEP) == DEEP and json_depth("") == 0
    assert json_depth(r'["\"[[[["]') == 1  # an escaped quote does not end the string


@pytest.fixture(scope="module")
def exported_cnn() -> bytes:
    return export_model(build_model(ModelSpec("cnn", (1, 8, 8), 10), seed=1).eval(), (1, 8, 8))


def _with_entry(raw: bytes, suffix: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, data if name.endswith(suffix) else src.read(name))
    return out.getvalue()


def test_a_pt2_program_nested_100000_deep_is_refused(exported_cnn):
    deep = ("[" * DEEP + "]" * DEEP).encode()
    with pytest.raises(ModelError, match="the program nests deeper than 100 levels"):
        load_exported(_with_entry(exported_cnn, "models/model.json", deep))
    with pytest.raises(ModelError, match="weights_config.json nests deeper"):
        load_exported(_with_entry(exported_cnn, "model_weights_config.json", deep))
    program = json.loads(zipfile.ZipFile(io.BytesIO(exported_cnn)).read(
        next(n for n in zipfile.ZipFile(io.BytesIO(exported_cnn)).namelist()
             if n.endswith("models/model.json"))))
    program["graph_module"]["module_call_graph"][0]["signature"]["in_spec"] = \
        "[" * DEEP + "]" * DEEP  # a tree spec is JSON inside the JSON
    with pytest.raises(ModelError, match="a tree spec nests deeper than 100 levels"):
        load_exported(_with_entry(exported_cnn, "models/model.json",
                                  json.dumps(program).encode()))
    assert load_exported(exported_cnn) is not None  # the untouched archive still loads
