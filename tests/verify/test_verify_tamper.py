"""`verify` cannot be fooled: a tampered HTML, a re-hashed edited figure under a signature, a
flipped verdict, a report that travels (bundle) without its original data file, and data that
are not the audited file each give the exact outcome.

One small audit (wine, logreg, forget class 1, 3 reference retrains, 15 epochs) signed with a
key made by ``keygen``, and one on the same data uploaded as a CSV file, written as a bundle.
Re-runs are skipped (``--no-rerun``) except where reproducing on another folder is the point.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from unlearn_core.cli.main import main
from unlearn_core.report import content_hash, render_html

CONFIG = {"dataset": "wine", "model": "logreg", "forget": "class:1", "reference_seeds": 3,
          "executor": "serial", "train": {"epochs": 15, "lr": 2e-2}, "methods": ["finetune"]}


def _audit(folder: Path, config: dict, *extra: str) -> Path:
    cfg = folder / "config.json"
    cfg.write_text(json.dumps(config))
    code = main(["audit", "--config", str(cfg), "--report", str(folder / "rep"), "--no-pdf",
                 "--quiet", "--data-dir", str(folder / "runs"), *extra])
    assert code == 0
    return folder / "rep"


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """(report folder, private key, public key) of a signed audit on the built-in wine."""
    folder = tmp_path_factory.mktemp("signed")
    assert main(["keygen", "--out", str(folder / "auditor.key")]) == 0
    rep = _audit(folder, CONFIG, "--sign-key", str(folder / "auditor.key"))
    return rep, folder / "auditor.key", folder / "auditor.pub"


@pytest.fixture(scope="module")
def uploaded(tmp_path_factory):
    """(report folder, CSV path) of an audit of wine uploaded as a CSV, written with a bundle."""
    from sklearn.datasets import load_wine

    folder = tmp_path_factory.mktemp("uploaded")
    wine = load_wine()
    csv = folder / "holdout_wine.csv"
    header = ",".join([f"f{i}" for i in range(wine.data.shape[1])] + ["label"])
    rows = [",".join([repr(float(v)) for v in x] + [str(int(y))])
            for x, y in zip(wine.data, wine.target)]
    csv.write_text(header + "\n" + "\n".join(rows) + "\n")
    rep = _audit(folder, {**CONFIG, "dataset": str(csv), "label_column": "label"}, "--bundle")
    return rep, csv


def _verify(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["verify", *args, "--quiet"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _unsigned_copy(rep: Path, dest: Path) -> Path:
    payload = json.loads((rep / "report.json").read_text())
    payload.pop("signature")  # the signature is outside the content hash: still intact
    out = dest / "report.json"
    out.write_text(json.dumps(payload))
    return out


# --- the untouched reports -----------------------------------------------------------------


def test_untouched_signed_report_verifies_as_json_and_html(signed, capsys):
    rep, _, pub = signed
    for name in ("report.json", "report.html"):
        code, out, err = _verify(capsys, str(rep / name), "--no-rerun", "--public-key", str(pub))
        assert code == 0, err
        assert "signature valid over the content hash" in out
        assert "verified (not re-run): the report's hash and artifacts match" in out
    assert "report.html: its visible text and charts are what its embedded report renders" in out


def test_keygen_writes_a_private_key_only_its_owner_reads(signed, capsys):
    _, key, pub = signed
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert pub.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert main(["keygen", "--out", str(key)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_unsigned_report_says_so(signed, tmp_path, capsys):
    report = _unsigned_copy(signed[0], tmp_path)
    code, out, _ = _verify(capsys, str(report), "--no-rerun")
    assert code == 0
    assert "note: the report is unsigned" in out
    code, _, err = _verify(capsys, str(report), "--no-rerun", "--public-key", str(signed[2]))
    assert code == 1
    assert "signature: the report is not signed, but --public-key was given" in err


# --- tampered HTML --------------------------------------------------------------------------


def test_html_verdict_edited_to_pass_fails(signed, tmp_path, capsys):
    page = (signed[0] / "report.html").read_text(encoding="utf-8")
    shown = "finetune: INCONCLUSIVE: 2 of 9 checks pass; 7 without power"
    assert page.count(shown) >= 1  # the summary page and the verdict section
    forged = tmp_path / "report.html"
    forged.write_text(page.replace(shown, "finetune: PASS: 9 of 9 checks pass")
                      .replace("verdict-inconclusive", "verdict-pass"), encoding="utf-8")
    code, _, err = _verify(capsys, str(forged), "--no-rerun")
    assert code == 1
    assert "report.html: the visible text of 'Summary verdict' differs from the report it " \
           "embeds: shows '...Summary verdict finetune: PASS: 9 of 9 checks pass" in err
    assert "where the embedded report renders '...Summary verdict finetune: INCONCLUSIVE: 2 of " \
           "9 checks pass" in err


def test_html_table_status_edited_fails(signed, tmp_path, capsys):
    page = (signed[0] / "report.html").read_text(encoding="utf-8")
    cell = "<td>no power</td>"
    forged = tmp_path / "report.html"
    forged.write_text(page.replace(cell, "<td>pass</td>", 1), encoding="utf-8")
    code, _, err = _verify(capsys, str(forged), "--no-rerun")
    assert code == 1
    assert "the visible text of 'Summary verdict' differs" in err


def test_html_embedded_json_edited_fails(signed, tmp_path, capsys):
    page = (signed[0] / "report.html").read_text(encoding="utf-8")
    before = '"status":"inconclusive"'
    assert before in page
    forged = tmp_path / "report.html"
    forged.write_text(page.replace(before, '"status":"pass"', 1), encoding="utf-8")
    code, _, err = _verify(capsys, str(forged), "--no-rerun")
    assert code == 1
    assert "report content was edited: its SHA-256 does not match" in err


def test_html_rerendered_from_a_rehashed_flipped_report_fails(signed, tmp_path, capsys):
    """A forger who edits the embedded JSON, fixes its hash and renders the HTML again from it:
    the page is self-consistent, but the verdict no longer follows from its figures and the
    signature does not cover it."""
    from unlearn_core.audit.run import AuditResult

    payload = json.loads((signed[0] / "report.json").read_text())
    _flip(payload)
    forged = tmp_path / "report.html"
    forged.write_text(render_html(AuditResult.from_dict(payload["result"]), None, payload),
                      encoding="utf-8")
    code, out, err = _verify(capsys, str(forged), "--no-rerun")
    assert code == 1
    assert "report.html: its visible text and charts are what its embedded report renders" in out
    assert "finetune: the recorded verdict says pass, its recorded figures judge to " \
           "inconclusive" in err
    assert "signature: the signature does not cover this content" in err


def test_html_chart_edited_fails(signed, tmp_path, capsys):
    page = (signed[0] / "report.html").read_text(encoding="utf-8")
    start = page.index("Plotly.newPlot")
    head, tail = page[:start], page[start:]
    i = tail.index('"y":[') + len('"y":[')
    forged = tmp_path / "report.html"
    forged.write_text(head + tail[:i] + "0.999," + tail[i:], encoding="utf-8")
    code, _, err = _verify(capsys, str(forged), "--no-rerun")
    assert code == 1
    assert "a chart of 'Accuracy shifts' differs from the one its embedded report draws" in err


# --- an edited and re-hashed figure, a flipped verdict ------------------------------------


def _edit_figure(payload: dict, delta: float = 0.015) -> None:
    """Forget accuracy of finetune moved by 1.5 points everywhere it is recorded."""
    for e in payload["result"]["methods"]:
        if e["name"] == "finetune":
            e["accuracy"]["forget"] += delta
    for m in payload["result"]["measurements"]:
        if m["model"] == "finetune" and m["check"] == "forget_accuracy":
            m["figure"] += delta
    for v in payload["result"]["verdicts"]:
        for c in v["checks"]:
            if c["check"] == "forget_accuracy":
                c["figure"] += delta
                c["ci_low"] += delta
                c["ci_high"] += delta
    payload["content_sha256"] = content_hash(payload)


def _flip(payload: dict) -> None:
    """Every verdict and check to pass, with the content hash recomputed."""
    for v in payload["result"]["verdicts"]:
        v["status"] = "pass"
        for c in v["checks"]:
            c["status"] = "pass"
            c["powered"] = True
    payload["content_sha256"] = content_hash(payload)


def test_rehashed_edited_figure_fails_the_signature(signed, tmp_path, capsys):
    payload = json.loads((signed[0] / "report.json").read_text())
    _edit_figure(payload)
    forged = tmp_path / "report.json"
    forged.write_text(json.dumps(payload))
    code, _, err = _verify(capsys, str(forged), "--no-rerun", "--public-key", str(signed[2]))
    assert code == 1
    assert "signature: the signature does not cover this content" in err
    assert "edited" not in err.split("signature:")[0]  # the hash itself was fixed


def test_rehashed_edited_figure_resigned_with_another_key_fails(signed, tmp_path, capsys):
    from unlearn_core.report.signing import generate_keypair, load_private_key, sign_payload

    payload = json.loads((signed[0] / "report.json").read_text())
    _edit_figure(payload)
    payload.pop("signature")
    other, _ = generate_keypair(tmp_path / "forger.key")
    sign_payload(payload, load_private_key(other))
    forged = tmp_path / "report.json"
    forged.write_text(json.dumps(payload))
    code, _, err = _verify(capsys, str(forged), "--no-rerun", "--public-key", str(signed[2]))
    assert code == 1
    assert "signature: the signature is by key" in err
    assert "not by the --public-key given" in err


def test_flipped_verdict_fails_with_any_hash(signed, tmp_path, capsys):
    payload = json.loads((signed[0] / "report.json").read_text())
    payload.pop("signature")
    _flip(payload)
    forged = tmp_path / "report.json"
    forged.write_text(json.dumps(payload))
    code, out, err = _verify(capsys, str(forged), "--no-rerun")
    assert code == 1
    assert "finetune: the recorded verdict says pass, its recorded figures judge to " \
           "inconclusive" in err
    assert "note: the report is unsigned" in out


# --- per-sample evidence: an edited figure caught without a signature ------------------------


def _recorded(payload: dict) -> tuple[float, float]:
    """finetune's recorded forget accuracy, as a model figure and as a check measurement."""
    e = next(e for e in payload["result"]["methods"] if e["name"] == "finetune")
    m = next(m for m in payload["result"]["measurements"]
             if m["model"] == "finetune" and m["check"] == "forget_accuracy")
    return e["accuracy"]["forget"], m["figure"]


