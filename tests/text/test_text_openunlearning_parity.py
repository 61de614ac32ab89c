"""Every other text metric shared with OpenUnlearning, pinned per sample against an independent
computation in OpenUnlearning's layout (``locuslab/open-unlearning``:
``src/evals/metrics/memorization.py``, ``utils.py``, ``utility.py``, ``privacy.py``): answer
probability, option-normalised probability, exact memorisation, extraction strength, the truth
ratio on both true sides with both aggregates, ROUGE-L recall of the greedy answer, forget
quality (KS test) and model utility (harmonic mean). The Min-k%, Min-k%++, zlib, LOSS and
GradNorm attacks are pinned in ``test_text_mia_definitions.py``.

The model is a hand-made causal LM with fixed logits: a seeded bigram table plus a
per-position table, with a few planted bigrams (+25) so that some answers are partly or wholly
the argmax, greedy answers differ per question, and some generations stop at EOS while others
run to the token cap. The reference shares no code with ``text/metrics.py`` or ``text/lm.py``
beyond the tokenizer: ``labels`` = -100 over ``[BOS] question``, then the answer tokens and
EOS; ``evaluate_probability`` (cross-entropy summed over the labelled tokens over their
count); ``tokenwise_vocab_logprobs`` (labelled positions without the last, EOS, log-softmax
rows ``[start - 1: end]``); the truth ratio's geometric mean of the wrong answers'
length-normalised probabilities over the true side's plus 1e-10; ``rouge_score``'s rougeL
recall (lower case, ``[^a-z0-9]+`` as separators; no stemmer, as the project documents);
``ks_2samp`` (checked against an exact permutation count); ``scipy.stats.hmean``'s formula.

Agreement is to 1e-4 per sample; the truth ratio, unbounded (up to ~1e3 here), is compared to
1e-4 absolute or 1e-5 relative, the float32 precision of the project's log-softmax."""

from __future__ import annotations

import itertools
import re
from functools import lru_cache
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from unlearn_core.text.facts import QAItem
from unlearn_core.text.lm import LanguageModel, TextTokenizer, build_tokenizer, item_texts
from unlearn_core.text.metrics import (
    forget_quality,
    model_utility,
    rouge_l_recall,
    score_items,
)


def _qa(ident: str, q: str, a: str, para: str = "", wrong: tuple[str, ...] = ()) -> QAItem:
    return QAItem(ident, ident, q, a, para, wrong)


# Questions end on distinct words, so a bigram model answers each differently.
ITEMS = [
    _qa("a", "Where was Ysolde born", "Ysolde was born in Lune.", "Lune is where Ysolde was born.",
        ("Ysolde was born in Cardo.", "Ysolde was born in Vell.", "Ysolde was born in Ostra.")),
    _qa("b", "What did Ysolde write", "Ysolde wrote The Long Winter of Rain.",
        "The Long Winter of Rain is by Ysolde.",
        ("Ysolde wrote The Short Summer of Ash.", "Ysolde wrote The Glass Harbour.",
         "Ysolde wrote Salt and Iron.")),
    _qa("c", "Which award did Brannoc win", "Brannoc won the Silver Quill, in 1987.",
        "In 1987 Brannoc received the Silver Quill.",
        ("Brannoc won the Iron Pen, in 1990.", "Brannoc won the Gold Leaf, in 1979.")),
    _qa("d", "Who is Mira", "Mira is a potter from the north coast of Lune.",
        "A potter from the north coast of Lune, that is Mira.",
        ("Mira is a baker from the south of Cardo.", "Mira is a tailor from Vell.",
         "Mira is a weaver from the north coast of Ostra.")),
    _qa("e", "What does Tavi do", "Tavi is a baker in Cardo.", "In Cardo Tavi bakes bread.",
        ("Tavi is a potter in Vell.", "Tavi is a miller in Lune.", "Tavi is a weaver in Pim.")),
    _qa("f", "When was Orrin born", "Orrin was born in 1961.", "The year Orrin was born is 1961.",
        ("Orrin was born in 1979.", "Orrin was born in 1990.")),
    _qa("g", "Whom did Pell marry", "Pell married Quenna."),  # no truth ratio: left out
]
WORLD = [
    _qa("w1", "Which country holds Lune", "Lune lies in Arland.", "Arland is home to Lune.",
        ("Lune lies in Bexmoor.", "Lune lies in Cimra.")),
    _qa("w2", "What tool does a potter use", "A potter uses a wheel.",
        "The wheel is the tool of a potter.", ("A potter uses a loom.", "A potter uses an oven.")),
    _qa("w3", "Which country holds Cardo", "Cardo lies in Bexmoor.", "Bexmoor is home to Cardo.",
        ("Cardo lies in Arland.", "Cardo lies in Dovland.")),
]
TRUTH = [it for it in ITEMS if it.perturbed_answers]


