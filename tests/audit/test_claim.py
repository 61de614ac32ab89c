"""A third-party claim audit (``audit.claim``): models unlearned elsewhere, judged blind against
retrains of the recipe the claimant declares, once the recipe is shown to reproduce their
original. The claimant is another process (``tests/audit/claimant.py``): its own training, its
declared recipe, seeds the audit never uses."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from unlearn_core import ClaimSpec, run_claim_audit
from unlearn_core.cli.main import main
from unlearn_core.errors import ConfigError, ModelError
from unlearn_core.models import load_model, save_model

ROOT = Path(__file__).resolve().parents[2]
RECIPE = "optimizer: adam\nlr: 2e-3\nepochs: 8\nbatch_size: 64\nseed: 77\n"
WRONG = "optimizer: adam\nlr: 2e-3\nepochs: 2\nbatch_size: 64\n"  # the original had 8
K = "4"  # retrains behind the verdict's bands (6 by default)


def _claimant(out: Path, dataset: str, forget: str, arch: str, recipe: Path,
              label: str = "") -> Path:
    """Run the claimant in its own process; its files land in ``out``."""
    env = dict(os.environ, UNLEARN_DEVICE="cpu", OMP_NUM_THREADS="1")  # small models: 1 thread
    subprocess.run([sys.executable, "-m", "tests.audit.claimant", str(out), dataset, forget,
                    arch, str(recipe), label], cwd=ROOT, env=env, check=True, timeout=600)
    return out


@pytest.fixture(scope="module")
def digits_claim(tmp_path_factory):
    """The claimant's files for digits cnn, class 3, and its declared recipe."""
    root = tmp_path_factory.mktemp("digits_claim")
    recipe = root / "recipe.yaml"
    recipe.write_text(RECIPE)
    return _claimant(root / "files", "digits", "class:3", "cnn", recipe), recipe


def _audit_args(files: Path, recipe: Path, *claimed: str, store: bool = False) -> list[str]:
    args = ["audit", "--dataset", "digits", "--forget", "class:3",
            "--original", str(files / "original.safetensors"),
            "--spec", str(files / "original.json"), "--recipe", str(recipe),
            "--reference-seeds", K, "--quiet"] + ([] if store else ["--no-store"])
    for name in claimed:
        args += ["--claimed", str(files / name)]
    return args


@pytest.fixture(scope="module")
def digits_audit(digits_claim, tmp_path_factory):
    """One command-line claim audit of three claims: the genuine retrain, the untouched
    original (as a weights-only state dict) and a head-bias suppression; recorded in a run
    store (its weights become artifacts), with its report and bundle."""
    files, recipe = digits_claim
    out = tmp_path_factory.mktemp("digits_audit")
    code = main(_audit_args(files, recipe, "genuine.safetensors", "same.pt",
                            "suppressed.safetensors", store=True)
                + ["--data-dir", str(out / "runs"), "--out", str(out / "result.json"),
                   "--report", str(out / "report"), "--no-pdf", "--bundle"])
    assert code == 0
    result = json.loads((out / "result.json").read_text())
    return result, out / "report", files


def _verdict(result: dict, label: str) -> dict:
    return next(v for v in result["verdicts"] if v["method"] == label)


def test_a_genuine_retrain_made_elsewhere_passes_on_digits_cnn(digits_audit):
    result, _, _ = digits_audit
    claim = result["claim"]
    assert claim["fit"]["fits"], claim["fit"]["reason"]
    assert claim["reference"] == "trained here"
    v = _verdict(result, "claim:genuine")
    assert v["status"] == "pass", v["reason"]
    assert any(c["status"] == "pass" and c["powered"] for c in v["checks"])
    # judged blind, by every default check, like a method's output
    methods = {c["check"] for c in _verdict(result, "claim:genuine")["checks"]}
    assert {"forget_accuracy", "membership_auc", "output_divergence"} <= methods
    assert {e["role"] for e in result["methods"]} == {"claim"}


def test_the_untouched_original_as_a_claim_fails_and_is_named(digits_audit):
    result, _, _ = digits_audit
    v = _verdict(result, "claim:same")
    assert v["status"] == "fail"
    assert "the claimed model is the original, bit for bit" in v["reason"]
    assert any(c["check"] == "not_the_original" and c["status"] == "fail" for c in v["checks"])


