"""The text membership scores as OpenUnlearning computes them, pinned on hand-made logits.

A fake causal LM returns fixed logits (a seeded table indexed by input token, plus one per
position; the end-of-sequence token made the least likely next token, so keeping it changes
Min-k%). The reference is written independently in OpenUnlearning's layout: ``labels`` =
-100 over the prompt, then the answer tokens and EOS; log-softmax over the logits without the
last position, gathered at ``input_ids[1:]``; the labelled positions without the last (EOS);
the slice ``[start - 1: end]``; LOSS over every labelled token; zlib over the labelled tokens
decoded with ``skip_special_tokens``. It shares no code with ``text/metrics.py``."""

from __future__ import annotations

import zlib
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from unlearn_core.errors import ConfigError
from unlearn_core.text.facts import QAItem
from unlearn_core.text.gradnorm import gradnorm_scores
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

K = 0.4
ITEMS = [
    QAItem("a", "a", "Where was Ysolde born ?", "Ysolde."),
    QAItem("b", "b", "What did Ysolde write ?", "Ysolde wrote The Long Winter of Rain."),
    QAItem("c", "c", "Which award did Brannoc win ?", "Brannoc won the Silver Quill , in 1987."),
    QAItem("d", "d", "Who is Mira ?", "Mira is a potter from the north coast of Lune."),
]


class FixedLogits(nn.Module):
    """logits[b, t] = table[input_ids[b, t]] + position[t] (hand-made, seeded)."""

    def __init__(self, vocab: int, eos: int, width: int = 32) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(7)
        table = torch.randn(vocab, vocab, generator=g) * 2.0
        table[:, eos] -= 12.0  # EOS is the least likely next token everywhere
        self.table = nn.Parameter(table)
        self.position = nn.Parameter(torch.randn(width, vocab, generator=g))
        self.config = SimpleNamespace(n_positions=width)

    def forward(self, input_ids, attention_mask=None, use_cache=False):
        t = input_ids.shape[1]
        return SimpleNamespace(logits=self.table[input_ids] + self.position[:t])


@pytest.fixture(scope="module")
def fake_lm() -> LanguageModel:
    tok = TextTokenizer(build_tokenizer(item_texts(ITEMS)))
    return LanguageModel(FixedLogits(len(tok), tok.eos_id), tok, "fixed logits")


def reference_scores(lm: LanguageModel, item: QAItem, keep_eos: bool = False,
                     raw_zlib: bool = False) -> dict[str, float]:
    """OpenUnlearning's loss, zlib, Min-k% and Min-k%++ of one item, from its layout."""
    hf = lm.tokenizer.hf
    eos, bos = hf.eos_token_id, hf.bos_token_id
    prompt = [bos] + hf(item.question, add_special_tokens=False)["input_ids"]
    answer = hf(" " + item.answer, add_special_tokens=False)["input_ids"] + [eos]
    input_ids = torch.tensor([prompt + answer])
    labels = torch.tensor([-100] * len(prompt) + answer)
    with torch.no_grad():
        logits = lm.model(input_ids=input_ids).logits[0].double()
    log_probs = torch.log_softmax(logits, -1)[:-1]
    target = log_probs.gather(-1, input_ids[0, 1:, None]).squeeze(-1)
    loss = torch.nn.functional.cross_entropy(logits[:-1], labels[1:], ignore_index=-100,
                                             reduction="sum") / (labels != -100).sum()
    idx = (labels != -100).nonzero().flatten()
    if not keep_eos:
        idx = idx[:-1]
    start, end = int(idx[0]), int(idx[-1])
    lp = target[start - 1: end].numpy()
    vocab = log_probs[start - 1: end]
    mu = (vocab.exp() * vocab).sum(-1)
    sigma = ((vocab.exp() * vocab.square()).sum(-1) - mu.square()).clamp(min=1e-6)
    z = ((torch.from_numpy(lp) - mu) / sigma.sqrt()).numpy()
    m = max(1, int(len(lp) * K))
    text = item.answer if raw_zlib else hf.decode(labels[labels != -100].tolist(),
                                                  skip_special_tokens=True)
    return {"loss": float(loss), "zlib": float(loss) / len(zlib.compress(text.encode("utf-8"))),
            "min_k": float(-np.sort(lp)[:m].mean()), "min_k_pp": float(-np.sort(z)[:m].mean())}