@pytest.mark.parametrize("delta", [0.005, 0.015])
def test_unsigned_rehashed_figure_edited_by_under_two_points_fails(signed, tmp_path, capsys,
                                                                  delta):
    """Half a point and one and a half points (under the 2-point re-run tolerance, under one
    sample of 43), the content hash recomputed, no signature: the per-sample evidence the
    report records gives the true figure exactly, so `verify --no-rerun` names the edit."""
    payload = json.loads((signed[0] / "report.json").read_text())
    payload.pop("signature")
    acc, fig = _recorded(payload)
    _edit_figure(payload, delta)
    forged = tmp_path / "report.json"
    forged.write_text(json.dumps(payload))
    code, out, err = _verify(capsys, str(forged), "--no-rerun")
    assert code == 1
    assert "report content was edited" not in err  # the hash itself was fixed
    assert f"finetune: forget accuracy recorded {acc + delta:.4f}, its per-sample evidence " \
           f"gives {acc:.4f}" in err
    assert f"finetune: check forget_accuracy recorded {fig + delta:.4f}, its per-sample " \
           f"evidence gives {fig:.4f}" in err
    assert "note: the report is unsigned" in out


def test_unsigned_figure_edited_alone_in_one_place_fails(signed, tmp_path, capsys):
    """Any single figure (here the retrain's test accuracy of class 0, nowhere else judged)."""
    payload = json.loads((signed[0] / "report.json").read_text())
    payload.pop("signature")
    per_class = payload["result"]["retrain"]["accuracy"]["per_class_test"]
    was = per_class[0]
    per_class[0] = was - 0.001
    payload["content_sha256"] = content_hash(payload)
    forged = tmp_path / "report.json"
    forged.write_text(json.dumps(payload))
    code, _, err = _verify(capsys, str(forged), "--no-rerun")
    assert code == 1
    assert f"retrain: test accuracy of class 0 recorded {was - 0.001:.4f}, its per-sample " \
           f"evidence gives {was:.4f}" in err


