"""``audit --baseline-model``: a TorchScript file is refused without ``--trust-code`` (exit 2, one
line, nothing written, its code never run); with the flag a local file loads (issue 22)."""

from __future__ import annotations

from tests.hostile_models import file_writing_torchscript, scripted
from unlearn_core.cli.main import build_parser, main


def test_torchscript_baseline_without_trust_code_is_refused_and_writes_nothing(tmp_path, capsys):
    target = tmp_path / "server-file.txt"
    target.write_bytes(b"safe contents")
    model = tmp_path / "claimant.pt"
    model.write_bytes(file_writing_torchscript(target))
    code = main(["audit", "--dataset", "digits", "--baseline-model", str(model),
                 "--report", str(tmp_path / "rep"), "--data-dir", str(tmp_path / "runs"),
                 "--out", str(tmp_path / "result.json"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "TorchScript is refused" in err
    assert target.read_bytes() == b"safe contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claimant.pt", "server-file.txt"]


def test_trust_code_help_says_what_it_means():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    audit = sub.choices["audit"]
    text = next(a.help for a in audit._actions if a.dest == "trust_code")
    assert "runs with your rights" in text and "files you made yourself" in text


def test_trust_code_without_a_baseline_model_is_refused(capsys):
    assert main(["audit", "--dataset", "wine", "--trust-code", "--no-store"]) == 2
    assert "--trust-code applies only" in capsys.readouterr().err


def test_a_local_torchscript_baseline_loads_with_trust_code(tmp_path, capsys):
    import json

    from unlearn_core.models import ModelSpec, build_model, load_torchscript, model_hash

    model = tmp_path / "mine.pt"
    model.write_bytes(scripted(build_model(ModelSpec("mlp", (13,), 3), seed=0)))
    code = main(["audit", "--dataset", "wine", "--model", "mlp", "--forget", "class:2",
                 "--method", "finetune", "--epochs", "3", "--reference-seeds", "2",
                 "--baseline-model", str(model), "--trust-code", "--no-store", "--quiet",
                 "--executor", "serial", "--out", str(tmp_path / "result.json")])
    assert code == 0, capsys.readouterr().err
    result = json.loads((tmp_path / "result.json").read_text())
    mine = load_torchscript(model.read_bytes(), trust_code=True)
    assert result["baseline"]["model_hash"] == model_hash(mine)  # the audited original
