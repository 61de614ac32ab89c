"""``audit --baseline-model FILE [--trust-code]``: audit the methods on a model trained elsewhere
instead of one trained here. A ``.pt2`` program is read behind its allow list; a TorchScript file
carries code that runs with the rights of whoever loads it, so it loads only with ``--trust-code``,
which says that the file is one you made yourself (never one you were sent)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional

from torch import nn

from unlearn_core.errors import ConfigError

TRUST_CODE_HELP = ("load a local TorchScript --baseline-model: its code runs with your rights "
                   "(it can read and write your files), so use it only for files you made "
                   "yourself, never for one a claimant sent (use .pt2 or safetensors + spec)")


def add_baseline_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of an audit on a model brought from elsewhere."""
    p.add_argument("--baseline-model", dest="baseline_model",
                   help="audit the methods on this trained model (the original) instead of "
                        "training one: a torch.export program (.pt2, checked against its allow "
                        "list), or a local TorchScript file with --trust-code")
    p.add_argument("--trust-code", dest="trust_code", action="store_true",
                   help=TRUST_CODE_HELP)


def load_baseline(args: argparse.Namespace, claim: object = None) -> Optional[nn.Module]:
    """The model of ``--baseline-model`` (None without it), loaded before any work; one
    ``UnlearnError`` (exit 2) for a file that cannot be read, TorchScript without
    ``--trust-code``, or a claim audit (``claim``: the config's; its files carry no code)."""
    from unlearn_core.models import load_model_file

    path = getattr(args, "baseline_model", None)
    trust = bool(getattr(args, "trust_code", False))
    if path is None:
        if trust:
            raise ConfigError("--trust-code applies only to a TorchScript --baseline-model")
        return None
    if claim is not None:
        raise ConfigError("--baseline-model does not apply to a claim audit: its original is "
                          "--original with --spec (TorchScript is refused there)")
    if not Path(path).expanduser().is_file():
        raise ConfigError(f"--baseline-model '{path}' is not a file")
    return load_model_file(Path(path).expanduser(), trust_code=trust)


def baseline_upload(args: argparse.Namespace) -> Optional[dict]:
    """The ``--baseline-model`` file by name, SHA-256 and size, for the report's record of where
    the baseline came from (None without one)."""
    from unlearn_core.report.build import data_record

    path = getattr(args, "baseline_model", None)
    return None if path is None else data_record(str(Path(path).expanduser()))
