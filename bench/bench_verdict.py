"""The verdict's confusion table: how often known-genuine models pass and known-bad ones do not.

Known genuine: retrains from scratch on the retain set with seeds other than the reference
ensemble's (``--genuine`` per setting), judged blind, without the exact-counterpart proof a
retrain has of itself (``BenchBlindRetrain``), so they measure what the statistical checks and
the sequential rule (``checks.sequential``) decide, as for a claimed model; and ``sisa`` (exact:
a deletion equals SISA trained without the samples). Known bad: the untouched original
(``no_op``) and every forgery of ``analysis.forgery_outcomes.FORGERY_METHODS``: the plain ones
(a -1e4 logit bias, a head-only fine-tune, the input lookup ``forged``, a feature forgery) and
the adaptive ones of issue 21, tuned on the forger's own retrains (a calibrated bias, a
re-fitted head with the same calibration, distillation of the forget outputs only, exact-input
suppression). Settings (``SETTINGS``, ``data[@n]/architecture/forget``; ``@n`` a generated
set's size): digits with cnn / mlp / logreg on several classes and ``random:0.1``, wine, breast
cancer, subsets of shapes32 and digits28 with the cnn, the canary setting (30% flipped labels,
which members memorise with a longer recipe). They are split in two declared halves: rules and
thresholds may be chosen on ``TUNING`` only, ``CONFIRMATION`` only confirms (``--half``).
Goals (issue 21): no known-bad model passes; genuine models never fail and pass in at least 95%
of the cases where the checks have power (doing nothing does not pass). The AUC orders verdicts
plain pass > pass (outputs only) > inconclusive > uncertain > fail, ties half, genuine blind
retrains against known-bad models.

    python bench/bench_verdict.py                      # every setting, seeds 0 1 2
    python bench/bench_verdict.py --half tuning --seeds 0 --genuine 3 --dump d.jsonl.gz
    python bench/bench_verdict.py --settings digits/mlp/class:1,7 --seeds 0 --genuine 4
    python bench/bench_verdict.py --rejudge dump.jsonl # today's judge on dumped measurements
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from unlearn_core.analysis.forgery_outcomes import FORGERY_METHODS
from unlearn_core.audit.run import AuditConfig, MethodSpec, run_audit
from unlearn_core.checks import default_checks
from unlearn_core.checks.sequential import DEFAULT_EXTRA
from unlearn_core.data import load_builtin
from unlearn_core.methods import METHODS, UnlearningMethod, register
from unlearn_core.methods.retrain import Retrain
from unlearn_core.models import TrainConfig
from unlearn_core.report.table import format_table
from unlearn_core.serialize import to_jsonable

# the half any judging rule or threshold may be chosen on, and the half that only confirms
TUNING = ["digits/cnn/class:3", "digits/mlp/class:1,7", "digits/logreg/class:3",
          "wine/mlp/class:1", "canary/mlp/random:0.1", "shapes32@2000/cnn/class:2",
          "digits/cnn/random:0.1"]
CONFIRMATION = ["digits/cnn/class:0", "digits/cnn/class:8", "digits/mlp/class:3",
                "digits/logreg/class:1,7", "breast_cancer/mlp/random:0.1",
                "digits28@2000/cnn/class:4", "digits/mlp/random:0.1"]
SETTINGS = TUNING + CONFIRMATION
BAD = ["no_op", *FORGERY_METHODS]
GENUINE = ("retrain", "bench_genuine_retrain")  # blind retrains (the former: older dumps)
QUALIFIED = "pass (outputs only)"
STATUSES = ["pass", QUALIFIED, "inconclusive", "uncertain", "fail"]
# the verdict as a score, for the AUC of genuine against known-bad models
RANK = {"pass": 4, QUALIFIED: 3, "inconclusive": 2, "uncertain": 1, "fail": 0}


def split_settings(text: str) -> list[str]:
    """Settings from a comma-separated list; a part without ``/`` continues the previous one's
    forget request (``digits/mlp/class:1,7`` is one setting)."""
    out: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if "/" not in part and out:
            out[-1] += "," + part
        else:
            out.append(part)
    return out


def half_of(setting: str) -> str:
    """The declared half of a setting: tuning, confirmation, or extra (neither)."""
    return "tuning" if setting in TUNING else "confirmation" if setting in CONFIRMATION \
        else "extra"


def verdict_label(v) -> str:
    """A verdict as the benchmark counts it: plain pass, pass (outputs only), or its status."""
    return QUALIFIED if v.status == "pass" and v.qualifier else v.status


def auc(genuine: list[str], bad: list[str]) -> float:
    """P(a genuine model's verdict ranks above a known-bad one's), ties counted half (RANK)."""
    if not genuine or not bad:
        return float("nan")
    g = np.array([RANK[s] for s in genuine])[:, None]
    b = np.array([RANK[s] for s in bad])[None, :]
    return float(((g > b) + 0.5 * (g == b)).mean())


@dataclasses.dataclass
class BenchNoOp(UnlearningMethod):
    """Known bad: returns the original untouched."""

    name = "no_op"
    paper = "does nothing (bench only)"
    needs_retain = False

    def _unlearn(self, model, forget, retain, ctx, log):
        return model


@dataclasses.dataclass
class BenchBlindRetrain(Retrain):
    """Known genuine, judged blind: a retrain from scratch with another seed, registered
    without the exact proof a retrain has of itself, so that the audit (its verdict and its
    sequential rule) sees it as it would see a claimed model."""

    name = "bench_genuine_retrain"
    paper = "retrain from scratch with another seed, no exact proof (bench only)"
    exact = False


def canary_digits(seed: int, share: float = 0.3):
    """Digits with ``share`` of labels flipped (as in the tests' canary setting)."""
    clean = load_builtin("digits")
    rng = np.random.default_rng(seed)
    y = clean.y.copy()
    flip = rng.random(len(y)) < share
    y[flip] = (y[flip] + rng.integers(1, 10, flip.sum())) % 10
    return dataclasses.replace(clean, y=y, name="canary")


def setting_data(data_name: str, seed: int):
    """(dataset name for the config, the dataset or None, the recipe or None) of a setting's
    data part: ``canary`` (digits with flipped labels, a longer recipe), ``name@n`` (a
    generated set of n samples, generated once with seed 0: the audit seed varies the split),
    or a built-in's name."""
    if data_name == "canary":  # canaries are memorised only with a longer recipe (the
        # default stops at 72% train acc.)
        return "digits", canary_digits(seed), TrainConfig(epochs=150, lr=2e-3, batch_size=64)
    if "@" in data_name:
        name, n = data_name.split("@")
        return name, load_builtin(name, seed=0, n_samples=int(n)), None
    return data_name, None, None


def run_setting(setting: str, seed: int, genuine: int, k: int, bad: list[str],
                dump: str | None = None, checks: tuple[str, ...] = (),
                extend: int = DEFAULT_EXTRA) -> dict:
    """Statuses of every known-genuine and known-bad model in one setting and seed."""
    data_name, arch, forget = setting.split("/")
    name, dataset, recipe = setting_data(data_name, seed)
    methods = [MethodSpec(GENUINE[1], {"seed": 900_001 + 1000 * seed + i})
               for i in range(genuine)] + [MethodSpec("sisa")]
    methods += [MethodSpec(b) for b in bad if b in METHODS]
    cfg = AuditConfig(dataset=name, model=arch, forget=forget, seed=seed, methods=methods,
                      executor="serial", reference_seeds=k, train=recipe, checks=list(checks),
                      extend_references=extend)
    t0 = time.perf_counter()
    run = run_audit(cfg, dataset=dataset)
    seconds = time.perf_counter() - t0
    result = run.result
    if dump is not None:  # every measurement, to study judging rules without retraining
        import gzip

        line = json.dumps({"setting": setting, "seed": seed, "seconds": seconds, "result": {
            k: to_jsonable(getattr(result, k)) for k in
            ("measurements", "check_specs", "methods", "references", "extra_results",
             "skipped_checks", "failures", "ensembles")}}) + "\n"
        with (gzip.open(dump, "at") if dump.endswith(".gz") else open(dump, "a")) as fh:
            fh.write(line)
    out = summarise(result, judge_blind(result), setting, seed, seconds)
    out["extended"] = result.ensembles[0].extended if result.ensembles else 0
    if out["extended"]:
        out["notes"].append(result.ensembles[0].extended_because)
    for line in out.get("genuine_why", []) + out.get("bad_pass_why", []) + out["notes"]:
        print(f"  {setting} seed {seed} {line}", flush=True)
    return out


def summarise(result, verdicts: list, setting: str, seed: int, seconds: float) -> dict:
    """Plain data of one setting-seed's verdicts: the genuine retrains', sisa's and each known-
    bad model's label (``verdict_label``), each check's status per model, and in words why a
    genuine model did not pass and a known-bad one did."""
    out = {"setting": setting, "seed": seed, "seconds": seconds, "genuine": [], "sisa": [],
           "bad": {}, "why": {}, "checks": [], "notes": []}

    def checks_txt(v, statuses) -> str:
        return "; ".join(f"{c.title} {c.status} ({c.figure:.4g} vs {c.band_low:.4g}.."
                         f"{c.band_high:.4g})" for c in v.checks if c.status in statuses)

    for v, e in zip(verdicts, result.methods):
        label = verdict_label(v)
        if e.method in GENUINE or e.method == "sisa":
            out["genuine" if e.method in GENUINE else "sisa"].append(label)
            if v.status != "pass":  # a genuine model that does not pass: say why, always
                out.setdefault("genuine_why", []).append(
                    f"{e.name}: {v.status}: {checks_txt(v, ('fail', 'uncertain'))}")
        else:
            out["bad"][e.method] = label
            out["why"][e.method] = v.reason
            if v.status == "pass":  # a known-bad model that passes: which checks it fooled
                blind = ", ".join(c.title for c in v.checks if c.status == "no power")
                out.setdefault("bad_pass_why", []).append(
                    f"KNOWN-BAD {e.name}: {label.upper()}: passed {checks_txt(v, ('pass',))}"
                    f"; no power: {blind or 'none'}")
        kind = "genuine" if e.method in GENUINE else e.method
        out["checks"].append((kind, {c.check: c.status for c in v.checks}))
    for f in getattr(result, "failures", None) or []:
        name = f["name"] if isinstance(f, dict) else f.name
        msg = f["message"] if isinstance(f, dict) else f.message
        out["notes"].append(f"not run: {name}: {msg[:120]}")
        out.setdefault("not_run", []).append(name)
    return out


def judge_blind(result) -> list:
    """Verdicts with the genuine retrains judged as unknown models: without their exact-
    counterpart proof (a retrain equals itself retrained), so that they measure what the
    statistical checks decide. SISA keeps its proof: showing it exact is its point."""
    from unlearn_core.checks.verdict import judge_result

    genuine = {e.name for e in result.methods if e.method in GENUINE}
    kept = result.extra_results
    result.extra_results = [x for x in kept if not (x.check == "exact" and x.model in genuine)]
    try:
        return judge_result(result)
    finally:
        result.extra_results = kept


def judge_pooled(result) -> list:
    """Verdicts as with a larger reference ensemble, simulated on dumped measurements: the
    blind genuine retrains join the K reference retrains (K + G for a known-bad model, K + G - 1
    for a genuine one, which never judges itself), so the effect of more reference retrains is
    measured on the same models without training any. SISA keeps its own counterpart group."""
    from unlearn_core.checks.verdict import check_families, judge_models

    genuine = [e.name for e in result.methods if e.method in GENUINE]
    by_key = {}
    for m in result.measurements:
        by_key.setdefault((m.check, m.model), m)
    retrain_group = {e.reference for e in result.methods if e.method in GENUINE}
    audited = []
    for e in result.methods:
        refs = [r.name for r in result.references if r.reference_group == e.reference]
        if e.reference in retrain_group:
            refs += [g for g in genuine if g != e.name]
        audited.append((e.name, refs, e.control))
    extra = [x for x in result.extra_results if not (x.check == "exact" and x.model in genuine)]
    return judge_models(by_key, result.check_specs, audited, 0.05, {},
                        lambda label: [x for x in extra if x.model == label], check_families(),
                        dict(getattr(result, "skipped_checks", {}) or {}))


def judge_extended(result) -> list:
    """Verdicts with the sequential rule simulated on dumped measurements of an audit that did
    not extend its ensemble (dumps made before the rule): a model whose own verdict asks for more
    retrains (``checks.sequential.borderline``, as if it were audited alone) is judged against
    the pooled ensemble (``judge_pooled``: K + G, or K + G - 1, instead of K + 4), the others
    against the K reference retrains."""
    from unlearn_core.checks.sequential import borderline

    return [p if borderline([b]) else b
            for b, p in zip(judge_blind(result), judge_pooled(result))]


def load_dump(path: str, judge_checks: Optional[set[str]] = None):
    """(setting, seed, seconds, the rebuilt result, whether the audit ran the sequential rule)
    per line of a dump. ``judge_checks``: keep only the default checks plus these opt-in ones
    (the others' measurements are set aside), to compare sets of checks on the same models."""
    import gzip
    from types import SimpleNamespace

    from unlearn_core.audit.run import ModelEvaluation
    from unlearn_core.checks.base import Measurement
    from unlearn_core.checks.judge import CheckResult, CheckSpec
    from unlearn_core.reference.retrains import ReferenceInfo
    from unlearn_core.serialize import from_jsonable

    with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as fh:
        for line in fh:
            d = json.loads(line)
            r = d["result"]
            if judge_checks is not None:
                keep = set(default_checks()) | set(judge_checks)
                r["measurements"] = [m for m in r["measurements"] if m["check"] in keep]
                r["check_specs"] = [c for c in r["check_specs"] if c["name"] in keep]
            result = SimpleNamespace(
                measurements=from_jsonable(list[Measurement], r["measurements"]),
                check_specs=from_jsonable(list[CheckSpec], r["check_specs"]),
                methods=from_jsonable(list[ModelEvaluation], r["methods"]),
                references=from_jsonable(list[ModelEvaluation], r["references"]),
                extra_results=from_jsonable(list[CheckResult], r["extra_results"]), checks=[],
                ensembles=from_jsonable(list[ReferenceInfo], r.get("ensembles", [])))
            result.skipped_checks = r.get("skipped_checks", {})
            result.failures = r.get("failures", [])
            # dumps record their ensembles since the sequential rule: such an audit ran it
            yield d["setting"], d["seed"], d.get("seconds", 0.0), result, "ensembles" in r


def judge_dumped(result, ran_rule: bool, pooled: bool = False, extended: bool = False) -> list:
    """The verdicts ``--rejudge`` counts: pooled (``--pool-genuine``), the sequential rule
    simulated on a dump made before it (``--simulate-extension``), else blind."""
    if pooled:
        return judge_pooled(result)
    return judge_extended(result) if extended and not ran_rule else judge_blind(result)


def rejudge_dump(path: str, judge_checks: Optional[set[str]] = None, pooled: bool = False,
                 extended: bool = False) -> list[tuple[str, int, dict]]:
    """Verdicts from dumped measurements with today's judge: a change of judging rules is
    re-evaluated on the same models without retraining them (``load_dump``, ``judge_dumped``)."""
    out = []
    for setting, seed, seconds, result, ran_rule in load_dump(path, judge_checks):
        verdicts = judge_dumped(result, ran_rule, pooled, extended)
        statuses = summarise(result, verdicts, setting, seed, seconds)
        statuses["extended"] = max([e.extended for e in result.ensembles
                                    if e.kind == "retrain"], default=0)
        out.append((setting, seed, statuses))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--settings", help="comma-separated settings (default: those of --half)")
    p.add_argument("--half", choices=["tuning", "confirmation", "all"], default="all",
                   help="the declared half to run: tuning (rules may be chosen on it), "
                   "confirmation (never tuned on) or all (tuning first)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--genuine", type=int, default=10, help="genuine retrains per setting")
    p.add_argument("--reference-seeds", type=int, default=6)
    p.add_argument("--extend-references", type=int, default=DEFAULT_EXTRA,
                   help="retrains added when a pass is borderline (checks.sequential; 0: never)")
    p.add_argument("--simulate-extension", action="store_true", help="with --rejudge: dumps "
                   "made before the sequential rule, a model that asks for more retrains judged "
                   "against the blind retrains pooled with the reference ones")
    p.add_argument("--bad", default=",".join(BAD))
    p.add_argument("--checks", default="", help="opt-in checks to add, e.g. probe,relearn")
    p.add_argument("--rejudge", nargs="+", help="judge the measurements of --dump files "
                   "again (no training): today's judging rules on the same models")
    p.add_argument("--judge-checks", help="with --rejudge: judge the default checks plus only "
                   "these opt-in ones (comma-separated; '' for the defaults alone)")
    p.add_argument("--pool-genuine", action="store_true", help="with --rejudge: the genuine "
                   "retrains join the reference ensemble (a larger K, simulated)")
    p.add_argument("--dump", help="append every measurement as JSON lines to this file")
    p.add_argument("--per-check", action="store_true", help="also count each check's "
                   "statuses per kind of model: which checks each forgery fools")
    p.add_argument("--verbose", action="store_true", help="print why each bad model got its "
                   "verdict")
    args = p.parse_args()
    register(BenchNoOp)
    register(BenchBlindRetrain)
    bad = [b for b in args.bad.split(",") if b]
    missing = [b for b in bad if b not in METHODS]
    if missing:
        print(f"note: not registered here, skipped: {', '.join(missing)}")
    by_check = defaultdict(Counter)  # (model kind, check) -> statuses
    dumped = defaultdict(list)
    if args.rejudge:
        only = None if args.judge_checks is None else {
            c for c in args.judge_checks.split(",") if c}
        for path in args.rejudge:
            for setting, seed, statuses in rejudge_dump(path, only, args.pool_genuine,
                                                          args.simulate_extension):
                dumped[setting].append((seed, statuses))
                for line in (statuses.get("genuine_why", []) + statuses.get("bad_pass_why", [])
                             + statuses["notes"]):
                    print(f"  {setting} seed {seed} {line}")
    if args.rejudge:
        settings = list(dumped)
    elif args.settings:
        settings = split_settings(args.settings)
    else:
        settings = {"tuning": TUNING, "confirmation": CONFIRMATION}.get(args.half, SETTINGS)
    cases = []  # one summary per setting and seed
    for setting in settings:
        runs = dumped[setting] if args.rejudge else [(seed, None) for seed in args.seeds]
        mine = []
        for seed, r in runs:
            if r is None:
                r = run_setting(setting, seed, args.genuine, args.reference_seeds, bad,
                                args.dump, tuple(c for c in args.checks.split(",") if c),
                                args.extend_references)
            mine.append(r)
            for kind, checks in r.get("checks", []):
                for check, status in checks.items():
                    by_check[(kind, check)][status] += 1
            if args.verbose:
                for name, status in r["bad"].items():
                    print(f"{setting} seed {seed} {name}: {status}: {r['why'][name]}")
        cases += mine
        print(format_table(["setting", "model", *STATUSES, "s/seed"],
                           model_rows(setting, mine)), flush=True)
    seeds = sorted({r["seed"] for r in cases})
    extended = sum(bool(r.get("extended")) for r in cases)
    print("\nseeds " + " ".join(map(str, seeds)) + f", {args.reference_seeds} reference "
          f"retrains, more where a pass was borderline in {extended} of {len(cases)} cases, "
          f"cpu threads {os.cpu_count()}; genuine pass rate where a check has power "
          "(doing nothing does not pass); AUC: genuine blind retrains against known-bad, "
          "mean +/- sd over seeds")
    head = ["setting", "half", "seeds", "genuine pass (powered)", "genuine not pass",
            "genuine fail", "sisa pass", "bad PASS", "bad plain PASS", "bad not run", "AUC"]
    print(format_table(head, [summary_row(s, [r for r in cases if r["setting"] == s])
                              for s in settings]))
    halves = [h for h in ("tuning", "confirmation", "extra")
              if any(half_of(r["setting"]) == h for r in cases)]
    print("\n" + format_table(head, [summary_row(h, [r for r in cases
                                                       if half_of(r["setting"]) == h], h)
                                      for h in halves]
                               + [summary_row("all", cases, "all")]))
    if args.per_check:  # which checks each kind of model passes or fails (all settings)
        check_names = sorted({c for _, c in by_check})
        kinds = list(dict.fromkeys(k for k, _ in by_check))
        short = {"pass": "p", "fail": "F", "uncertain": "u", "no power": "-", "no data": "."}
        table = [[kind, *[" ".join(f"{short.get(st, st)}{n}" for st, n in
                               sorted(by_check[(kind, c)].items())) or "" for c in check_names]]
                 for kind in kinds]
        print("\nper check (p pass, F fail, u uncertain, - no power, . no data):")
        print(format_table(["model", *check_names], table))


def model_rows(setting: str, runs: list[dict]) -> list[list[str]]:
    """Per kind of model (genuine, sisa, each known-bad), the count of each verdict."""
    per = defaultdict(Counter)
    for r in runs:
        per["genuine"].update(r["genuine"])
        per["sisa"].update(r["sisa"])
        for name, status in r["bad"].items():
            per[name][status] += 1
    secs = sum(r["seconds"] for r in runs) / max(1, len(runs))
    return [[setting, kind, *[str(c.get(s, 0)) for s in STATUSES], f"{secs:.0f}"]
            for kind, c in per.items()]


def powered(r: dict) -> bool:
    """Some check has power in this case: doing nothing does not pass (it fails or is
    uncertain)."""
    return r["bad"].get("no_op") in ("fail", "uncertain")


def summary_row(name: str, runs: list[dict], half: Optional[str] = None) -> list[str]:
    """One line of the summary: genuine pass rate where a check has power, genuine models that
    do not pass or fail, sisa, known-bad passes (any, and plain without the qualifier), the
    known-bad models that could not run here, and the AUC (mean +/- sd over the seeds'
    per-case AUCs for a setting; pooled over its cases for a half)."""
    seeds = sorted({r["seed"] for r in runs})
    gen = [s for r in runs for s in r["genuine"]]
    gen_p = [s for r in runs if powered(r) for s in r["genuine"]]
    sisa = [s for r in runs for s in r["sisa"]]
    bad = [s for r in runs for s in r["bad"].values()]
    n_p = len(gen_p)
    ok = sum(s in ("pass", QUALIFIED) for s in gen_p)
    rate = f"{ok}/{n_p} ({100 * ok / n_p:.0f}%)" if n_p else "no power"
    not_run = sum(len(r.get("not_run", [])) for r in runs)
    aucs = [auc(r["genuine"], list(r["bad"].values())) for r in runs]
    if half is None:
        a = np.array(aucs)
        auc_txt = (f"{a.mean():.3f} +/- {a.std(ddof=1):.3f}" if len(a) >= 2 else
                   f"{a.mean():.3f}") if len(a) else "-"
    else:  # pooled: every genuine against every bad model of the same case; and its spread
        # over the seeds (each seed's mean over its cases)
        per_seed = [np.mean([a for a, r in zip(aucs, runs) if r["seed"] == sd]) for sd in seeds]
        spread = (f"; seeds {np.mean(per_seed):.3f} +/- {np.std(per_seed, ddof=1):.3f}"
                  if len(per_seed) >= 2 else "")
        auc_txt = f"{np.mean(aucs):.3f} (mean of {len(aucs)} cases{spread})" if aucs else "-"
    return [name, half or half_of(name), " ".join(map(str, seeds)), rate,
            f"{sum(s not in ('pass', QUALIFIED) for s in gen)}/{len(gen)}",
            str(sum(s == "fail" for s in gen + sisa)),
            f"{sum(s in ('pass', QUALIFIED) for s in sisa)}/{len(sisa)}",
            f"{sum(s in ('pass', QUALIFIED) for s in bad)}/{len(bad)}",
            f"{sum(s == 'pass' for s in bad)}/{len(bad)}", str(not_run), auc_txt]


if __name__ == "__main__":
    main()
