"""The reference-model membership attack for a causal LM: the target's answer loss minus a
reference model's loss on the same tokens (the reference-based likelihood ratio of Carlini et
al. 2022, "Membership inference attacks from first principles", arXiv 2112.03570, and
Mireshghallah et al. 2022, "Quantifying privacy risks of masked language models using
membership inference attacks", arXiv 2203.03929), as OpenUnlearning's ``mia_reference``
computes it (``ReferenceAttack``: ``target avg_loss - reference avg_loss``).

The loss is the LOSS attack's: the mean negative log-probability of the answer tokens and EOS,
teacher-forced, both models scoring the same token ids (the target's encoding). Subtracting the
reference's loss takes out how hard an answer is in itself, so what is left is what the target
learned about that item beyond a model that never saw it (OpenUnlearning uses a model trained on
the retain set; a retrain from scratch plays that part here). Higher is less member-like, the
convention of the other text attacks. The reference must read the same vocabulary.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from unlearn_core.errors import ModelError
from unlearn_core.text.facts import QAItem
from unlearn_core.text.lm import LanguageModel, encode_items, token_scores


def check_same_vocabulary(target: LanguageModel, reference: LanguageModel) -> None:
    """Refuse a reference model whose tokenizer maps text to other ids than the target's: its
    losses on the target's token ids would be of other words."""
    if target.tokenizer is reference.tokenizer:
        return
    a, b = target.tokenizer.hf.get_vocab(), reference.tokenizer.hf.get_vocab()
    if a != b or target.tokenizer.eos_id != reference.tokenizer.eos_id:
        raise ModelError(f"the reference model ({reference.source}) has another vocabulary "
                         f"than the target ({len(b)} against {len(a)} tokens, or other ids): "
                         "the reference attack needs a model with the same tokenizer")


def reference_scores(target: LanguageModel, reference: LanguageModel,
                     items: Sequence[QAItem]) -> np.ndarray:
    """Per item (aligned with ``items``): the target's mean answer-token NLL minus the
    reference's on the same tokens. Negative where the target knows the answer better than a
    model that never saw it."""
    items = list(items)
    if not items:
        return np.zeros(0)
    check_same_vocabulary(target, reference)
    enc = encode_items(target, items, "answer")
    return token_scores(target.model, enc).mean_nll() - token_scores(reference.model,
                                                                     enc).mean_nll()


__all__ = ["check_same_vocabulary", "reference_scores"]
