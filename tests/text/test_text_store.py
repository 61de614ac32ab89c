"""Text audits in the run store, as classifier audits are (issue 23): ``text-audit`` (and
``audit --dataset facts``) records the run in the store its ``--data-dir``/``--db``/``--project``
name, ``runs list`` lists it and ``runs show`` shows its figures, ``--report --bundle`` writes a
bundle with the recorded weights that ``verify`` re-checks (each stored weight file loaded into
the audited architecture must give the model hash the report scored), and an edited bundled
report fails. Small setup: 8 people x 3 facts, width 32, 30 epochs, two retrains."""

from __future__ import annotations

import json
import zipfile

import pytest

from unlearn_core.cli.main import main
from unlearn_core.errors import ConfigError
from unlearn_core.store.db import RunStore

FLAGS = ["--forget", "random:1", "--people", "8", "--holdout", "8", "--attributes", "3",
         "--retrain-seeds", "2", "--epochs", "30", "--lr", "0.01", "--width", "32", "--quiet",
         "--method", "gradient_ascent"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """One text audit recorded in a fresh store, with its report and bundle."""
    d = tmp_path_factory.mktemp("text-store")
    code = main(["text-audit", *FLAGS, "--data-dir", str(d / "runs"), "--project", "lm",
                 "--report", str(d / "report"), "--bundle"])
    assert code == 0
    return d


def _rewrite(bundle, out, name, edit):
    """A copy of ``bundle`` with member ``name`` replaced by ``edit(bytes)``."""
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info, edit(data) if info.filename == name else data)
    return out


def test_a_text_audit_is_recorded_and_listed(recorded, capsys):
    store = RunStore(data_dir=recorded / "runs", project="lm")
    runs = store.list_runs()
    assert len(runs) == 1
    run = runs[0]
    assert (run.dataset, run.model, run.forget, run.methods) == \
        ("facts", "tiny-gpt", "random:1", "gradient_ascent")
    assert run.n_forget == 3 and run.verdict in ("pass", "fail", "uncertain", "inconclusive")
    assert run.seconds > 0
    names = {a.name for a in store.artifacts(run.id)}
    assert {"original.safetensors", "retrain.safetensors", "retrain#2.safetensors",
            "gradient_ascent.safetensors"} <= names
    assert store.check(run.id).ok
    stored = store.load(run.id)  # read as stored, not as a classifier result
    assert stored.problem is None and stored.lacks == [] and stored.data["kind"] == "text"
    with pytest.raises(ConfigError, match="is a text audit"):
        store.get(run.id)
    report = json.loads((recorded / "report" / "report.json").read_text())
    metrics = {(m, k): v for _, m, k, v in store.metrics([run.id])}
    original = report["result"]["original"]
    assert metrics[("original", "forget_quality")] == pytest.approx(original["forget_quality"])
    assert metrics[("original", "privleak")] == pytest.approx(original["privleak"])
    capsys.readouterr()
    assert main(["runs", "list", "--data-dir", str(recorded / "runs"), "--project", "lm"]) == 0
    listed = capsys.readouterr().out
    assert run.id[:12] in listed and "tiny-gpt" in listed and "gradient_ascent" in listed
    assert main(["runs", "show", run.id[:8], "--data-dir", str(recorded / "runs"),
                 "--project", "lm"]) == 0
    shown = capsys.readouterr().out
    assert "verdict gradient_ascent:" in shown and "forget_quality" in shown
    assert "cannot rebuild" not in shown


def test_the_report_names_the_recorded_artifacts(recorded):
    store = RunStore(data_dir=recorded / "runs", project="lm")
    run = store.list_runs()[0]
    repro = json.loads((recorded / "report" / "report.json").read_text())["reproducibility"]
    assert {a["name"]: a["sha256"] for a in repro["artifacts"]} == \
        {a.name: a.sha256 for a in store.artifacts(run.id)}


