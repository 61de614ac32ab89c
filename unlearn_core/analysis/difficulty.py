"""How hard a forget set is to unlearn, measured on the baseline before any method runs.

Zhao et al., "What makes unlearning hard and what to do about it", NeurIPS 2024, name two
properties of a forget set that predict how well approximate methods do on it:

- **Entanglement** of the forget and retain sets in the model's embedding space: the
  entanglement score (ES, their Eq. 2) is the within-set spread of the two sets' embeddings
  over the squared distance of their centroids,

      ES = (mean_r ||phi(x) - mu_r||^2 + mean_f ||phi(x) - mu_f||^2) / ||mu_r - mu_f||^2,

  on the original model's penultimate embeddings. A whole class (its own cluster) has a low ES;
  a random sample of the training set sits on the retain centroid and has a very high one. The
  higher, the harder: every method they test loses forgetting quality or utility as ES grows.
- **Memorisation** of the forget samples (Feldman, STOC 2020; Feldman & Zhang, NeurIPS 2020:
  the accuracy on a sample when trained with it minus without it). Leave-one-out retraining is
  out of reach here, so this module uses a proxy computable from the baseline alone, in the
  spirit of the C-score proxies (Jiang et al., ICLR 2021) that Zhao et al. validate as cheap
  stand-ins: the baseline's confidence in the sample's label (accuracy *with* it) minus the
  kernel-density C-score proxy of Jiang et al. (the share of the sample's k nearest training
  neighbours in the baseline's embedding space that carry its label; an estimate of the accuracy
  *without* it). A typical sample scores near 0; a mislabeled or atypical sample the model has
  fitted anyway scores near 1.

The recommendations follow their findings (Sec. 5 and RUM, Sec. 6): methods that rely on
catastrophic forgetting (fine-tuning on retain, l1-sparse) serve sets of low memorisation, where
the retrained model still predicts the samples right; sets of high memorisation need methods that
act on the forget samples themselves (NegGrad+, SalUn, random labels); a mixed set is best split
by memorisation and unlearned in order (RUM); high entanglement makes every method harder, so the
retain-side utility must be checked closely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from torch import nn

from unlearn_core.data import Dataset, Splits
from unlearn_core.data.forget import ForgetSet
from unlearn_core.errors import ConfigError
from unlearn_core.models import embed, predict_proba

# plain-language levels: ES relative to that of a random training sample of the same size
ES_LOW, ES_HIGH = 0.1, 0.5
MEM_LOW, MEM_HIGH = 0.1, 0.3  # mean memorisation proxy (0: typical, 1: fitted against neighbours)
REFERENCE_DRAWS = 3
MAX_RETAIN = 5000  # retain embeddings used for ES (seeded subsample of larger sets)


@dataclass
class Difficulty:
    """The difficulty of one forget set against its retain set, on one baseline."""

    entanglement: float  # ES of the forget set against retain (Zhao et al. 2024)
    entanglement_random: float  # median ES of seeded random training samples of the same size
    memorisation: np.ndarray  # per forget sample: confidence - neighbour consistency
    confidence: np.ndarray  # per forget sample: baseline probability of its label
    consistency: np.ndarray  # per forget sample: share of its k neighbours with its label
    memorisation_retain: float  # mean proxy on a seeded sample of retain samples
    forget_ids: np.ndarray
    k: int
    suggestions: list[str] = field(default_factory=list)

    @property
    def entanglement_ratio(self) -> float:
        """ES over that of a random sample of the same size: ~1 = as entangled as random."""
        return float(self.entanglement / self.entanglement_random) \
            if self.entanglement_random > 0 else float("nan")

    @property
    def memorisation_mean(self) -> float:
        return float(np.mean(self.memorisation)) if len(self.memorisation) else float("nan")

    @property
    def high_memorisation_share(self) -> float:
        """Share of forget samples whose proxy exceeds 0.5 (fitted against their neighbours)."""
        return float(np.mean(self.memorisation > 0.5)) if len(self.memorisation) else 0.0

    @property
    def entanglement_level(self) -> str:
        r = self.entanglement_ratio
        return "low" if r < ES_LOW else "high" if r > ES_HIGH else "medium"

    @property
    def memorisation_level(self) -> str:
        m = self.memorisation_mean
        return "low" if m < MEM_LOW else "high" if m > MEM_HIGH else "medium"

    def reading(self) -> str:
        """What the two figures mean for this set, in plain words."""
        ent = {"low": "well separated from what is kept (like a whole class): forgetting it "
                      "need not disturb the retained samples",
               "medium": "partly mixed with what is kept",
               "high": "mixed in with what is kept, about as much as a random sample: the "
                       "model cannot move it without moving retained neighbours"}
        mem = {"low": "mostly typical samples the model would predict right even without them "
                      "(a retrained model will too)",
               "medium": "partly memorised",
               "high": "largely memorised: the model fits labels its neighbours do not share "
                       "(mislabeled or atypical samples), which only training on them explains"}
        return (f"This set is {ent[self.entanglement_level]}; its samples are "
                f"{mem[self.memorisation_level]}. Zhao et al. (NeurIPS 2024) find unlearning "
                "harder the more entangled and the more memorised a forget set is.")


def _neighbour_consistency(emb_q: np.ndarray, y_q: np.ndarray, emb_ref: np.ndarray,
                           y_ref: np.ndarray, self_pos: np.ndarray, k: int) -> np.ndarray:
    """Share of each query's k nearest reference points (itself excluded) with its label."""
    out = np.empty(len(emb_q))
    ref_sq = (emb_ref ** 2).sum(1)
    for s in range(0, len(emb_q), 512):
        q = emb_q[s:s + 512]
        d = (q ** 2).sum(1)[:, None] + ref_sq[None, :] - 2 * q @ emb_ref.T
        rows = np.arange(len(q))
        own = self_pos[s:s + 512]
        d[rows[own >= 0], own[own >= 0]] = np.inf  # leave the sample itself out
        nn_idx = np.argpartition(d, k, axis=1)[:, :k]
        out[s:s + 512] = (y_ref[nn_idx] == y_q[s:s + 512, None]).mean(1)
    return out


