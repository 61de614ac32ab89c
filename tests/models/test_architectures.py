"""resnet18 (CIFAR stem) and vit from a spec; weights as safetensors; torch.export programs."""

from __future__ import annotations

import io
import json
import pickle
import zipfile

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from unlearn_core.data import load_builtin
from unlearn_core.errors import ModelError
from unlearn_core.models import (
    ModelSpec,
    build_model,
    check_compatible,
    clone_model,
    load_model,
    model_hash,
    predict_logits,
    save_model,
)
from unlearn_core.models.export import ExportedModel, export_model, load_exported
from unlearn_core.models.io import _spec_from_json, _weight_count, validate_spec

SMALL = {"resnet18": {"width": 8}, "vit": {"dim": 32, "depth": 2, "heads": 2}}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    return load_builtin("shapes32", seed=0, n_samples=200,
                        cache_dir=tmp_path_factory.mktemp("cache"))


def spec_for(arch: str, shape=(3, 32, 32), **params) -> ModelSpec:
    return validate_spec(_spec_from_json(json.dumps(
        {"arch": arch, "input_shape": list(shape), "n_classes": 10,
         "params": params or SMALL[arch]}).encode()))


def one_line(err: pytest.ExceptionInfo) -> str:
    assert "\n" not in str(err.value), str(err.value)
    return str(err.value)


def test_full_size_architectures_are_the_published_ones():
    """ResNet-18 with the CIFAR stem has torchvision's 11,173,962 weights for 10 classes; the
    spec check counts both models' weights exactly without building them."""
    for arch in ("resnet18", "vit"):
        spec = validate_spec(ModelSpec(arch, (3, 32, 32), 10))
        model = build_model(spec)
        assert sum(p.numel() for p in model.parameters()) == _weight_count(spec)
    resnet = build_model(ModelSpec("resnet18", (3, 32, 32), 10))
    assert sum(p.numel() for p in resnet.parameters()) == 11_173_962
    stem = resnet.body.conv1
    assert stem.kernel_size == (3, 3) and stem.stride == (1, 1)
    assert isinstance(resnet.body.maxpool, torch.nn.Identity)
    assert "body.layer2.0.downsample.0.weight" in resnet.state_dict()


@pytest.mark.parametrize("arch", ["resnet18", "vit"])
def test_builds_from_a_spec_and_trains_on_the_32x32_set(arch, shapes):
    spec = spec_for(arch)
    model = build_model(spec, seed=0)
    assert build_model(spec, seed=0).state_dict().keys() == model.state_dict().keys()
    assert model_hash(build_model(spec, seed=0)) == model_hash(model)  # seeded
    X = torch.as_tensor(shapes.X[:64])
    y = torch.as_tensor(shapes.y[:64])
    assert model(X[:5]).shape == (5, 10) and model.embed(X[:5]).ndim == 2
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    losses = []
    for _ in range(12 if arch == "resnet18" else 20):  # a ViT learns more slowly
        opt.zero_grad()
        loss = F.cross_entropy(model(X), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-3:]) < np.mean(losses[:3]) - 0.25, losses
    assert losses[-1] < np.log(10), losses  # below chance level


def test_resnet18_takes_grayscale_and_other_sizes():
    model = build_model(spec_for("resnet18", shape=(1, 28, 28)))
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_spec_refusals_name_the_problem():
    cases = [
        ({"arch": "resnet18", "input_shape": [30], "n_classes": 2}, "needs image data"),
        ({"arch": "vit", "input_shape": [3, 32, 32], "n_classes": 10,
          "params": {"patch": 5}}, "must divide"),
        ({"arch": "vit", "input_shape": [3, 32, 32], "n_classes": 10,
          "params": {"dim": 10, "heads": 3}}, "multiple of heads"),
        ({"arch": "resnet18", "input_shape": [3, 32, 32], "n_classes": 10,
          "params": {"width": 1000}}, "from 1 to 512"),
        ({"arch": "resnet18", "input_shape": [3, 32, 32], "n_classes": 10,
          "params": {"hidden": 8}}, "has no param 'hidden'"),
        ({"arch": "vit", "input_shape": [3, 32, 32], "n_classes": 10,
          "params": {"dim": 4096, "depth": 48, "heads": 8}}, "the limit is 100,000,000"),
    ]
    for raw, match in cases:
        with pytest.raises(ModelError) as err:
            validate_spec(_spec_from_json(json.dumps(raw).encode()))
        assert match in one_line(err), raw


@pytest.mark.parametrize("arch", ["resnet18", "vit"])
def test_safetensors_weights_round_trip_through_the_user_path(arch, tmp_path, shapes):
    model = build_model(spec_for(arch), seed=3)
    model.train()
    model(torch.as_tensor(shapes.X[:32]))  # moves BatchNorm running statistics off their init
    model.eval()
    weights, spec = save_model(model, tmp_path / "net")
    loaded = load_model(weights.read_bytes(), spec.read_bytes())  # bytes, as uploaded
    assert model_hash(loaded) == model_hash(model)
    X = shapes.X[:16]
    assert np.array_equal(predict_logits(loaded, X), predict_logits(model, X))
    check_compatible(loaded, shapes.sample_shape, shapes.n_classes, probe=shapes.X[:32])


