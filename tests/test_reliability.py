"""Reliability suite (issue 12): every bad input or fault a hostile or careless user tried gives
one readable error of the right class before any work, or the right result; nothing crashes,
nothing is silently wrong, nothing allocates what a header or a label merely claims.

Each case asserts the error class and a key phrase of its message. Nothing here trains for more
than a fraction of a second.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tracemalloc
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from unlearn_core.cli import main as cli
from unlearn_core.data import load_builtin, load_csv, load_image_zip, load_npz, make_splits
from unlearn_core.data import loaders as loaders_mod
from unlearn_core.data.builtin import zscore
from unlearn_core.data.dataset import Samples
from unlearn_core.data.forget import resolve_forget
from unlearn_core.errors import (
    ConfigError,
    DataError,
    ForgetSetError,
    MethodError,
    ModelError,
    UnlearnError,
)
from unlearn_core.methods import (
    METHODS,
    UnlearnContext,
    UnlearningMethod,
    available_methods,
    make_method,
)
from unlearn_core.methods.base import param_range
from unlearn_core.models import ModelSpec, TrainConfig, build_model
from unlearn_core.models.io import check_compatible, load_model, load_torchscript

REPO = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- helpers


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _png(value: int = 0, size: int = 6) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((size, size), value, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _zip(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _understate(archive: bytes, member: str, claimed: int) -> bytes:
    """The archive with ``member``'s uncompressed size rewritten to ``claimed`` in both its
    local header and its central-directory entry (the CRC and the data stay the real ones)."""
    data = bytearray(archive)
    name = member.encode()
    local = data.find(b"PK\x03\x04")
    while local >= 0:
        n = int.from_bytes(data[local + 26:local + 28], "little")
        if bytes(data[local + 30:local + 30 + n]) == name:
            data[local + 22:local + 26] = claimed.to_bytes(4, "little")
            break
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        n = int.from_bytes(data[central + 28:central + 30], "little")
        if bytes(data[central + 46:central + 46 + n]) == name:
            data[central + 24:central + 28] = claimed.to_bytes(4, "little")
            break
        central = data.find(b"PK\x01\x02", central + 4)
    return bytes(data)


def _tabular(n: int = 40, **extra) -> dict:
    rng = np.random.default_rng(0)
    arrays = {"X": rng.normal(size=(n, 3)).astype(np.float32), "y": np.arange(n) % 2}
    arrays.update(extra)
    return arrays


def _run_cli(argv: list[str], capsys, monkeypatch) -> tuple[int, str]:
    """Run the CLI in-process; any call to ``run_audit`` (training) fails the test."""
    def no_training(*a, **k):
        raise AssertionError("the audit started although an input was bad")

    monkeypatch.setattr(cli, "run_audit", no_training)
    rc = cli.main(argv)
    err = capsys.readouterr().err.strip()
    return rc, err


# --------------------------------------------------------------------------- data values


def test_npz_huge_label_is_refused_without_allocating():
    arrays = _tabular(y=np.r_[np.arange(39) % 2, 10**12])
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"labels must be class numbers 0\.\.999.*row 39"):
            load_npz(_npz(**arrays))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20


@pytest.mark.parametrize("label,msg", [(1e20, "class numbers 0..999"), (-1e20, "0 or more"),
                                       (np.uint64(2**63 + 5), "class numbers 0..999")])
def test_npz_labels_beyond_int64_do_not_wrap(label, msg):
    y = np.r_[np.arange(39) % 2, 0].astype(np.asarray(label).dtype)
    y[39] = label
    with pytest.raises(DataError, match=msg.replace(".", r"\.")):
        load_npz(_npz(**_tabular(y=y)))


def test_csv_huge_numeric_label_refused():
    text = "a,label\n" + "".join(f"{i},{i % 2}\n" for i in range(10)) + "3,1000000000000\n"
    with pytest.raises(DataError, match=r"class numbers 0\.\.999.*line 12"):
        load_csv(text.encode(), "label")


def test_csv_extreme_column_is_standardised_not_zeroed():
    rows = ["a,b,label"] + [f"{'1e308' if i % 2 else '-1e308'},{i},{i % 2}" for i in range(20)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        ds = load_csv("\n".join(rows).encode(), "label")
    col = ds.X[:, 0]
    assert np.isfinite(ds.X).all()
    np.testing.assert_allclose(col, np.where(np.arange(20) % 2, 1.0, -1.0), atol=1e-6)


def test_zscore_of_ordinary_columns_is_unchanged():
    X = np.random.default_rng(0).normal(5, 3, size=(50, 4))
    expected = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    np.testing.assert_array_equal(zscore(X), expected)


def test_npz_feature_beyond_range_refused():
    arrays = _tabular()
    arrays["X"] = arrays["X"].astype(np.float64)
    arrays["X"][4, 1] = 1e308
    with pytest.raises(DataError, match=r"feature value 1e\+308 at row 4 is beyond"):
        load_npz(_npz(**arrays))


def test_npz_non_finite_features_still_named():
    arrays = _tabular()
    arrays["X"][6, 2] = np.inf
    with pytest.raises(DataError, match=r"NaN or infinite.*row 6"):
        load_npz(_npz(**arrays))


def test_too_many_text_classes_and_class_names(monkeypatch):
    monkeypatch.setattr(loaders_mod, "MAX_CLASSES", 3)
    text = "a,label\n" + "".join(f"{i},c{i % 5}\n" for i in range(10))
    with pytest.raises(DataError, match="5 distinct labels; the limit is 3"):
        load_csv(text.encode(), "label")
    arrays = _tabular(class_names=np.array(["a", "b", "c", "d"]))
    with pytest.raises(DataError, match="4 class_names; the limit is 3"):
        load_npz(_npz(**arrays))


def test_npz_image_shape_capped(monkeypatch):
    monkeypatch.setattr(loaders_mod, "MAX_IMAGE_SIDE", 16)
    arrays = {"X": np.zeros((4, 20, 20), np.uint8), "y": np.array([0, 1, 0, 1])}
    with pytest.raises(DataError, match="too large"):
        load_npz(_npz(**arrays))


def test_npz_header_claiming_a_huge_array_is_refused_before_allocation():
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**10, 3)})
    fake_x = header.getvalue() + bytes(64)
    y = io.BytesIO()
    np.save(y, np.arange(40) % 2)
    archive = _zip({"X.npy": fake_x, "y.npy": y.getvalue()})
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"array 'X' declares shape \(10000000000, 3\)"):
            load_npz(archive)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20


# --------------------------------------------------------------------------- archives


@pytest.mark.parametrize("bad", ["/etc/cls/x.png", "../cls/x.png", "a/../../x.png",
                                 "C:/cls/x.png", "..\\cls\\x.png"])
def test_zip_unsafe_entry_paths_refused(bad):
    archive = _zip({bad: _png(), "b/y.png": _png(9), "c/z.png": _png(99)})
    with pytest.raises(DataError, match=r"absolute path or a '\.\.' part"):
        load_image_zip(archive, image_size=8)


def test_zip_header_understating_an_entry_is_not_trusted():
    """1,000 bytes claimed, 64 MiB real: read in bounded steps, refused as unreadable, and
    the memory used stays far below the real size."""
    real = bytes(64 * 2**20)
    archive = _understate(_zip({"a/big.png": real, "b/y.png": _png()}), "a/big.png", 1000)
    assert zipfile.ZipFile(io.BytesIO(archive)).getinfo("a/big.png").file_size == 1000
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"cannot read image 'a/big\.png'"):
            load_image_zip(archive, image_size=8)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


def test_zip_entry_is_counted_while_decompressing(monkeypatch):
    monkeypatch.setattr(loaders_mod, "MAX_IMAGE_BYTES", 2**20)
    archive = _zip({"a/big.png": bytes(3 * 2**20), "b/y.png": _png()})
    with pytest.raises(DataError, match=r"'a/big\.png' unpacks to more than 1 MiB"):
        load_image_zip(archive, image_size=8)


def test_npz_member_understating_its_size_is_refused(monkeypatch):
    big = io.BytesIO()
    np.save(big, np.zeros((40, 20_000), np.float32))
    y = io.BytesIO()
    np.save(y, np.arange(40) % 2)
    archive = _understate(_zip({"X.npy": big.getvalue(), "y.npy": y.getvalue()}), "X.npy", 500)
    with pytest.raises(DataError, match="array 'X'"):
        load_npz(archive)


def test_zip_other_compressions_refused():
    archive = _zip({"a/x.png": _png(), "b/y.png": _png(5)}, compression=zipfile.ZIP_BZIP2)
    with pytest.raises(DataError, match="unsupported compression"):
        load_image_zip(archive, image_size=8)


def test_zip_entry_and_class_counts_capped(monkeypatch):
    files = {f"c{i}/x.png": _png(i) for i in range(4)}
    monkeypatch.setattr(loaders_mod, "MAX_CLASSES", 3)
    with pytest.raises(DataError, match="4 class folders; the limit is 3"):
        load_image_zip(_zip(files), image_size=8)
    monkeypatch.setattr(loaders_mod, "MAX_ZIP_ENTRIES", 3)
    with pytest.raises(DataError, match="4 entries; the limit is 3"):
        load_image_zip(_zip(files), image_size=8)


def test_zip_decoded_size_capped(monkeypatch):
    monkeypatch.setattr(loaders_mod, "MAX_VALUES", 1000)
    files = {"a/x.png": _png(), "b/y.png": _png(7)}
    with pytest.raises(DataError, match="too many to hold in memory"):
        load_image_zip(_zip(files), image_size=28)


# --------------------------------------------------------------------------- model specs


@pytest.mark.parametrize("spec,msg", [
    ({"arch": "mlp", "input_shape": [64], "n_classes": -3}, "n_classes must be a whole number"),
    ({"arch": "mlp", "input_shape": [64], "n_classes": 10**6}, "n_classes must be"),
    ({"arch": "mlp", "input_shape": [64], "n_classes": 10, "params": {"hidden": "abc"}},
     "param 'hidden' must be a whole number"),
    ({"arch": "mlp", "input_shape": [64], "n_classes": 10, "params": {"depth": 3}},
     "mlp has no param 'depth'"),
    ({"arch": "logreg", "input_shape": [100000000], "n_classes": 10}, "input_shape sizes"),
    ({"arch": "cnn", "input_shape": [3, 4000, 4000], "n_classes": 10}, "values per sample"),
    ({"arch": "mlp", "input_shape": [1000000], "n_classes": 10, "params": {"hidden": 4096}},
     "weights; the limit is"),
    ({"arch": "mlp", "input_shape": "64", "n_classes": 10}, "input_shape must be a list"),
    ({"arch": "resnet", "input_shape": [64], "n_classes": 10}, "unknown arch 'resnet'"),
    ({"input_shape": [64], "n_classes": 10}, "has no 'arch'"),
    ([1, 2], "must be a JSON object"),
])
def test_bad_specs_refused_before_allocation(spec, msg):
    tracemalloc.start()
    try:
        with pytest.raises(ModelError, match=msg):
            load_model(b"unused", json.dumps(spec).encode())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20


def test_good_spec_still_loads():
    model = build_model(ModelSpec("mlp", (64,), 10, {"hidden": 16}))
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    spec = json.dumps({"arch": "mlp", "input_shape": [64], "n_classes": 10,
                       "params": {"hidden": 16}}).encode()
    assert load_model(buf.getvalue(), spec).spec.params == {"hidden": 16}


# --------------------------------------------------------------------------- model outputs


class _NaNOut(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x.flatten(1)) * float("nan")


class _InfOnPeak(nn.Module):
    """Finite on zeros and random inputs, infinite on inputs whose largest value is 1.0."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top = x.flatten(1).max(dim=1, keepdim=True).values
        return self.lin(x.flatten(1)) / (1.0 - top)


