"""Command line: ``python -m unlearn_core audit|methods|datasets``.

Bad arguments and bad inputs print one line on stderr and exit non-zero; nothing else does.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, Optional, Sequence

from unlearn_core.audit.run import AuditConfig, MethodSpec, run_audit
from unlearn_core.cli.baseline import add_baseline_arguments, baseline_upload, load_baseline
from unlearn_core.cli.claim import add_claim_arguments, apply_claim
from unlearn_core.cli.streams import guarded_output, reports_or_warn
from unlearn_core.cli.text import add_text_audit_arguments, cmd_text_audit
from unlearn_core.errors import ConfigError, UnlearnError
from unlearn_core.models import TrainConfig
from unlearn_core.progress import TqdmProgress
from unlearn_core.reference.cache import use_cache
from unlearn_core.report.claim import claim_lines
from unlearn_core.report.rows import extension_lines
from unlearn_core.report.table import attack_table, audit_table, verdict_table
from unlearn_core.serialize import write_atomic


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one readable line, not a usage dump
        raise ConfigError(f"{self.prog}: {message}")


def parse_method(text: str) -> MethodSpec:
    """``name`` or ``name:key=value,key=value``."""
    name, _, rest = text.partition(":")
    params = {}
    for item in [p for p in rest.split(",") if p.strip()]:
        if "=" not in item:
            raise ConfigError(f"method parameter '{item}' must look like key=value")
        key, _, value = item.partition("=")
        params[key.strip()] = value.strip()
    return MethodSpec(name.strip(), params)


def load_config_file(path: str) -> dict:
    """A YAML or JSON file whose keys are ``AuditConfig`` fields."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as err:
        raise ConfigError(f"cannot read config file '{path}': {err.strerror}")
    try:
        if p.suffix in (".yaml", ".yml"):
            import yaml

            raw = yaml.safe_load(text)
        else:
            raw = json.loads(text)
    except Exception as err:
        raise ConfigError(f"config file '{path}' is not valid {p.suffix[1:] or 'JSON'}: "
                          f"{str(err).splitlines()[0]}")
    if not isinstance(raw, dict):
        raise ConfigError(f"config file '{path}' must hold a mapping of settings")
    return raw


def config_from_args(args: argparse.Namespace) -> AuditConfig:
    """Merge the config file (if any) with command-line flags; flags win."""
    raw = load_config_file(args.config) if args.config else {}
    known = set(AuditConfig.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"unknown config key '{unknown[0]}': use {', '.join(sorted(known))}")
    methods_raw = raw.pop("methods", None)
    train_raw = raw.pop("train", None)
    claim_raw = raw.pop("claim", None)
    thresholds_raw = raw.pop("thresholds", None) or {}
    cfg = AuditConfig(**raw)
    if not isinstance(thresholds_raw, dict):
        raise ConfigError("config 'thresholds' must be a mapping of name: value")
    cfg.thresholds.update({str(k): str(v) for k, v in thresholds_raw.items()})
    for item in args.threshold or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--threshold '{item}' must look like name=value")
        cfg.thresholds.update({key.strip(): value.strip()})
    if methods_raw is not None:
        cfg.methods = methods_from_config(methods_raw)
    if train_raw is not None:
        cfg.train = train_from_config(train_raw)
    for key in ("dataset", "model", "forget", "seed", "label_column", "id_column",
                "mia_score"):
        value = getattr(args, key)
        if value is not None:
            setattr(cfg, key, value)
    if args.drop_columns is not None:
        cfg.drop_columns = split_columns(args.drop_columns)
    if args.method:
        cfg.methods = [parse_method(m) for m in args.method]
    if args.attacks:
        cfg.attacks = [a.strip() for a in args.attacks.split(",") if a.strip()]
    if args.checks:
        cfg.checks = [c.strip() for c in args.checks.split(",") if c.strip()]
    for key in ("shadows", "executor", "ray_address", "lira_variance", "reference_seeds",
                "extend_references", "device", "mixed_precision"):
        if getattr(args, key) is not None:
            setattr(cfg, key, getattr(args, key))
    apply_claim(cfg, claim_raw, args, methods_raw is not None or bool(args.method))
    if args.epochs is not None:
        cfg.train = dataclasses.replace(cfg.train or TrainConfig(), epochs=args.epochs)
    validate_config(cfg)
    return cfg


