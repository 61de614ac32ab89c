"""A user's own model folder in a plain text audit (``run_text_audit`` with ``model_path``)
must be shown to have learned the facts (``text.claim.check_text_learned``, the claim audit's
rule): a folder of random weights is refused with one line (exit 2 on the command line); a
folder trained on the facts is audited and its learned check recorded; the built-in model,
trained by the audit itself, is not checked. Same small setup as ``test_text_claim``: 8
people x 3 facts, width 32, 30 epochs at lr 1e-2, one retrain."""

from __future__ import annotations

import dataclasses
import html
import json

import pytest

from unlearn_core.cli.main import main
from unlearn_core.errors import ModelError
from unlearn_core.report.text import build_text_json_report, render_text_html, write_text_reports
from unlearn_core.text.audit import TextAuditConfig, run_text_audit, trained_items
from unlearn_core.text.facts import FactSetConfig, generate_facts
from unlearn_core.text.lm import (
    LMTrainConfig,
    TinyGPTConfig,
    build_tiny_gpt,
    encode_items,
    item_texts,
    save_lm,
    train_lm,
)

FACTS = FactSetConfig(n_people=8, n_holdout=8, n_attributes=3)
TRAIN = LMTrainConfig(epochs=30, lr=1e-2, batch_size=16)
FLAGS = ["--forget", "random:1", "--people", "8", "--holdout", "8", "--attributes", "3",
         "--retrain-seeds", "1", "--epochs", "30", "--lr", "0.01", "--quiet"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A trained user model (seed 7) and one of random weights, both saved as folders."""
    d = tmp_path_factory.mktemp("text-user-model")
    items = generate_facts(dataclasses.replace(FACTS, seed=0)).items
    lm = build_tiny_gpt(item_texts(items), TinyGPTConfig(n_embd=32), seed=7)
    save_lm(lm.fresh(5), d / "random")
    train_lm(lm, encode_items(lm, trained_items(items)), dataclasses.replace(TRAIN, seed=7))
    save_lm(lm, d / "trained")
    return d


def _config(folder) -> TextAuditConfig:
    return TextAuditConfig(forget="random:1", facts=FACTS, methods=[], retrain_seeds=1,
                           train=TRAIN, model_path=str(folder))


def test_random_weights_user_model_is_refused_with_one_line(folders, capsys):
    with pytest.raises(ModelError, match="^the original 'random' did not learn: answer accuracy"):
        run_text_audit(_config(folders / "random"))
    code = main(["text-audit", *FLAGS, "--model", str(folders / "random")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err.startswith("error: the original 'random' did not learn: answer accuracy")


def test_trained_user_model_is_audited_and_its_learned_check_recorded(folders):
    result = run_text_audit(_config(folders / "trained")).result
    learned = result.learned
    assert learned is not None and learned.learned
    assert learned.accuracy > learned.accuracy_limit or learned.nll < learned.init_nll
    assert result.to_dict()["learned"]["learned"] is True
    # retrains of the recipe it was trained with, undeclared: nothing to warn about
    assert result.warnings == []


def test_built_in_model_is_not_checked():
    cfg = dataclasses.replace(_config(None), model_path=None,
                              model=TinyGPTConfig(n_embd=32))
    assert run_text_audit(cfg).result.learned is None


RECIPE = "optimizer: adamw\nlr: 0.01\nepochs: 30\nbatch_size: 16\nseed: 7\n"
_E = FLAGS.index("--epochs") + 1
WEAK = [*FLAGS[:_E], "1", *FLAGS[_E + 1:]]  # FLAGS with --epochs 1: retrains that learn little


def test_retrains_far_below_the_user_model_are_said_in_one_line(folders, tmp_path, capsys):
    """Retrains of a recipe the model was not trained with (1 epoch, against its 30) answer
    the retained facts far worse than it: the report and the command line say so."""
    cfg = dataclasses.replace(_config(folders / "trained"),
                              train=dataclasses.replace(TRAIN, epochs=1))
    result = run_text_audit(cfg).result
    own = result.original.retain.mean("answer_correct")
    theirs = result.retrains[0].retain.mean("answer_correct")
    assert own - theirs > 0.1
    assert len(result.warnings) == 1
    warning = result.warnings[0]
    assert warning.startswith(f"the retrains reach retain accuracy {theirs:.2f} against your "
                              f"model's {own:.2f}") and "--recipe FILE" in warning
    assert "\n" not in warning
    page = write_text_reports(result, tmp_path)["html"].read_text()
    assert html.escape(warning) in page
    assert main(["text-audit", *WEAK, "--model", str(folders / "trained"), "--no-store"]) == 0
    err = capsys.readouterr().err
    assert sum(line.startswith("warning: the retrains reach retain accuracy") for line in
               err.splitlines()) == 1


def test_a_declared_recipe_trains_the_retrains_and_is_recorded(folders, tmp_path, capsys):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    cfg = dataclasses.replace(_config(folders / "trained"), train=LMTrainConfig(),
                              recipe=str(recipe))
    result = run_text_audit(cfg).result
    assert result.config.train == TRAIN  # the recipe's, not the built-in one
    assert result.config.recipe == str(recipe.resolve())
    assert result.warnings == []
    payload = build_text_json_report(result)
    assert payload["reproducibility"]["config"]["recipe"] == str(recipe.resolve())
    assert "declared in recipe.yaml" in render_text_html(payload)
    # the same on the command line; --epochs beside --recipe is refused in one line
    flags = list(FLAGS)
    i = flags.index("--epochs")
    del flags[i: i + 2]
    j = flags.index("--lr")
    del flags[j: j + 2]
    assert main(["text-audit", *flags, "--model", str(folders / "trained"), "--recipe",
                 str(recipe), "--no-store", "--out", str(tmp_path / "r.json")]) == 0
    assert "warning:" not in capsys.readouterr().err
    recorded = json.loads((tmp_path / "r.json").read_text())["config"]
    assert recorded["train"]["epochs"] == 30 and recorded["train"]["batch_size"] == 16
    assert main(["text-audit", *FLAGS, "--model", str(folders / "trained"), "--recipe",
                 str(recipe), "--no-store"]) == 2
    assert "--epochs does not apply beside --recipe" in capsys.readouterr().err


def test_the_user_model_and_recipe_are_recorded_bundled_and_verified_elsewhere(folders,
                                                                               tmp_path):
    """A report of the user's own folder and recipe records every file by SHA-256; its bundle
    carries them, so it verifies and re-runs (bit-identical) after the folder and recipe are
    gone, and a changed recipe at its place is a difference."""
    import shutil

    from unlearn_core.report.bundle import write_bundle
    from unlearn_core.verify.run import verify_report

    here = tmp_path / "mine"
    shutil.copytree(folders / "trained", here / "trained")
    (here / "recipe.yaml").write_text(RECIPE)
    cfg = dataclasses.replace(_config(here / "trained"), train=LMTrainConfig(),
                              recipe=str(here / "recipe.yaml"))
    paths = write_text_reports(run_text_audit(cfg).result, tmp_path / "report")
    files = json.loads(paths["json"].read_text())["reproducibility"]["inputs"]["files"]
    assert sorted(f["role"] for f in files) == ["model"] * (len(files) - 1) + ["recipe"]
    assert {f["file"] for f in files} >= {"trained/model.safetensors", "recipe.yaml"}
    bundle = write_bundle(paths["json"], tmp_path / "report.zip")
    (here / "recipe.yaml").write_text(RECIPE.replace("30", "31"))
    out = verify_report(str(paths["json"]), rerun=False)
    assert out.differences == [
        x for x in out.differences if "audited recipe 'recipe.yaml' changed since the audit" in x]
    assert len(out.differences) == 1
    shutil.rmtree(here)
    out = verify_report(str(bundle), rerun=True)
    assert out.ok, out.differences
    assert f"the {len(files)} files of the audited model folder and recipe match their " \
        "recorded sha256" in out.notes
    assert any(n.startswith("bit-identical models on re-run: original, retrain")
               for n in out.notes)


def test_a_report_naming_a_path_as_its_folder_or_files_creates_nothing(tmp_path):
    """The report is the claimant's: a recorded folder or file named '..' is never gathered
    (nothing is written outside the scratch folder, the recorded path stays and is missing)."""
    from unlearn_core.verify.text_track import relocated_text_inputs

    found = {"/x/../model.safetensors": tmp_path / "w", "/x/m/..": tmp_path / "w"}
    (tmp_path / "w").write_bytes(b"x")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    for folder, path in (("/x/..", "/x/../model.safetensors"), ("/x/m", "/x/m/..")):
        payload = {"reproducibility": {"config": {"model_path": folder},
                                       "inputs": {"files": [{"role": "model", "path": path}]}}}
        out = relocated_text_inputs(payload, found, scratch)
        assert out["reproducibility"]["config"]["model_path"] == folder
    assert list(scratch.iterdir()) == []