def _scripted(module: nn.Module) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(module), buf)
    return buf.getvalue()


def test_torchscript_returning_nan_refused_at_compatibility_check():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model = load_torchscript(_scripted(_NaNOut()), trust_code=True)
    with pytest.raises(ModelError, match="NaN or infinite scores on a probe batch of zero"):
        check_compatible(model, (1, 8, 8), 10)


def test_model_infinite_on_real_samples_caught_by_the_data_probe():
    ds = load_builtin("digits")
    model = _InfOnPeak()
    check_compatible(model, ds.sample_shape, 10)  # zeros and random inputs look fine
    with pytest.raises(ModelError, match="32 samples of the dataset"):
        check_compatible(model, ds.sample_shape, 10, probe=ds.X[:32])


# --------------------------------------------------------------------------- forget requests


@pytest.mark.parametrize("request_text,msg", [
    ("ids:99999999999999999999999", "out of range"),
    ("ids:-99999999999999999999999", "out of range"),
    ("class:99999999999999999999999", "does not exist"),
    ("ids:1,two", "whole numbers"),
    ("random:nan", "between 0 and 1"),
])
def test_forget_requests_give_one_readable_error(request_text, msg):
    ds = load_builtin("digits")
    with pytest.raises(ForgetSetError, match=msg):
        resolve_forget(ds, make_splits(ds, 0), request_text)


