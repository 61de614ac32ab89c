"""`verify` passes an untouched report and names what differs when the JSON or weights change."""

import json
from pathlib import Path

import pytest

from unlearn_core.cli.main import main
from unlearn_core.verify.run import verify_report


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("verify")
    code = main(["audit", "--dataset", "wine", "--model", "mlp", "--forget", "random:0.15",
                 "--method", "finetune", "--method", "neggrad_plus", "--epochs", "10",
                 "--seed", "3", "--quiet", "--data-dir", str(out / "runs"), "--report",
                 str(out / "rep"), "--no-pdf"])
    assert code == 0
    return out / "rep" / "report.json"


def test_untouched_report_verifies(report, capsys):
    outcome = verify_report(report)
    assert outcome.ok, outcome.differences
    assert any("bit-identical" in n for n in outcome.notes)
    assert main(["verify", str(report), "--quiet"]) == 0
    assert "verified" in capsys.readouterr().out


def test_edited_json_fails(report, tmp_path, capsys):
    payload = json.loads(report.read_text())
    payload["result"]["methods"][0]["accuracy"]["forget"] = 0.0
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(payload))
    assert main(["verify", str(edited), "--quiet", "--no-rerun"]) == 1
    assert "edited" in capsys.readouterr().err


def test_edited_figure_with_recomputed_hash_is_caught_by_rerun(report, tmp_path):
    from unlearn_core.report import content_hash

    payload = json.loads(report.read_text())
    payload["result"]["methods"][0]["accuracy"]["test"] = 0.123
    payload["content_sha256"] = content_hash(payload)  # a forger who also fixes the hash
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(payload))
    outcome = verify_report(forged)
    assert any("test accuracy recorded 0.1230" in d for d in outcome.differences)


def test_changed_weights_fail(report, capsys):
    payload = json.loads(report.read_text())
    weights = next(Path(a["path"]) for a in payload["reproducibility"]["artifacts"]
                   if a["name"] == "finetune.safetensors")
    original = weights.read_bytes()
    try:
        weights.write_bytes(original[:-4] + b"\x00\x00\x00\x00")
        assert main(["verify", str(report), "--quiet", "--no-rerun"]) == 1
        assert "finetune.safetensors changed" in capsys.readouterr().err
    finally:
        weights.write_bytes(original)


def test_not_a_report(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text("[1, 2]")
    assert main(["verify", str(bad)]) == 2
    assert "not an audit report" in capsys.readouterr().err
