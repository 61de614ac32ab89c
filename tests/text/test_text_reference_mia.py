"""The reference-model membership attack (``text.reference_mia``), as OpenUnlearning's
``ReferenceAttack`` computes it: the target's LOSS (answer tokens and EOS) minus the
reference's on the same tokens. Pinned on two hand-made fixed-logit models against an
independent computation in OpenUnlearning's layout; on a tiny GPT-2 trained on half of 12
facts, with a never-trained model as the reference, it tells the trained facts apart; a
reference with another vocabulary is refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.text.test_text_mia_definitions import ITEMS, FixedLogits
from unlearn_core.errors import ModelError
from unlearn_core.text.facts import QAItem
from unlearn_core.text.lm import (
    LanguageModel,
    LMTrainConfig,
    TextTokenizer,
    TinyGPTConfig,
    build_tiny_gpt,
    build_tokenizer,
    encode_items,
    item_texts,
    train_lm,
)
from unlearn_core.text.metrics import mia_auc, score_items
from unlearn_core.text.reference_mia import reference_scores


def openunlearning_avg_loss(lm: LanguageModel, item: QAItem) -> float:
    """``evaluate_probability``'s ``avg_loss``: cross-entropy summed over the labelled tokens
    (answer and EOS, the prompt at -100) over their count."""
    hf = lm.tokenizer.hf
    prompt = [hf.bos_token_id] + hf(item.question, add_special_tokens=False)["input_ids"]
    answer = hf(" " + item.answer, add_special_tokens=False)["input_ids"] + [hf.eos_token_id]
    ids = torch.tensor([prompt + answer])
    labels = torch.tensor([-100] * len(prompt) + answer)
    with torch.no_grad():
        logits = lm.model(input_ids=ids).logits[0].double()
    loss = torch.nn.functional.cross_entropy(logits[:-1], labels[1:], ignore_index=-100,
                                             reduction="sum")
    return float(loss / (labels != -100).sum())


def _fixed(seed: int) -> LanguageModel:
    tok = TextTokenizer(build_tokenizer(item_texts(ITEMS)))
    torch.manual_seed(seed)
    model = FixedLogits(len(tok), tok.eos_id)
    with torch.no_grad():  # a second model: other logits from the same layout
        model.table.add_(torch.randn_like(model.table) * seed)
    return LanguageModel(model, tok, f"fixed logits {seed}")


def test_reference_attack_is_target_loss_minus_reference_loss():
    target, reference = _fixed(0), _fixed(1)
    reference.tokenizer = target.tokenizer
    got = reference_scores(target, reference, ITEMS)
    want = [openunlearning_avg_loss(target, it) - openunlearning_avg_loss(reference, it)
            for it in ITEMS]
    assert got == pytest.approx(want, rel=1e-5, abs=1e-6)
    assert np.abs(got).max() > 0.4  # two different models: the pin is not 0 - 0
    assert np.allclose(reference_scores(target, target, ITEMS), 0.0)
    s = score_items(target, ITEMS, generate=False, reference=reference)
    assert np.allclose(s.mia["reference"], got)
    assert "reference" not in score_items(target, ITEMS, generate=False).mia  # only on request


def test_reference_attack_tells_trained_facts_and_refuses_another_vocabulary():
    names = ["Ysolde", "Brannoc", "Mira", "Tavi", "Orrin", "Pell", "Quenna", "Sabo", "Ulla",
             "Veck", "Wyn", "Xan"]
    places = ["Lune", "Cardo", "Vell", "Ostra", "Pim", "Rask", "Tull", "Wend", "Arl", "Bex",
              "Cim", "Dov"]
    items = [QAItem(n, n, f"Where does {n} live ?", f"{n} lives in {places[i]}.")
             for i, n in enumerate(names)]
    members, others = items[::2], items[1::2]
    lm = build_tiny_gpt(item_texts(items), TinyGPTConfig(n_embd=32, n_layer=1, n_head=2), 0)
    never = lm.fresh(3)
    train_lm(lm, encode_items(lm, members), LMTrainConfig(epochs=150, batch_size=8, lr=1e-2,
                                                          weight_decay=0.0))
    r = reference_scores(lm, never, members + others)
    assert mia_auc(r[: len(members)], r[len(members):]) == 1.0
    assert r[: len(members)].max() < 0  # the trained facts: far below the reference's loss
    other = build_tiny_gpt(["a wholly different vocabulary"], TinyGPTConfig(n_embd=32), 0)
    with pytest.raises(ModelError, match="another vocabulary"):
        reference_scores(lm, other, members)