# --------------------------------------------------------------------------- hyperparameters


@pytest.mark.parametrize("params,msg", [
    ({"lr": "nan"}, r"lr must be a finite number in \(0, 10\]"),
    ({"lr": "-1"}, r"lr=-1\.0 is outside its allowed range \(0, 10\]"),
    ({"lr": "0"}, r"allowed range \(0, 10\]"),
    ({"batch_size": "0"}, r"batch_size=0 is outside its allowed range \[1, 65536\]"),
    ({"epochs": "-3"}, r"epochs=-3 is outside its allowed range \[1, 1000\]"),
    ({"epochs": "2.5"}, "epochs must be a whole number"),
    ({"epochs": True}, "epochs must be a whole number"),
    ({"budget": "-1"}, r"budget=-1\.0 is outside its allowed range \[0, 100\]"),
    ({"lr": "abc"}, "lr must be a number"),
    ({"epochz": "3"}, "no hyperparameter 'epochz'"),
])
def test_bad_hyperparameters_refused_at_parse_time(params, msg):
    with pytest.raises(MethodError, match=msg):
        make_method("finetune", **params)


def test_good_hyperparameters_converted():
    m = make_method("finetune", epochs="3", lr="1e-3", budget=0, batch_size=32.0)
    assert (m.epochs, m.lr, m.budget, m.batch_size) == (3, 1e-3, 0.0, 32)
    assert make_method("gradient_ascent", early_stop="false").early_stop is False
    with pytest.raises(MethodError, match="early_stop must be true or false"):
        make_method("gradient_ascent", early_stop="maybe")


