"""Compare every registered unlearning method with the retrain reference, as the field's papers
do (SalUn, Fan et al. ICLR 2024, Table 1): UA = 1 - forget accuracy, MIA-efficacy, RA (retain),
TA (test), run time, speed-up over retrain, and Avg. Gap = mean |method - retrain| over the four
quality columns, in points. Each setting runs once per seed (data, split, forget set, baseline,
retrain and methods all follow the seed); the table gives the mean +- sample standard deviation
over the seeds (floating-point differences between machines grow through training, so a
single seed carries no claim). Methods that use unseen data get the methods' half of the
population split, as in an audit.

    python bench/bench_methods.py --datasets digits --forgets class:3,random:0.1 --seeds 0 1 2
    python bench/bench_methods.py --datasets digits28 --forgets random:0.1 --seeds 0 1 2
    python bench/bench_methods.py --datasets digits28 --methods finetune,neggrad_plus
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from bench.machine import machine
from unlearn_core.audit.run import (
    AuditConfig,
    AuditData,
    MethodSpec,
    evaluate,
    load_data,
    recipe_for,
    train_baseline,
)
from unlearn_core.cli.main import parse_method
from unlearn_core.data.forget import resolve_forget
from unlearn_core.methods import UnlearnContext, available_methods, make_method
from unlearn_core.models import ModelSpec
from unlearn_core.report.table import format_table

QUALITY = ("UA", "MIA-eff", "RA", "TA")
TARGETS = ((1.0, 10.0, 1), (2.0, 5.0, 3))  # issue 15: (gap within, speed-up at least, count)


def quality(ev) -> dict[str, float]:
    """The four columns of the Avg. Gap, in points."""
    return {"UA": 100 * (1 - ev.accuracy.forget), "MIA-eff": 100 * ev.mia_efficacy,
            "RA": 100 * ev.accuracy.retain, "TA": 100 * ev.accuracy.test}


def bench_setting(dataset_name: str, model: str, forget: str, methods: list[MethodSpec],
                  seed: int, n_samples: int | None) -> tuple[str, dict[str, dict]]:
    """One seed of one setting: per model label, its quality columns, seconds and Avg. Gap to
    the retrain reference (or ``error``)."""
    cfg = AuditConfig(dataset=dataset_name, model=model, forget=forget, seed=seed)
    dataset = None
    if n_samples:
        from unlearn_core.data import load_builtin

        dataset = load_builtin(dataset_name, seed=seed, n_samples=n_samples)
    dataset, splits = load_data(cfg, dataset)
    recipe = recipe_for(cfg, dataset, splits)
    t0, c0 = time.perf_counter(), time.process_time()
    baseline = train_baseline(dataset, splits, model, recipe, seed)
    base_s, base_cpu = time.perf_counter() - t0, time.process_time() - c0
    fs = resolve_forget(dataset, splits, forget, seed)
    data = AuditData(dataset, splits, fs)
    ctx = UnlearnContext(n_classes=dataset.n_classes, seed=seed,
                         spec=ModelSpec(model, dataset.sample_shape, dataset.n_classes),
                         train_config=recipe, forget_classes=fs.classes,
                         population=data.method_pool)
    forget_s, retain_s = data.forget, data.retain
    ref = make_method("retrain").unlearn(baseline, forget_s, retain_s, ctx)
    ref_q = quality(evaluate(ref.model, "retrain", "retrain", data, ref.seconds, seed))
    out = {"original": _measure(quality(evaluate(baseline, "baseline", "baseline", data, base_s,
                                                 seed)), ref_q, base_s, base_cpu, None),
           "retrain": _measure(ref_q, ref_q, ref.seconds, ref.cpu_seconds, ref.cpu_seconds)}
    setting = f"{dataset_name} n={len(dataset)} {model} {forget} ({len(forget_s)} forget)"
    for spec in methods:
        name = spec.name + "".join(f" {k}={v}" for k, v in spec.params.items())
        try:
            res = make_method(spec.name, **spec.params).unlearn(baseline, forget_s, retain_s,
                                                                ctx)
        except Exception as err:  # a benchmark reports a failure and goes on
            out[name] = {"error": _short(err)}
            continue
        ev = evaluate(res.model, name, "method", data, res.seconds, seed)
        out[name] = _measure(quality(ev), ref_q, res.seconds, res.cpu_seconds, ref.cpu_seconds)
    return setting, out


def _short(err: Exception) -> str:
    """A failure in a few words (a refused request by its kind)."""
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    if "whole classes only" in text:
        return "class requests only"
    if "serves sample-level requests" in text:
        return "sample requests only"
    return text[:60]


def _measure(q: dict, ref_q: dict, seconds: float, cpu: float, ref_cpu: float | None) -> dict:
    """Quality, Avg. Gap, wall and CPU seconds; the speed-up is by CPU time (the machine may be
    shared: other processes inflate wall times, not a process's own CPU time)."""
    gap = float(np.mean([abs(q[k] - ref_q[k]) for k in QUALITY]))
    speed = ref_cpu / max(cpu, 1e-9) if ref_cpu else None
    return {**q, "Avg.Gap": gap, "seconds": seconds, "cpu": cpu, "speed-up": speed}


def _cell(values: list[float], digits: int = 2, suffix: str = "") -> str:
    """``mean +- sd`` (sample standard deviation; the mean alone for one seed)."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}{suffix}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}{suffix}"


def summarise(per_seed: list[dict[str, dict]]) -> tuple[list[list[str]], dict[str, dict]]:
    """Table rows (mean +- sd over seeds) and the means per method."""
    rows, means = [], {}
    for name in per_seed[0]:
        runs = [s[name] for s in per_seed if name in s]
        errors = [r["error"] for r in runs if "error" in r]
        ok = [r for r in runs if "error" not in r]
        if not ok:
            rows.append([name, *(["-"] * 8), errors[0]])
            continue
        note = f"failed on {len(errors)} of {len(runs)} seeds: {errors[0]}" if errors else ""
        speeds = [r["speed-up"] for r in ok if r["speed-up"] is not None]
        means[name] = {k: float(np.mean([r[k] for r in ok])) for k in (*QUALITY, "Avg.Gap",
                                                                         "cpu", "seconds")}
        means[name]["speed-up"] = float(np.mean(speeds)) if speeds else None
        means[name]["n"] = len(ok)
        rows.append([name, *(_cell([r[k] for r in ok]) for k in (*QUALITY, "Avg.Gap")),
                     _cell([r["cpu"] for r in ok]), _cell(speeds, 1, "x") if speeds else "-",
                     _cell([r["seconds"] for r in ok], 1), note])
    return rows, means


def target_lines(means: dict[str, dict], n_seeds: int) -> list[str]:
    """Issue 15's target on the means over seeds: approximate methods (not retrain, SISA or the
    forgeries) within an Avg. Gap of retrain at a speed-up."""
    approx = {n: m for n, m in means.items()
              if n not in ("original", "retrain") and not n.startswith(("sisa", "forge"))
              and m["speed-up"] is not None and m["n"] == n_seeds}
    lines = []
    for gap, speed, want in TARGETS:
        hits = sorted((m["Avg.Gap"], n) for n, m in approx.items()
                      if m["Avg.Gap"] <= gap and m["speed-up"] >= speed)
        names = ", ".join(f"{n} ({g:.2f} at {approx[n]['speed-up']:.1f}x)" for g, n in hits)
        lines.append(f"within {gap:g} Avg. Gap at >= {speed:g}x (mean over {n_seeds} seeds): "
                     f"{len(hits)} (wanted {want}){': ' + names if names else ''} -> "
                     f"{'met' if len(hits) >= want else 'NOT met'}")
    return lines


HEADERS = ["method", "UA", "MIA-eff", "RA", "TA", "Avg.Gap", "CPU s", "speed-up", "wall s",
           "note"]
LEGEND = ("each cell is the mean ± sample standard deviation over the seeds; CPU s = the "
          "unlearning step's process CPU time (the baseline's training for 'original'), "
          "speed-up = retrain CPU s / method CPU s per seed; wall s = wall-clock seconds "
          "(inflated when the machine is shared)")


def print_setting(settings: list[str], seeds: list[int], per_seed: list[dict]) -> None:
    rows, means = summarise(per_seed)
    print(f"\n{settings[0]}, seeds {' '.join(map(str, seeds))}")
    print(format_table(HEADERS, rows))
    for line in target_lines(means, len(seeds)):
        print(line)
    sys.stdout.flush()


def report_saved(paths: list[str]) -> None:
    """The tables from saved measurements, runs of one setting pooled over files."""
    pooled: dict[tuple[str, str], dict] = {}
    machines = []
    for path in paths:
        saved = json.loads(Path(path).read_text())
        machines.append(saved["machine"])
        for run in saved["runs"]:
            slot = pooled.setdefault((run["dataset"], run["forget"]),
                                     {"settings": [], "seeds": [], "per_seed": []})
            for key in ("settings", "seeds", "per_seed"):
                slot[key] += run[key]
    for m in dict.fromkeys(machines):
        print(f"machine: {m}")
    print(LEGEND)
    for slot in pooled.values():
        order = np.argsort(slot["seeds"])
        print_setting([slot["settings"][i] for i in order], sorted(slot["seeds"]),
                      [slot["per_seed"][i] for i in order])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits")
    parser.add_argument("--forgets", default="class:3,random:0.1")
    parser.add_argument("--methods", default="",
                        help="comma list; default: every method but the forgeries (attacks)")
    parser.add_argument("--exclude", default="", help="comma list of methods to leave out")
    parser.add_argument("--method", action="append", default=[],
                        help="one method with hyperparameters, e.g. l1_sparse:budget=0.3,"
                             "gamma=1e-4 (repeatable; added to --methods)")
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="one run per seed; the table shows mean ± sample std over them")
    parser.add_argument("--seed", type=int, default=None, help="a single seed (= --seeds N)")
    parser.add_argument("--n-samples", type=int, default=None,
                        help="size of the generated digits28 set (default 50,000)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", default=None, help="also write every seed's measurements here")
    parser.add_argument("--from-json", nargs="+", default=None,
                        help="print the tables from --json files instead of measuring (runs of "
                             "the same setting, e.g. one process per seed, are pooled)")
    args = parser.parse_args()
    if args.from_json:
        report_saved(args.from_json)
        return
    seeds = [args.seed] if args.seed is not None else args.seeds
    if args.threads:
        torch.set_num_threads(args.threads)
    names = args.methods.split(",") if args.methods else ([] if args.method else [
        m for m in available_methods() if not m.startswith("forge")])  # forgeries: attacks
    skip = {"retrain", *args.exclude.split(",")}
    methods = [MethodSpec(m) for m in names if m and m not in skip]
    methods += [parse_method(m) for m in args.method]
    print(f"machine: {machine()}")
    print(LEGEND)
    dump = []
    for dataset in args.datasets.split(","):
        for forget in args.forgets.split(","):
            per_seed, settings = [], []
            for seed in seeds:
                setting, res = bench_setting(dataset, args.model, forget, methods, seed,
                                             args.n_samples)
                per_seed.append(res)
                settings.append(setting)
                print(f"  seed {seed} done: {setting}", file=sys.stderr, flush=True)
            print_setting(settings, seeds, per_seed)
            dump.append({"dataset": dataset, "forget": forget, "settings": settings,
                         "seeds": seeds, "per_seed": per_seed})
            if args.json:
                Path(args.json).write_text(json.dumps({"machine": machine(), "runs": dump},
                                                      indent=1))


if __name__ == "__main__":
    main()
