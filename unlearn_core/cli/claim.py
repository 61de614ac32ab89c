"""The claim audit on the command line: ``audit --original A --spec S --claimed B [--claimed C]
--recipe R [--submitted-retrain R1 ...]`` and the config file's ``claim`` mapping (the same keys
as ``audit.claim.ClaimSpec``), merged into the audit's config; flags win."""

from __future__ import annotations

import argparse
import dataclasses

from unlearn_core.audit.claim import ClaimSpec
from unlearn_core.audit.run import AuditConfig
from unlearn_core.errors import ConfigError

CLAIM_KEYS = tuple(f.name for f in dataclasses.fields(ClaimSpec))
_LISTS = ("claimed", "submitted_retrains")


def add_claim_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of a claim audit (docs/claims.md)."""
    p.add_argument("--original", help="claim audit: the original model's weights (.safetensors, "
                   "or a weights-only state dict .pt) of a registry architecture")
    p.add_argument("--spec", help="claim audit: the original's spec JSON (arch, input_shape, "
                   "n_classes, params), as save_model writes it")
    p.add_argument("--claimed", action="append", help="claim audit: a claimed unlearned model "
                   "(same architecture and shapes as the original); repeat for several")
    p.add_argument("--recipe", help="claim audit: YAML or JSON file of how the original was "
                   "trained (optimizer, lr, epochs, batch_size, ...; docs/claims.md)")
    p.add_argument("--submitted-retrain", dest="submitted_retrain", action="append",
                   help="claim audit: a retrain made by the claimant (at least 2): used as the "
                        "reference once it looks like the audit's own; repeatable")
    p.add_argument("--fit-originals", dest="fit_originals", type=int,
                   help="claim audit: originals trained with the recipe to check that it "
                        "reproduces the original (default 3)")


def claim_from_config(raw: object) -> ClaimSpec:
    """The config file's ``claim`` mapping as a ``ClaimSpec`` (a single path where a list is
    expected is a list of one)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"config 'claim' must be a mapping of {', '.join(CLAIM_KEYS)}")
    unknown = sorted(set(map(str, raw)) - set(CLAIM_KEYS))
    if unknown:
        raise ConfigError(f"unknown claim setting '{unknown[0]}': use {', '.join(CLAIM_KEYS)}")
    values = {str(k): v for k, v in raw.items()}
    for key in _LISTS:
        if isinstance(values.get(key), str):
            values[key] = [values[key]]
    for key in ("original", "spec"):
        if key not in values:
            raise ConfigError(f"config 'claim' has no '{key}': a claim names the original's "
                              "weights (original) and spec JSON (spec)")
    values = {k: str(v) if k in ("original", "spec", "recipe") and v is not None else v
              for k, v in values.items()}
    return ClaimSpec(**values)


def apply_claim(cfg: AuditConfig, raw: object, args: argparse.Namespace,
                methods_given: bool) -> None:
    """Set ``cfg.claim`` from the config file's ``claim`` (``raw``) and the claim flags. A claim
    audit runs no method unless one is named, takes its architecture from the spec and its
    recipe from the recipe file."""
    flags = {"original": args.original, "spec": args.spec, "recipe": args.recipe,
             "claimed": args.claimed, "submitted_retrains": args.submitted_retrain,
             "fit_originals": args.fit_originals}
    given = {k: v for k, v in flags.items() if v is not None}
    if raw is None and not given:
        return
    base = dataclasses.asdict(claim_from_config(raw)) if raw is not None else {}
    if raw is None and ("original" not in given or "spec" not in given):
        need = "--original" if "original" not in given else "--spec"
        raise ConfigError(f"a claim audit needs {need}: the original's weights (--original) "
                          "and its spec JSON (--spec), with --claimed and --recipe")
    cfg.claim = ClaimSpec(**{**base, **given})
    if not methods_given:
        cfg.methods = []
    if getattr(args, "model", None) is not None:
        raise ConfigError("--model does not apply to a claim audit: the architecture is the "
                          "one in --spec")
    if getattr(args, "epochs", None) is not None:
        raise ConfigError("--epochs does not apply to a claim audit: the recipe (--recipe) "
                          "declares how the original was trained")
