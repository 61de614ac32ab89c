"""The text track on the shared method machinery: hyperparameters declared with ranges and
refused outside them (``methods/params.py``), and unique run labels, so two runs of one method
with different hyperparameters in one text audit are two models, each measured, judged and
reported under its own label."""

from __future__ import annotations

import dataclasses

import pytest

from unlearn_core.cli.main import main
from unlearn_core.errors import MethodError
from unlearn_core.methods.params import param_range
from unlearn_core.report.text import build_text_json_report, write_text_reports
from unlearn_core.text.audit import TextAuditConfig, TextMethodSpec, run_labels, run_text_audit
from unlearn_core.text.facts import FactSetConfig
from unlearn_core.text.lm import LMTrainConfig, TinyGPTConfig
from unlearn_core.text.methods import TEXT_METHODS, available_text_methods, make_text_method
from unlearn_core.verify.run import verify_report

# the smallest audit of the text tests (tests/text/test_text_cache.py)
CFG = TextAuditConfig(forget="random:1", seed=3, retrain_seeds=2, extend_references=0,
                      facts=FactSetConfig(n_people=6, n_holdout=4, n_attributes=2),
                      model=TinyGPTConfig(n_embd=32), train=LMTrainConfig(epochs=8),
                      methods=[TextMethodSpec("npo", {"steps": 2, "lr": 1e-3}),
                               TextMethodSpec("npo", {"steps": 2, "lr": "5e-4"})])


def test_every_numeric_hyperparameter_declares_a_range_and_its_default_fits():
    for name in available_text_methods():
        for f in dataclasses.fields(TEXT_METHODS[name]):
            if isinstance(f.default, (int, float, str)) and not isinstance(f.default, bool):
                assert param_range(f), f"{name}.{f.name} declares no range"
                assert f"(allowed: {param_range(f)})" in TEXT_METHODS[name].param_help()[f.name]
        make_text_method(name).validate()  # defaults are inside their ranges


@pytest.mark.parametrize("name,params,msg", [
    ("npo", {"steps": 0}, r"npo: steps=0 is outside its allowed range \[1, 100000\]"),
    ("npo", {"lr": "2"}, r"npo: lr=2\.0 is outside its allowed range \(0, 1\]"),
    ("npo", {"lr": 0}, r"lr=0\.0 is outside its allowed range \(0, 1\]"),
    ("npo", {"beta": 0}, r"beta=0\.0 is outside its allowed range \(0, 1000\]"),
    ("simnpo", {"alpha": -1}, r"alpha=-1\.0 is outside its allowed range \[0, 1000\]"),
    ("gradient_ascent", {"batch_size": "0"}, r"batch_size=0 is outside .* \[1, 65536\]"),
    ("icu", {"max_epochs": 2.5}, "max_epochs must be a int"),
    ("icu", {"w_kl": "nan"}, r"w_kl must be a finite number in \[0, 1000\]"),
    ("gradient_difference", {"retain_loss": "l2"}, "retain_loss must be one of nll, kl"),
    ("gradient_difference", {"gamma": True}, "gamma must be a float"),
])
def test_out_of_range_and_mistyped_values_are_refused(name, params, msg):
    with pytest.raises(MethodError, match=msg):
        make_text_method(name, **params)


def test_values_are_converted_without_loss_and_checked_before_unlearning():
    m = make_text_method("npo", steps="3.0", lr="1e-3", batch_size=8.0)
    assert (m.steps, m.lr, m.batch_size) == (3, 1e-3, 8)
    m.lr = 5.0  # set after making: unlearn validates again before any work
    with pytest.raises(MethodError, match=r"lr=5\.0 is outside its allowed range"):
        m.unlearn(None, None, None, None)


def test_the_cli_refuses_an_out_of_range_value_in_one_line(capsys):
    assert main(["text-audit", "--people", "6", "--attributes", "1", "--epochs", "1",
                 "--quiet", "--forget", "random:1", "--method", "npo:lr=5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
    assert "npo: lr=5.0 is outside its allowed range (0, 1]" in err


def test_run_labels_are_unique_and_keep_the_plain_name_first():
    specs = [TextMethodSpec(n) for n in ("npo", "npo", "gradient_ascent", "npo")]
    assert run_labels(specs) == ["npo", "npo#2", "gradient_ascent", "npo#3"]
    assert run_labels([TextMethodSpec("original"), TextMethodSpec("retrain#2")]) == \
        ["original (method)", "retrain#2 (method)"]


@pytest.fixture(scope="module")
def two_runs():
    return run_text_audit(CFG)


def test_two_runs_of_one_method_are_two_models_judged_apart(two_runs):
    result = two_runs.result
    assert [m.name for m in result.methods] == ["npo", "npo#2"]
    assert [m.method for m in result.methods] == ["npo", "npo"]
    assert [m.params["lr"] for m in result.methods] == [1e-3, 5e-4]
    assert result.methods[0].model_hash != result.methods[1].model_hash
    assert {"npo", "npo#2"} <= set(two_runs.models)
    assert two_runs.models["npo"] is not two_runs.models["npo#2"]
    # every check measured on both runs, and each run has its own verdict
    for spec in result.check_specs:
        measured = [m.model for m in result.measurements if m.check == spec.name]
        assert measured.count("npo") == 1 and measured.count("npo#2") == 1, spec.name
    assert [v.method for v in result.verdicts] == ["npo", "npo#2"]
    for v in result.verdicts:
        assert v.checks and all(c.model == v.method for c in v.checks)


def test_the_report_and_verify_keep_the_labels(two_runs, tmp_path):
    result = two_runs.result
    payload = build_text_json_report(result)
    assert set(payload["reproducibility"]["model_hashes"]) == \
        {"original", "retrain", "retrain#2", "npo", "npo#2"}
    assert [v["method"] for v in payload["result"]["verdicts"]] == ["npo", "npo#2"]
    paths = write_text_reports(result, tmp_path)
    page = paths["html"].read_text()
    assert "npo#2: " in page and "npo#2 = npo {" in page  # the setup says which run is which
    out = verify_report(paths["json"], rerun=False)
    assert out.ok, out.differences
    assert verify_report(paths["html"], rerun=False).ok