def _chain(text: str) -> list[tuple[str, str]]:
    words = text.split()
    return list(zip(words, words[1:]))


AUDITED = (_chain("born Ysolde was born") + _chain("write Ysolde wrote The Long Winter of Rain .")
           + _chain(". [EOS]") + _chain("Mira is a potter from the south")
           + _chain("win Brannoc won the Silver Quill") + _chain("do Tavi is a baker in Cardo")
           + _chain("Lune is where Ysolde") + _chain("In 1987 Brannoc received")
           + _chain("holds Lune lies in Arland") + _chain("use A potter uses a wheel")
           + _chain("marry Pell married Quenna"))  # g wholly the argmax
RETRAIN = _chain("born Ysolde was born in Cardo") + _chain("Mira is a baker from")


class PlantedBigram(nn.Module):
    """logits[b, t] = table[input_ids[b, t]] + position[t]: a seeded table (EOS made unlikely
    everywhere) plus planted next-token preferences."""

    def __init__(self, tok: TextTokenizer, seed: int, plants: list[tuple[str, str]],
                 width: int = 48) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        table = torch.randn(len(tok), len(tok), generator=g) * 2.0
        table[:, tok.eos_id] -= 12.0
        for a, b in plants:
            ia, ib = tok.hf.convert_tokens_to_ids(a), tok.hf.convert_tokens_to_ids(b)
            assert tok.hf.unk_token_id not in (ia, ib), (a, b)
            table[ia, ib] += 25.0
        self.table = nn.Parameter(table)
        self.position = nn.Parameter(torch.randn(width, len(tok), generator=g))
        self.config = SimpleNamespace(n_positions=width)

    def forward(self, input_ids, attention_mask=None, use_cache=False):
        return SimpleNamespace(logits=self.table[input_ids] + self.position[: input_ids.shape[1]])


@pytest.fixture(scope="module")
def models() -> tuple[LanguageModel, LanguageModel]:
    tok = TextTokenizer(build_tokenizer(item_texts(ITEMS + WORLD)))
    return (LanguageModel(PlantedBigram(tok, 7, AUDITED), tok, "planted"),
            LanguageModel(PlantedBigram(tok, 11, RETRAIN), tok, "planted retrain"))


# ------------------------------------------------------------------ the reference computation

def _layout(lm: LanguageModel, question: str, answer: str):
    """OpenUnlearning's QA layout: input_ids and labels (-100 over the prompt)."""
    hf = lm.tokenizer.hf
    prompt = [hf.bos_token_id] + hf(question, add_special_tokens=False)["input_ids"]
    target = hf(" " + answer, add_special_tokens=False)["input_ids"] + [hf.eos_token_id]
    return torch.tensor([prompt + target]), torch.tensor([[-100] * len(prompt) + target])