def test_resnet18_weights_in_torchvision_and_pytorch_cifar_layouts_load(tmp_path, shapes):
    """Keys as torchvision's resnet18 writes them (conv1, layer1.0.bn1, fc) or as
    pytorch-cifar's (shortcut, linear) behind DataParallel's 'module.' load unchanged."""
    from safetensors.torch import save_file

    model = build_model(spec_for("resnet18"), seed=5).eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    torchvision = {("fc." + k[5:]) if k.startswith("head.") else k[5:]: v
                   for k, v in state.items()}
    assert "layer1.0.conv1.weight" in torchvision and "fc.weight" in torchvision
    cifar = {"module." + k.replace("fc.", "linear.").replace(".downsample.", ".shortcut."): v
             for k, v in torchvision.items()}
    spec = spec_for("resnet18")
    for layout in (torchvision, cifar):
        path = tmp_path / "w.safetensors"
        save_file(layout, str(path))
        loaded = load_model(path, spec)
        assert model_hash(loaded) == model_hash(model)
    del torchvision["fc.weight"]
    save_file(torchvision, str(tmp_path / "bad.safetensors"))
    with pytest.raises(ModelError, match="do not match"):
        load_model(tmp_path / "bad.safetensors", spec)


# --------------------------------------------------------------------------- torch.export


@pytest.fixture(scope="module")
def exported_cnn():
    model = build_model(ModelSpec("cnn", (1, 8, 8), 10), seed=1).eval()
    return model, export_model(model, (1, 8, 8))


def test_torch_export_round_trip(tmp_path, shapes):
    model = build_model(spec_for("resnet18"), seed=2).eval()
    path = tmp_path / "resnet.pt2"
    raw = export_model(model, shapes.sample_shape, path)
    assert path.read_bytes() == raw
    loaded = load_exported(path)
    assert isinstance(loaded, ExportedModel)
    for n in (1, 7, 40):  # the batch size is dynamic
        X = shapes.X[:n]
        assert np.allclose(predict_logits(loaded, X), predict_logits(model, X), atol=1e-5)
    check_compatible(loaded, shapes.sample_shape, 10, probe=shapes.X[:32])
    loaded.train()  # fixed at export: does not raise, and the weights still train
    copy = clone_model(loaded)
    loss = F.cross_entropy(copy(torch.as_tensor(shapes.X[:8])), torch.as_tensor(shapes.y[:8]))
    loss.backward()
    assert all(p.grad is not None for p in copy.parameters())
    assert model_hash(copy) == model_hash(loaded)


def _rewrite(raw: bytes, change, compression: int = zipfile.ZIP_STORED) -> bytes:
    """The archive with ``change(name, data) -> data or None (drop)`` applied to each entry."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, \
            zipfile.ZipFile(out, "w", compression=compression) as dst:
        names = src.namelist()
        for name in names:
            data = change(name, src.read(name))
            if data is not None:
                dst.writestr(name, data)
        extra = change("<extra>", b"")
        if extra:
            dst.writestr(names[0].split("/")[0] + "/" + extra[0], extra[1])
    return out.getvalue()


def _edit_program(edit):
    def change(name, data):
        if name.endswith("models/model.json"):
            program = json.loads(data)
            edit(program)
            return json.dumps(program).encode()
        return None if name == "<extra>" else data
    return change


def test_torch_export_refuses_archives_that_would_run_code(exported_cnn):
    _, raw = exported_cnn
    load_exported(_rewrite(raw, lambda n, d: None if n == "<extra>" else d))  # control: loads

    def target(program):
        program["graph_module"]["graph"]["nodes"][0]["target"] = "torch.os.system"

    def guards(program):
        program["guards_code"] = ["__import__('os').system('true')"]

    def expr(program):
        values = program["graph_module"]["graph"]["tensor_values"]
        values["x"]["sizes"][0]["as_expr"]["expr_str"] = "exec(chr(49))"

    def spec(program):
        program["graph_module"]["module_call_graph"][0]["signature"]["in_spec"] = json.dumps(
            [1, {"type": "os.path", "context": "null", "children_spec": []}])

    def pickled(name, data):
        if name.endswith("model_weights_config.json"):
            config = json.loads(data)
            next(iter(config["config"].values()))["use_pickle"] = True
            return json.dumps(config).encode()
        return None if name == "<extra>" else data

    def aoti(name, data):
        return ("data/aotinductor/model/model.so", b"\x7fELF") if name == "<extra>" else data

    def sample(name, data):
        if name.endswith("sample_inputs/model.pt"):
            return pickle.dumps(print)
        return None if name == "<extra>" else data

    cases = [(_edit_program(target), "calls 'torch.os.system'"),
             (_edit_program(guards), "guard code"),
             (_edit_program(expr), "'exec'"),
             (_edit_program(spec), "'os.path'"),
             (pickled, "stored as a pickle"),
             (aoti, "aotinductor"),
             (sample, "weights-only")]
    for change, match in cases:
        with pytest.raises(ModelError) as err:
            load_exported(_rewrite(raw, change))
        assert match in one_line(err)
    with pytest.raises(ModelError) as err:  # nothing to inflate: torch stores its entries
        load_exported(_rewrite(raw, lambda n, d: None if n == "<extra>" else d,
                               zipfile.ZIP_DEFLATED))
    assert "is compressed" in one_line(err)
    with pytest.raises(ModelError) as err:
        load_exported(b"not a zip at all")
    assert "not a torch.export program" in one_line(err)