def test_untouched_report_follows_from_its_evidence(signed, capsys):
    code, out, err = _verify(capsys, str(signed[0] / "report.json"), "--no-rerun")
    assert code == 0, err
    assert "ok: every figure (" in out
    assert "follows exactly from the per-sample evidence the report records" in out
    assert "no per-sample evidence" not in out


def test_evidence_removed_with_the_figure_edited_fails(signed, tmp_path, capsys):
    payload = json.loads((signed[0] / "report.json").read_text())
    payload.pop("signature")
    ev = payload["result"]["evidence"]
    ev["models"] = [m for m in ev["models"] if m["model"] != "finetune"]
    ev["measurements"] = [m for m in ev["measurements"] if m["model"] != "finetune"]
    _edit_figure(payload)
    forged = tmp_path / "report.json"
    forged.write_text(json.dumps(payload))
    code, _, err = _verify(capsys, str(forged), "--no-rerun")
    assert code == 1
    assert "finetune: its figures have no per-sample evidence in the report (removed?)" in err
    assert "finetune: check forget_accuracy has no per-sample evidence in the report" in err


def test_report_without_evidence_still_verifies_and_says_so(signed, tmp_path, capsys):
    """A report of an earlier release (no evidence block) verifies, saying what it lacks."""
    payload = json.loads((signed[0] / "report.json").read_text())
    payload.pop("signature")
    del payload["result"]["evidence"]
    payload["content_sha256"] = content_hash(payload)
    report = tmp_path / "report.json"
    report.write_text(json.dumps(payload))
    code, out, err = _verify(capsys, str(report), "--no-rerun")
    assert code == 0, err
    assert "note: the report records no per-sample evidence (an earlier release): its figures " \
           "are checked only by a re-run" in out