_METHOD_KEYS = ("name", "params")


def methods_from_config(raw: object) -> list[MethodSpec]:
    """The ``methods`` list of a config file: ``"name:key=value"`` strings or mappings with a
    ``name`` and optional ``params``; anything else is one readable ``ConfigError``."""
    if isinstance(raw, (str, dict)):
        raw = [raw]
    if not isinstance(raw, list):
        raise ConfigError("config 'methods' must be a list of method names or "
                          "{name: ..., params: {...}} entries")
    specs = []
    for i, entry in enumerate(raw, 1):
        if isinstance(entry, str):
            specs.append(parse_method(entry))
            continue
        if not isinstance(entry, dict):
            raise ConfigError(f"config methods entry {i} must be a name or a mapping with "
                              f"'name', got {entry!r}")
        unknown = sorted(set(map(str, entry)) - set(_METHOD_KEYS))
        if unknown:
            raise ConfigError(f"config methods entry {i} has unknown key '{unknown[0]}': use "
                              "name and params")
        name, params = entry.get("name"), entry.get("params") or {}
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"config methods entry {i} has no 'name': give the method's "
                              "name, e.g. {name: finetune, params: {epochs: 3}}")
        if not isinstance(params, dict):
            raise ConfigError(f"config methods entry {i} ({name}): 'params' must be a mapping "
                              "of hyperparameter: value")
        specs.append(MethodSpec(name.strip(), {str(k): v for k, v in params.items()}))
    return specs


def train_from_config(raw: object) -> TrainConfig:
    """The ``train`` mapping of a config file as a checked ``TrainConfig``."""
    known = [f.name for f in dataclasses.fields(TrainConfig)]
    if not isinstance(raw, dict):
        raise ConfigError(f"config 'train' must be a mapping of {', '.join(known)}")
    unknown = sorted(set(map(str, raw)) - set(known))
    if unknown:
        raise ConfigError(f"unknown train setting '{unknown[0]}': use {', '.join(known)}")
    return TrainConfig(**raw)


MAX_SHADOWS = 1024


def validate_config(cfg: AuditConfig) -> None:
    """Check every setting of a merged config before any work: types and ranges of the plain
    settings, and each method with its hyperparameters (``make_method``)."""
    from unlearn_core.methods import make_method

    for key in ("dataset", "model", "forget"):
        if not isinstance(getattr(cfg, key), str) or not getattr(cfg, key).strip():
            raise ConfigError(f"config '{key}' must be a non-empty string, "
                              f"got {getattr(cfg, key)!r}")
    if isinstance(cfg.seed, bool) or not isinstance(cfg.seed, int) or not 0 <= cfg.seed < 2**32:
        raise ConfigError(f"seed must be a whole number from 0 to {2**32 - 1}, got {cfg.seed!r}")
    if isinstance(cfg.shadows, bool) or not isinstance(cfg.shadows, int) or \
            not 2 <= cfg.shadows <= MAX_SHADOWS:
        raise ConfigError(f"shadows must be a whole number from 2 to {MAX_SHADOWS} (LiRA needs "
                          f"models trained with and without each sample), got {cfg.shadows!r}")
    for key in ("test_fraction", "population_fraction"):
        value = getattr(cfg, key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not 0 < value < 1:
            raise ConfigError(f"{key} must be a number between 0 and 1, got {value!r}")
    if cfg.test_fraction + cfg.population_fraction >= 1:
        raise ConfigError("test_fraction + population_fraction must leave training data "
                          f"(their sum is {cfg.test_fraction + cfg.population_fraction:g})")
    if cfg.train is not None and not isinstance(cfg.train, TrainConfig):
        raise ConfigError("config 'train' must be a mapping of training settings")
    if not isinstance(cfg.methods, list) or (not cfg.methods and cfg.claim is None):
        raise ConfigError("no method to run: name at least one unlearning method")
    for spec in cfg.methods:
        make_method(spec.name, **spec.params)


def check_output_paths(args: argparse.Namespace) -> None:
    """Before any work: ``--out`` must be a writable file in an existing folder, ``--report``
    a folder that exists or can be made, and (unless ``--no-store``) ``--data-dir`` a
    writable folder or one that can be made. One ``ConfigError`` each, so a finished audit is
    never thrown away at the end."""
    if getattr(args, "out", None):
        out = Path(args.out).expanduser()
        if out.is_dir():
            raise ConfigError(f"--out '{args.out}' is a folder; give a file name such as "
                              f"{out / 'result.json'}")
        parent = out.parent if str(out.parent) else Path(".")
        if not parent.is_dir():
            raise ConfigError(f"--out '{args.out}': the folder '{parent}' does not exist")
        if not _writable(parent) or (out.exists() and not os.access(out, os.W_OK)):
            raise ConfigError(f"--out '{args.out}' is not writable")
    if getattr(args, "report", None):
        _check_folder("--report", args.report)
    if getattr(args, "store", False) and getattr(args, "data_dir", None):
        _check_folder("--data-dir", args.data_dir)


def _check_folder(flag: str, path: str) -> None:
    """A folder that exists and is writable, or whose nearest existing ancestor is."""
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{flag} '{path}' is a file, not a folder")
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"{flag} '{path}': '{probe}' is a file, not a folder")
    if not _writable(probe):
        what = "is read-only" if probe == folder else f"cannot be created ('{probe}' is read-only)"
        raise ConfigError(f"{flag} '{path}' {what}")


