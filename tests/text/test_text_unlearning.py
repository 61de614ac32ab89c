"""Text track with a real (tiny) model: memorisation, unlearning one person, membership
attacks, forget quality against retraining, every method, and safe model-folder loading.

One module fixture trains a 2-layer GPT-2 (width 64) on 16 fictitious people x 6 facts plus
world facts, and two retrain-from-scratch references without two people (seeds 0 and 1); the
forget-quality KS test gets 12 truth ratios a side, and single-person unlearning takes the first
of the two."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from unlearn_core.errors import MethodError, ModelError
from unlearn_core.text.facts import FactSetConfig, QAItem, generate_facts, partition, select_forget
from unlearn_core.text.lm import (
    LanguageModel,
    LMTrainConfig,
    TinyGPTConfig,
    build_tiny_gpt,
    encode_items,
    item_texts,
    load_lm,
    logits_of,
    mean_token_nll,
    save_lm,
    train_lm,
)
from unlearn_core.text.methods import TextContext, available_text_methods, make_text_method
from unlearn_core.text.metrics import MIA_NAMES, forget_quality, mia_auc, score_items

# the module's audit trains for tens of seconds: handed to a worker first (tests/conftest.py)
pytestmark = pytest.mark.slow

TRAIN = LMTrainConfig(epochs=40, batch_size=16, lr=1e-2)


@dataclass
class World:
    base: LanguageModel
    retrains: list[LanguageModel]
    forget: list[QAItem]
    retain: list[QAItem]
    holdout: list[QAItem]
    ctx: TextContext
    f_enc: object
    r_enc: object


@pytest.fixture(scope="module")
def world() -> World:
    fs = generate_facts(FactSetConfig(n_people=16, n_holdout=16, n_attributes=6, seed=0))
    forget, retain, holdout, world_items = partition(
        fs.items, select_forget(fs.items, f"group:{fs.people[0]},{fs.people[1]}"))
    base = build_tiny_gpt(item_texts(fs.items), TinyGPTConfig(n_embd=64, n_positions=32), 0)
    train_lm(base, encode_items(base, retain + world_items + forget), TRAIN)
    f_enc, r_enc = encode_items(base, forget), encode_items(base, retain + world_items)
    ctx = TextContext(seed=0, train_config=TRAIN, holdout=encode_items(base, holdout))
    retrain = make_text_method("retrain")
    retrains = [retrain.unlearn(base, f_enc, r_enc, TextContext(seed=s, train_config=TRAIN)).lm
                for s in (0, 1)]
    return World(base, retrains, forget, retain, holdout, ctx, f_enc, r_enc)


def test_tiny_gpt_memorises_the_facts_and_not_the_holdout(world):
    trained = score_items(world.base, world.forget + world.retain)
    unseen = score_items(world.base, world.holdout)
    assert trained.mean("answer_correct") >= 0.98
    assert unseen.mean("answer_correct") <= 0.25  # chance is 1/8 here
    assert trained.mean("extraction_strength") > 0.95 > unseen.mean("extraction_strength")


def test_gradient_difference_forgets_one_person_and_keeps_the_others(world):
    person = world.forget[0].group
    target = [it for it in world.forget if it.group == person]
    enc = world.f_enc.subset([i for i, it in enumerate(world.forget) if it.group == person])
    before_f = score_items(world.base, target).mean("answer_correct")
    before_r = score_items(world.base, world.retain).mean("answer_correct")
    gd = make_text_method("gradient_difference", lr=5e-4, steps=10, alpha=3.0)
    out = gd.unlearn(world.base, enc, world.r_enc, world.ctx)
    after_f = score_items(out.lm, target)
    after_r = score_items(out.lm, world.retain)
    assert before_f == 1.0 and after_f.mean("answer_correct") <= 1 / 3
    assert after_r.mean("answer_correct") >= before_r - 0.1
    assert after_f.mean("mean_nll") > 5 * score_items(world.base, target).mean("mean_nll")
    # the input model is untouched
    assert score_items(world.base, target).mean("answer_correct") == 1.0


def test_text_mias_are_at_chance_on_two_non_member_sets_and_high_on_members(world):
    base = world.base
    holdout = world.holdout
    people = list(dict.fromkeys(it.group for it in holdout))
    a = score_items(base, [it for it in holdout if it.group in people[:8]], generate=False)
    b = score_items(base, [it for it in holdout if it.group in people[8:]], generate=False)
    members = score_items(base, world.retain[: len(holdout) // 2], generate=False)
    for attack in MIA_NAMES:
        assert 0.3 <= mia_auc(a.mia[attack], b.mia[attack]) <= 0.7, attack
        assert mia_auc(members.mia[attack], a.mia[attack]) >= 0.9, attack
        assert mia_auc(members.mia[attack], b.mia[attack]) >= 0.9, attack


def test_forget_quality_retrain_high_original_low(world):
    ref = score_items(world.retrains[0], world.forget, generate=False).truth_ratio
    second = score_items(world.retrains[1], world.forget, generate=False).truth_ratio
    original = score_items(world.base, world.forget, generate=False).truth_ratio
    assert forget_quality(second, ref) >= 0.1
    assert forget_quality(original, ref) < 0.01
    # memorised: the true answer is far likelier than the perturbed ones
    assert np.median(original) < 0.5 < np.median(ref)


@pytest.mark.parametrize("name,params", [
    ("gradient_ascent", {"lr": 1e-3, "steps": 10}),
    ("npo", {"lr": 1e-3, "steps": 10}),
    ("simnpo", {"lr": 2e-3, "steps": 10, "gamma": 1.0}),
    ("icu", {"lr": 1e-3, "max_epochs": 10}),
    ("gradient_difference", {"lr": 1e-3, "steps": 10, "retain_loss": "kl"}),
])
def test_every_method_raises_the_forget_loss(world, name, params):
    out = make_text_method(name, **params).unlearn(world.base, world.f_enc, world.r_enc,
                                                   world.ctx)
    with torch.no_grad():
        before = mean_token_nll(world.base.model, world.f_enc).item()
        after = mean_token_nll(out.lm.model, world.f_enc).item()
    assert after > before + 1.0, (name, before, after)
    assert out.seconds > 0 and out.log


def test_method_registry_and_errors(world):
    assert set(available_text_methods()) == {"gradient_ascent", "gradient_difference", "npo",
                                             "simnpo", "icu", "retrain"}
    with pytest.raises(MethodError, match="unknown text method"):
        make_text_method("nope")
    with pytest.raises(MethodError, match="has no hyperparameter 'beta'"):
        make_text_method("gradient_ascent", beta=1)
    with pytest.raises(MethodError, match="retain_loss must be"):
        make_text_method("gradient_difference", retain_loss="l2")
    with pytest.raises(MethodError, match="steps must be a int"):
        make_text_method("npo", steps="many")
    with pytest.raises(MethodError, match="icu needs never-trained items"):
        make_text_method("icu").unlearn(world.base, world.f_enc, world.r_enc, TextContext())


def test_model_folder_round_trip_and_refusals(world, tmp_path):
    folder = save_lm(world.base, tmp_path / "model")
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
    loaded = load_lm(folder)
    with torch.no_grad():
        a = logits_of(world.base.model, world.f_enc.ids, world.f_enc.attn)
        b = logits_of(loaded.model, world.f_enc.ids, world.f_enc.attn)
    assert torch.allclose(a, b, atol=1e-5)
    assert score_items(loaded, world.forget).completions == \
        score_items(world.base, world.forget).completions

    def variant(name: str, edit) -> str:
        d = tmp_path / name
        shutil.copytree(folder, d)
        edit(d)
        return str(d)

    def patch_config(**changes):
        def edit(d):
            cfg = json.loads((d / "config.json").read_text())
            cfg.update(changes)
            (d / "config.json").write_text(json.dumps(cfg))
        return edit

    def pickle_only(d):
        (d / "model.safetensors").unlink()
        torch.save(world.base.model.state_dict(), d / "pytorch_model.bin")

    cases = [
        (variant("pickle", pickle_only), "no .safetensors weights.*pytorch_model.bin"),
        (variant("remote", patch_config(auto_map={"AutoModelForCausalLM": "x.Y"})),
         "custom model code"),
        (variant("bert", patch_config(model_type="bert")), "model_type 'bert' is not supported"),
        (variant("huge", patch_config(n_layer=500)), "too large"),
        (variant("notok", lambda d: (d / "tokenizer.json").unlink()), "no tokenizer.json"),
        (str(tmp_path / "missing"), "does not exist"),
    ]
    for path, msg in cases:
        with pytest.raises(ModelError, match=msg):
            load_lm(path)


def test_a_llama_folder_goes_through_the_same_path(world, tmp_path):
    """A user's Llama-architecture folder: loaded, scored, unlearned and re-initialised for the
    retrain reference by the same code as the built-in GPT-2."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = world.base.tokenizer
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                      num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=4,
                      max_position_embeddings=32, bos_token_id=tok.bos_id,
                      eos_token_id=tok.eos_id, pad_token_id=tok.pad_id)
    torch.manual_seed(0)
    folder = save_lm(LanguageModel(LlamaForCausalLM(cfg), tok), tmp_path / "llama")
    lm = load_lm(folder)
    assert type(lm.model).__name__ == "LlamaForCausalLM" and lm.max_positions == 32
    scores = score_items(lm, world.forget[:3])
    assert len(scores.completions) == 3 and np.isfinite(scores.truth_ratio).all()
    out = make_text_method("gradient_ascent", steps=2).unlearn(
        lm, encode_items(lm, world.forget), encode_items(lm, world.retain), world.ctx)
    assert type(out.lm.model).__name__ == "LlamaForCausalLM"
    assert type(lm.fresh(1).model).__name__ == "LlamaForCausalLM"
