"""An ensemble of K digits CNNs on each executor against K times one warm single model (issue 15:
at most 1.1x on 2 CPU cores, on every executor). Mean ± sample std over --repeats, the machine
and its load printed; every executor's models are checked to be the ones trained one by one.

    python bench/bench_ensemble.py [--models 16] [--epochs 3] [--repeats 3]
                                   [--executors serial local ray vmap]
                                   [--dataset digits|digits28] [--device cpu|cuda]

The single model is timed warm (after one untimed training) in this process, with one torch
thread (how the ensemble trains each model, so that every executor gives the same numbers) and
with torch's default threads; the ratio divides by the faster of the two. Executors are timed
warm too: the local pool's and Ray's start-up is paid once per process and shown apart.
``vmap`` is the vectorised trainer (``unlearn_core.reference.vmap``, the GPU path): its models
match to float tolerance, so its last column gives the largest logit difference instead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from bench.machine import machine
from unlearn_core.data import load_builtin, make_splits
from unlearn_core.device import use_device
from unlearn_core.models import ModelSpec, TrainConfig, default_train_config, predict_logits
from unlearn_core.reference.executors import local_pool
from unlearn_core.reference.trainer import train_models, train_one
from unlearn_core.reference.vmap import train_stacked
from unlearn_core.report.table import format_table


def mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def same(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--executors", nargs="+", default=["serial", "local", "ray"])
    parser.add_argument("--dataset", default="digits", choices=["digits", "digits28"])
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    args = parser.parse_args()
    with use_device(args.device) as setting:
        print(f"device: {setting.name}"
              + (f" ({torch.cuda.get_device_name(0)})" if setting.name != "cpu" else ""))
        run(args, setting.name)


def run(args: argparse.Namespace, device: str) -> None:
    ds = load_builtin(args.dataset)
    train = ds.subset(make_splits(ds, seed=0).train)
    spec = ModelSpec("cnn", ds.sample_shape, ds.n_classes)
    base = default_train_config("cnn", args.dataset, len(train))
    recipe = TrainConfig(args.epochs, base.lr, base.batch_size, base.weight_decay,
                         base.optimizer)
    seeds = [1000 + i for i in range(args.models)]
    print(f"machine: {machine(load=True)}")
    print(f"{args.dataset} cnn, {len(train)} training samples, {recipe.epochs} epochs, batch "
          f"{recipe.batch_size}; {args.models} models; {args.repeats} repeats "
          f"(mean ± sample std)\n")

    default_threads = torch.get_num_threads()
    single: dict[int, list[float]] = {}
    for threads in sorted({1, default_threads}):
        train_one(spec, recipe, train, 1, threads)  # warm: allocator, kernels, imports
        single[threads] = [timed(lambda: train_one(spec, recipe, train, seeds[r % len(seeds)],
                                                   threads))[0]
                           for r in range(args.repeats)]
    best_threads = min(single, key=lambda t: statistics.mean(single[t]))
    one = statistics.mean(single[best_threads])
    reference = [train_one(spec, recipe, train, s) for s in seeds[:2]]

    rows = [[f"one model alone, {t} thread{'s' if t > 1 else ''}", "-", "-",
             "%.2f ± %.2f" % mean_sd(single[t]),
             f"{args.models} x = {args.models * statistics.mean(single[t]):.1f}", "-", "-"]
            for t in sorted(single)]
    for executor in args.executors:
        startup = 0.0
        if executor == "vmap":
            startup = timed(lambda: train_stacked(spec, TrainConfig(1, recipe.lr, 64), train,
                                                  seeds[:2], device))[0]
            times = []
            for _ in range(args.repeats):
                seconds, models = timed(lambda: train_stacked(spec, recipe, train, seeds,
                                                              device))
                times.append(seconds)
            gap = max(float(abs(predict_logits(m, train.X[:500])
                                - predict_logits(r, train.X[:500])).max())
                      for m, r in zip(models, reference))
            m, sd = mean_sd(times)
            rows.append(["vmap (vectorised)", "1", f"{startup:.1f}", "%.1f ± %.1f" % (m, sd),
                         f"{m / args.models:.3f} per model",
                         "%.2f ± %.2f" % (m / (args.models * one), sd / (args.models * one)),
                         f"within {gap:.1e}"])
            continue
        if executor == "ray":
            try:
                import ray
            except ImportError:
                print("ray: not installed, skipped")
                continue
            startup += timed(lambda: ray.init(num_cpus=args.workers, include_dashboard=False,
                                              log_to_driver=False))[0]
        if executor == "local":
            startup += timed(lambda: local_pool(args.workers))[0]
        if executor != "serial":  # the first batch starts the workers and imports torch there
            startup += timed(lambda: train_models(spec, TrainConfig(1, recipe.lr, 64), train,
                                                  seeds[:args.workers], executor,
                                                  workers=args.workers))[0]
        times, models = [], None
        for _ in range(args.repeats):
            seconds, models = timed(lambda: train_models(spec, recipe, train, seeds, executor,
                                                         workers=args.workers))
            times.append(seconds)
        identical = all(same(m, r) for m, r in zip(models, reference))
        m, sd = mean_sd(times)
        ratio = m / (args.models * one)
        rows.append([executor, "1" if executor == "serial" else str(args.workers),
                     f"{startup:.1f}", "%.1f ± %.1f" % (m, sd),
                     f"{m / args.models:.3f} per model",
                     "%.2f ± %.2f" % (ratio, sd / (args.models * one)),
                     "yes" if identical else "NO"])
        if executor == "ray":
            ray.shutdown()
    print(format_table(["executor", "workers", "start-up s (once)", "seconds",
                        "per model", f"ratio to {args.models} x one alone "
                        f"({best_threads} thr)", "same models as one by one"], rows))
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