def _ranged_fields():
    for name in available_methods():
        for f in dataclasses.fields(METHODS[name]):
            if f.metadata.get("low") is not None or f.metadata.get("high") is not None:
                yield name, f


def test_every_numeric_hyperparameter_declares_a_range_and_its_default_fits():
    for name in available_methods():
        for f in dataclasses.fields(METHODS[name]):
            if isinstance(f.default, (int, float)) and not isinstance(f.default, bool):
                assert param_range(f), f"{name}.{f.name} declares no range"
        make_method(name).validate()  # defaults are inside their ranges


@pytest.mark.parametrize("name,field", list(_ranged_fields()),
                         ids=lambda v: v if isinstance(v, str) else v.name)
def test_each_range_is_enforced_and_shown_in_help(name, field):
    low, high = field.metadata.get("low"), field.metadata.get("high")
    outside = (low if field.metadata.get("low_open") else low - 1) if low is not None \
        else high + 1
    with pytest.raises(MethodError, match=r"outside its allowed range"):
        make_method(name, **{field.name: outside})
    assert f"(allowed: {param_range(field)})" in METHODS[name].param_help()[field.name]


def test_direct_construction_is_checked_before_unlearning():
    model, forget, retain, ctx = _tiny_problem()
    method = METHODS["finetune"](epochs=-3)
    with pytest.raises(MethodError, match=r"epochs=-3 is outside"):
        method.unlearn(model, forget, retain, ctx)


# --------------------------------------------------------------------------- TrainConfig


@pytest.mark.parametrize("kwargs,msg", [
    ({"epochs": -5}, "train epochs must be from 1"),
    ({"epochs": 0}, "train epochs must be from 1"),
    ({"lr": float("nan")}, "train lr must be finite and > 0"),
    ({"lr": 0}, "train lr must be finite and > 0"),
    ({"batch_size": 0}, "train batch_size must be from 1"),
    ({"weight_decay": -1e-3}, "train weight_decay must be finite and >= 0"),
    ({"optimizer": "rmsprop"}, "train optimizer must be one of adam, sgd"),
    ({"epochs": "ten"}, "train epochs must be a number"),
])
def test_train_config_validated(kwargs, msg):
    with pytest.raises(ConfigError, match=msg):
        TrainConfig(**kwargs)