def test_evidence_dropped_and_figure_edited_is_still_caught(signed, tmp_path, capsys):
    """Dropping the whole evidence block passes the report off as an earlier release. An edit
    under one sample is then no share of the forget set's 43 samples; an edit of whole samples
    (3 of 43) is a valid share, and the stored weights, evaluated again, give the true one."""
    payload = json.loads((signed[0] / "report.json").read_text())
    payload.pop("signature")
    acc, _ = _recorded(payload)
    n = payload["result"]["n_forget"]
    del payload["result"]["evidence"]
    _edit_figure(payload, 0.005)
    report = tmp_path / "report.json"
    report.write_text(json.dumps(payload))
    code, _, err = _verify(capsys, str(report), "--no-rerun")
    assert code == 1
    assert f"finetune: forget accuracy recorded {acc + 0.005!r} is no share of its {n} samples " \
           f"(k / {n})" in err
    payload = json.loads((signed[0] / "report.json").read_text())
    payload.pop("signature")
    del payload["result"]["evidence"]
    _edit_figure(payload, -3 / n)
    report.write_text(json.dumps(payload))
    code, _, err = _verify(capsys, str(report), "--no-rerun")
    assert "no share" not in err
    code, _, err = _verify(capsys, str(report))
    assert code == 1
    assert f"finetune: forget accuracy recorded {acc - 3 / n:.4f}, its stored weights give " \
           f"{acc:.4f}" in err


def _flip_bits(packed: str, k: int) -> str:
    from unlearn_core.audit.evidence import pack_bits, unpack_bits

    flags = unpack_bits(packed)
    flags[:k] = ~flags[:k]
    return pack_bits(flags)


