"""The device setting (unlearn_core/device.py): auto resolves to the CPU on a machine without
CUDA (and to $UNLEARN_DEVICE when set: the tests keep cpu), cuda without CUDA is one clear
error line (exit 2 from the CLI), the setting reaches the training loop and the executors'
workers, and the CPU path gives the numbers it always gave. CUDA itself is not exercised here
(no GPU in these tests)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from unlearn_core import AuditConfig
from unlearn_core import device as device_mod
from unlearn_core.audit.run import validate_config
from unlearn_core.cli.main import main
from unlearn_core.data import load_builtin, make_splits
from unlearn_core.device import current_device, resolve_device, use_device
from unlearn_core.errors import ConfigError
from unlearn_core.models import ModelSpec, TrainConfig, build_model, predict_logits, train_epochs
from unlearn_core.reference.executors import run_chunk, run_jobs


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("UNLEARN_DEVICE", raising=False)


def _device_here(job) -> tuple[str, bool]:
    d = current_device()
    return d.name, d.mixed_precision


def test_auto_resolves_to_cpu_without_cuda(no_cuda):
    assert resolve_device("auto") == "cpu"
    assert resolve_device("") == "cpu" and resolve_device("CPU") == "cpu"


def test_auto_follows_the_environment(monkeypatch):
    monkeypatch.setenv("UNLEARN_DEVICE", "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # even with a GPU
    assert resolve_device("auto") == "cpu"
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda") == "cuda"  # an explicit device wins over the environment


def test_cuda_without_cuda_is_one_clear_error(no_cuda):
    for name in ("cuda", "cuda:0", "CUDA"):
        with pytest.raises(ConfigError) as err:
            resolve_device(name)
        text = str(err.value)
        assert "\n" not in text and "cuda" in text and "--device cpu" in text
    with pytest.raises(ConfigError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    with pytest.raises(ConfigError, match="unknown device 'gpu0'"):
        validate_config(AuditConfig(device="gpu0"))  # before any work


def test_cli_device_cuda_without_cuda_exits_2_with_one_line(no_cuda, capsys, tmp_path):
    assert main(["audit", "--device", "cuda", "--no-store", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: device 'cuda'")
    config = tmp_path / "audit.json"
    config.write_text(json.dumps({"device": "cuda"}))
    assert main(["audit", "--config", str(config), "--no-store", "--quiet"]) == 2
    assert "device 'cuda'" in capsys.readouterr().err


def test_use_device_is_scoped_and_mixed_precision_is_cuda_only(no_cuda):
    assert current_device().name == "cpu"
    with use_device("cpu", mixed_precision=True) as setting:
        assert setting.name == "cpu" and not setting.mixed_precision  # never on the CPU
        assert current_device() is setting
    assert current_device().name == "cpu" and not current_device().mixed_precision


def test_the_device_reaches_the_executors_jobs(monkeypatch):
    """The setting travels with every chunk; faked here (no GPU): a job only reads it."""
    real = device_mod.resolve_device
    monkeypatch.setattr(device_mod, "resolve_device",
                        lambda name="auto": "cuda" if name == "cuda" else real(name))
    assert run_chunk(_device_here, {}, [0, 1], 1, ("cuda", True)) == [("cuda", True)] * 2
    assert run_chunk(_device_here, {}, [0], 1, None) == [("cpu", False)]
    with use_device("cuda", mixed_precision=True):
        assert run_jobs([0], "serial", fn=_device_here) == [("cuda", True)]
    assert run_jobs([0], "serial", fn=_device_here) == [("cpu", False)]


def test_cpu_device_trains_and_predicts_as_before(no_cuda):
    ds = load_builtin("digits")
    train = ds.subset(make_splits(ds, seed=0).train[:200])
    spec = ModelSpec("cnn", ds.sample_shape, ds.n_classes)
    recipe = TrainConfig(epochs=1, lr=2e-3, batch_size=32)
    plain = train_epochs(build_model(spec, seed=5), train, recipe, 5)
    with use_device("auto"):
        scoped = train_epochs(build_model(spec, seed=5), train, recipe, 5)
        logits = predict_logits(scoped, train.X)
    for a, b in zip(plain.state_dict().values(), scoped.state_dict().values()):
        assert torch.equal(a, b)
    assert np.array_equal(logits, predict_logits(plain, train.X))
    assert next(scoped.parameters()).device.type == "cpu"


def test_audit_config_records_the_device():
    assert AuditConfig().device == "auto" and AuditConfig().mixed_precision is False


def test_setup_page_device_choice(no_cuda):
    """The app's Setup: "cuda" without CUDA is an error in the page and nothing loads; "cpu"
    loads and the Unlearn page's audits take the choice."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parents[1] / "app.py")
    at = AppTest.from_file(app, default_timeout=180)
    at.run()
    assert at.selectbox(key="setup_device").value == "auto"
    at.selectbox(key="setup_dataset").set_value("wine")
    at.selectbox(key="setup_arch").set_value("logreg")
    at.selectbox(key="setup_device").set_value("cuda").run()
    at.button(key="setup_go").click().run()
    assert not at.exception and at.error and "device 'cuda'" in at.error[0].value
    assert not at.session_state["ws"].ready
    at.selectbox(key="setup_device").set_value("cpu").run()
    at.button(key="setup_go").click().run()
    assert not at.exception and not at.error
    assert at.session_state["ws"].device == "cpu"