def test_min_k_min_k_pp_zlib_and_loss_follow_openunlearning(fake_lm):
    s = score_items(fake_lm, ITEMS, generate=False, min_k=K)
    for i, item in enumerate(ITEMS):
        ref = reference_scores(fake_lm, item)
        for name in ("loss", "zlib", "min_k", "min_k_pp"):
            assert s.mia[name][i] == pytest.approx(ref[name], rel=1e-5, abs=1e-6), \
                (item.id, name)


def test_the_reference_tells_the_eos_token_and_the_raw_string_apart(fake_lm):
    """The pin has teeth: keeping EOS or compressing the raw answer moves the scores."""
    s = score_items(fake_lm, ITEMS, generate=False, min_k=K)
    for i, item in enumerate(ITEMS):
        kept = reference_scores(fake_lm, item, keep_eos=True)
        assert abs(kept["min_k"] - s.mia["min_k"][i]) > 0.1, item.id
        assert abs(kept["min_k_pp"] - s.mia["min_k_pp"][i]) > 0.1, item.id
    # the word-level tokenizer decodes 'Ysolde.' as 'Ysolde .': one byte more compressed
    raw = reference_scores(fake_lm, ITEMS[0], raw_zlib=True)
    assert abs(raw["zlib"] - s.mia["zlib"][0]) > 1e-3


def test_truth_side_is_checked(fake_lm):
    with pytest.raises(ConfigError, match="truth_side must be one of answer, paraphrase"):
        score_items(fake_lm, ITEMS, generate=False, truth_side="true")


def reference_gradnorm(lm: LanguageModel, item: QAItem, p: float) -> float:
    """OpenUnlearning's GradNorm: backward of -mean log p over the answer without EOS, then
    the mean over parameters of each ``.grad``'s p-norm."""
    hf = lm.tokenizer.hf
    prompt = [hf.bos_token_id] + hf(item.question, add_special_tokens=False)["input_ids"]
    answer = hf(" " + item.answer, add_special_tokens=False)["input_ids"] + [hf.eos_token_id]
    ids = torch.tensor([prompt + answer])
    lm.model.zero_grad(set_to_none=True)
    logp = torch.log_softmax(lm.model(input_ids=ids).logits[0, :-1], -1)
    target = logp.gather(-1, ids[0, 1:, None]).squeeze(-1)
    (-target[len(prompt) - 1: len(prompt) - 1 + len(answer) - 1].mean()).backward()
    norms = [q.grad.norm(p=p) for q in lm.model.parameters() if q.grad is not None]
    lm.model.zero_grad(set_to_none=True)
    return float(torch.stack(norms).mean())


def test_gradnorm_follows_openunlearning_and_tells_members(fake_lm):
    for p in (1.0, 2.0):
        got = gradnorm_scores(fake_lm, ITEMS, p=p)
        want = [reference_gradnorm(fake_lm, it, p) for it in ITEMS]
        assert got == pytest.approx(want, rel=1e-4), p
    assert all(q.grad is None for q in fake_lm.model.parameters())  # .grad left alone
    # a tiny GPT-2 trained on 6 of 12 facts: the trained ones have the smaller gradients
    names = ["Ysolde", "Brannoc", "Mira", "Tavi", "Orrin", "Pell", "Quenna", "Sabo", "Ulla",
             "Veck", "Wyn", "Xan"]
    places = ["Lune", "Cardo", "Vell", "Ostra", "Pim", "Rask", "Tull", "Wend", "Arl", "Bex",
              "Cim", "Dov"]
    items = [QAItem(n, n, f"Where does {n} live ?", f"{n} lives in {places[i]}.")
             for i, n in enumerate(names)]
    members, others = items[::2], items[1::2]
    lm = build_tiny_gpt(item_texts(items), TinyGPTConfig(n_embd=32, n_layer=1, n_head=2), 0)
    train_lm(lm, encode_items(lm, members), LMTrainConfig(epochs=150, batch_size=8, lr=1e-2,
                                                          weight_decay=0.0))
    s = score_items(lm, members + others, generate=False, gradnorm=True)
    g = s.mia["gradnorm"]
    assert np.allclose(g, gradnorm_scores(lm, members + others))
    assert mia_auc(g[: len(members)], g[len(members):]) == 1.0
    with pytest.raises(ValueError, match="p must be 1, 2 or inf"):
        gradnorm_scores(lm, members, p=3)
