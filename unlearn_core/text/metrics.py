"""Text unlearning metrics with per-sample values, after OpenUnlearning's definitions
(``locuslab/open-unlearning``: ``src/evals/metrics/memorization.py``, ``privacy.py``,
``utility.py``, ``mia/*.py``) and the papers they implement:

- truth ratio and forget quality (KS test against the retrained model) and model utility
  (harmonic mean) from TOFU (Maini et al., arXiv 2401.06121);
- exact memorisation (Tirumala et al., NeurIPS 2022) and extraction strength (Carlini et al.,
  USENIX Security 2021), teacher-forced;
- ROUGE-L recall and exact match of greedy completions;
- membership attacks LOSS, zlib (Carlini et al. 2021), Min-k% (Shi et al., arXiv 2310.16789)
  and Min-k%++ (Zhang et al., arXiv 2404.02936), their AUC, and PrivLeak (MUSE, Shi et al.,
  arXiv 2407.06460); GradNorm (``text/gradnorm.py``) and the reference-model attack
  (``text/reference_mia.py``) on request. As OpenUnlearning computes them: LOSS over the
  answer tokens and EOS, Min-k% and Min-k%++ over the answer tokens without EOS, zlib over
  the decoded answer tokens.

Every score is higher-is-less-member-like for the attacks (OpenUnlearning's convention), and
every array is aligned with the item ids it comes with.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
from scipy import stats

from unlearn_core.errors import ConfigError
from unlearn_core.text.facts import QAItem
from unlearn_core.text.gradnorm import gradnorm_scores
from unlearn_core.text.lm import (
    Encoded,
    LanguageModel,
    TextTokenizer,
    TokenScores,
    encode_items,
    encode_pairs,
    greedy_complete,
    token_scores,
)
from unlearn_core.text.reference_mia import reference_scores

MIA_NAMES = ("loss", "zlib", "min_k", "min_k_pp")
TRUTH_SIDES = ("answer", "paraphrase")  # the truth ratio's "true" side: trained answer, TOFU's
_WORD = re.compile(r"\w+")
_ROUGE_TOKEN = re.compile(r"[a-z0-9]+")  # rouge_score's tokenizer: ASCII letters and digits


def words(text: str) -> list[str]:
    """Lower-cased word tokens (the unit of ROUGE-L and exact match here)."""
    return _WORD.findall(text.lower())


def rouge_l_recall(gold: str, generated: str) -> float:
    """LCS(gold, generated) / |gold| over lower-cased words as ``rouge_score`` splits them
    (runs of a-z and 0-9; any other character, accented letters included, separates), its
    rougeL recall without its Porter stemmer, which changes nothing on the built-in facts."""
    g, h = _ROUGE_TOKEN.findall(gold.lower()), _ROUGE_TOKEN.findall(generated.lower())
    if not g:
        return 0.0
    prev = [0] * (len(h) + 1)
    for a in g:
        cur = [0]
        for j, b in enumerate(h, 1):
            cur.append(prev[j - 1] + 1 if a == b else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1] / len(g)


def extraction_strength(correct: np.ndarray) -> float:
    """1 - k/|y| with k the smallest index from which every teacher-forced argmax is right;
    when even the last token is wrong k = |y| - 1 (OpenUnlearning's loop), so the floor is
    1/|y|."""
    n = len(correct)
    if n == 0:
        return 0.0
    k = n - 1
    for i in range(n):
        if correct[i:].all():
            k = i
            break
    return 1.0 - k / n


def min_k_score(values: np.ndarray, k: float) -> float:
    """-mean of the lowest max(1, floor(k T)) values (Min-k% on log-probs, Min-k%++ on z)."""
    if len(values) == 0:
        return 0.0
    m = max(1, int(np.floor(k * len(values))))
    return float(-np.sort(values)[:m].mean())


@dataclass
class SetScores:
    """Per-sample values of one model on one set of items (arrays aligned with ``ids``)."""

    ids: list[str]
    mean_nll: np.ndarray
    prob: np.ndarray
    truth_ratio: np.ndarray
    exact_memorization: np.ndarray
    extraction_strength: np.ndarray
    answer_correct: np.ndarray
    exact_match: np.ndarray
    rouge_l: np.ndarray
    completions: list[str]
    option_prob: np.ndarray = field(default_factory=lambda: np.zeros(0))
    mia: dict[str, np.ndarray] = field(default_factory=dict)
    token_logprobs: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def mean(self, name: str) -> float:
        values = getattr(self, name)
        values = values[~np.isnan(values)] if values.dtype.kind == "f" else values
        return float(np.mean(values)) if len(values) else float("nan")

    def truth_closer_to_1(self) -> float:
        """Forget aggregate of the truth ratio: mean min(TR, 1/TR) (1 = true and false alike)."""
        tr = self.truth_ratio[~np.isnan(self.truth_ratio)]
        return float(np.mean(np.minimum(tr, 1 / np.maximum(tr, 1e-12)))) if len(tr) else np.nan

    def truth_true_better(self) -> float:
        """Retain aggregate of the truth ratio: mean max(0, 1 - TR)."""
        tr = self.truth_ratio[~np.isnan(self.truth_ratio)]
        return float(np.mean(np.maximum(0.0, 1 - tr))) if len(tr) else np.nan

    def normalised_prob(self) -> float:
        """Mean of ``option_prob``: p_true / (p_true + sum p_wrong), the option-normalised
        probability TOFU uses for real authors and world facts."""
        vals = self.option_prob[~np.isnan(self.option_prob)]
        return float(np.mean(vals)) if len(vals) else float("nan")


def score_items(lm: LanguageModel, items: Sequence[QAItem], generate: bool = True,
                max_new_tokens: Optional[int] = None, min_k: float = 0.4,
                truth_side: str = "answer", gradnorm: bool = False,
                reference: Optional[LanguageModel] = None) -> SetScores:
    """Every per-sample metric of ``lm`` on ``items``. ``truth_side`` is the true side of the
    truth ratio: ``answer`` (default; the trained phrasing) or ``paraphrase`` (TOFU's; the
    answer where an item has none). ``gradnorm`` adds the GradNorm attack's scores to ``mia``
    (one backward pass per item, so not by default); ``reference``, a model that never saw the
    items (a retrain), adds the reference attack's (``text/reference_mia.py``)."""
    items = list(items)
    ids = [it.id for it in items]
    if not items:
        empty = np.zeros(0)
        return SetScores(ids, empty, empty, empty, empty, empty, empty, empty, empty, [],
                         empty, {k: empty for k in MIA_NAMES})
    if truth_side not in TRUTH_SIDES:
        raise ConfigError(f"truth_side must be one of {', '.join(TRUTH_SIDES)}, not "
                          f"'{truth_side}'")
    enc = encode_items(lm, items, "answer")
    ts = token_scores(lm.model, enc)
    nll = ts.mean_nll()
    lp_rows, em, es, mia = _per_row(ts, enc, lm.tokenizer, nll, min_k)
    if gradnorm:
        mia["gradnorm"] = gradnorm_scores(lm, items)
    if reference is not None:
        mia["reference"] = reference_scores(lm, reference, items)

    # Truth ratio: geometric mean of the perturbed answers' length-normalised probabilities
    # over the true answer's (OpenUnlearning's ``truth_ratio``), NaN without perturbed answers.
    true_nll = nll if truth_side == "answer" else token_scores(
        lm.model, encode_items(lm, items, "paraphrase")).mean_nll()
    pairs = [(i, p) for i, it in enumerate(items) for p in it.perturbed_answers]
    tr = np.full(len(items), np.nan)
    norm_prob = np.full(len(items), np.nan)
    if pairs:
        pe = encode_pairs(lm.tokenizer, [items[i].question for i, _ in pairs],
                          [p for _, p in pairs], [items[i].id for i, _ in pairs],
                          lm.max_positions)
        pnll = token_scores(lm.model, pe).mean_nll()
        owner = np.array([i for i, _ in pairs])
        for i in range(len(items)):
            sel = pnll[owner == i]
            if len(sel):
                tr[i] = np.exp(-sel.mean()) / (np.exp(-true_nll[i]) + 1e-10)
                p_true = np.exp(-nll[i])
                norm_prob[i] = p_true / (p_true + np.exp(-sel).sum() + 1e-10)

    if generate:
        longest = max(len(lm.tokenizer.continuation(it.answer)) for it in items)
        comps = greedy_complete(lm, [it.question for it in items],
                                max_new_tokens or longest + 2)
    else:
        comps = [""] * len(items)
    rouge = np.array([rouge_l_recall(it.answer, c) for it, c in zip(items, comps)])
    exact = np.array([words(it.answer) == words(c) for it, c in zip(items, comps)], float)
    correct = np.array([answer_correct(it, c) for it, c in zip(items, comps)], float)
    return SetScores(ids, nll, np.exp(-nll), tr, em, es, correct, exact, rouge, comps,
                     norm_prob, mia, lp_rows)


def answer_correct(item: QAItem, completion: str) -> bool:
    """The fact's value appears among the completion's words (the whole answer when the item
    has no separate value, as for user data)."""
    if item.value:
        return all(w in words(completion) for w in words(item.value))
    return words(item.answer) == words(completion)


def scored_text(tok: TextTokenizer, token_ids: Sequence[int]) -> str:
    """The scored tokens (answer and EOS) decoded with special tokens skipped and nothing
    else tidied: the text OpenUnlearning's zlib attack compresses (``'Ysolde .'`` from a
    word-level tokenizer, where the raw answer reads ``'Ysolde.'``)."""
    return tok.hf.decode([int(t) for t in token_ids], skip_special_tokens=True)


def zlib_score(mean_nll: float, text: str) -> float:
    """zlib attack (Carlini et al. 2021): mean answer NLL over the zlib-compressed length of
    ``text`` in bytes."""
    return float(mean_nll / len(zlib.compress(text.encode("utf-8"))))


def _per_row(ts: TokenScores, enc: Encoded, tok: TextTokenizer, nll: np.ndarray, k: float):
    """Per-item log-probs, memorisation and the four attacks' scores. LOSS (and the zlib
    numerator) average over answer and EOS; exact memorisation, extraction strength, Min-k%
    and Min-k%++ leave the last scored token (EOS) out, as OpenUnlearning's
    ``tokenwise_logprobs`` does (``[:-1]`` over the labelled positions)."""
    n = len(enc)
    lp_rows, em, es = [], [], []
    mia = {name: np.zeros(n) for name in MIA_NAMES}
    gold = enc.ids[:, 1:].numpy()
    for i in range(n):
        m = ts.mask[i]
        lp = ts.logprob[i][m]
        ok = ts.correct[i][m][:-1]  # the last scored token is EOS: excluded, as OpenUnlearning
        lp_rows.append(lp)
        em.append(float(ok.mean()) if len(ok) else 0.0)
        es.append(extraction_strength(ok))
        z = (lp - ts.mu[i][m]) / np.sqrt(ts.sigma2[i][m])
        mia["loss"][i] = nll[i]
        mia["zlib"][i] = zlib_score(nll[i], scored_text(tok, gold[i][m]))
        mia["min_k"][i] = min_k_score(lp[:-1], k)
        mia["min_k_pp"][i] = min_k_score(z[:-1], k)
    return lp_rows, np.array(em), np.array(es), mia


def mia_auc(member_scores: np.ndarray, nonmember_scores: np.ndarray) -> float:
    """ROC AUC with (supposed) members labelled 0 and non-members 1, on scores where higher
    means less member-like (OpenUnlearning's ``mia_auc``): 1 = members look like members,
    0.5 = indistinguishable. Ties count one half (Mann-Whitney)."""
    a, b = np.asarray(member_scores, float), np.asarray(nonmember_scores, float)
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    ranks = stats.rankdata(np.concatenate([a, b]))
    u = ranks[len(a):].sum() - len(b) * (len(b) + 1) / 2
    return float(u / (len(a) * len(b)))


def privleak(auc_unlearned: float, auc_retrain: float) -> float:
    """MUSE's PrivLeak: [(1 - AUC_u) - (1 - AUC_ret)] / (1 - AUC_ret) x 100; 0 is ideal, a model
    that still remembers goes towards -100."""
    return float(((1 - auc_unlearned) - (1 - auc_retrain)) / (1 - auc_retrain + 1e-10) * 100)


def forget_quality(truth_ratio: np.ndarray, reference_truth_ratio: np.ndarray) -> float:
    """p-value of the two-sample KS test between the audited model's per-question truth ratios
    on the forget set and the retrained model's (TOFU). High = cannot be told from retrain."""
    a = truth_ratio[~np.isnan(truth_ratio)]
    b = reference_truth_ratio[~np.isnan(reference_truth_ratio)]
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    return float(stats.ks_2samp(a, b).pvalue)


def model_utility(retain: SetScores, world: Optional[SetScores] = None) -> float:
    """Harmonic mean of retain {probability, ROUGE-L recall, truth ratio true-better} and,
    when there are world facts, world {normalised probability, ROUGE-L, true-better} (TOFU's
    model utility with world facts in the role of real authors and world facts); one zero
    makes it zero."""
    parts = [retain.mean("prob"), retain.mean("rouge_l"), retain.truth_true_better()]
    if world is not None and len(world):
        parts += [world.normalised_prob(), world.mean("rouge_l"), world.truth_true_better()]
    parts = [p for p in parts if not np.isnan(p)]
    if not parts:
        return float("nan")
    if min(parts) <= 0:
        return 0.0
    return float(stats.hmean(parts))


OPEN_UNLEARNING = "OpenUnlearning (locuslab/open-unlearning)"


def metric_definitions(truth_side: str = "answer", min_k: float = 0.4) -> list[dict]:
    """Which definition each reported metric follows, one entry per metric: ``metric``,
    ``definition`` (as computed here) and ``follows`` (the implementation and paper it matches).
    The text report records and shows them; ``truth_side`` is the truth ratio's true side."""
    true = ("the trained answer (this tool's default: a model trained from scratch on one "
            "phrasing does not carry a fact to another; TOFU's is --truth-ratio paraphrase)"
            if truth_side == "answer" else "TOFU's paraphrased answer (the answer where an "
            "item has none)")
    ou = OPEN_UNLEARNING
    rows = [
        ("answer probability", "exp(-mean NLL) over the answer tokens and EOS",
         f"{ou} probability; TOFU"),
        ("truth ratio", "geometric mean of the perturbed answers' length-normalised "
         f"probabilities over the true side's; true side: {true}",
         f"{ou} truth_ratio; TOFU (Maini et al., arXiv 2401.06121)"),
        ("forget quality", "two-sample KS p-value of the forget set's truth ratios against "
         "the reference retrains' (pooled over the retrain seeds)",
         f"{ou} forget_quality (ks_test); TOFU"),
        ("model utility", "harmonic mean of retain {probability, ROUGE-L recall, truth ratio "
         "true-better} and, with world facts, world {normalised probability, ROUGE-L, "
         "true-better}", f"{ou} model_utility (hm_aggregate); TOFU"),
        ("ROUGE-L", "LCS recall over lower-cased words of the greedy completion (no stemmer)",
         f"{ou} rouge (rougeL_recall)"),
        ("exact memorisation", "share of teacher-forced argmax tokens right, answer tokens "
         "without EOS", f"{ou} exact_memorization; Tirumala et al. 2022"),
        ("extraction strength", "1 - k/|y|, k the first answer token (without EOS) from which "
         "every teacher-forced argmax is right", f"{ou} extraction_strength; Carlini et al. "
         "2021"),
        ("LOSS attack", "mean NLL over the answer tokens and EOS", f"{ou} mia_loss"),
        ("zlib attack", "mean NLL over the answer tokens and EOS, divided by the zlib length "
         "of the decoded scored tokens (special tokens skipped)",
         f"{ou} mia_zlib; Carlini et al. 2021"),
        ("Min-k% attack", f"-mean of the lowest {min_k:.0%} token log-probabilities, answer "
         "tokens without EOS", f"{ou} mia_min_k; Shi et al., arXiv 2310.16789"),
        ("Min-k%++ attack", f"-mean of the lowest {min_k:.0%} standardised token "
         "log-probabilities (z against the vocabulary's mean and variance), answer tokens "
         "without EOS", f"{ou} mia_min_k_plus_plus; Zhang et al., arXiv 2404.02936"),
        ("attack AUC", "ROC AUC of forget (members) against never-trained items "
         "(non-members), higher score = less member-like; ties count one half",
         f"{ou} mia_auc"),
        ("PrivLeak", "[(1 - AUC) - (1 - AUC_retrain)] / (1 - AUC_retrain) x 100 on the Min-k% "
         "AUC, AUC_retrain the mean over the reference retrains",
         f"{ou} privleak; MUSE (Shi et al., arXiv 2407.06460)"),
    ]
    return [{"metric": m, "definition": d, "follows": f} for m, d, f in rows]


def answer_token_losses(lm: LanguageModel, item: QAItem) -> list[tuple[str, float]]:
    """(token text, NLL) for each scored token of the item's answer (EOS shown as ``</s>``):
    the text analogue of a relevance map, coloured before / after / retrain in the app."""
    enc = encode_items(lm, [item])
    ts = token_scores(lm.model, enc)
    gold = enc.ids[0, 1:].numpy()[ts.mask[0]].tolist()
    tok = lm.tokenizer
    names = ["</s>" if t == tok.eos_id else tok.hf.decode([t]).strip() for t in gold]
    return list(zip(names, (-ts.logprob[0][ts.mask[0]]).tolist()))
