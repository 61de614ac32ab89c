"""GradNorm membership scores for a causal LM: the norm of the answer loss's gradient with
respect to the parameters (Wang et al. 2024, "Pandora's white-box", arXiv 2402.17012), as
OpenUnlearning's ``mia_gradnorm`` computes it.

Per item, one sequence at a time: the loss is the mean negative log-probability of the answer
tokens without EOS (the tokens Min-k% scores), its gradient is taken with respect to every
parameter, and the score is the mean over parameter tensors of each tensor's p-norm (p = 2, the
value of OpenUnlearning's TOFU and MUSE configs), not one norm over all parameters. A trained
item sits near a minimum, so its gradient is small: higher is less member-like, the convention
of the other text attacks. One departure: the model runs in eval mode (OpenUnlearning switches
to train mode, which with dropout makes the score random); on a model without dropout, as the
built-in one, the two agree. Gradients come from ``torch.autograd.grad``, so the model's own
``.grad`` fields are left as they were.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from unlearn_core.text.facts import QAItem
from unlearn_core.text.lm import LanguageModel, encode_items, logits_of, threaded

GRADNORM_PS = (1.0, 2.0, float("inf"))


@threaded
def gradnorm_scores(lm: LanguageModel, items: Sequence[QAItem], p: float = 2.0) -> np.ndarray:
    """GradNorm score of each item (aligned with ``items``); 0 for an item with no answer
    token before EOS (OpenUnlearning's empty-score value)."""
    if float(p) not in GRADNORM_PS:
        raise ValueError(f"GradNorm's p must be 1, 2 or inf, not {p}")
    items = list(items)
    out = np.zeros(len(items))
    if not items:
        return out
    model = lm.model
    params = [q for q in model.parameters() if q.requires_grad]
    enc = encode_items(lm, items)
    was_training = model.training
    model.eval()
    try:
        for i in range(len(enc)):
            length = int(enc.attn[i].sum())
            ids = enc.ids[i: i + 1, :length]
            scored = torch.nonzero(enc.target[i, 1:length]).flatten()[:-1]  # EOS left out
            if not len(scored):
                continue
            logp = F.log_softmax(logits_of(model, ids, torch.ones_like(ids))[0, :-1].float(), -1)
            gold = ids[0, 1:]
            loss = -logp[scored, gold[scored]].mean()
            grads = torch.autograd.grad(loss, params, allow_unused=True)
            norms = [torch.linalg.vector_norm(g.detach().float(), ord=float(p))
                     for g in grads if g is not None]
            out[i] = float(torch.stack(norms).mean()) if norms else 0.0
    finally:
        model.train(was_training)
    return out
