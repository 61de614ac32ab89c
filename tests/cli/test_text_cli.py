"""``python -m unlearn_core text-audit``: a tiny end-to-end audit in-process, its JSON and its
one-line errors; the same audit on user data and a saved model folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from unlearn_core.cli.main import main
from unlearn_core.text.audit import TextAuditConfig, TextMethodSpec, run_text_audit
from unlearn_core.text.facts import FactSetConfig, generate_facts
from unlearn_core.text.lm import LMTrainConfig, TinyGPTConfig

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--people", "8", "--holdout", "8", "--attributes", "3", "--epochs", "40", "--width",
        "32", "--quiet"]


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("text_cli")
    assert main(["keygen", "--out", str(d / "auditor.key")]) == 0
    rc = main(["text-audit", "--forget", "random:1", *TINY, "--method",
               "gradient_difference:steps=8,lr=1e-3", "--method", "icu:max_epochs=3",
               "--retrain-seeds", "3", "--out", str(d / "r.json"), "--save-model",
               str(d / "model"), "--export-facts", str(d / "facts.jsonl"), "--report",
               str(d / "report"), "--sign-key", str(d / "auditor.key"), "--auditor",
               "A. Auditor", "--no-pdf"])
    return rc, d


def test_text_audit_command_writes_result_model_and_facts(cli_run, capsys):
    rc, d = cli_run
    assert rc == 0
    data = json.loads((d / "r.json").read_text())
    assert [m["name"] for m in data["methods"]] == ["gradient_difference", "icu"]
    assert len(data["forget_ids"]) == 3 and data["retrains"][0]["name"] == "retrain"
    orig = data["original"]
    assert len(orig["forget"]["truth_ratio"]) == 3 and set(orig["mia_auc"]) == {
        "loss", "zlib", "min_k", "min_k_pp"}
    assert {c["check"] for c in data["verdicts"][0]["checks"]} >= {"model_utility",
                                                                    "forget_quality"}
    assert data["verdicts"][0]["headline"].split(":")[0] in ("PASS", "FAIL", "UNCERTAIN",
                                                            "INCONCLUSIVE")
    assert [r["name"] for r in data["retrains"]] == ["retrain", "retrain#2", "retrain#3"]
    assert (d / "model" / "model.safetensors").is_file()
    lines = (d / "facts.jsonl").read_text().splitlines()
    expected = generate_facts(FactSetConfig(n_people=8, n_holdout=8, n_attributes=3)).items
    assert [json.loads(line) for line in lines] == [it.to_dict() for it in expected]


def test_text_report_verifies_with_a_fresh_rerun(cli_run, capsys):
    """verify on a text report: verdicts judged again, then every model trained again without
    the cache; on the same machine the figures and the models come back identical."""
    _, d = cli_run
    capsys.readouterr()
    assert main(["verify", str(d / "report" / "report.json"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "text verdicts follow from the recorded figures" in out
    assert "bit-identical models on re-run: original, retrain, retrain#2, retrain#3" in out
    assert main(["verify", str(d / "report" / "report.html"), "--no-rerun", "--quiet"]) == 0
    # signed by --sign-key: the auditor's public key checks it, another key does not
    assert main(["verify", str(d / "report" / "report.json"), "--no-rerun", "--quiet",
                 "--public-key", str(d / "auditor.pub")]) == 0
    assert main(["keygen", "--out", str(d / "other.key")]) == 0
    assert main(["verify", str(d / "report" / "report.json"), "--no-rerun", "--quiet",
                 "--public-key", str(d / "other.pub")]) == 1


def test_text_report_names_its_auditor_and_verify_sees_the_name_edited(cli_run, capsys):
    """--auditor as for a classifier audit: the sign-off block (auditor, date, run id, who ran
    it) lies under the content hash, and an HTML whose auditor was edited fails verify."""
    _, d = cli_run
    payload = json.loads((d / "report" / "report.json").read_text())
    signoff = payload["reproducibility"]["signoff"]
    assert signoff["auditor"] == "A. Auditor" and signoff["date"].startswith("20")
    assert signoff["run_id"]  # recorded in the run store: the report names the run
    assert not (d / "report" / "report.pdf").exists()  # --no-pdf: text reports are JSON, HTML
    page = (d / "report" / "report.html").read_text()
    assert "<h2>Sign-off</h2>" in page and "A. Auditor" in page
    forged = d / "forged.html"
    forged.write_text(page.replace("<td>A. Auditor</td>", "<td>B. Other</td>"))
    assert forged.read_text() != page
    capsys.readouterr()
    assert main(["verify", str(forged), "--no-rerun", "--quiet"]) == 1
    said = capsys.readouterr()
    assert "the visible text of 'Sign-off' differs" in said.out + said.err, said


def test_user_data_and_saved_model_folder(cli_run):
    """The exported facts as user data and the saved model as a user model folder: the
    original model scores as it did, and retraining starts from the folder's architecture."""
    _, d = cli_run
    cfg = TextAuditConfig(forget="random:1", data_path=str(d / "facts.jsonl"),
                          model_path=str(d / "model"), train=LMTrainConfig(epochs=40),
                          methods=[TextMethodSpec("gradient_ascent", {"steps": 3})])
    run = run_text_audit(cfg)
    first = json.loads((d / "r.json").read_text())["original"]
    r = run.result
    assert r.original.forget.ids == first["forget"]["ids"]
    assert np.allclose(r.original.forget.mean_nll, first["forget"]["mean_nll"], atol=1e-4)
    assert run.models["retrain"].model.config.n_embd == 32
    assert r.methods[0].name == "gradient_ascent" and r.methods[0].seconds > 0


