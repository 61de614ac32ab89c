"""The small setting every contract runs on (no tests here; ``conftest.py`` serves it).

Digits subsampled to 600 images (360 train), an MLP trained two epochs: the original; three
retrains on the retain set (seeds 1..3), the reference ensemble of the checks; a fourth retrain
(seed 4), a genuine audited model. Two requests on the same original: ``class:3`` and
``random:0.1`` (sample level); every check is measured on both, a method on the one it serves
(class-only methods the class request, the others the sample request). About 2 s to build.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from unlearn_core.audit.data import AuditData
from unlearn_core.checks import CheckContext
from unlearn_core.data import load_builtin, make_splits
from unlearn_core.data.forget import resolve_forget
from unlearn_core.methods import UnlearnContext
from unlearn_core.models import ModelSpec, TrainConfig, build_model, train_epochs

REQUESTS = ("class:3", "random:0.1")
N_REFERENCES = 3
RECIPE = TrainConfig(epochs=2, lr=3e-3, batch_size=32)


@dataclass
class Request:
    """One forget request on the shared original: data, method context, check models."""

    name: str
    data: AuditData
    uctx: UnlearnContext
    original: nn.Module
    references: list[nn.Module]  # retrains, seeds 1..N_REFERENCES
    retrain: nn.Module  # one more retrain (seed N_REFERENCES + 1): a genuine audited model

    def check_context(self) -> CheckContext:
        """A fresh CheckContext (empty cache) over this request's models."""
        return CheckContext(self.data, self.original, self.references, seed=0,
                            spec=self.uctx.spec, recipe=self.uctx.train_config)


@dataclass(eq=False)  # hashed by identity: the checks' contract caches measurements per setting
class Setting:
    original: nn.Module
    requests: dict[str, Request]


def build_setting() -> Setting:
    """The original, and per request its data, contexts and retrains (one torch thread)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ds = load_builtin("digits", n_samples=600)
        splits = make_splits(ds, 0)
        spec = ModelSpec("mlp", ds.sample_shape, ds.n_classes)
        original = train_epochs(build_model(spec, seed=0), ds.subset(splits.train), RECIPE, 0)
        original.eval()
        requests = {}
        for name in REQUESTS:
            fs = resolve_forget(ds, splits, name, 0)
            data = AuditData(ds, splits, fs)
            uctx = UnlearnContext(ds.n_classes, 0, spec, RECIPE, fs.classes, data.method_pool)
            retrains = [train_epochs(build_model(spec, seed=s), data.retain, RECIPE, s).eval()
                        for s in range(1, N_REFERENCES + 2)]
            requests[name] = Request(name, data, uctx, original, retrains[:-1], retrains[-1])
    finally:
        torch.set_num_threads(previous)
    return Setting(original, requests)