def test_train_config_converts_numeric_strings():
    assert TrainConfig(epochs="3", lr="1e-3", optimizer="SGD") == TrainConfig(3, 1e-3, 64, 0.0,
                                                                              "sgd")


# --------------------------------------------------------------------------- command line


@pytest.mark.parametrize("argv,msg", [
    (["--epochs", "-5"], "train epochs must be from 1"),
    (["--attacks", "lira", "--shadows", "0"], "shadows must be a whole number from 2"),
    (["--method", "finetune:lr=nan"], "finetune: lr must be a finite number"),
    (["--method", "finetune:lr=-1"], r"allowed range \(0, 10\]"),
    (["--method", "finetune:batch_size=0"], r"batch_size=0 is outside"),
    (["--method", "finetune:epochs=-3"], r"epochs=-3 is outside"),
    (["--method", "finetune:budget=-1"], r"budget=-1\.0 is outside"),
    (["--seed", "-1"], "seed must be a whole number"),
])
def test_cli_bad_arguments_exit_2_before_training(argv, msg, capsys, monkeypatch):
    rc, err = _run_cli(["audit", "--no-store", "--quiet", *argv], capsys, monkeypatch)
    assert rc == 2
    assert err.startswith("error: ") and len(err.splitlines()) == 1
    assert re.search(msg, err), err


@pytest.mark.parametrize("config,msg", [
    ({"train": {"epochz": 3}}, "unknown train setting 'epochz'"),
    ({"train": [1, 2]}, "config 'train' must be a mapping"),
    ({"train": {"lr": "fast"}}, "train lr must be a number"),
    ({"methods": [{"params": {"epochs": 3}}]}, "methods entry 1 has no 'name'"),
    ({"methods": [{"name": "finetune", "parms": {}}]}, "unknown key 'parms'"),
    ({"methods": [{"name": "finetune", "params": {"lr": -1}}]}, r"lr=-1\.0 is outside"),
    ({"methods": [42]}, "must be a name or a mapping"),
    ({"methods": []}, "no method to run"),
    ({"shadows": 0}, "shadows must be"),
    ({"test_fraction": 0.7, "population_fraction": 0.5}, "must leave training data"),
    ({"datset": "digits"}, "unknown config key 'datset'"),
])
def test_config_file_errors_exit_2(config, msg, tmp_path, capsys, monkeypatch):
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(config))
    rc, err = _run_cli(["audit", "--config", str(path), "--no-store"], capsys, monkeypatch)
    assert rc == 2 and len(err.splitlines()) == 1 and re.search(msg, err), err


def test_out_into_missing_folder_refused_before_training(tmp_path, capsys, monkeypatch):
    rc, err = _run_cli(["audit", "--no-store", "--out", str(tmp_path / "no" / "r.json")],
                       capsys, monkeypatch)
    assert rc == 2 and "does not exist" in err


def test_out_naming_a_folder_refused(tmp_path, capsys, monkeypatch):
    rc, err = _run_cli(["audit", "--no-store", "--out", str(tmp_path)], capsys, monkeypatch)
    assert rc == 2 and "is a folder" in err


def test_data_dir_that_is_a_file_refused(tmp_path, capsys, monkeypatch):
    afile = tmp_path / "runs"
    afile.write_text("x")
    rc, err = _run_cli(["audit", "--data-dir", str(afile)], capsys, monkeypatch)
    assert rc == 2 and "is a file, not a folder" in err
    rc, err = _run_cli(["audit", "--data-dir", str(afile / "sub")], capsys, monkeypatch)
    assert rc == 2 and "is a file, not a folder" in err


