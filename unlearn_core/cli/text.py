"""``python -m unlearn_core text-audit``: audit the unlearning of facts from a causal LM.

Trains the built-in tiny GPT-2 on the generated TOFU-style fact set (Maini et al., arXiv
2401.06121), or loads your own model folder and JSONL/CSV data, retrains without the forget
set, runs each method and prints the metric table and the verdict against retraining, and
records the run in the classifier audit's run store (``--db``, ``--data-dir``, ``--project``;
``--no-store``; ``--report DIR --bundle`` writes a verifiable report.zip). Bad
arguments or inputs print one line on stderr and exit non-zero (handled by
``unlearn_core.cli.main.main``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path

from unlearn_core.cli.streams import reports_or_warn
from unlearn_core.cli.text_claim import add_text_claim_arguments, text_claim_from_args
from unlearn_core.errors import ConfigError
from unlearn_core.progress import TqdmProgress
from unlearn_core.report.rows import extension_lines, verdict_rows
from unlearn_core.report.table import format_table


def add_text_audit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--forget", required=True,
                   help="group:NAME[,NAME] (people), ids:ID[,ID] (facts) or random:K")
    p.add_argument("--method", action="append", default=None,
                   help="name or name:key=value,... (repeatable); "
                        "gradient_ascent, gradient_difference, npo, simnpo, icu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None, help="your QA pairs or documents (.jsonl or .csv)")
    p.add_argument("--model", default=None,
                   help="your causal LM folder (config.json, *.safetensors, tokenizer.json)")
    p.add_argument("--people", type=int, default=None, help="built-in set: trained people")
    p.add_argument("--holdout", type=int, default=None, help="built-in set: never-trained people")
    p.add_argument("--attributes", type=int, default=None, help="built-in set: facts per person")
    p.add_argument("--epochs", type=int, default=None, help="training and retraining epochs")
    p.add_argument("--lr", type=float, default=None, help="training learning rate")
    p.add_argument("--width", type=int, default=None, help="built-in model width (n_embd)")
    p.add_argument("--retrain-seeds", type=int, default=5,
                   help="K retrains from scratch with seeds seed..seed+K-1: the reference "
                        "ensemble whose spread gives each check's band (at least 2; cached)")
    p.add_argument("--extend-references", type=int, default=None, metavar="N",
                   help="retrains added once when a pass is borderline or a verdict uncertain "
                        "(the sequential rule; 4 by default, 0: never)")
    p.add_argument("--truth-ratio", choices=("answer", "paraphrase"), default="answer",
                   dest="truth_side",
                   help="the truth ratio's true side: the trained answer (default; a model "
                        "trained on one phrasing does not carry a fact to another) or TOFU's "
                        "paraphrase")
    p.add_argument("--alpha", type=float, default=0.05,
                   help="family-wise error level of the verdict (Bonferroni over the checks)")
    p.add_argument("--no-cache", action="store_true",
                   help="train every model again instead of reusing cached weights")
    p.add_argument("--report", default=None,
                   help="write report.json and report.html (check with: verify report.json)")
    p.add_argument("--fail-on-verdict", action="store_true",
                   help="exit 1 unless every method's verdict is a pass")
    p.add_argument("--max-eval", type=int, default=300, help="retain/holdout items scored")
    p.add_argument("--out", default=None, help="write the result as JSON here")
    p.add_argument("--save-model", default=None,
                   help="save the trained original model as a model folder here")
    p.add_argument("--export-facts", default=None,
                   help="write the items (built-in or loaded) as JSONL here")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--no-store", dest="store", action="store_false",
                   help="do not record the run in the run database")
    p.add_argument("--bundle", action="store_true",
                   help="also write report.zip in --report: report, data file and the "
                        "recorded weights, verifiable anywhere with `verify report.zip`")
    p.add_argument("--auditor", default=None,
                   help="the auditor named in the report's sign-off block (with --report)")
    p.add_argument("--no-pdf", action="store_true",
                   help="skip report.pdf (printed by the system chromium, as a classifier "
                        "audit's)")
    p.add_argument("--sign-key", dest="sign_key", default=None,
                   help="sign the report with this Ed25519 private key (keygen makes one; "
                        "verify --public-key checks it); needs --report")
    from unlearn_core.cli.runs import store_arguments

    store_arguments(p)  # --db, --data-dir, --project: the classifier audit's run store
    add_text_claim_arguments(p)


def _parse_method(text: str):
    from unlearn_core.text.audit import TextMethodSpec

    name, _, rest = text.partition(":")
    params = {}
    for item in [x for x in rest.split(",") if x.strip()]:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"method parameter '{item}' must look like key=value")
        params[key.strip()] = value.strip()
    return TextMethodSpec(name.strip(), params)


def config_from_args(args: argparse.Namespace):
    """A ``TextAuditConfig`` from the command-line flags, with sizes checked."""
    from unlearn_core.text.audit import TextAuditConfig

    cfg = TextAuditConfig(forget=args.forget, seed=args.seed, data_path=args.data,
                          model_path=args.model, retrain_seeds=args.retrain_seeds,
                          max_eval=args.max_eval, alpha=args.alpha,
                          truth_side=getattr(args, "truth_side", "answer"))
    if args.method:
        cfg.methods = [_parse_method(m) for m in args.method]
    cfg.claim = text_claim_from_args(args)
    if cfg.claim is None and getattr(args, "recipe", None):  # how --model was trained
        for flag in ("epochs", "lr"):
            if getattr(args, flag, None) is not None:
                raise ConfigError(f"--{flag} does not apply beside --recipe: the recipe file "
                                  "declares how the model was trained")
        cfg.recipe = args.recipe
    if cfg.claim is not None and not args.method:
        cfg.methods = []  # a claim audit judges the claims; a method runs only when named
    facts = {k: v for k, v in (("n_people", args.people), ("n_holdout", args.holdout),
                               ("n_attributes", args.attributes)) if v is not None}
    for key, value in facts.items():
        if value < (0 if key == "n_holdout" else 1):
            raise ConfigError(f"--{key[2:].replace('_', '-')} must be positive, got {value}")
    cfg.facts = dataclasses.replace(cfg.facts, **facts)
    if args.epochs is not None and args.epochs < 1:
        raise ConfigError(f"--epochs must be at least 1, got {args.epochs}")
    if args.lr is not None and not (args.lr > 0 and math.isfinite(args.lr)):
        raise ConfigError(f"--lr must be a positive number, got {args.lr}")
    train = {k: v for k, v in (("epochs", args.epochs), ("lr", args.lr)) if v is not None}
    cfg.train = dataclasses.replace(cfg.train, **train)
    if args.width is not None:
        if args.width < 4 or args.width % cfg.model.n_head:
            raise ConfigError(f"--width must be a multiple of {cfg.model.n_head}, "
                              f"got {args.width}")
        cfg.model = dataclasses.replace(cfg.model, n_embd=args.width)
    if args.retrain_seeds < 1:
        raise ConfigError("--retrain-seeds must be at least 1")
    if getattr(args, "extend_references", None) is not None:  # checked by the audit
        cfg.extend_references = args.extend_references
    if not 0 < args.alpha < 1:
        raise ConfigError(f"--alpha must lie between 0 and 1, got {args.alpha}")
    if args.max_eval < 1:
        raise ConfigError("--max-eval must be at least 1")
    if args.data and not Path(args.data).is_file():
        raise ConfigError(f"--data '{args.data}' does not exist")
    return cfg


def _fmt(v: float, digits: int = 3) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}g}"


def result_table(result) -> str:
    """method | forget acc | retain acc | forget ROUGE-L | FQ | utility | Min-k AUC | PrivLeak |
    seconds | speed-up."""
    headers = ["model", "forget acc", "retain acc", "forget ROUGE-L", "forget quality",
               "utility", "Min-k% AUC", "PrivLeak", "seconds", "speed-up"]
    rows = []
    for ev in [result.original, *result.retrains, *result.methods]:
        s = ev.summary()
        speed = "" if ev.name == "original" else f"{result.speedup(ev):.1f}x"
        rows.append([ev.name, _fmt(s["forget_accuracy"]), _fmt(s["retain_accuracy"]),
                     _fmt(s["forget_rouge_l"]), _fmt(s["forget_quality"]),
                     _fmt(s["model_utility"]), _fmt(s["mia_auc_min_k"]), _fmt(s["privleak"], 3),
                     "" if ev.name == "original" else f"{ev.seconds:.1f}", speed])
    return format_table(headers, rows)


def verdict_lines(result, checks: bool = False) -> list[str]:
    """The headline per method first ("verdict NAME: PASS: 7 of 11 checks pass; ..."), its
    reason, then (``checks``) every judged check with its figure, interval, band and the
    original's figure, and a warning when no check has power or the ensemble is too small."""
    lines = []
    for v in verdict_rows(result.verdicts):
        lines.append(f"verdict {v.method}: {v.headline}")
        lines.append(f"  {v.reason}")
        if checks:
            for c in v.checks:
                lines.append(f"  - {c.status:<10} {c.check}: {c.figure} [{c.interval(', ')}], "
                             f"band {c.band()}, original {c.original}")
    lines += [f"note: {line}" for line in extension_lines(result)]  # more retrains: why
    if len(result.retrains) < 2:
        lines.append("warning: one retrain gives no spread, so no check has a band: use "
                     "--retrain-seeds 2 or more (5 by default)")
    elif not result.control_powered:
        lines.append("warning: no check can tell the untouched original from retraining here "
                     "(the forget set is too small or not memorised): every verdict is at best "
                     "inconclusive")
    return lines


