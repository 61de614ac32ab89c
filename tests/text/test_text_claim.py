"""The text track's claim audit (``text.claim``, ``text.recipe``): a causal LM folder as the
original and as claims, with a text recipe file. A folder with random weights is refused as
"did not learn"; a trained one is judged against retrains of its declared recipe (not the
built-in one); the original resubmitted as a claim fails as the original, bit for bit; a bad
recipe is one line and exit 2; a recipe that does not reproduce the original makes every
verdict inconclusive; ``verify`` applies the claim's rules again.

The claimant's models are the smallest that learn here: 8 fictitious people x 3 facts, a GPT-2
of width 32, trained 30 epochs at lr 1e-2 in batches of 16 (the built-in recipe is 40 epochs at
3e-3 in batches of 32), seed 7; 3 retrains and 2 fit originals (cached after the first run)."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from unlearn_core.checks.judge import FAIL
from unlearn_core.checks.verdict import INCONCLUSIVE
from unlearn_core.cli.main import main
from unlearn_core.errors import ConfigError
from unlearn_core.report.envelope import content_hash
from unlearn_core.report.text import build_text_json_report, write_text_reports
from unlearn_core.serialize import sha256_file
from unlearn_core.text.audit import TextAuditConfig, run_text_audit, trained_items
from unlearn_core.text.cache import model_hash
from unlearn_core.text.checks import TEXT_CHECKS
from unlearn_core.text.claim import TextClaimSpec, reference_seeds
from unlearn_core.text.facts import FactSetConfig, generate_facts, partition, select_forget
from unlearn_core.text.lm import (
    LMTrainConfig,
    TinyGPTConfig,
    build_tiny_gpt,
    encode_items,
    item_texts,
    save_lm,
    train_lm,
)
from unlearn_core.text.recipe import read_text_recipe, text_recipe_mapping
from unlearn_core.verify.run import verify_report

FACTS = FactSetConfig(n_people=8, n_holdout=8, n_attributes=3)
DECLARED = LMTrainConfig(epochs=30, lr=1e-2, batch_size=16)
RECIPE = "optimizer: adamw\nlr: 0.01\nepochs: 30\nbatch_size: 16\nseed: 7\n"
FLAGS = ["--forget", "random:1", "--people", "8", "--holdout", "8", "--attributes", "3",
         "--retrain-seeds", "3", "--fit-originals", "2", "--quiet"]


@pytest.fixture(scope="module")
def claimant(tmp_path_factory):
    """The claimant's folders: the original (the declared recipe, seed 7), a genuine retrain
    without the forget set (seed 99, never one of the audit's), a copy of the original, a folder
    of random weights, and the recipe file."""
    d = tmp_path_factory.mktemp("text-claim")
    items = generate_facts(dataclasses.replace(FACTS, seed=0)).items
    _, retain, _, world = partition(items, select_forget(items, "random:1", 0))
    original = build_tiny_gpt(item_texts(items), TinyGPTConfig(n_embd=32), seed=7)
    train_lm(original, encode_items(original, trained_items(items)),
             dataclasses.replace(DECLARED, seed=7))
    save_lm(original, d / "original")
    genuine = original.fresh(99)
    train_lm(genuine, encode_items(original, retain + world),
             dataclasses.replace(DECLARED, seed=99))
    save_lm(genuine, d / "genuine")
    save_lm(original.fresh(5), d / "random")
    shutil.copytree(d / "original", d / "copy")
    (d / "recipe.yaml").write_text(RECIPE)
    return d, retain + world, original


def _config(d, recipe="recipe.yaml", claimed=("genuine", "copy")) -> TextAuditConfig:
    return TextAuditConfig(forget="random:1", facts=FACTS, methods=[], retrain_seeds=3,
                           claim=TextClaimSpec(str(d / "original"), [str(d / c) for c in claimed],
                                               str(d / recipe), fit_originals=2))


@pytest.fixture(scope="module")
def audit(claimant):
    d, _, _ = claimant
    return run_text_audit(_config(d)).result


def _verdict(result, label):
    return next(v for v in result.verdicts if v.method == label)


def test_random_weights_original_is_refused_as_did_not_learn(claimant, capsys):
    d, _, _ = claimant
    code = main(["text-audit", *FLAGS, "--original", str(d / "random"), "--claimed",
                 str(d / "genuine"), "--recipe", str(d / "recipe.yaml")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err.startswith("error: the original 'random' did not learn: answer accuracy")


def test_trained_original_is_judged_against_retrains_of_its_declared_recipe(claimant, audit):
    d, retain, original = claimant
    assert audit.claim.learned.learned and audit.claim.fit.fits, audit.claim.fit.reason
    # the retrains follow the declared recipe, not the built-in one (40 epochs, 3e-3, 32)
    assert audit.config.train == DECLARED and DECLARED.epochs != LMTrainConfig().epochs
    assert DECLARED.lr != LMTrainConfig().lr
    assert [r.name for r in audit.retrains] == ["retrain", "retrain#2", "retrain#3"]
    assert audit.claim.retrain_seeds == [0, 1, 2]
    again = original.fresh(0)  # retrain 0 is exactly the declared recipe at seed 0
    train_lm(again, encode_items(original, retain), dataclasses.replace(DECLARED, seed=0))
    assert audit.retrains[0].model_hash == model_hash(again)
    # the claim is judged blind by every default text check, like a method's output
    genuine = _verdict(audit, "claim:genuine")
    measured = {m.check for m in audit.measurements if m.model == "claim:genuine"}
    assert measured == set(TEXT_CHECKS) and {c.check for c in genuine.checks} == measured
    assert genuine.status != FAIL, genuine.reason


def test_report_names_a_third_party_claim_with_every_file_by_sha256(claimant, audit):
    d, _, _ = claimant
    repro = build_text_json_report(audit)["reproducibility"]
    assert repro["audit"] == "third-party claim"
    files = repro["claim"]["files"]
    assert {f["role"] for f in files} == {"recipe", "original", "claimed"}
    assert {f["file"] for f in files} >= {"recipe.yaml", "original/model.safetensors",
                                          "genuine/model.safetensors", "copy/config.json"}
    assert all(f["sha256"] == sha256_file(f["path"]) for f in files)
    assert repro["claim"]["recipe"] == text_recipe_mapping(read_text_recipe(d / "recipe.yaml"))


def test_original_submitted_as_claim_fails_bit_for_bit(claimant, audit):
    copy = _verdict(audit, "claim:copy")
    assert copy.status == FAIL and "the original, bit for bit" in copy.reason
    d, _, _ = claimant
    with pytest.raises(ConfigError, match="is the original, bit for bit"):
        run_text_audit(_config(d, claimed=("original",)))


@pytest.mark.parametrize("line,msg", [
    ("learning_rate: 0.01", "unknown key 'learning_rate'; a recipe takes optimizer, lr"),
    ("epochs: ten", "'epochs' must be a whole number from 1 to"),
    ("lr: -1", "'lr' must be a number > 0"),
    ("optimizer: sgd", "'optimizer' must be adamw"),
    ("schedule: constant", "'schedule' must be warmup_cosine"),
])
def test_bad_recipe_is_one_line_exit_2(claimant, tmp_path, capsys, line, msg):
    d, _, _ = claimant
    base = {k: v for k, v in (x.split(": ") for x in RECIPE.splitlines())}
    key, value = line.split(": ")
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("".join(f"{k}: {v}\n" for k, v in {**base, key: value}.items()))
    code = main(["text-audit", *FLAGS, "--original", str(d / "original"), "--claimed",
                 str(d / "genuine"), "--recipe", str(recipe)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and err.startswith("error: recipe 'bad.yaml'")
    assert msg in err


def test_a_recipe_that_does_not_reproduce_the_original_makes_every_verdict_inconclusive(
        claimant, tmp_path):
    d, _, _ = claimant
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(RECIPE.replace("epochs: 30", "epochs: 15"))
    cfg = _config(d, claimed=("genuine",))
    cfg.claim.recipe = str(wrong)
    result = run_text_audit(cfg).result
    assert not result.claim.fit.fits
    assert "the declared recipe does not reproduce your original: weight norm" in \
        result.claim.fit.reason
    v = _verdict(result, "claim:genuine")
    assert v.status == INCONCLUSIVE and v.reason == result.claim.fit.reason


def test_verify_applies_the_claim_rules_again(audit, tmp_path):
    paths = write_text_reports(audit, tmp_path / "report")
    assert verify_report(str(paths["json"]), rerun=False).ok
    payload = json.loads(paths["json"].read_text())
    for v in payload["result"]["verdicts"]:
        if v["method"] == "claim:copy":
            v["status"] = "pass"
    payload["content_sha256"] = content_hash(payload)
    paths["json"].write_text(json.dumps(payload))
    out = verify_report(str(paths["json"]), rerun=False)
    assert not out.ok
    assert any("claim:copy: the recorded verdict says pass" in x for x in out.differences)


def test_retrain_seeds_skip_the_declared_seed():
    assert reference_seeds(6, 3, 7) == [6, 8, 9]
    assert reference_seeds(0, 3, None) == [0, 1, 2]


@pytest.fixture(scope="module")
def moved(claimant, tmp_path_factory):
    """A claim audited from a copy of the claimant's folders, bundled, and the copy then
    deleted: what a third party receives (the claimant's paths do not exist there)."""
    from unlearn_core.report.bundle import write_bundle

    d, _, _ = claimant
    here = tmp_path_factory.mktemp("moved") / "claimant"
    shutil.copytree(d, here)
    result = run_text_audit(_config(here)).result
    paths = write_text_reports(result, here.parent / "report")
    bundle = write_bundle(paths["json"], here.parent / "report.zip")
    shutil.rmtree(here)
    return here, paths, bundle, result


def test_a_claim_bundle_verifies_and_reruns_without_the_claimants_folders(moved):
    """The bundle carries every submitted file; verify finds them there by SHA-256 (not at the
    recorded paths, gone) and the re-run loads the folders gathered from them."""
    here, _, bundle, result = moved
    assert not here.exists()
    out = verify_report(str(bundle), rerun=True)
    assert out.ok, out.differences
    assert "the 16 submitted files of the claim match their recorded sha256" in out.notes
    same = next(n for n in out.notes if n.startswith("bit-identical models on re-run"))
    assert "claim:genuine" in same and "claim:copy" in same
    assert {v.method for v in result.verdicts} >= {"claim:genuine", "claim:copy"}


def test_without_the_bundle_a_missing_or_changed_submitted_file_is_a_difference(claimant,
                                                                                 moved):
    d, _, _ = claimant
    here, paths, _, _ = moved
    out = verify_report(str(paths["json"]), rerun=False)
    assert not out.ok
    assert any("submitted original 'original/model.safetensors' is missing" in x
               for x in out.differences)
    shutil.copytree(d, here)  # back at their places, one claimed file changed by a byte
    try:
        weights = here / "copy" / "model.safetensors"
        data = bytearray(weights.read_bytes())
        data[-1] ^= 1
        weights.write_bytes(bytes(data))
        out = verify_report(str(paths["json"]), rerun=False)
        assert [x for x in out.differences if "submitted" in x] == [
            x for x in out.differences if "'copy/model.safetensors' changed since the audit" in x]
        assert len(out.differences) == 1
    finally:
        shutil.rmtree(here)


def test_an_inconclusive_text_verdict_says_what_raises_the_text_checks_power(audit):
    """The advice names the text track's levers, not the classifier's attacks and flags."""
    v = _verdict(audit, "claim:genuine")
    assert v.status == INCONCLUSIVE and "no check could tell doing nothing" in v.reason
    assert "--retrain-seeds" in v.reason and "--forget" in v.reason
    assert "--attacks" not in v.reason and "canaries" not in v.reason
