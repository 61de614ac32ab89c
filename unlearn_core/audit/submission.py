"""A claim handed over as bytes (the app's uploads, ``docs/claims.md``): each file kept once, by
its SHA-256, in a folder the caller names (the run store's ``submitted/``), so that the paths a
claim audit records stay valid for ``verify`` and bundles; the session's original written as
registry weights and spec; the app's own recipe as a recipe file; and from them the
``ClaimSpec`` that ``run_claim_audit`` reads through the claim's safe loaders.

Nothing here loads a model or parses a weights file: an upload is only named, sized, hashed and
written, so that every hostile byte goes through ``audit.claim.load_claim`` and nowhere else.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Optional, Sequence

import yaml
from torch import nn

from unlearn_core.audit.claim import ROLE_WORDS, ClaimSpec
from unlearn_core.audit.recipe import MAX_RECIPE_BYTES, Recipe, recipe_mapping
from unlearn_core.errors import ConfigError, ModelError
from unlearn_core.models import ModelSpec, TrainConfig, save_model
from unlearn_core.models.io import MAX_MODEL_BYTES

SUBMITTED = "submitted"  # the store's folder of submitted files, one sub-folder per SHA-256
APP_RECIPE = "app-recipe.yaml"  # the name of the recipe the app trained the original with
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


@dataclass
class Upload:
    """One uploaded file: the name the browser gave it and its bytes (both untrusted)."""

    name: str
    raw: bytes


def safe_name(name: str, fallback: str) -> str:
    """A plain file name for ``name`` (no folders, nothing hidden, only letters, digits and
    ``._+-``, at most 100 characters); ``fallback`` when nothing of it is left."""
    base = PurePosixPath(str(name).replace("\\", "/")).name
    base = _UNSAFE.sub("_", base).lstrip("._")[:100]
    return base or fallback


def keep_upload(folder: Path, upload: Upload, role: str) -> Path:
    """Write ``upload`` to ``folder/<sha256>/<its safe name>`` once (atomically; the same bytes
    uploaded again reuse the file) and return the path. A file larger than a claim audit reads
    is refused here, before anything is written."""
    raw = bytes(upload.raw)
    what = ROLE_WORDS.get(role, role)
    limit = MAX_RECIPE_BYTES if role == "recipe" else MAX_MODEL_BYTES
    if len(raw) > limit:
        unit = f"{limit // 1024} KiB" if role == "recipe" else f"{limit >> 20} MiB"
        raise (ConfigError if role == "recipe" else ModelError)(
            f"{what} '{upload.name}' is larger than {unit}")
    if not raw:
        raise ConfigError(f"{what} '{upload.name}' is empty")
    digest = hashlib.sha256(raw).hexdigest()
    path = Path(folder) / digest / safe_name(upload.name, "upload")
    if path.exists() and path.stat().st_size == len(raw):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        tmp.write_bytes(raw)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def keep_original(folder: Path, model: nn.Module, name: str = "original") -> tuple[Path, Path]:
    """The session's original written as the claim's original: safetensors weights and spec
    JSON (``models.save_model``), kept like an upload (``keep_upload``). A model without a
    registry spec (a torch.export program or TorchScript loaded on Setup) cannot be one."""
    spec = getattr(model, "spec", None)
    if not isinstance(spec, ModelSpec):
        raise ModelError("the session's original has no registry spec (it is a torch.export "
                         "program or TorchScript): a claim audit needs an original of a registry "
                         "architecture; load it on Setup as safetensors or a weights-only state "
                         "dict with its spec JSON")
    stem = safe_name(name, "original")
    with tempfile.TemporaryDirectory(prefix="unlearn-original-") as tmp:
        weights, spec_file = save_model(model, Path(tmp) / stem)
        return (keep_upload(folder, Upload(weights.name, weights.read_bytes()), "original"),
                keep_upload(folder, Upload(spec_file.name, spec_file.read_bytes()), "spec"))


def recipe_text(train: TrainConfig, seed: Optional[int] = None) -> str:
    """A recipe file's YAML for ``train`` (``audit.recipe.recipe_mapping``: the keys a recipe
    declares, with the original's ``seed`` when known): what the app shows and submits for an
    original it trained itself."""
    return yaml.safe_dump(recipe_mapping(Recipe(train, seed)), sort_keys=False)


def submission_claim(folder: Path, original: nn.Module, claimed: Sequence[Upload],
                     recipe: Optional[Upload], submitted: Sequence[Upload] = (),
                     fit_originals: int = 3, own_retrains: int = 3) -> ClaimSpec:
    """The ``ClaimSpec`` of a claim uploaded as bytes against the session's ``original``: every
    file kept in ``folder`` (``keep_upload``) and named by its path there. One ``ConfigError``
    when no claimed model or no recipe is given."""
    if not claimed:
        raise ConfigError("upload at least one claimed model (safetensors, or a weights-only "
                          "state dict .pt) to audit")
    if recipe is None:
        raise ConfigError("upload the recipe that trained the original (YAML or JSON: "
                          "optimizer, lr, epochs, batch_size, ...)")
    weights, spec = keep_original(folder, original)
    return ClaimSpec(
        original=str(weights), spec=str(spec),
        claimed=[str(keep_upload(folder, u, "claimed")) for u in claimed],
        recipe=str(keep_upload(folder, recipe, "recipe")),
        submitted_retrains=[str(keep_upload(folder, u, "submitted_retrain"))
                            for u in submitted],
        fit_originals=fit_originals, own_retrains=own_retrains)


__all__ = ["APP_RECIPE", "SUBMITTED", "Upload", "keep_original", "keep_upload", "recipe_text",
           "safe_name", "submission_claim"]