def test_a_head_bias_suppression_fails(digits_audit):
    result, _, _ = digits_audit
    v = _verdict(result, "claim:suppressed")
    assert v["status"] == "fail", v["reason"]
    assert "bit for bit" not in v["reason"]  # caught by its figures, not by its hash


def test_the_report_names_a_third_party_audit_and_records_every_file(digits_audit):
    result, report, files = digits_audit
    payload = json.loads((report / "report.json").read_text())
    repro = payload["reproducibility"]
    assert repro["audit"] == "third-party claim"
    recorded = {Path(f["path"]).name: f for f in repro["claim"]["files"]}
    for name in ("original.safetensors", "original.json", "genuine.safetensors", "same.pt",
                 "suppressed.safetensors"):
        assert recorded[name]["sha256"] == hashlib.sha256((files / name).read_bytes()).hexdigest()
    assert recorded["recipe.yaml"]["role"] == "recipe"
    assert repro["claim"]["recipe"] == {"epochs": 8, "lr": 0.002, "batch_size": 64,
                                        "weight_decay": 0.0, "optimizer": "adam", "seed": 77}
    assert repro["claim"]["reference"] == "trained here"
    fit = repro["claim"]["fit"]
    assert fit["fits"] and fit["originals"] == 3 and 77 not in fit["seeds"]
    assert {f["check"] for f in fit["figures"]} == {"test_accuracy", "test_divergence",
                                                    "feature_similarity", "weight_norm"}
    assert all(len(f["originals"]) == 3 for f in fit["figures"])
    assert repro["baseline"]["source"] == "submitted by the claimant"
    assert repro["baseline"]["sha256"] == recorded["original.safetensors"]["sha256"]
    page = (report / "report.html").read_text()
    assert "Third-party claim" in page and recorded["genuine.safetensors"]["sha256"] in page


def test_verify_checks_the_submitted_files_and_a_bundle_carries_them(digits_audit, tmp_path,
                                                                      capsys):
    _, report, files = digits_audit
    assert main(["verify", str(report / "report.json"), "--no-rerun", "--quiet"]) == 0
    bundle = tmp_path / "claim.zip"
    assert main(["bundle", str(report / "report.json"), "--out", str(bundle)]) == 0
    claimed = files / "genuine.safetensors"
    kept = claimed.read_bytes()
    try:
        claimed.write_bytes(kept[:-1] + bytes([kept[-1] ^ 1]))  # one bit of the claim changed
        capsys.readouterr()
        assert main(["verify", str(report / "report.json"), "--no-rerun", "--quiet"]) == 1
        err = capsys.readouterr().err
        assert "genuine.safetensors" in err and "changed since the audit" in err
        # the bundle holds the files as they were audited, and still verifies
        assert main(["verify", str(bundle), "--no-rerun", "--quiet"]) == 0
    finally:
        claimed.write_bytes(kept)


@pytest.mark.slow
def test_a_bundle_rerun_reloads_the_claims_and_reproduces_the_verdicts(digits_audit, tmp_path,
                                                                       capsys):
    _, report, files = digits_audit
    bundle = report / "report.zip"  # written by audit --bundle: report, artifacts, submitted
    moved = tmp_path / "moved"
    shutil.move(files, moved)  # the submitted files are not at their paths: the bundle's count
    try:
        capsys.readouterr()
        assert main(["verify", str(bundle), "--quiet"]) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        assert "a re-run reproduces them" in out
    finally:
        shutil.move(moved, files)