@pytest.mark.slow
def test_same_config_same_numbers():
    cfg = TextAuditConfig(forget="random:1", seed=2,
                          facts=FactSetConfig(n_people=6, n_holdout=4, n_attributes=2),
                          model=TinyGPTConfig(n_embd=32), train=LMTrainConfig(epochs=15),
                          methods=[TextMethodSpec("simnpo", {"steps": 3})])
    a, b = run_text_audit(cfg).result, run_text_audit(cfg).result
    assert a.forget_ids == b.forget_ids
    for x, y in [(a.original, b.original), (a.retrain, b.retrain), (a.methods[0], b.methods[0])]:
        assert np.array_equal(x.forget.mean_nll, y.forget.mean_nll)
        assert x.forget.completions == y.forget.completions


@pytest.mark.parametrize("args,msg", [
    (["--forget", "group:Nobody"], "no trained group 'Nobody'"),
    (["--forget", "random:1", "--method", "nope"], "unknown text method 'nope'"),
    (["--forget", "random:1", "--method", "retrain"], "retrain always runs"),
    (["--forget", "random:1", "--method", "npo:beta"], "must look like key=value"),
    (["--forget", "random:1", "--epochs", "0"], "--epochs must be at least 1"),
    (["--forget", "random:1", "--width", "30"], "--width must be a multiple of 4"),
    (["--forget", "random:1", "--data", "/no/such.jsonl"], "does not exist"),
    (["--forget", "random:1", "--model", "/no/such/folder"], "does not exist"),
    (["--forget", "random:1", "--people", "x"], "invalid int value"),
    (["--forget", "random:1", "--sign-key", "k.key"], "--sign-key needs --report DIR"),
    (["--forget", "random:1", "--report", "r", "--sign-key", "/no/such.key"],
     "cannot read signing key"),
])
def test_bad_input_one_line_nonzero(args, msg, capsys):
    # the tiny defaults come first so that the case's own flags win
    assert main(["text-audit", "--people", "6", "--attributes", "1", "--epochs", "1",
                 "--quiet", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and msg in err and "\n" not in err


def test_module_entry_point_exit_code():
    proc = subprocess.run([sys.executable, "-m", "unlearn_core", "text-audit", "--forget",
                           "ids:nobody:x", "--people", "4", "--attributes", "1", "--epochs",
                           "1", "--quiet"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: no trained item with id 'nobody:x'"]


def test_plain_documents_without_perturbed_answers(tmp_path):
    """Documents (no question, no wrong answers): the audit runs, the truth ratio and forget
    quality are undefined (NaN) and the verdict leaves that check out instead of failing it."""
    words = ["red", "blue", "green", "gold", "grey", "pink"]
    rows = [{"id": f"d{i}", "group": f"g{i % 3}", "text": f"The {words[i % 6]} door of house "
             f"{i} opens at dawn.", "split": "holdout" if i >= 9 else "train"}
            for i in range(12)]
    p = tmp_path / "docs.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = TextAuditConfig(forget="group:g1", data_path=str(p), model=TinyGPTConfig(n_embd=32),
                          train=LMTrainConfig(epochs=30, batch_size=4),
                          methods=[TextMethodSpec("gradient_ascent", {"steps": 3})])
    r = run_text_audit(cfg).result
    assert r.forget_ids == ["d1", "d4", "d7"]
    assert np.isnan(r.methods[0].forget.truth_ratio).all() and np.isnan(r.methods[0].forget_quality)
    names = [c.check for c in r.verdicts[0].checks]
    assert "forget_quality" not in names and "model_utility" in names
    assert "forget_quality" not in {s.name for s in r.check_specs}
    # the trained documents are likelier under the original than under retrain
    assert r.original.forget.mean("mean_nll") < r.retrain.forget.mean("mean_nll")