def _writable(folder: Path) -> bool:
    """Whether a file can be created in ``folder``: permissions first, then a real probe file
    (read-only mounts, ACLs, and root, for whom permission bits do not apply)."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def cmd_audit(args: argparse.Namespace) -> int:
    check_output_paths(args)
    cfg = config_from_args(args)
    # before the store or any folder: a refused model leaves nothing behind
    baseline = load_baseline(args, getattr(cfg, "claim", None))
    sign_key = None
    if args.sign_key or args.bundle:  # checked now: a bad key never costs a finished audit
        if not args.report:
            raise ConfigError("--sign-key and --bundle need --report DIR")
        if args.sign_key:
            from unlearn_core.report.signing import load_private_key

            sign_key = load_private_key(args.sign_key)
    store, run_id = None, None
    if args.store:  # open (validate, connect, migrate) now: a bad --db fails before the audit
        from unlearn_core.cli.runs import open_store, record_or_keep

        store = open_store(args)
    progress = TqdmProgress(disable=args.quiet)
    # ensembles and shadow sets are kept in the store's artifact area for later audits
    with use_cache(store.ensemble_cache() if store is not None else None):
        run = run_audit(cfg, progress, baseline=baseline)
    progress.close()
    result = run.result
    print(f"dataset {result.dataset_name}: {result.n_train} train, {result.n_test} test; "
          f"forget {result.forget_description} ({result.n_forget} samples)")
    print(audit_table(result))
    for line in claim_lines(result):  # a third-party claim: files, recipe, fit check
        print(line)
    for failure in result.failures:
        print(f"failed: {failure.name}: {failure.message}")
    if result.attack_summaries or result.ulira:
        print(attack_table(result))
    print(verdict_table(result.verdicts))
    for line in extension_lines(result):  # the sequential rule trained more retrains: why
        print(f"note: {line}")
    out_error = None
    if args.out:  # whole or not at all; a full disk or `ulimit -f` is said after recording
        try:
            write_atomic(args.out, json.dumps(result.to_dict(), indent=1))
            print(f"wrote {args.out}")
        except OSError as err:
            out_error = ConfigError(f"cannot write --out '{args.out}': {err.strerror or err}"
                                    " (nothing was written)")
            args.out = None  # not the result: a failed record keeps it elsewhere
    artifacts = []
    if store is not None:  # a storage failure keeps the result JSON and says where
        run_id, artifacts = record_or_keep(store, run, args)
    if out_error is not None:
        raise out_error
    if args.report:
        from unlearn_core.report import write_reports
        from unlearn_core.report.build import baseline_record, signoff_record

        paths = reports_or_warn(lambda: write_reports(
            result, args.report, run, artifacts, pdf=not args.no_pdf,
            signoff=signoff_record(run_id, args.auditor),
            baseline=baseline_record(result, baseline_upload(args))
            if baseline is not None else None), args.report)  # no PDF: a warning line
        if sign_key is not None:
            from unlearn_core.report.signing import sign_report_files, signed_line

            block = sign_report_files(paths["json"], sign_key)
            print(signed_line(paths, block["key_id"]))
        if args.bundle:
            from unlearn_core.report.bundle import write_bundle

            paths["zip"] = write_bundle(paths["json"], Path(args.report) / "report.zip")
        print("wrote " + ", ".join(str(p) for p in paths.values()))
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.fail_on_verdict and (result.failures or not all(v.passed for v in result.verdicts)):
        failing = [f"{v.method} ({v.status})" for v in result.verdicts if not v.passed]
        failing += [f"{f.name} (did not run)" for f in result.failures]
        print(f"error: verdict not a pass for {', '.join(failing)}", file=sys.stderr)
        return 1
    return 1 if store is not None and run_id is None else 0


def _store_arguments(p: argparse.ArgumentParser) -> None:
    from unlearn_core.cli.runs import store_arguments

    store_arguments(p)


def cmd_runs(args: argparse.Namespace) -> int:
    from unlearn_core.cli.runs import cmd_runs as run_action

    return run_action(args)


def add_runs_arguments(p: argparse.ArgumentParser) -> None:
    from unlearn_core.cli.runs import add_runs_arguments as add

    add(p)


def cmd_verify(args: argparse.Namespace) -> int:
    from unlearn_core.verify.result import ACC_TOL, SCORE_TOL
    from unlearn_core.verify.run import verify_report

    progress = TqdmProgress(disable=args.quiet)
    outcome = verify_report(args.report, progress, rerun=not args.no_rerun,
                            public_key=args.public_key, data=args.data,
                            announce=lambda line: print(line, file=sys.stderr, flush=True))
    progress.close()
    for note in outcome.notes:
        print(f"ok: {note}")
    for warning in outcome.warnings:
        print(f"note: {warning}")
    print("tolerance: figures from their per-sample evidence exact; stored weights evaluated "
          f"again: one sample; re-trained: accuracies {ACC_TOL:.2f}, attack AUC and "
          f"MIA-efficacy {SCORE_TOL:.2f}; fingerprints exact")
    if outcome.ok:
        if args.no_rerun:
            print("verified (not re-run): the report's hash and artifacts match, its "
                  "figures follow from their recorded per-sample evidence and its verdicts "
                  "from its figures; run without --no-rerun to evaluate the stored weights "
                  "again and reproduce the figures")
        else:
            print("verified: the report is intact, its verdicts follow from its figures and "
                  "a re-run reproduces them")
        return 0
    for diff in outcome.differences:
        print(f"differs: {diff}", file=sys.stderr)
    return 1


def add_verify_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("report", help="report.json, report.html or report.pdf written by `audit "
                   "--report`, or a report bundle (.zip)")
    p.add_argument("--no-rerun", action="store_true",
                   help="only check integrity, artifacts, the figures against their per-sample "
                        "evidence and the verdicts; evaluate no weights, re-train nothing")
    p.add_argument("--public-key", dest="public_key",
                   help="the auditor's Ed25519 public key (.pub from keygen): the report must "
                        "carry a valid signature by it")
    p.add_argument("--data", help="the audited data file, when it is not at the recorded path "
                   "(checked by its recorded sha256)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def cmd_keygen(args: argparse.Namespace) -> int:
    from unlearn_core.report.signing import generate_keypair

    private, public = generate_keypair(args.out)
    print(f"wrote {private} (private key, mode 0600: keep it) and {public} (public key: hand "
          "it to whoever verifies, `verify --public-key`)")
    return 0


def add_keygen_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="private key file, e.g. auditor.key (the public "
                   "key goes beside it as auditor.pub)")


def cmd_sign(args: argparse.Namespace) -> int:
    from unlearn_core.report.signing import load_private_key, sign_report_files

    block = sign_report_files(args.report, load_private_key(args.key))
    print(f"signed {args.report} with key {block['key_id']} (and the report.html beside it, "
          "if any)")
    return 0


def add_sign_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("report", help="report.json written by `audit --report`")
    p.add_argument("--key", required=True, help="Ed25519 private key made by keygen")


def cmd_bundle(args: argparse.Namespace) -> int:
    from unlearn_core.report.bundle import write_bundle

    print(f"wrote {write_bundle(args.report, args.out, args.data)}")
    return 0


def add_bundle_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("report", help="report.json written by `audit --report`")
    p.add_argument("--out", required=True, help="the bundle to write, e.g. report.zip")
    p.add_argument("--data", help="the audited data file, when it is not at the recorded path")


def cmd_methods(args: argparse.Namespace) -> int:
    from unlearn_core.methods import METHODS, available_methods
    from unlearn_core.methods.base import param_range

    for name in available_methods():
        cls = METHODS[name]
        ranges = {f.name: param_range(f) for f in dataclasses.fields(cls)}
        params = ", ".join(f"{k}={v}" + (f" {ranges[k]}" if ranges[k] else "")
                           for k, v in cls().get_params().items())
        print(f"{name:18s} {cls.paper}")
        if params:
            print(f"{'':18s} params: {params}")
    from unlearn_core.text.methods import TEXT_METHODS, available_text_methods

    print("text methods (text-audit --method):")
    for name in available_text_methods():
        cls = TEXT_METHODS[name]
        params = ", ".join(f"{k}={v}" for k, v in cls().get_params().items())
        print(f"{name:18s} {cls.paper}")
        if params:
            print(f"{'':18s} params: {params}")
        for d in cls.departures:  # where it departs from its paper, and why
            print(f"{'':18s} departs: {d}")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from unlearn_core.data import BUILTIN_DATASETS

    print("built-in: " + ", ".join(BUILTIN_DATASETS))
    print("built-in text: facts (fictitious people's facts; audit --dataset facts --model "
          "tiny-gpt --forget group:NAME)")
    print("files: .npz (X, y, optional ids, class_names), .csv (--label-column), .zip of class "
          "folders of images, .parquet (--label-column; numeric columns or one column of "
          "encoded images), CIFAR-10 binary (data_batch_N.bin, or cifar-10-binary.tar.gz)")
    return 0


def split_columns(text: str) -> list[str]:
    """``--drop-columns a,b`` as a list of column names."""
    return [c.strip() for c in str(text).split(",") if c.strip()]


def add_column_arguments(p: argparse.ArgumentParser) -> None:
    """A CSV's sample-id column and the columns to ignore (``data.id_columns``)."""
    p.add_argument("--id-column", dest="id_column",
                   help="the CSV column of sample ids (whole numbers; default: a column named "
                        "id or ids of distinct whole numbers, else the row numbers)")
    p.add_argument("--drop-columns", dest="drop_columns",
                   help="CSV columns to ignore, comma-separated (text columns, leaks)")