def test_a_wrong_recipe_makes_the_genuine_claim_inconclusive(digits_claim, tmp_path):
    files, _ = digits_claim
    wrong = tmp_path / "recipe.yaml"
    wrong.write_text(WRONG)
    out = tmp_path / "result.json"
    assert main(_audit_args(files, wrong, "genuine.safetensors") + ["--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert not result["claim"]["fit"]["fits"]
    v = _verdict(result, "claim:genuine")
    assert v["status"] == "inconclusive"
    assert v["reason"].startswith("the declared recipe does not reproduce your original")
    assert "What to change" in v["reason"]
    assert any(w.startswith("the declared recipe does not reproduce") for w in result["warnings"])


def test_submitted_retrains_that_look_like_retrains_become_the_reference(digits_claim):
    files, recipe = digits_claim
    spec = ClaimSpec(str(files / "original.safetensors"), str(files / "original.json"),
                     [str(files / "genuine.safetensors")], str(recipe),
                     submitted_retrains=[str(files / "retrain_a.safetensors"),
                                         str(files / "retrain_b.safetensors")], own_retrains=2)
    result = run_claim_audit(spec, "digits", "class:3", reference_seeds=int(K)).result
    assert result.claim.submitted.trusted, result.claim.submitted.reason
    assert result.claim.reference == "submitted"
    assert result.ensembles[0].submitted == ["retrain_a.safetensors", "retrain_b.safetensors"]
    assert [r.name for r in result.references] == ["retrain", "retrain#2"]
    assert all("submitted by the claimant" in r.log[0] for r in result.references)
    assert result.verdict_for("claim:genuine").status != "fail"


def test_a_genuine_retrain_passes_on_a_data_set_used_nowhere_else(tmp_path):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=800, n_features=12, n_informative=6, n_redundant=2,
                               n_classes=4, n_clusters_per_class=2, class_sep=1.0, flip_y=0.03,
                               random_state=3)
    data = tmp_path / "blobs.csv"
    columns = ",".join(f"f{i}" for i in range(12)) + ",label"
    np.savetxt(data, np.c_[X.round(4), y], delimiter=",", header=columns, comments="",
               fmt=["%.4f"] * 12 + ["%d"])
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"optimizer": "adam", "lr": 5e-3, "epochs": 20,
                                  "batch_size": 32}))
    files = _claimant(tmp_path / "files", str(data), "class:2", "mlp", recipe, "label")
    # with submitted "retrains" one of which is the original: not trusted, the audit's own used
    spec = ClaimSpec(str(files / "original.safetensors"), str(files / "original.json"),
                     [str(files / "genuine.safetensors"), str(files / "suppressed.safetensors")],
                     str(recipe), submitted_retrains=[str(files / "retrain_a.safetensors"),
                                                      str(files / "same.pt")], own_retrains=2)
    result = run_claim_audit(spec, str(data), "class:2", label_column="label",
                             reference_seeds=int(K)).result
    assert result.claim.fit.fits, result.claim.fit.reason
    assert result.verdict_for("claim:genuine").status == "pass"
    assert result.verdict_for("claim:suppressed").status == "fail"
    submitted = result.claim.submitted
    assert not submitted.trusted and result.claim.reference == "trained here"
    assert "same.pt" in submitted.reason and "retrain_a" not in submitted.reason
    assert len(result.references) == int(K)
    assert any("do not look like retrains of the declared recipe" in w for w in result.warnings)