def test_figure_and_evidence_forged_together_fail_on_the_stored_weights(signed, tmp_path,
                                                                        capsys):
    """A forger who edits the evidence too (3 forget samples of finetune turned, the figures
    made to follow, re-hashed): consistent on paper, but the stored weights, evaluated again
    on the data, give the true figure, held to one sample's worth (not the 2-point re-train
    tolerance)."""
    from unlearn_core.audit.evidence import measurement_figure, model_figures, unpack_bits
    from unlearn_core.audit.run import AuditResult

    payload = json.loads((signed[0] / "report.json").read_text())
    payload.pop("signature")
    acc, fig = _recorded(payload)
    res = payload["result"]
    mev = next(m for m in res["evidence"]["models"] if m["model"] == "finetune")
    mev["forget_correct"] = _flip_bits(mev["forget_correct"], 3)
    xev = next(m for m in res["evidence"]["measurements"]
               if m["model"] == "finetune" and m["check"] == "forget_accuracy")
    xev["bits"] = _flip_bits(xev["bits"], 3)
    ev = AuditResult.from_dict(res).evidence
    new_acc = model_figures(ev.model("finetune"), ev.test_labels, res["forget_classes"],
                            len(res["class_names"]))["forget accuracy"]
    new_fig = measurement_figure(ev.measurement("forget_accuracy", "finetune"))
    assert abs(new_acc - acc) > 0.05 and len(unpack_bits(xev["bits"])) == res["n_forget"]
    _edit_figure(payload, 0.0)  # rehash only, then set the figures the forged evidence gives
    next(e for e in res["methods"] if e["name"] == "finetune")["accuracy"]["forget"] = new_acc
    for m in res["measurements"]:
        if m["model"] == "finetune" and m["check"] == "forget_accuracy":
            m["figure"] = new_fig
    for v in res["verdicts"]:
        for c in v["checks"]:
            if c["check"] == "forget_accuracy":
                c["figure"] = new_fig
    payload["content_sha256"] = content_hash(payload)
    forged = tmp_path / "report.json"
    forged.write_text(json.dumps(payload))
    code, out, err = _verify(capsys, str(forged), "--no-rerun")
    assert "finetune: forget accuracy recorded" not in err  # consistent on paper
    code, out, err = _verify(capsys, str(forged))
    assert code == 1
    assert f"finetune: forget accuracy recorded {new_acc:.4f}, its stored weights give " \
           f"{acc:.4f} (tolerance one sample, {1 / res['n_forget'] + 1e-9:.3g})" in err
    assert f"finetune: check forget_accuracy recorded {new_fig:.4f}, its stored weights give " \
           f"{fig:.4f}" in err


def test_sign_refuses_an_edited_report(signed, tmp_path, capsys):
    payload = json.loads((signed[0] / "report.json").read_text())
    payload["result"]["methods"][0]["accuracy"]["forget"] = 0.0
    edited = tmp_path / "report.json"
    edited.write_text(json.dumps(payload))
    assert main(["sign", str(edited), "--key", str(signed[1])]) == 2
    assert "not signed" in capsys.readouterr().err


def test_sign_command_signs_json_and_html(signed, tmp_path, capsys):
    report = _unsigned_copy(signed[0], tmp_path)
    page = (signed[0] / "report.html").read_text(encoding="utf-8")
    (tmp_path / "report.html").write_text(page, encoding="utf-8")
    assert main(["sign", str(report), "--key", str(signed[1])]) == 0
    for name in ("report.json", "report.html"):
        code, out, _ = _verify(capsys, str(tmp_path / name), "--no-rerun", "--public-key",
                               str(signed[2]))
        assert code == 0
        assert "signature valid" in out


# --- uploaded data: by sha256, in a bundle that travels --------------------------------------


def test_uploaded_data_recorded_by_name_and_sha256(uploaded):
    import hashlib

    rep, csv = uploaded
    data = json.loads((rep / "report.json").read_text())["reproducibility"]["data"]
    assert data == {"file": "holdout_wine.csv", "bytes": csv.stat().st_size,
                    "sha256": hashlib.sha256(csv.read_bytes()).hexdigest()}


def test_bundle_verifies_in_a_fresh_folder_without_the_original_files(uploaded, tmp_path,
                                                                      monkeypatch, capsys):
    """Another checkout: the bundle copied elsewhere, the CSV and the run folder (artifacts)
    gone; `verify report.zip` re-runs the audit on the bundled data and passes."""
    rep, csv = uploaded
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(rep / "report.zip", elsewhere / "report.zip")
    kept = csv.read_bytes()
    csv.unlink()
    shutil.move(rep.parent / "runs", tmp_path / "runs-away")
    try:
        monkeypatch.chdir(elsewhere)
        code, out, err = _verify(capsys, "report.zip")
        assert code == 0, err
        assert "ok: data file holdout_wine.csv matches the audited 'holdout_wine.csv' by sha256" \
               in out
        assert "ok: artifact finetune.safetensors unchanged" in out
        assert "ok: finetune: model bit-identical" in out
        assert "follows exactly from the per-sample evidence the report records" in out
        assert "ok: stored weights of 5 models evaluated again on the data: 5 models' figures " \
               "and 40 check figures within one sample's worth" in out
        assert "verified: the report is intact" in out
        assert sorted(os.listdir(elsewhere)) == ["report.zip"]  # unpacked in a temporary folder
    finally:
        csv.write_bytes(kept)
        shutil.move(tmp_path / "runs-away", rep.parent / "runs")