def add_audit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="YAML or JSON file of AuditConfig settings")
    p.add_argument("--dataset", help="built-in name (digits, breast_cancer, wine, digits28, "
                   "shapes32) or a .npz/.csv/.zip/.parquet file or CIFAR-10 .bin/.tar.gz; "
                   "text: facts or a .jsonl file (runs text-audit)")
    p.add_argument("--label-column", dest="label_column", help="label column of a CSV dataset")
    add_column_arguments(p)
    p.add_argument("--model", help="architecture: logreg, mlp, cnn, resnet18 (CIFAR stem), vit; "
                   "text: tiny-gpt or a causal LM folder (runs text-audit)")
    p.add_argument("--forget", help="class:N[,M] (class numbers or names), random:FRACTION "
                   "or ids:A,B,... (training-split ids: see the ids command)")
    p.add_argument("--method", action="append",
                   help="method name, optionally name:key=value,...; repeat for several")
    add_claim_arguments(p)
    add_baseline_arguments(p)
    p.add_argument("--seed", type=int)
    p.add_argument("--epochs", type=int, help="training epochs of the baseline and retrain")
    p.add_argument("--mia-score", dest="mia_score", choices=["loss", "confidence"])
    p.add_argument("--out", help="write the result as JSON here")
    p.add_argument("--no-store", dest="store", action="store_false",
                   help="do not record the run in the run database")
    p.add_argument("--report", help="write report.json, report.html and report.pdf here")
    p.add_argument("--no-pdf", action="store_true", help="skip the PDF report")
    p.add_argument("--auditor", help="the auditor named in the report's sign-off block (with "
                   "the date, run id and the user who ran it; default: a line to sign by hand)")
    p.add_argument("--sign-key", dest="sign_key",
                   help="sign the report with this Ed25519 private key (made by keygen)")
    p.add_argument("--bundle", action="store_true",
                   help="also write report.zip in --report: report, data file and artifacts, "
                        "verifiable anywhere with `verify report.zip`")
    p.add_argument("--fail-on-verdict", dest="fail_on_verdict", action="store_true",
                   help="exit 1 unless every method's verdict is a pass (for CI pipelines)")
    p.add_argument("--attacks",
                   help="extra attacks: threshold,lira,ulira,rmia (shadow models: slower)")
    p.add_argument("--checks",
                   help="opt-in checks: verification scenarios inversion,backdoor,restor,"
                        "confusion (backdoor, restor and confusion train their own models), "
                        "klom (trains K "
                        "originals and K unlearned runs), and the looking-inside checks")
    p.add_argument("--reference-seeds", dest="reference_seeds", type=int,
                   help="retrains from scratch with other seeds that the verdict's bands come "
                        "from (default 6; more retrains, narrower bands)")
    p.add_argument("--extend-references", dest="extend_references", type=int,
                   help="retrains added once when a model passes with a figure in the outer "
                        "half of its band toward the original (default 4; 0: never)")
    p.add_argument("--shadows", type=int,
                   help=f"shadow models for lira/ulira, 2 to {MAX_SHADOWS} (default 8)")
    p.add_argument("--lira-variance", dest="lira_variance", choices=["global", "per_example"],
                   help="LiRA spreads: global (default, few shadows) or per_example (many "
                        "shadows, >= 64 advised)")
    p.add_argument("--executor", choices=["serial", "local", "ray"],
                   help="where shadow models train (default: local process pool)")
    p.add_argument("--ray-address", dest="ray_address", help="address of a Ray cluster")
    p.add_argument("--device", help="where models train and predict: auto (CUDA when present, "
                   "else cpu), cpu, cuda or cuda:N; cuda without CUDA is an error")
    p.add_argument("--mixed-precision", dest="mixed_precision", action="store_true",
                   default=None, help="bfloat16 autocast in training on CUDA (ignored on cpu)")
    p.add_argument("--threshold", action="append",
                   help="a fixed limit for a check instead of its retrain band, e.g. "
                        "membership_auc=0.1, or the error level alpha=0.05; repeatable")
    _store_arguments(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")


# name -> (help, add_arguments, run): later commands register here.
COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "audit": ("run baseline, retrain reference and methods; print and save the result",
              add_audit_arguments, cmd_audit),
    "methods": ("list unlearning methods and their hyperparameters", lambda p: None,
                cmd_methods),
    "datasets": ("list built-in datasets and accepted files", lambda p: None, cmd_datasets),
    "runs": ("list, show or compare recorded audits", add_runs_arguments, cmd_runs),
    "verify": ("re-check a report (.json, .html or bundle .zip): integrity, signature, data, "
               "artifacts, verdicts, and a re-run within tolerance",
               add_verify_arguments, cmd_verify),
    "text-audit": ("audit unlearning of facts from a causal LM", add_text_audit_arguments,
                   cmd_text_audit),
}