@pytest.mark.parametrize("case, words", [
    ("other_arch", ["other_arch.safetensors", "does not have the original's architecture",
                    "cnn"]),
    ("other_width", ["other_width.safetensors", "does not have the original's architecture",
                     "size mismatch"]),
    ("same_file", ["the claimed model 'original.safetensors' is the original, bit for bit"]),
    ("unknown_key", ["unknown key 'learning_rate'"]),
    ("impossible", ["'epochs' must be a whole number from 1", "-3"]),
    ("wrong_type", ["'lr' must be a number > 0", "'fast'"]),
    ("at_chance", ["the original 'untrained.safetensors' did not learn", "chance level"]),
    ("torchscript", ["scripted.pt", "a TorchScript archive", "carry no code"]),
    ("pickled", ["pickled.pt", "carry no code"]),
    ("no_recipe", ["needs the recipe"]),
    ("one_retrain", ["at least 2 retrains"]),
    ("rerun_method", ["ulira re-runs the unlearning method", "comes without one"]),
    ("nan_weights", ["claimed model 'nan.safetensors' does not fit the data set", "NaN"]),
])
def test_bad_input_is_one_line_and_exit_2(digits_claim, tmp_path, capsys, case, words):
    files, recipe = digits_claim
    original, claimed, args = "original.safetensors", ["genuine.safetensors"], []
    bad_recipe = {"unknown_key": RECIPE + "learning_rate: 0.1\n",
                  "impossible": RECIPE.replace("epochs: 8", "epochs: -3"),
                  "wrong_type": RECIPE.replace("lr: 2e-3", "lr: fast")}.get(case)
    if bad_recipe is not None:
        recipe = tmp_path / "recipe.yaml"
        recipe.write_text(bad_recipe)
    if case in ("other_arch", "other_width"):
        claimed = [f"{case}.safetensors"]
    elif case == "same_file":
        claimed = [original]
    elif case == "at_chance":
        original = "untrained.safetensors"
    elif case == "torchscript":
        model = load_model(files / "original.safetensors", files / "original.json")
        torch.jit.save(torch.jit.trace(model, torch.zeros(1, 1, 8, 8)), tmp_path / "scripted.pt")
        claimed = [str(tmp_path / "scripted.pt")]
    elif case == "pickled":
        model = load_model(files / "original.safetensors", files / "original.json")
        torch.save(model, tmp_path / "pickled.pt")
        claimed = [str(tmp_path / "pickled.pt")]
    elif case == "one_retrain":
        args = ["--submitted-retrain", str(files / "retrain_a.safetensors")]
    elif case == "rerun_method":
        args = ["--attacks", "ulira"]
    elif case == "nan_weights":
        model = load_model(files / "genuine.safetensors", files / "genuine.json")
        with torch.no_grad():
            model.head.weight[0, 0] = float("nan")
        save_model(model, tmp_path / "nan")
        claimed = [str(tmp_path / "nan.safetensors")]
    argv = _audit_args(files, recipe) + [a for c in claimed for a in ("--claimed", str(files / c))]
    argv[argv.index("--original") + 1] = str(files / original)
    if case == "no_recipe":
        i = argv.index("--recipe")
        del argv[i:i + 2]
    capsys.readouterr()
    assert main(argv + args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: "), err
    for word in words:
        assert word in err, err


def test_a_config_file_takes_the_same_claim_keys(digits_claim, tmp_path, capsys):
    files, recipe = digits_claim
    config = tmp_path / "claim.yaml"
    config.write_text(f"dataset: digits\nforget: class:3\nclaim:\n"
                      f"  original: {files / 'original.safetensors'}\n"
                      f"  spec: {files / 'original.json'}\n"
                      f"  claimed: {files / 'other_arch.safetensors'}\n"
                      f"  recipe: {recipe}\n")
    assert main(["audit", "--config", str(config), "--no-store", "--quiet"]) == 2
    assert "other_arch.safetensors" in capsys.readouterr().err  # read from the file, refused
    config.write_text(config.read_text() + "  learning_rate: 1\n")
    assert main(["audit", "--config", str(config), "--no-store", "--quiet"]) == 2
    assert "unknown claim setting 'learning_rate'" in capsys.readouterr().err


def test_the_api_refuses_what_the_command_line_refuses(digits_claim):
    files, recipe = digits_claim
    spec = ClaimSpec(str(files / "original.safetensors"), str(files / "original.json"),
                     [str(files / "other_width.safetensors")], str(recipe))
    with pytest.raises(ModelError, match="does not have the original's architecture"):
        run_claim_audit(spec, "digits", "class:3")
    with pytest.raises(ConfigError, match="unknown audit setting 'epochs'"):
        run_claim_audit(spec, "digits", "class:3", epochs=3)


def test_an_original_less_than_half_way_to_its_recipes_models_is_refused_with_what_to_check():
    """The rule both tracks share (``audit.claim.refuse_unreached``): below the floor + half the
    way to the least accurate original trained with the recipe is refused, at or above is
    judged; the message names the figure, the range, the floor and what to check."""
    from unlearn_core.audit.claim import refuse_unreached

    accs = [0.90, 0.96]  # half way from chance 0.10 to 0.90: 0.50
    refuse_unreached("ok.safetensors", "test accuracy", 0.50, accs, 0.10, "chance 0.10", "x")
    with pytest.raises(ModelError) as err:
        refuse_unreached("half.safetensors", "test accuracy", 0.49, accs, 0.10,
                         "chance 0.10", "the file is the trained model, the data set")
    assert str(err.value).startswith(
        "the original 'half.safetensors' did not learn what its recipe reaches: test accuracy "
        "0.49 against 0.90 to 0.96 for 2 models trained here with the declared recipe "
        "(chance 0.10); it is refused, not judged (check that the file is the trained model, "
        "the data set the one it was trained on")