def test_the_bundle_verifies_and_its_weights_are_the_scored_models(recorded, capsys):
    bundle = recorded / "report" / "report.zip"
    with zipfile.ZipFile(bundle) as zf:
        assert "artifacts/original.safetensors" in zf.namelist()
    capsys.readouterr()
    assert main(["verify", str(bundle), "--no-rerun", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "the 4 stored weights give the recorded model hashes" in out
    assert "artifact original.safetensors unchanged" in out


def test_an_edited_bundled_text_report_fails_verify(recorded, tmp_path, capsys):
    bundle = recorded / "report" / "report.zip"

    def edit(data: bytes) -> bytes:
        payload = json.loads(data)
        payload["result"]["methods"][0]["forget_quality"] = 0.99
        return json.dumps(payload, indent=1).encode()

    edited = _rewrite(bundle, tmp_path / "edited.zip", "report.json", edit)
    capsys.readouterr()
    assert main(["verify", str(edited), "--no-rerun", "--quiet"]) == 1
    assert "report content was edited" in capsys.readouterr().err


def test_swapped_weights_with_a_matching_report_hash_fail_verify(recorded, tmp_path, capsys):
    """A bundle whose method weights were replaced by the original's, and whose report was
    re-hashed to name the new file: the file's SHA-256 matches, its model hash does not."""
    import hashlib

    from unlearn_core.report.envelope import content_hash

    bundle = recorded / "report" / "report.zip"
    with zipfile.ZipFile(bundle) as zf:
        original = zf.read("artifacts/original.safetensors")
        payload = json.loads(zf.read("report.json"))
        manifest = json.loads(zf.read("bundle.json"))
    digest = hashlib.sha256(original).hexdigest()
    for art in payload["reproducibility"]["artifacts"] + manifest["artifacts"]:
        if art["name"] == "gradient_ascent.safetensors":
            art["sha256"] = digest
    payload["content_sha256"] = content_hash(payload)
    out = tmp_path / "swapped.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename in ("report.html",):
                continue
            data = {"report.json": json.dumps(payload).encode(),
                    "bundle.json": json.dumps({**manifest, "html": None}).encode(),
                    "artifacts/gradient_ascent.safetensors": original}.get(
                info.filename, src.read(info.filename))
            dst.writestr(info, data)
    capsys.readouterr()
    assert main(["verify", str(out), "--no-rerun", "--quiet"]) == 1
    assert "stored weights of gradient_ascent are not the model the report scored" in \
        capsys.readouterr().err


def test_audit_of_facts_records_into_the_named_store_and_no_store_records_nothing(tmp_path):
    assert main(["audit", "--dataset", "facts", *FLAGS, "--data-dir", str(tmp_path / "a")]) == 0
    assert len(RunStore(data_dir=tmp_path / "a").list_runs()) == 1
    assert main(["text-audit", *FLAGS, "--no-store", "--data-dir", str(tmp_path / "b")]) == 0
    assert not (tmp_path / "b").exists()


def test_bundle_needs_a_report_folder(capsys):
    assert main(["text-audit", *FLAGS, "--bundle", "--no-store"]) == 2
    assert "--bundle needs --report DIR" in capsys.readouterr().err


def test_a_text_run_exports_and_imports_with_its_weights(recorded, tmp_path):
    from unlearn_core.store.bundle import export_runs, import_bundle

    source = RunStore(data_dir=recorded / "runs", project="lm")
    run = source.list_runs()[0]
    bundle = export_runs(source, tmp_path / "runs.zip", [run.id])
    target = RunStore(data_dir=tmp_path / "other", project="lm")
    assert [o.status for o in import_bundle(target, bundle)] == ["imported"]
    assert [r.id for r in target.list_runs()] == [run.id]
    assert target.load(run.id).data == source.load(run.id).data
    assert target.check(run.id).ok
    assert {a.name for a in target.artifacts(run.id)} == {a.name for a in source.artifacts(run.id)}


def test_the_app_lists_a_text_run_shows_its_figures_and_says_where_it_opens(
        recorded, monkeypatch):
    """The Report page lists a text run recorded from the command line beside classifier runs,
    shows its verdicts and figures (not "recorded by an older version"), and opening it on the
    Audit page, by the button or by its address, is one clear message, the session kept."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parents[2] / "app.py")
    run_id = RunStore(data_dir=recorded / "runs", project="lm").list_runs()[0].id
    monkeypatch.setenv("UNLEARN_DATA_DIR", str(recorded / "runs"))
    monkeypatch.setenv("UNLEARN_PROJECT", "lm")
    at = AppTest.from_file(app, default_timeout=120)
    at.run()
    at.switch_page("pages/report.py").run()
    assert not at.exception
    assert list(at.dataframe[0].value["id"]) == [run_id[:12]]
    assert not any("older version" in w.value for w in at.warning)
    assert any("language-model audit" in i.value for i in at.info)
    assert any("gradient\\_ascent" in m.value for m in at.markdown)
    figures = at.dataframe[1].value
    assert {"forget_acc", "retain_acc"} <= set(figures["metric"])
    at.button(key="hist_open").click().run()
    assert not at.exception
    assert any("is a language-model audit" in e.value for e in at.error)


CHROMIUM = __import__("shutil").which("chromium") or __import__("os").path.exists(
    "/usr/bin/chromium")


@pytest.mark.skipif(not CHROMIUM, reason="the PDF report needs chromium")
def test_the_text_pdf_embeds_its_report_verifies_and_an_edited_page_fails(recorded, tmp_path,
                                                                          capsys):
    """``--report`` prints report.pdf as a classifier audit's: it embeds the report, shows its
    verdict lines and figures, and a PDF printed from a page edited to PASS, with the original
    report embedded, fails verify; the bundle carries the PDF."""
    from unlearn_core.report import write_pdf
    from unlearn_core.report.pdf_embed import read_pdf

    rep = recorded / "report"
    payload = json.loads((rep / "report.json").read_text())
    pdf = read_pdf(rep / "report.pdf")
    assert [json.loads(a) for a in pdf.attachments] == [payload]
    v = payload["result"]["verdicts"][0]
    line = f"{v['method']}: {v['status'].upper()}"
    assert line in " ".join(pdf.text.split()) and v["status"] != "pass"
    with zipfile.ZipFile(rep / "report.zip") as zf:
        assert "report.pdf" in zf.namelist()
    capsys.readouterr()
    assert main(["verify", str(rep / "report.pdf"), "--no-rerun", "--quiet"]) == 0
    assert "report.pdf: its verdict lines, status words and figures are those of the report " \
        "it embeds" in capsys.readouterr().out
    page = (rep / "report.html").read_text(encoding="utf-8")
    assert line in page
    forged = tmp_path / "report.html"
    forged.write_text(page.replace(line, f"{v['method']}: PASS"), encoding="utf-8")
    write_pdf(forged, tmp_path / "report.pdf")
    assert main(["verify", str(tmp_path / "report.pdf"), "--no-rerun", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f"shows '{v['method']}: PASS' where its embedded report says '{line}'" in err


def test_a_pdf_text_read_back_with_ligatures_shows_the_same_verdicts(recorded):
    """A PDF's text comes back with the font's ligatures ("gradient_diﬀerence", "ﬁgure"): the
    comparison reads them as the letters they stand for, and still sees an edited status."""
    from unlearn_core.report.envelope import visible_text
    from unlearn_core.report.text import render_text_html
    from unlearn_core.verify.result import VerifyResult
    from unlearn_core.verify.text_track import compare_text_pdf

    # the method renamed to one whose name has a ligature (the default gradient_difference)
    payload = json.loads((recorded / "report" / "report.json").read_text()
                         .replace("gradient_ascent", "gradient_difference"))
    page = visible_text(render_text_html(payload))
    printed = " ".join(page.canonical(s) for s in page.order).replace("ff", "\ufb00") \
        .replace("fi", "\ufb01")
    assert "\ufb01gure" in printed and "gradient_di\ufb00erence: " in printed
    out = VerifyResult()
    compare_text_pdf(printed, payload["content_sha256"], payload, out)
    assert out.differences == []
    v = payload["result"]["verdicts"][0]
    line = f"{v['method']}: {v['status'].upper()}".replace("ff", "\ufb00")
    assert line in printed and v["status"] != "pass"
    out = VerifyResult()
    compare_text_pdf(printed.replace(line, "gradient_di\ufb00erence: PASS"),
                     payload["content_sha256"], payload, out)
    assert any("PASS" in d for d in out.differences)
