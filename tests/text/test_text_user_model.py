"""A user's own model folder in a plain text audit (``run_text_audit`` with ``model_path``)
must be shown to have learned the facts (``text.claim.check_text_learned``, the claim audit's
rule): a folder of random weights is refused with one line (exit 2 on the command line); a
folder trained on the facts is audited and its learned check recorded; the built-in model,
trained by the audit itself, is not checked. Same small setup as ``test_text_claim``: 8
people x 3 facts, width 32, 30 epochs at lr 1e-2, one retrain."""

from __future__ import annotations

import dataclasses

import pytest

from unlearn_core.cli.main import main
from unlearn_core.errors import ModelError
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


def test_built_in_model_is_not_checked():
    cfg = dataclasses.replace(_config(None), model_path=None,
                              model=TinyGPTConfig(n_embd=32))
    assert run_text_audit(cfg).result.learned is None
