"""Embeddings of question/answer items under a causal LM, and their 2-D map (the text
analogue of the classifier forget page's embedding map): each item is the mean of the model's
last hidden states over its ``[BOS] question answer [EOS]`` tokens, projected with the
project's seeded PCA or t-SNE (``unlearn_core.analysis.embedding_map.project``)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from unlearn_core.analysis.embedding_map import project
from unlearn_core.text.facts import QAItem
from unlearn_core.text.lm import LanguageModel, encode_items, lm_threads


@torch.no_grad()
def item_embeddings(lm: LanguageModel, items: Sequence[QAItem], batch_size: int = 256
                    ) -> np.ndarray:
    """(n, width) mean last hidden state of each item's tokens (padding excluded)."""
    if not items:
        return np.zeros((0, 0))
    enc = encode_items(lm, list(items))
    model = lm.model
    was_training = model.training
    model.eval()
    parts = []
    with lm_threads():
        for start in range(0, len(enc), batch_size):
            ids = enc.ids[start: start + batch_size]
            attn = enc.attn[start: start + batch_size]
            out = model(input_ids=ids, attention_mask=attn, output_hidden_states=True,
                        use_cache=False)
            h = out.hidden_states[-1].float()
            m = attn.unsqueeze(-1).float()
            parts.append(((h * m).sum(1) / m.sum(1).clamp(min=1)).numpy())
    model.train(was_training)
    return np.concatenate(parts).astype(np.float64)


def item_map(lm: LanguageModel, items: Sequence[QAItem], method: str = "pca",
             seed: int = 0) -> np.ndarray:
    """(n, 2) coordinates of ``items`` on the model's embedding map."""
    emb = item_embeddings(lm, items)
    if len(emb) < 3:
        return np.zeros((len(emb), 2))
    return project(emb, method, seed)
