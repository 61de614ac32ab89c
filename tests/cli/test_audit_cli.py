"""End-to-end audit: determinism, JSON round trip, and the command line's behaviour."""

import json
import subprocess
import sys

import numpy as np
import pytest

from unlearn_core import AuditConfig, AuditResult, MethodSpec, run_audit
from unlearn_core.cli.main import main
from unlearn_core.models import TrainConfig

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]

FAST = TrainConfig(epochs=4, lr=5e-3, batch_size=64)


def _numbers(result: AuditResult) -> list[float]:
    out = []
    for ev in result.evaluations():
        a = ev.accuracy
        out += [a.forget, a.retain, a.test, ev.mia.auc_forget_vs_test, ev.mia.forget_member_rate]
        out.append(ev.model_hash)
    return out


def test_same_seed_same_numbers_other_seed_other_numbers():
    def run(seed):
        cfg = AuditConfig(dataset="wine", model="mlp", forget="random:0.1", seed=seed,
                          train=FAST, methods=[MethodSpec("neggrad_plus"),
                                               MethodSpec("random_label")])
        return run_audit(cfg).result

    a, b, c = run(0), run(0), run(1)
    assert _numbers(a) == _numbers(b)
    assert np.array_equal(a.forget_ids, b.forget_ids)
    assert _numbers(a) != _numbers(c)


def test_result_json_round_trip(class_audit):
    result = class_audit.result
    text = json.dumps(result.to_dict())
    back = AuditResult.from_dict(json.loads(text))
    assert back.config == result.config
    assert np.array_equal(back.forget_ids, result.forget_ids)
    assert back.methods[0].accuracy.forget == result.methods[0].accuracy.forget
    assert np.allclose(back.baseline.accuracy.per_class_test,
                       result.baseline.accuracy.per_class_test)
    assert np.isnan(back.methods[0].accuracy.test_forgotten_classes) == np.isnan(
        result.methods[0].accuracy.test_forgotten_classes)
    assert json.dumps(back.to_dict()) == text


def test_cli_audit_writes_json_and_prints_table(tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["audit", "--dataset", "breast_cancer", "--model", "logreg", "--forget",
                 "random:0.05", "--method", "finetune:epochs=2", "--seed", "0", "--epochs", "5",
                 "--out", str(out), "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "retrain" in printed and "finetune" in printed
    data = json.loads(out.read_text())
    assert data["config"]["methods"][0] == {"name": "finetune", "params": {"epochs": "2"}}
    assert data["n_forget"] > 0 and data["retrain"]["role"] == "retrain"


def test_cli_reads_a_yaml_config(tmp_path, capsys):
    cfg = tmp_path / "audit.yaml"
    cfg.write_text("dataset: wine\nmodel: mlp\nforget: class:1\nseed: 3\n"
                   "train: {epochs: 5, lr: 0.005}\nmethods:\n  - finetune\n"
                   "  - {name: random_label, params: {epochs: 2}}\n")
    assert main(["audit", "--config", str(cfg), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "random_label" in printed and "class_1" in printed


@pytest.mark.parametrize("argv, message", [
    (["audit", "--dataset", "nope"], "nope"),
    (["audit", "--method", "magic"], "unknown method 'magic'"),
    (["audit", "--forget", "class:99", "--dataset", "wine", "--model", "mlp"], "does not exist"),
    (["audit", "--seed", "x"], "invalid int"),
    (["audit", "--config", "/no/such.yaml"], "cannot read config"),
    (["frobnicate"], "invalid choice"),
    ([], "name a command"),
])
def test_cli_bad_arguments_one_line_nonzero(argv, message, capsys):
    assert main(argv) != 0
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1


def test_module_entry_point_exit_code(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "unlearn_core", "audit", "--forget", "ids:"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error:")


def test_audit_of_a_torchscript_baseline_and_a_misfit_refused():
    import io

    import torch

    from unlearn_core.errors import ModelError
    from unlearn_core.models import ModelSpec, build_model, load_torchscript

    cfg = AuditConfig(dataset="wine", model="mlp", forget="class:2", seed=0, train=FAST,
                      methods=[MethodSpec("finetune")])
    net = build_model(ModelSpec("mlp", (13,), 3), seed=0)
    buf = io.BytesIO()
    torch.jit.save(torch.jit.script(net), buf)
    run = run_audit(cfg, baseline=load_torchscript(buf.getvalue(), trust_code=True))
    assert run.result.retrain.accuracy.forget < 0.2  # retrained on the named architecture
    wrong = build_model(ModelSpec("mlp", (13,), 5), seed=0)
    with pytest.raises(ModelError, match="3 classes"):
        run_audit(cfg, baseline=wrong)


def test_cli_attack_stage_is_recorded_and_round_trips(tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["audit", "--dataset", "wine", "--model", "mlp", "--forget", "random:0.2",
                 "--method", "finetune", "--epochs", "15", "--attacks", "threshold,lira,ulira,rmia",
                 "--shadows", "4", "--executor", "serial", "--no-store", "--quiet",
                 "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "lira-online" in printed and "u-lira" in printed and "U-LiRA" in printed
    back = AuditResult.from_dict(json.loads(out.read_text()))
    assert {a.attack for a in back.attack_summaries} >= {"threshold-loss", "lira-online", "rmia"}
    assert back.ulira[0].method == "finetune" and 0 <= back.ulira[0].auc <= 1
    assert main(["audit", "--dataset", "wine", "--model", "mlp", "--attacks", "magic",
                 "--no-store", "--quiet", "--epochs", "2"]) == 2
    assert "unknown attack 'magic'" in capsys.readouterr().err
