"""The Unlearn page's time estimate against the audit's real wall time (issue 22).

Per setup: the baseline is trained with the project's recipe (timed: the app's per-epoch cost in
its process), one-thread per-epoch cost measured as the page measures it, the estimate made as
the page makes it, then the audit run with a fresh ensemble cache (nothing cached), timed. The
ratio actual / estimate says how far the simple model is off on this machine:

    python bench/bench_estimate.py                       # wine mlp, digits mlp, digits cnn
    python bench/bench_estimate.py --setups digits:cnn --methods finetune scrub
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine
from unlearn_core.audit.estimate import epoch_seconds_from, estimate_audit, measure_epoch_seconds
from unlearn_core.audit.run import AuditConfig, MethodSpec, run_audit, train_baseline
from unlearn_core.data import load_builtin, make_splits
from unlearn_core.data.forget import resolve_forget
from unlearn_core.models import ModelSpec, default_train_config
from unlearn_core.reference.cache import EnsembleCache


def one(dataset: str, arch: str, methods: list[str], seed: int) -> tuple[float, float, str]:
    """(estimate, actual) seconds of one audit of class 1, and the estimate's line."""
    ds = load_builtin(dataset, seed=seed)
    splits = make_splits(ds, seed)
    recipe = default_train_config(arch, ds.name, len(splits.train))
    t0 = time.perf_counter()
    baseline = train_baseline(ds, splits, arch, recipe, seed)
    trained = time.perf_counter() - t0
    spec = ModelSpec(arch, ds.sample_shape, ds.n_classes)
    cfg = AuditConfig(dataset=dataset, model=arch, forget="class:1", seed=seed, train=recipe,
                      methods=[MethodSpec(m) for m in methods])
    n_forget = len(resolve_forget(ds, splits, cfg.forget, seed).forget)
    per_worker = measure_epoch_seconds(spec, recipe, ds.subset(splits.train), threads=1)
    est = estimate_audit(cfg, recipe, len(splits.train), n_forget,
                         epoch_seconds_from(trained, recipe), per_worker)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_audit(cfg, dataset=ds, baseline=baseline, baseline_seconds=trained,
                  cache=EnsembleCache(Path(tmp)))
        actual = time.perf_counter() - t0
    return est.seconds, actual, est.text()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--setups", nargs="+", default=["wine:mlp", "digits:mlp", "digits:cnn"])
    p.add_argument("--methods", nargs="+", default=["finetune"])
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    os.environ.setdefault("UNLEARN_DEVICE", "cpu")
    print(machine(load=True))
    print(f"{'setup':14s} {'estimate s':>10s} {'actual s':>9s} {'actual/est':>10s}")
    for setup in args.setups:
        dataset, arch = setup.split(":")
        est, actual, line = one(dataset, arch, args.methods, args.seed)
        print(f"{setup:14s} {est:10.1f} {actual:9.1f} {actual / max(est, 1e-9):10.2f}")
        print(f"  {line}")
    print(machine(load=True))


if __name__ == "__main__":
    main()