def _show_defaults(p: argparse.ArgumentParser) -> None:
    """Append each option's default to its help: the parser's own, or for the audit flags left
    unset (so that a config file can fill them) the ``AuditConfig`` default they fall back to."""
    fallback = {k: getattr(AuditConfig(), k) for k in AuditConfig.__dataclass_fields__}
    fallback["method"] = ", ".join(m.name for m in fallback.get("methods", []))
    for action in p._actions:
        if action.help == argparse.SUPPRESS or "default" in (action.help or "") \
                or not action.option_strings or action.nargs == 0:
            continue
        value = action.default if action.default not in (None, argparse.SUPPRESS) else \
            fallback.get(action.dest) if p.prog.split()[-1] == "audit" else None
        if value not in (None, "", []):
            action.help = f"{action.help or ''} (default: {value})".strip()


def cmd_ids(args: argparse.Namespace) -> int:
    """Print the sample ids of one split (one per line, or with their class)."""
    from unlearn_core.data import load_dataset, make_splits

    ds = load_dataset(args.dataset, label_column=args.label_column, seed=args.seed,
                      id_column=args.id_column,
                      drop_columns=split_columns(args.drop_columns or ""))
    positions = getattr(make_splits(ds, args.seed), args.split)
    if args.with_class:
        for p in positions:
            print(f"{ds.ids[p]}\t{ds.class_names[ds.y[p]]}")
    else:
        print("\n".join(str(i) for i in ds.ids[positions]))
    return 0


