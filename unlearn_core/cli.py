"""Command line: ``python -m unlearn_core audit|methods|datasets``.

Bad arguments and bad inputs print one line on stderr and exit non-zero; nothing else does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

from .audit import AuditConfig, MethodSpec, run_audit
from .errors import ConfigError, UnlearnError
from .models import TrainConfig
from .progress import TqdmProgress
from .table import audit_table


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
    cfg = AuditConfig(**raw)
    if methods_raw is not None:
        cfg.methods = [parse_method(m) if isinstance(m, str) else
                       MethodSpec(m["name"], dict(m.get("params", {}))) for m in methods_raw]
    if train_raw is not None:
        cfg.train = TrainConfig(**train_raw)
    for key in ("dataset", "model", "forget", "seed", "label_column", "mia_score"):
        value = getattr(args, key)
        if value is not None:
            setattr(cfg, key, value)
    if args.method:
        cfg.methods = [parse_method(m) for m in args.method]
    if args.epochs is not None:
        base = cfg.train or TrainConfig()
        cfg.train = TrainConfig(args.epochs, base.lr, base.batch_size, base.weight_decay,
                                base.optimizer)
    return cfg


def cmd_audit(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    progress = TqdmProgress(disable=args.quiet)
    run = run_audit(cfg, progress)
    progress.close()
    result = run.result
    print(f"dataset {result.dataset_name}: {result.n_train} train, {result.n_test} test; "
          f"forget {result.forget_description} ({result.n_forget} samples)")
    print(audit_table(result))
    for failure in result.failures:
        print(f"failed: {failure.name}: {failure.message}")
    if args.out:
        Path(args.out).write_text(json.dumps(result.to_dict(), indent=1))
        print(f"wrote {args.out}")
    return 0


def cmd_methods(args: argparse.Namespace) -> int:
    from .methods import METHODS, available_methods

    for name in available_methods():
        cls = METHODS[name]
        params = ", ".join(f"{k}={v}" for k, v in cls().get_params().items())
        print(f"{name:18s} {cls.paper}")
        if params:
            print(f"{'':18s} params: {params}")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from .data import BUILTIN_DATASETS

    print("built-in: " + ", ".join(BUILTIN_DATASETS))
    print("files: .npz (X, y, optional ids, class_names), .csv (--label-column), .zip of class "
          "folders of images")
    return 0


def add_audit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="YAML or JSON file of AuditConfig settings")
    p.add_argument("--dataset", help="built-in name (digits, breast_cancer, wine, digits28) "
                   "or a .npz/.csv/.zip file")
    p.add_argument("--label-column", dest="label_column", help="label column of a CSV dataset")
    p.add_argument("--model", help="architecture: logreg, mlp, cnn")
    p.add_argument("--forget", help="class:N[,M], random:FRACTION or ids:A,B,...")
    p.add_argument("--method", action="append",
                   help="method name, optionally name:key=value,...; repeat for several")
    p.add_argument("--seed", type=int)
    p.add_argument("--epochs", type=int, help="training epochs of the baseline and retrain")
    p.add_argument("--mia-score", dest="mia_score", choices=["loss", "confidence"])
    p.add_argument("--out", help="write the result as JSON here")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


# name -> (help, add_arguments, run): later commands register here.
COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "audit": ("run baseline, retrain reference and methods; print and save the result",
              add_audit_arguments, cmd_audit),
    "methods": ("list unlearning methods and their hyperparameters", lambda p: None,
                cmd_methods),
    "datasets": ("list built-in datasets and accepted files", lambda p: None, cmd_datasets),
}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="unlearn_core", description="Audit machine unlearning.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for name, (help_text, add_args, _) in COMMANDS.items():
        add_args(sub.add_parser(name, help=help_text))
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    try:
        args = build_parser().parse_args(argv)
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