def test_bundle_with_a_replaced_artifact_fails(uploaded, tmp_path, capsys):
    import zipfile

    rep, _ = uploaded
    forged = tmp_path / "report.zip"
    with zipfile.ZipFile(rep / "report.zip") as src, zipfile.ZipFile(forged, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "artifacts/finetune.safetensors":
                data = data[:-4] + b"\x00\x00\x00\x00"
            dst.writestr(item, data)
    code, _, err = _verify(capsys, str(forged), "--no-rerun")
    assert code == 1
    assert "artifact finetune.safetensors changed since the audit" in err


def test_verify_data_with_the_wrong_file_fails_by_sha256(uploaded, tmp_path, capsys):
    rep, csv = uploaded
    wrong = tmp_path / "holdout_wine.csv"
    lines = csv.read_text().splitlines()
    wrong.write_text("\n".join(lines[:-1]) + "\n")  # one row short, same name
    code, _, err = _verify(capsys, str(rep / "report.json"), "--no-rerun", "--data", str(wrong))
    assert code == 1
    assert "data: --data" in err and "has sha256" in err and "not the data audited" in err


def test_verify_data_points_at_the_moved_file(uploaded, tmp_path, capsys):
    rep, csv = uploaded
    moved = tmp_path / "renamed.csv"
    shutil.copy(csv, moved)
    code, out, err = _verify(capsys, str(rep / "report.json"), "--no-rerun", "--data",
                             str(moved))
    assert code == 0, err
    assert "ok: data file renamed.csv matches the audited 'holdout_wine.csv' by sha256" in out


def test_missing_data_is_a_difference_only_when_re_running(uploaded, tmp_path, capsys):
    rep, csv = uploaded
    kept = csv.read_bytes()
    csv.unlink()
    try:
        code, out, _ = _verify(capsys, str(rep / "report.json"), "--no-rerun")
        assert code == 0
        assert "note: data file 'holdout_wine.csv' not checked" in out
        code, _, err = _verify(capsys, str(rep / "report.json"))
        assert code == 1
        assert "data: the audited file 'holdout_wine.csv' (sha256" in err
        assert "pass --data PATH" in err
    finally:
        csv.write_bytes(kept)


def test_bundle_command_needs_the_audited_data(uploaded, tmp_path, capsys):
    rep, csv = uploaded
    moved = tmp_path / "moved.csv"
    shutil.move(csv, moved)
    try:
        assert main(["bundle", str(rep / "report.json"), "--out", str(tmp_path / "b.zip")]) == 2
        assert "the audited data file 'holdout_wine.csv' is not at" in capsys.readouterr().err
        assert not (tmp_path / "b.zip").exists()
        assert main(["bundle", str(rep / "report.json"), "--out", str(tmp_path / "b.zip"),
                     "--data", str(moved)]) == 0
    finally:
        shutil.move(moved, csv)
    code, out, err = _verify(capsys, str(tmp_path / "b.zip"), "--no-rerun")
    assert code == 0, err
    assert "ok: data file holdout_wine.csv matches the audited 'holdout_wine.csv'" in out


def test_bundle_naming_a_path_outside_is_refused(tmp_path, capsys):
    import zipfile

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("bundle.json", json.dumps({"bundle_version": 1, "report": "../report.json"}))
        zf.writestr("../report.json", "{}")
    code, _, err = _verify(capsys, str(evil), "--no-rerun")
    assert code == 2
    assert "the bundle names an unsafe path '../report.json'" in err
    assert not (tmp_path.parent / "report.json").exists()


def test_html_without_an_embedded_report_is_one_line(tmp_path, capsys):
    page = tmp_path / "old.html"
    page.write_text("<html><body><h1>Unlearning audit</h1></body></html>")
    code, _, err = _verify(capsys, str(page), "--no-rerun")
    assert code == 2
    assert err.strip() == f"error: '{page}' embeds no audit report (written by an earlier " \
                          "release?): verify its report.json"