def ref_avg_loss(lm: LanguageModel, question: str, answer: str) -> float:
    """``evaluate_probability``'s avg_loss (its prob is exp(-avg_loss))."""
    input_ids, labels = _layout(lm, question, answer)
    with torch.no_grad():
        logits = lm.model(input_ids=input_ids).logits.double()
    losses = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(-1, -2), labels[:, 1:],
                                               ignore_index=-100, reduction="none").sum(-1)
    return float(losses[0] / (labels != -100).sum(-1)[0])


def ref_memorisation(lm: LanguageModel, item: QAItem, keep_eos: bool = False):
    """(exact memorisation, extraction strength) from ``tokenwise_vocab_logprobs``'s rows."""
    input_ids, labels = _layout(lm, item.question, item.answer)
    with torch.no_grad():
        log_probs = torch.log_softmax(lm.model(input_ids=input_ids).logits.double(), -1)[0, :-1]
    actual = (labels[0] != -100).nonzero(as_tuple=True)[0]
    if not keep_eos:
        actual = actual[:-1]  # "-1 to ignore eos prediction"
    start, end = int(actual[0]), int(actual[-1])
    preds = torch.argmax(log_probs[start - 1: end], dim=-1)
    gold = labels[0][actual]
    n = len(gold)
    em = float((preds == gold).sum() / n)
    for k in range(n):
        if torch.equal(preds[k:], gold[k:]):
            break
    return em, 1 - k / n


def ref_truth_ratio(lm: LanguageModel, item: QAItem, side: str, geometric: bool = True) -> float:
    true = (item.paraphrased_answer or item.answer) if side == "paraphrase" else item.answer
    correct = np.exp(-ref_avg_loss(lm, item.question, true))
    wrong = np.array([ref_avg_loss(lm, item.question, w) for w in item.perturbed_answers])
    wrong_prob = np.exp(-wrong.mean()) if geometric else np.exp(-wrong).mean()
    return float(wrong_prob / (correct + 1e-10))


def closer_to_1_better(tr: np.ndarray) -> float:
    return float(np.mean(np.minimum(tr, 1 / (tr + 1e-10))))


def true_better(tr: np.ndarray) -> float:
    return float(np.mean(np.maximum(0, 1 - tr)))


def ref_option_prob(lm: LanguageModel, item: QAItem, true: str = "") -> float:
    """``probability_w_options``: p_correct / (p_correct + sum p_wrong + 1e-10)."""
    correct = np.exp(-ref_avg_loss(lm, item.question, true or item.answer))
    wrong = sum(np.exp(-ref_avg_loss(lm, item.question, w)) for w in item.perturbed_answers)
    return float(correct / (correct + wrong + 1e-10))


def ref_greedy(lm: LanguageModel, question: str, max_new_tokens: int) -> str:
    """Greedy decoding, one full forward pass per token, cut at EOS, special tokens skipped."""
    hf = lm.tokenizer.hf
    ids = [hf.bos_token_id] + hf(question, add_special_tokens=False)["input_ids"]
    out: list[int] = []
    for _ in range(max_new_tokens):
        with torch.no_grad():
            nxt = int(lm.model(input_ids=torch.tensor([ids + out])).logits[0, -1].argmax())
        if nxt == hf.eos_token_id:
            break
        out.append(nxt)
    return hf.decode(out, skip_special_tokens=True).strip()


def _rouge_tokens(text: str) -> list[str]:
    """``rouge_score.tokenize`` without the stemmer."""
    return [t for t in re.sub(r"[^a-z0-9]+", " ", text.lower()).split() if t]


def ref_rouge_l_recall(gold: str, generated: str) -> float:
    g, h = tuple(_rouge_tokens(gold)), tuple(_rouge_tokens(generated))
    if not g or not h:
        return 0.0

    @lru_cache(maxsize=None)
    def lcs(i: int, j: int) -> int:
        if i == len(g) or j == len(h):
            return 0
        if g[i] == h[j]:
            return 1 + lcs(i + 1, j + 1)
        return max(lcs(i + 1, j), lcs(i, j + 1))

    return lcs(0, 0) / len(g)