def entanglement_score(emb_forget: np.ndarray, emb_retain: np.ndarray) -> float:
    """ES of Zhao et al. 2024 (Eq. 2): within-set spread over squared centroid distance."""
    mu_f, mu_r = emb_forget.mean(0), emb_retain.mean(0)
    spread = ((emb_retain - mu_r) ** 2).sum(1).mean() + ((emb_forget - mu_f) ** 2).sum(1).mean()
    gap = float(((mu_r - mu_f) ** 2).sum())
    return float(spread / gap) if gap > 0 else float("inf")


def _suggest(d: Difficulty, class_level: bool) -> list[str]:
    """Methods that tend to serve such a set (Zhao et al. 2024, Sec. 5-6)."""
    out = []
    if class_level:
        out.append("A whole class: class-level methods apply too (lrp_path, unsir, "
                   "boundary_shrink), beside the general ones.")
    level = d.memorisation_level
    if level == "low":
        out.append("Low memorisation: fine-tuning on retain (finetune, l1_sparse) tends to "
                   "suffice; methods that push the forget samples to wrong labels "
                   "(random_label, salun) risk over-forgetting samples a retrained model still "
                   "gets right.")
    elif level == "high":
        out.append("High memorisation: fine-tuning alone tends to leave memorised samples in; "
                   "methods that act on the forget samples (neggrad_plus, salun, random_label) "
                   "do better on such sets.")
    else:
        out.append("Mixed memorisation: RUM splits the set by memorisation and unlearns the "
                   "low-memorised part with a fine-tuning method, then the highly memorised "
                   "part with neggrad_plus; at least compare both kinds of method.")
    if d.entanglement_level == "high":
        out.append("High entanglement: every method finds this harder; prefer methods with a "
                   "retain term (neggrad_plus, scrub) and watch retain and test accuracy.")
    return out


def train_embeddings(model: nn.Module, dataset: Dataset, splits: Splits) -> np.ndarray:
    """The baseline's penultimate embeddings of the training split (float64), in split order:
    computed once per baseline and reused for every forget set."""
    return embed(model, dataset.X[np.asarray(splits.train)]).astype(np.float64)


def forget_difficulty(model: nn.Module, dataset: Dataset, splits: Splits, forget: ForgetSet,
                      seed: int = 0, k: int = 10,
                      embeddings: Optional[np.ndarray] = None) -> Difficulty:
    """Entanglement and memorisation of ``forget`` on ``model`` (the baseline), seeded.
    ``embeddings``: ``train_embeddings`` of this model, when already computed."""
    if len(forget.forget) == 0:
        raise ConfigError("the forget set is empty: nothing to measure")
    if len(forget.retain) == 0:
        raise ConfigError("the retain set is empty: entanglement needs retained samples")
    rng = np.random.default_rng(seed)
    train = np.asarray(splits.train)
    emb_train = train_embeddings(model, dataset, splits) if embeddings is None else embeddings
    if len(emb_train) != len(train):
        raise ConfigError("the embeddings given are not those of this training split")
    y_train = dataset.y[train]
    where = {int(p): i for i, p in enumerate(train)}
    f_idx = np.array([where[int(p)] for p in forget.forget])
    r_mask = np.ones(len(train), bool)
    r_mask[f_idx] = False
    r_idx = np.flatnonzero(r_mask)
    r_sub = r_idx if len(r_idx) <= MAX_RETAIN else np.sort(rng.choice(r_idx, MAX_RETAIN, False))
    es = entanglement_score(emb_train[f_idx], emb_train[r_sub])
    n_f = len(f_idx)
    ref = []
    if n_f < len(train):
        for _ in range(REFERENCE_DRAWS):
            pick = rng.choice(len(train), n_f, replace=False)
            rest = np.ones(len(train), bool)
            rest[pick] = False
            rest_idx = np.flatnonzero(rest)
            if len(rest_idx) > MAX_RETAIN:
                rest_idx = rng.choice(rest_idx, MAX_RETAIN, replace=False)
            ref.append(entanglement_score(emb_train[pick], emb_train[rest_idx]))
    es_random = float(np.median(ref)) if ref else float("nan")
    k = max(1, min(k, len(train) - 1))

    def proxy(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = train[idx]
        conf = predict_proba(model, dataset.X[pos])[np.arange(len(idx)), dataset.y[pos]]
        cons = _neighbour_consistency(emb_train[idx], y_train[idx], emb_train, y_train, idx, k)
        return conf - cons, conf, cons

    mem, conf, cons = proxy(f_idx)
    r_sample = r_idx if len(r_idx) <= 500 else rng.choice(r_idx, 500, replace=False)
    mem_r = float(np.mean(proxy(r_sample)[0])) if len(r_sample) else float("nan")
    d = Difficulty(entanglement=es, entanglement_random=es_random, memorisation=mem,
                   confidence=conf, consistency=cons, memorisation_retain=mem_r,
                   forget_ids=dataset.ids[forget.forget], k=k)
    d.suggestions = _suggest(d, forget.is_class_level)
    return d
