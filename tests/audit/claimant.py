"""A claimant, run in its own process by the claim tests: it trains an original and a genuine
retrain the way a third party would (its own process, its declared recipe, seeds the audit does
not use), and writes the files it submits. Nothing of the audit's state is shared.

    python -m tests.audit.claimant OUT DATASET FORGET ARCH RECIPE [LABEL_COLUMN]

writes into OUT: ``original.safetensors`` + ``original.json`` (trained on the audit's training
split, seed 77), ``genuine.safetensors`` (trained on the retain set, seed 4242),
``retrain_a.safetensors`` and ``retrain_b.safetensors`` (two more, seeds 5151 and 6161: the
claimant's own retrains),
``suppressed.safetensors`` (the original with the forgotten class's head bias lowered by 1e4),
``same.pt`` (the original's weights as a weights-only state dict), ``untrained.safetensors``
(initialised, never trained) and ``other_arch.safetensors`` / ``other_width.safetensors``
(an mlp, and the architecture at another width: never trained)."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from unlearn_core.audit.data import AuditData
from unlearn_core.audit.recipe import read_recipe
from unlearn_core.audit.run import AuditConfig, load_data
from unlearn_core.data.forget import resolve_forget
from unlearn_core.models import (
    ModelSpec,
    build_model,
    clone_model,
    save_model,
    train_epochs,
)

ORIGINAL_SEED, GENUINE_SEED = 77, 4242
RETRAIN_SEEDS = {"retrain_a": 5151, "retrain_b": 6161}


def main(out: str, dataset: str, forget: str, arch: str, recipe: str,
         label_column: str = "") -> None:
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = AuditConfig(dataset=dataset, forget=forget, seed=0,
                      label_column=label_column or None)
    ds, splits = load_data(cfg)
    data = AuditData(ds, splits, resolve_forget(ds, splits, forget, 0))
    train = read_recipe(recipe).train
    spec = ModelSpec(arch, ds.sample_shape, ds.n_classes)
    original = train_epochs(build_model(spec, seed=ORIGINAL_SEED), data.train, train,
                            ORIGINAL_SEED)
    save_model(original, out_dir / "original")
    genuine = train_epochs(build_model(spec, seed=GENUINE_SEED), data.retain, train,
                           GENUINE_SEED)
    save_model(genuine, out_dir / "genuine")
    for name, seed in RETRAIN_SEEDS.items():  # the claimant's own reference, made here
        save_model(train_epochs(build_model(spec, seed=seed), data.retain, train, seed),
                   out_dir / name)
    suppressed = clone_model(original)
    with torch.no_grad():
        for c in data.forget_set.classes:
            suppressed.head.bias[c] -= 1e4
    save_model(suppressed, out_dir / "suppressed")
    torch.save(original.state_dict(), out_dir / "same.pt")
    save_model(build_model(spec, seed=5), out_dir / "untrained")
    other = ModelSpec("mlp", ds.sample_shape, ds.n_classes) if arch != "mlp" else \
        ModelSpec("logreg", ds.sample_shape, ds.n_classes)
    save_model(build_model(other, seed=5), out_dir / "other_arch")
    width = {"cnn": {"width": 8}, "mlp": {"hidden": 32}}.get(arch, {})
    save_model(build_model(ModelSpec(arch, ds.sample_shape, ds.n_classes, width), seed=5),
               out_dir / "other_width")


if __name__ == "__main__":
    main(*sys.argv[1:])