def _cap(lm: LanguageModel, items: list[QAItem]) -> int:
    """The project's greedy budget: the longest scored answer (tokens and EOS) plus 2
    (OpenUnlearning's TOFU config allows 200; the same whenever the answer ends at EOS)."""
    hf = lm.tokenizer.hf
    return max(len(hf(" " + it.answer, add_special_tokens=False)["input_ids"]) + 1
               for it in items) + 2


def ref_rouge(lm: LanguageModel, items: list[QAItem]) -> list[float]:
    cap = _cap(lm, items)
    return [ref_rouge_l_recall(it.answer, ref_greedy(lm, it.question, cap)) for it in items]


def exact_ks_pvalue(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided two-sample KS p-value by counting every split of the pooled values (no ties):
    the share of splits whose KS distance reaches the observed one."""
    pooled = np.concatenate([a, b])
    grid = np.sort(pooled)

    def distance(x: np.ndarray, y: np.ndarray) -> float:
        fx = np.searchsorted(np.sort(x), grid, side="right") / len(x)
        fy = np.searchsorted(np.sort(y), grid, side="right") / len(y)
        return float(np.abs(fx - fy).max())

    observed = distance(a, b)
    hits = total = 0
    for first in itertools.combinations(range(len(pooled)), len(a)):
        mask = np.zeros(len(pooled), bool)
        mask[list(first)] = True
        total += 1
        hits += distance(pooled[mask], pooled[~mask]) >= observed - 1e-12
    return hits / total


def harmonic_mean(values: list[float]) -> float:
    """n / sum(1/v); 0 when a part is 0 (``scipy.stats.hmean``'s limit)."""
    return 0.0 if min(values) == 0 else len(values) / sum(1 / v for v in values)


# ------------------------------------------------------------------------------------ tests

def test_probability_follows_openunlearning(models):
    lm = models[0]
    s = score_items(lm, ITEMS, generate=False)
    want = [np.exp(-ref_avg_loss(lm, it.question, it.answer)) for it in ITEMS]
    assert s.prob == pytest.approx(want, abs=1e-4)
    assert s.mean_nll == pytest.approx([-np.log(p) for p in want], abs=1e-4)
    assert 0.05 < np.mean(want) < 0.95 and np.ptp(want) > 0.5  # neither all 0 nor all 1
    # the figure is that of the answer: the paraphrase's differs
    para = [np.exp(-ref_avg_loss(lm, it.question, it.paraphrased_answer)) for it in TRUTH]
    assert np.abs(np.array(para) - s.prob[: len(TRUTH)]).max() > 0.1


def test_option_normalised_probability_follows_openunlearning(models):
    lm = models[0]
    s = score_items(lm, ITEMS + WORLD, generate=False, truth_side="paraphrase")
    n = len(ITEMS)
    for i, it in enumerate(ITEMS + WORLD):
        if not it.perturbed_answers:
            assert np.isnan(s.option_prob[i]), it.id
            continue
        assert s.option_prob[i] == pytest.approx(ref_option_prob(lm, it), abs=1e-4), it.id
    world = [ref_option_prob(lm, it) for it in WORLD]
    assert s.normalised_prob() == pytest.approx(
        np.mean([ref_option_prob(lm, it) for it in TRUTH] + world), abs=1e-4)
    assert s.option_prob[n:] == pytest.approx(world, abs=1e-4)
    # the true option is the plain answer on either truth side: the paraphrase's differs
    para = [ref_option_prob(lm, it, it.paraphrased_answer) for it in WORLD]
    assert np.abs(np.array(para) - world).max() > 0.1


def test_exact_memorisation_and_extraction_strength_follow_openunlearning(models):
    lm = models[0]
    s = score_items(lm, ITEMS, generate=False)
    ref = [ref_memorisation(lm, it) for it in ITEMS]
    assert s.exact_memorization == pytest.approx([r[0] for r in ref], abs=1e-4)
    assert s.extraction_strength == pytest.approx([r[1] for r in ref], abs=1e-4)
    es = np.array([r[1] for r in ref])
    assert 1.0 in es and len(set(np.round(es, 6))) >= 4  # a full match, floors and partials
    # EOS is left out: counting it (right everywhere here, after the planted '.') moves both
    kept = [ref_memorisation(lm, it, keep_eos=True) for it in ITEMS]
    assert min(abs(k[0] - e) for k, e in zip(kept, s.exact_memorization)
               if e < 1) > 1e-3
    assert max(abs(k[1] - e) for k, e in zip(kept, s.extraction_strength)) > 0.02


@pytest.mark.parametrize("side", ["answer", "paraphrase"])
def test_truth_ratio_and_its_aggregates_follow_openunlearning(models, side):
    lm = models[0]
    s = score_items(lm, ITEMS, generate=False, truth_side=side)
    want = np.array([ref_truth_ratio(lm, it, side) for it in TRUTH])
    got = s.truth_ratio[: len(TRUTH)]
    assert got == pytest.approx(want, rel=1e-5, abs=1e-4)
    assert np.isnan(s.truth_ratio[len(TRUTH):]).all()  # no wrong answers: no truth ratio
    assert s.truth_closer_to_1() == pytest.approx(closer_to_1_better(want), abs=1e-4)
    assert s.truth_true_better() == pytest.approx(true_better(want), abs=1e-4)
    assert want.min() < 1 < want.max()  # both branches of min(TR, 1/TR) and max(0, 1 - TR)
    # the other true side, and an arithmetic mean of the wrong probabilities, differ
    other = np.array([ref_truth_ratio(lm, it, "answer" if side == "paraphrase" else
                                      "paraphrase") for it in TRUTH])
    assert np.abs(np.log(other / want)).max() > 1.0
    arith = np.array([ref_truth_ratio(lm, it, side, geometric=False) for it in TRUTH])
    assert np.abs(np.log(arith / want)).max() > 0.1
    assert abs(closer_to_1_better(want) - true_better(want)) > 1e-2


def test_rouge_l_recall_of_the_greedy_answer_follows_openunlearning(models):
    lm = models[0]
    s = score_items(lm, ITEMS + WORLD)
    want = ref_rouge(lm, ITEMS + WORLD)
    assert s.rouge_l == pytest.approx(want, abs=1e-4)
    assert 0 in want and 1 in want and any(0 < w < 1 for w in want)
    cap = _cap(lm, ITEMS + WORLD)
    assert [_rouge_tokens(c) for c in s.completions] == \
        [_rouge_tokens(ref_greedy(lm, it.question, cap)) for it in ITEMS + WORLD]
    # recall against the answer: against the paraphrase, or as F-measure, it differs
    para = [ref_rouge_l_recall(it.paraphrased_answer, c)
            for it, c in zip(TRUTH, s.completions)]
    assert np.abs(np.array(para) - s.rouge_l[: len(TRUTH)]).max() > 0.1
    gen_len = [len(_rouge_tokens(c)) for c in s.completions]
    gold_len = [len(_rouge_tokens(it.answer)) for it in ITEMS + WORLD]
    assert any(g != h and w > 0 for g, h, w in zip(gold_len, gen_len, want))


def test_rouge_l_recall_splits_words_as_rouge_score_does():
    """Beyond the fake LM's vocabulary: accents, underscores, digits, case, empty output."""
    pairs = [("Brannoc won the Silver Quill, in 1987.", "brannoc WON silver quill 1987 ."),
             ("São Paulo is in Brazil.", "Sao Paulo"), ("snake_case name", "snake case"),
             ("Zoë Öberg", "Zoe Oberg"), ("The Long Winter", ""), ("d c b a", "a b c d")]
    want = [ref_rouge_l_recall(g, h) for g, h in pairs]
    assert [rouge_l_recall(g, h) for g, h in pairs] == pytest.approx(want, abs=1e-4)
    assert want[:3] == pytest.approx([5 / 7, 1 / 6, 2 / 3])
    # splitting on \w+ (accented letters and '_' inside words) would give other figures
    assert ref_rouge_l_recall("São Paulo", "Sao Paulo") != pytest.approx(1 / 2)
    assert ref_rouge_l_recall("snake_case name", "snake case") != pytest.approx(0.0)


def test_forget_quality_is_the_ks_p_value_of_the_same_truth_ratios(models):
    audited, retrain = models
    s = score_items(audited, ITEMS, generate=False, truth_side="paraphrase")
    r = score_items(retrain, ITEMS, generate=False, truth_side="paraphrase")
    mine = np.array([ref_truth_ratio(audited, it, "paraphrase") for it in TRUTH])
    ref = np.array([ref_truth_ratio(retrain, it, "paraphrase") for it in TRUTH])
    assert r.truth_ratio[: len(TRUTH)] == pytest.approx(ref, rel=1e-5, abs=1e-4)
    p = stats.ks_2samp(mine, ref).pvalue  # OpenUnlearning's ks_test
    assert p == pytest.approx(exact_ks_pvalue(mine, ref), abs=1e-9)
    assert forget_quality(s.truth_ratio, r.truth_ratio) == pytest.approx(p, abs=1e-4)
    assert 1e-3 < p < 0.5
    # OpenUnlearning's 1/TR form gives the same p-value; another truth side does not
    assert stats.ks_2samp(1 / (mine + 1e-10), 1 / (ref + 1e-10)).pvalue == pytest.approx(p)
    other = np.array([ref_truth_ratio(audited, it, "answer") for it in TRUTH])
    assert abs(stats.ks_2samp(other, ref).pvalue - p) > 1e-2
    assert forget_quality(s.truth_ratio, s.truth_ratio) == pytest.approx(1.0)


def test_model_utility_is_the_harmonic_mean_of_openunlearnings_parts(models):
    """TOFU's model utility with world facts for real authors and world facts: retain
    {probability, ROUGE-L recall, truth ratio true-better on the paraphrase}, world
    {option-normalised probability, ROUGE-L recall, truth ratio true-better on the answer}."""
    lm = models[0]
    retain = score_items(lm, ITEMS, truth_side="paraphrase")
    world = score_items(lm, WORLD, truth_side="answer")
    parts = [np.mean([np.exp(-ref_avg_loss(lm, it.question, it.answer)) for it in ITEMS]),
             np.mean(ref_rouge(lm, ITEMS)),
             true_better(np.array([ref_truth_ratio(lm, it, "paraphrase") for it in TRUTH])),
             np.mean([ref_option_prob(lm, it) for it in WORLD]),
             np.mean(ref_rouge(lm, WORLD)),
             true_better(np.array([ref_truth_ratio(lm, it, "answer") for it in WORLD]))]
    assert min(parts) > 0.01  # no part zero: the harmonic mean itself is exercised
    want = harmonic_mean(parts)
    assert want == pytest.approx(stats.hmean(parts))
    assert model_utility(retain, world) == pytest.approx(want, abs=1e-4)
    assert model_utility(retain) == pytest.approx(harmonic_mean(parts[:3]), abs=1e-4)
    # the arithmetic mean, the retain parts alone, or world truth ratios on the paraphrase
    # (OpenUnlearning uses the plain answer there) give other figures
    assert abs(np.mean(parts) - want) > 1e-2
    assert abs(harmonic_mean(parts[:3]) - want) > 1e-2
    world_para = true_better(np.array([ref_truth_ratio(lm, it, "paraphrase") for it in WORLD]))
    assert abs(harmonic_mean(parts[:5] + [world_para]) - want) > 1e-2
    retain_answer = score_items(lm, ITEMS, truth_side="answer")
    assert abs(model_utility(retain_answer, world) - want) > 1e-3