def test_read_only_data_dir_refused(tmp_path, capsys, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if os.geteuid() == 0:  # root ignores permission bits: make the check see a read-only dir
        real_access = os.access
        monkeypatch.setattr(cli.os, "access", lambda p, mode: False if Path(p) == ro
                            else real_access(p, mode))
    try:
        rc, err = _run_cli(["audit", "--data-dir", str(ro)], capsys, monkeypatch)
        assert rc == 2 and "is read-only" in err
        rc, err = _run_cli(["audit", "--data-dir", str(ro / "new")], capsys, monkeypatch)
        assert rc == 2 and "cannot be created" in err
    finally:
        ro.chmod(0o755)


def test_report_path_that_is_a_file_refused(tmp_path, capsys, monkeypatch):
    afile = tmp_path / "report"
    afile.write_text("x")
    rc, err = _run_cli(["audit", "--no-store", "--report", str(afile)], capsys, monkeypatch)
    assert rc == 2 and "is a file" in err


def test_no_store_skips_the_data_dir_check(tmp_path, capsys, monkeypatch):
    afile = tmp_path / "runs"
    afile.write_text("x")
    with pytest.raises(AssertionError, match="the audit started"):
        _run_cli(["audit", "--no-store", "--data-dir", str(afile), "--epochs", "1"], capsys,
                 monkeypatch)


def test_methods_help_shows_ranges(capsys):
    assert cli.main(["methods"]) == 0
    out = capsys.readouterr().out
    assert "lr=0.005 (0, 10]" in out and "epochs=5 [1, 1000]" in out


# --------------------------------------------------------------------------- failing methods


def _tiny_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    data = Samples(X, y, np.arange(40))
    spec = ModelSpec("logreg", (4,), 2)
    ctx = UnlearnContext(n_classes=2, spec=spec, train_config=TrainConfig(epochs=1))
    return build_model(spec), data.take(np.arange(5)), data.take(np.arange(5, 40)), ctx


@dataclass
class _Exploding(UnlearningMethod):
    name = "exploding"

    def _unlearn(self, model, forget, retain, ctx, log):
        raise RuntimeError("loss is nan at step 3")


@dataclass
class _Diverging(UnlearningMethod):
    name = "diverging"

    def _unlearn(self, model, forget, retain, ctx, log):
        with torch.no_grad():
            model.head.weight.fill_(float("nan"))
        return model


@dataclass
class _InfiniteOutputs(UnlearningMethod):
    name = "infinite_outputs"

    def _unlearn(self, model, forget, retain, ctx, log):
        class Blow(nn.Module):
            def forward(self, x):
                return torch.full((len(x), 2), float("inf"))
        return Blow()


@pytest.mark.parametrize("cls,msg", [
    (_Exploding, "exploding failed: RuntimeError: loss is nan at step 3"),
    (_Diverging, "diverging diverged: weight 'head.weight' holds NaN"),
    (_InfiniteOutputs, "infinite_outputs diverged: its outputs hold NaN or infinite"),
])
def test_a_method_failing_mid_run_is_a_method_error(cls, msg):
    model, forget, retain, ctx = _tiny_problem()
    with pytest.raises(MethodError, match=msg) as info:
        cls().unlearn(model, forget, retain, ctx)
    assert isinstance(info.value, UnlearnError)


def test_the_other_methods_finish_when_one_fails(monkeypatch):
    from unlearn_core.audit.run import AuditConfig, MethodSpec, run_audit

    monkeypatch.setitem(METHODS, "exploding", _Exploding)
    run = run_audit(AuditConfig(dataset="wine", model="logreg", forget="class:1",
                                methods=[MethodSpec("exploding"),
                                         MethodSpec("finetune", {"epochs": 1})],
                                train=TrainConfig(epochs=2)))
    failures = {f.name: f.message for f in run.result.failures}
    assert "RuntimeError: loss is nan" in failures["exploding"]
    assert [m.name.split(":")[0] for m in run.result.methods] == ["finetune"]


# --------------------------------------------------------------------------- installation


def test_package_runs_from_any_folder(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-m", "unlearn_core", "datasets"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-500:]
    assert "digits" in done.stdout


def test_pyproject_declares_a_build_system():
    import tomllib

    meta = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert meta["build-system"]["build-backend"] == "setuptools.build_meta"
    assert meta["tool"]["setuptools"]["packages"]["find"]["include"] == ["unlearn_core*"]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_uses_the_project_virtualenv_and_installs_editable():
    done = subprocess.run(["make", "-n", "-B", "run", "test"], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "python3 -m venv .venv" in lines
    assert ".venv/bin/python -m pip install -q --no-deps --no-build-isolation -e ." in lines
    assert any(line.startswith(".venv/bin/python -m pytest") for line in lines)
    assert any(line.startswith(".venv/bin/python -m streamlit run app.py") for line in lines)

