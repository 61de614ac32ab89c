"""SISA: sharded, isolated, sliced, aggregated training (Bourtoule et al., "Machine Unlearning",
IEEE S&P 2021). Each sample belongs to one shard and one slice, decided by its id alone; each
shard model trains slice by slice with a checkpoint after each. Deleting a sample retrains only
its shard, from the checkpoint before its slice. The result is exact: the same ensemble as SISA
trained without the deleted samples."""

from __future__ import annotations

import copy
import hashlib
import math
import time
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from unlearn_core.data.dataset import Samples
from unlearn_core.errors import MethodError
from unlearn_core.methods.base import UnlearningMethod, hparam
from unlearn_core.methods.registry import register
from unlearn_core.models.architectures import ModelSpec, build_model
from unlearn_core.models.training import TrainConfig, train_epochs


class SISAEnsemble(nn.Module):
    """Shard models voting by averaged probabilities; ``forward`` returns log mean softmax."""

    def __init__(self, shards: list[nn.Module]) -> None:
        super().__init__()
        self.shards = nn.ModuleList(shards)
        self.retrained_samples = 0
        self.retrain_seconds = 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probs = torch.stack([torch.softmax(m(x), 1) for m in self.shards]).mean(0)
        return torch.log(probs.clamp_min(1e-12))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([m.embed(x) for m in self.shards], 1)


def assign(ids: np.ndarray, shards: int, slices: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shard and slice of every id, from a keyed hash of the id only (stable under deletion)."""
    def h(i: int, salt: str) -> int:
        return int.from_bytes(hashlib.blake2b(f"{seed}:{salt}:{i}".encode(),
                                              digest_size=8).digest(), "big")
    return (np.array([h(int(i), "shard") % shards for i in ids]),
            np.array([h(int(i), "slice") % slices for i in ids]))


@dataclass
class _Trained:
    checkpoints: list[list[dict]]  # [shard][slice] state after training that slice
    ids: np.ndarray


_CACHE: dict[tuple, _Trained] = {}


@register
@dataclass
class SISA(UnlearningMethod):
    """SISA: exact unlearning by retraining only the affected shard of a sharded, sliced
    ensemble (Bourtoule et al., IEEE S&P 2021)."""

    name = "sisa"
    paper = "SISA training (Bourtoule et al., IEEE S&P 2021, 'Machine Unlearning')"
    exact = True

    shards: int = hparam(5, "number of shards (one model each)", low=1, high=100)
    slices: int = hparam(3, "slices per shard (a checkpoint after each)", low=1, high=100)
    epochs: int = hparam(0, "epochs per slice; 0 = the training recipe's epochs / slices",
                         low=0, high=1000)

    def _config(self, ctx) -> TrainConfig:
        base = ctx.train_config
        per = self.epochs or max(1, math.ceil(base.epochs / self.slices))
        return replace(base, epochs=per)  # the rest of the recipe as it is

    def _train_shard(self, spec: ModelSpec, data: Samples, shard_of, slice_of, s: int,
                     start_slice: int, state: dict | None, seed: int,
                     config: TrainConfig) -> list[dict]:
        """Train shard ``s`` from ``start_slice`` on (from ``state`` or a fresh init)."""
        model = build_model(spec, seed=seed * 1000 + s)
        if state is not None:
            model.load_state_dict(state)
        out = []
        for r in range(start_slice, self.slices):
            mask = (shard_of == s) & (slice_of <= r)
            order = np.argsort(data.ids[mask], kind="stable")
            part = data.take(np.flatnonzero(mask)[order])
            train_epochs(model, part, config, seed * 1000 + s * 17 + r)
            out.append(copy.deepcopy(model.state_dict()))
        return out

    def fit(self, data: Samples, spec: ModelSpec, ctx) -> _Trained:
        """SISA training from scratch on ``data`` (cached by data, seed and settings)."""
        key = (hashlib.sha256(np.sort(data.ids).tobytes() + data.X.tobytes()).hexdigest(),
               spec.to_json(), ctx.seed, self.shards, self.slices, repr(self._config(ctx)))
        if key not in _CACHE:
            shard_of, slice_of = assign(data.ids, self.shards, self.slices, ctx.seed)
            ckpts = [self._train_shard(spec, data, shard_of, slice_of, s, 0, None, ctx.seed,
                                       self._config(ctx)) for s in range(self.shards)]
            _CACHE[key] = _Trained(ckpts, np.sort(data.ids))
        return _CACHE[key]

    def ensemble(self, trained: _Trained, spec: ModelSpec) -> SISAEnsemble:
        models = []
        for s in range(self.shards):
            m = build_model(spec)
            m.load_state_dict(trained.checkpoints[s][-1])
            models.append(m.eval())
        return SISAEnsemble(models)

    def from_scratch(self, data: Samples, ctx) -> SISAEnsemble:
        """SISA trained from scratch on ``data``: what a deletion must equal bit for bit."""
        if ctx.spec is None:
            raise MethodError("sisa trains its own shard models and needs an architecture spec")
        return self.ensemble(self.fit(data, ctx.spec, ctx), ctx.spec)

    def prepare(self, model, forget, retain, ctx, log):
        if ctx.spec is None:
            raise MethodError("sisa trains its own shard models and needs an architecture spec")
        t0 = time.perf_counter()
        self.fit(Samples.concat([forget, retain]), ctx.spec, ctx)
        log.append(f"SISA ensemble of {self.shards} shards x {self.slices} slices ready "
                   f"({time.perf_counter() - t0:.1f} s, once at training time; not counted)")

    def _unlearn(self, model, forget, retain, ctx, log):
        trained = self.fit(Samples.concat([forget, retain]), ctx.spec, ctx)  # cached
        start = time.perf_counter()
        shard_of, slice_of = assign(retain.ids, self.shards, self.slices, ctx.seed)
        f_shard, f_slice = assign(forget.ids, self.shards, self.slices, ctx.seed)
        ckpts = [list(c) for c in trained.checkpoints]
        retrained = 0
        for s in sorted(set(f_shard.tolist())):
            first = int(f_slice[f_shard == s].min())
            state = ckpts[s][first - 1] if first > 0 else None
            ckpts[s][first:] = self._train_shard(ctx.spec, retain, shard_of, slice_of, s, first,
                                                 state, ctx.seed, self._config(ctx))
            retrained += int(((shard_of == s) & (slice_of >= first)).sum())
        result = self.ensemble(_Trained(ckpts, np.sort(retain.ids)), ctx.spec)
        result.retrained_samples = retrained
        result.retrain_seconds = time.perf_counter() - start
        log.append(f"retrained {len(set(f_shard.tolist()))} of {self.shards} shards: "
                   f"{retrained} sample-slices of {len(retain)} retain samples, "
                   f"{result.retrain_seconds:.2f} s")
        return result