def add_ids_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default="digits",
                   help="built-in name or a .npz/.csv/.zip/.parquet/.bin/.tar.gz file")
    p.add_argument("--label-column", dest="label_column", help="label column of a CSV dataset")
    add_column_arguments(p)
    p.add_argument("--split", choices=["train", "test", "population"], default="train",
                   help="which split; only training ids can be forgotten")
    p.add_argument("--seed", type=int, default=0, help="split seed (the audit's --seed)")
    p.add_argument("--with-class", dest="with_class", action="store_true",
                   help="print each id with its class name")


COMMANDS["ids"] = ("list the sample ids of a split (what ids:A,B,... can forget)",
                   add_ids_arguments, cmd_ids)
COMMANDS["keygen"] = ("make an Ed25519 key pair to sign reports with",
                      add_keygen_arguments, cmd_keygen)
COMMANDS["sign"] = ("sign a report.json (and its report.html) with your key",
                    add_sign_arguments, cmd_sign)
COMMANDS["bundle"] = ("pack a report, its data file and artifacts into one ZIP that verifies "
                      "anywhere", add_bundle_arguments, cmd_bundle)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="unlearn_core", description="Audit machine unlearning.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for name, (help_text, add_args, _) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text)
        add_args(sp)
        _show_defaults(sp)
    return parser


