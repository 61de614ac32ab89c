"""The Unlearn page's "Audit a submitted model" (issue 20), headless (AppTest): the session's
original (uploaded on Setup) against claimed weights uploaded on the Unlearn page, judged by the
claim audit and shown on the Audit page with its fit check; refused files, recipes and originals
are one message each and the session stays. The claimant is ``tests/audit/claimant.py`` (its
own recipe, seeds the audit never uses), run here with a short recipe."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from tests.audit import claimant
from tests.hostile_models import file_writing_torchscript
from unlearn_core.audit.claim import CODE_FREE

APP = str(Path(__file__).resolve().parents[2] / "app.py")
RECIPE = b"optimizer: adam\nlr: 2e-3\nepochs: 4\nbatch_size: 64\nseed: 77\n"  # the original's


@pytest.fixture(scope="module")
def claim_files(tmp_path_factory) -> Path:
    """The claimant's files for digits cnn, class 3 (original, genuine retrain, the original's
    weights as a state dict, an untrained model, another architecture)."""
    root = tmp_path_factory.mktemp("app_claim")
    (root / "recipe.yaml").write_bytes(RECIPE)
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # small models: one thread is faster on a busy 2-core machine
    try:
        claimant.main(str(root), "digits", "class:3", "cnn", str(root / "recipe.yaml"))
    finally:
        torch.set_num_threads(before)
    return root


def _session(files: Path, original: str = "original") -> AppTest:
    """Setup with digits and the claimant's original uploaded as the session's model, class 3
    chosen on the Forget page, on the Unlearn page."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.file_uploader(key="setup_weights").upload(f"{original}.safetensors",
                                                 (files / f"{original}.safetensors").read_bytes())
    at.file_uploader(key="setup_spec").upload("original.json",
                                              (files / "original.json").read_bytes()).run()
    at.button(key="setup_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.switch_page("pages/forget.py").run()
    at.multiselect(key="forget_classes").select(3).run()
    at.button(key="forget_classes_go").click().run()
    at.switch_page("pages/unlearn.py").run()
    assert not at.exception
    return at


def _submit(at: AppTest, files: Path, claimed: list[tuple[str, bytes]],
            recipe: tuple[str, bytes] | None = None) -> AppTest:
    """Upload the claimed models (and a recipe) on the Unlearn page and start the claim audit."""
    at.file_uploader(key="claim_weights").set_value(
        [(name, raw, "application/octet-stream") for name, raw in claimed])
    name, raw = recipe or ("recipe.yaml", RECIPE)
    at.file_uploader(key="claim_recipe").upload(name, raw).run()
    at.button(key="claim_go").click().run()
    assert not at.exception, at.exception
    return at


def _kept(at: AppTest) -> None:
    """The session survived a refused submission: its model and data are loaded, no audit
    was added."""
    ws = at.session_state["ws"]
    assert ws.ready and ws.source == "digits" and ws.runs == []
    assert not at.success  # nothing claims to have run


@pytest.fixture(scope="module")
def audited(claim_files):
    """One claim audit from the page: the genuine retrain and the original's own weights
    (a weights-only state dict) submitted as claims, 3 reference retrains."""
    at = _session(claim_files)
    at.number_input(key="unlearn_reference_seeds").set_value(3).run()
    _submit(at, claim_files, [("genuine.safetensors",
                               (claim_files / "genuine.safetensors").read_bytes()),
                              ("same.pt", (claim_files / "same.pt").read_bytes())])
    assert not at.error, [e.value for e in at.error]
    return at


def _verdicts(at: AppTest) -> dict:
    return {v.method: v for v in at.session_state["ws"].current.result.verdicts}


def test_a_genuine_claim_passes_and_the_audit_page_shows_the_fit_check(audited, claim_files):
    at = audited
    assert any("Audited: claim:genuine, claim:same" in s.value for s in at.success)
    ws = at.session_state["ws"]
    run, run_id = ws.current, ws.run_ids[-1]
    assert run_id and at.query_params["run"] == run_id  # recorded, with its address
    assert _verdicts(at)["claim:genuine"].status == "pass", _verdicts(at)["claim:genuine"].reason
    claim = run.result.claim
    assert claim.fit.fits and claim.reference == "trained here"
    genuine = next(f for f in claim.files if f.label == "claim:genuine")
    kept = Path(genuine.path)  # kept beside the run store: verify and bundles find it there
    assert kept.read_bytes() == (claim_files / "genuine.safetensors").read_bytes()
    assert genuine.sha256 == hashlib.sha256(kept.read_bytes()).hexdigest()
    at.switch_page("pages/audit.py").run()
    assert not at.exception and not at.error
    assert "Third-party claim" in [s.value for s in at.subheader]
    assert any(s.value.startswith("**Fit check** (3 originals") and "reproduces" in s.value
               for s in at.success)
    tables = [t.value for t in at.dataframe]
    fit = next(t for t in tables if "recipe's originals" in t.columns)
    assert list(fit["figure"])[0] == "test accuracy" and set(fit["status"]) == {"pass"}
    files = next(t for t in tables if "SHA-256" in t.columns)
    assert genuine.sha256 in set(files["SHA-256"])
    assert any(s.value.startswith("**claim:genuine**: PASS")  # a qualified pass in info
               for s in [*at.success, *at.info])
    reopened = AppTest.from_file(APP, default_timeout=180)  # a reload: the run by its address
    reopened.query_params["run"] = run_id
    reopened.run()
    reopened.switch_page("pages/audit.py").run()
    assert not reopened.exception and not reopened.error
    assert "Third-party claim" in [s.value for s in reopened.subheader]


def test_the_original_resubmitted_fails_as_the_original_bit_for_bit(audited, claim_files):
    same = _verdicts(audited)["claim:same"]
    assert same.status == "fail" and "the original, bit for bit" in same.reason
    audited.switch_page("pages/audit.py").run()
    assert any(w.value.startswith("**claim:same**: FAIL") and "the original, bit for bit"
               in w.value for w in audited.warning)
    # the very file of the original: refused before anything trains, the session kept
    at = _session(claim_files)
    _submit(at, claim_files, [("original.safetensors",
                               (claim_files / "original.safetensors").read_bytes())])
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "is the original, bit for bit" in errors[0], errors
    _kept(at)


def test_a_torchscript_upload_is_refused_and_the_session_kept(claim_files, tmp_path):
    target = tmp_path / "server-file.txt"
    target.write_bytes(b"safe contents")
    hostile = file_writing_torchscript(target)  # digits-shaped: its forward writes the file
    at = _session(claim_files)
    for name in ("claimed.pt", "claimed.ts"):
        _submit(at, claim_files, [(name, hostile)])
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and "is a TorchScript archive" in errors[0] and \
            CODE_FREE in errors[0], errors
        _kept(at)
    assert target.read_bytes() == b"safe contents"  # its code never ran


def test_a_wrong_recipe_key_is_one_message(claim_files):
    at = _session(claim_files)
    _submit(at, claim_files, [("genuine.safetensors",
                               (claim_files / "genuine.safetensors").read_bytes())],
            ("recipe.yaml", b"optimizer: adam\nlearning_rate: 2e-3\nepochs: 4\n"
                            b"batch_size: 64\n"))
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "recipe 'recipe.yaml': unknown key 'learning_rate'" in \
        errors[0], errors
    _kept(at)


def test_another_architecture_and_an_untrained_original_are_refused(claim_files):
    at = _session(claim_files)
    _submit(at, claim_files, [("other_arch.safetensors",
                               (claim_files / "other_arch.safetensors").read_bytes())])
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "does not have the original's architecture and shapes" in \
        errors[0], errors
    _kept(at)
    at = _session(claim_files, original="untrained")  # never trained: refused, never judged
    _submit(at, claim_files, [("genuine.safetensors",
                               (claim_files / "genuine.safetensors").read_bytes())])
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "did not learn" in errors[0], errors
    _kept(at)


def test_the_apps_own_recipe_is_the_default_for_an_original_it_trained(claim_files):
    at = _session(claim_files)  # an uploaded original: its recipe is not known here
    assert any("upload the recipe that trained it" in i.value for i in at.info)
    assert not [c for c in at.code if "optimizer" in c.value]
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.selectbox(key="setup_dataset").set_value("wine")
    at.selectbox(key="setup_arch").set_value("mlp")
    at.number_input(key="setup_seed").set_value(5).run()
    at.button(key="setup_go").click().run()  # the app trains the original: wine mlp, seed 5
    assert not at.exception and not at.error
    at.switch_page("pages/forget.py").run()
    at.multiselect(key="forget_classes").select(1).run()
    at.button(key="forget_classes_go").click().run()
    at.switch_page("pages/unlearn.py").run()
    shown = [c.value.strip() for c in at.code if "optimizer" in c.value]
    assert shown == ["epochs: 30\nlr: 0.002\nbatch_size: 64\nweight_decay: 0.0\n"
                     "optimizer: adam\nseed: 5"], shown
    # no recipe uploaded: the app's is read (the claimed file's architecture is what fails)
    at.file_uploader(key="claim_weights").set_value(
        [("other_arch.safetensors", (claim_files / "other_arch.safetensors").read_bytes(),
          "application/octet-stream")]).run()
    at.button(key="claim_go").click().run()
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "does not have the original's architecture" in errors[0], \
        errors