def cmd_text_audit(args: argparse.Namespace) -> int:
    from unlearn_core.text.audit import run_text_audit
    from unlearn_core.text.cache import ModelCache

    cfg = config_from_args(args)
    for flag, path in (("--out", args.out), ("--export-facts", args.export_facts)):
        if path and not Path(path).expanduser().resolve().parent.is_dir():
            raise ConfigError(f"{flag} '{path}': its folder does not exist")
    if getattr(args, "bundle", False) and not args.report:
        raise ConfigError("--bundle needs --report DIR")
    sign_key = None
    if getattr(args, "sign_key", None):  # checked now: a bad key never costs a finished audit
        if not args.report:
            raise ConfigError("--sign-key needs --report DIR")
        from unlearn_core.report.signing import load_private_key

        sign_key = load_private_key(args.sign_key)
    store, run_id, artifacts = None, None, []
    if getattr(args, "store", False):  # opened now: a bad --db fails before the audit
        from unlearn_core.cli.runs import open_store

        store = open_store(args)
    progress = TqdmProgress(disable=args.quiet)
    run = run_text_audit(cfg, progress, ModelCache(enabled=False) if args.no_cache else None)
    progress.close()
    result = run.result
    n_train = sum(1 for it in run.items if it.split == "train")
    model = cfg.claim.original if cfg.claim else cfg.model_path or "tiny-gpt"
    print(f"{'data ' + cfg.data_path if cfg.data_path else 'built-in fact set'}: {n_train} "
          f"trained items; model {model}; forget {cfg.forget} "
          f"({len(result.forget_ids)} items)")
    print(result_table(result))
    from unlearn_core.text.claim import claim_lines

    if result.claim is None and result.learned is not None:  # the user's own model folder
        print("your model: " + result.learned.reason)
    for line in claim_lines(result.claim) + verdict_lines(result, checks=True):
        print(line)
    if args.export_facts:
        Path(args.export_facts).write_text(
            "".join(json.dumps(it.to_dict()) + "\n" for it in run.items))
        print(f"wrote {args.export_facts}")
    if args.save_model:
        from unlearn_core.text.lm import save_lm

        print(f"wrote {save_lm(run.models['original'], args.save_model)}")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.out:
        Path(args.out).write_text(json.dumps(result.to_dict(), indent=1))
        print(f"wrote {args.out}")
    if store is not None:  # a storage failure keeps the result JSON and says where
        from unlearn_core.cli.runs import record_or_keep

        run_id, artifacts = record_or_keep(store, run, args)
    if args.report:
        from unlearn_core.report.build import signoff_record
        from unlearn_core.report.text import write_text_reports

        paths = reports_or_warn(lambda: write_text_reports(
            result, args.report, pdf=not args.no_pdf, artifacts=artifacts,
            signoff=signoff_record(run_id, args.auditor)), args.report)  # no PDF: a warning
        if sign_key is not None:  # signed before bundling: the ZIP carries the signed report
            from unlearn_core.report.signing import sign_report_files, signed_line

            block = sign_report_files(paths["json"], sign_key)
            print(signed_line(paths, block["key_id"]))
        if getattr(args, "bundle", False):
            from unlearn_core.report.bundle import write_bundle

            paths["zip"] = write_bundle(paths["json"], Path(args.report) / "report.zip")
        print("wrote " + ", ".join(str(p) for p in paths.values()))
    if args.fail_on_verdict and not all(v.passed for v in result.verdicts):
        return 1
    return 1 if store is not None and run_id is None else 0