TEXT_DATASET, TEXT_MODEL = "facts", "tiny-gpt"


def _flag_values(argv: Sequence[str], flag: str) -> list[str]:
    """Every value given to ``flag`` in ``argv``, as ``--flag V`` or ``--flag=V``."""
    out = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == flag]
    return out + [a.split("=", 1)[1] for a in argv if a.startswith(flag + "=")]


def text_audit_argv(argv: Sequence[str]) -> Optional[list[str]]:
    """``audit`` of a text dataset (``--dataset facts`` or a .jsonl file) or of a causal LM
    (``--model tiny-gpt`` or a model folder with config.json) as ``text-audit`` arguments, so
    that one ``audit`` command serves both tracks; None for a classifier audit."""
    if not argv or argv[0] != "audit":
        return None
    data, model = _flag_values(argv, "--dataset"), _flag_values(argv, "--model")
    model += _flag_values(argv, "--original")  # a text claim: the original is a model folder
    text = any(d == TEXT_DATASET or d.lower().endswith(".jsonl") for d in data) or \
        any(m == TEXT_MODEL or (Path(m) / "config.json").is_file() for m in model)
    if not text:
        return None
    out, rest = ["text-audit"], list(argv[1:])
    while rest:
        arg = rest.pop(0)
        flag, eq, value = arg.partition("=")
        if flag not in ("--dataset", "--model"):
            out.append(arg)
            continue
        if not eq:
            value = rest.pop(0) if rest else ""
        if value not in (TEXT_DATASET, TEXT_MODEL):
            out += ["--data" if flag == "--dataset" else "--model", value]
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    with guarded_output():  # `... | head` ends the printing quietly; `ulimit -f` is an OSError
        try:
            argv = list(sys.argv[1:] if argv is None else argv)
            args = build_parser().parse_args(text_audit_argv(argv) or argv)
            if not args.command:
                raise ConfigError("unlearn_core: name a command: " + ", ".join(COMMANDS))
            return COMMANDS[args.command][2](args)
        except UnlearnError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
