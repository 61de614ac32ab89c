"""A cache of trained language models, so that a rerun of the same audit trains nothing.

Every model the text audit trains from scratch (the original on the built-in fact set and each
retrain of the reference ensemble) is keyed by a fingerprint of what determines its weights: the
encoded training sequences (so data and tokenizer), the architecture's configuration, the
recipe and the seed. Weights are kept as safetensors (``safetensors.torch.save_model``, which
handles GPT-2's tied embeddings; never a pickle) with the measured training time beside them, in
memory for the process and on disk under ``$UNLEARN_CACHE_DIR/text_models`` (or
``~/.cache/unlearn_core/text_models``). A damaged entry is retrained, never trusted; a cache that
cannot be written costs time, not correctness.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from unlearn_core.data.generated import default_cache_dir
from unlearn_core.text.lm import Encoded, LanguageModel

_IGNORED_CONFIG_KEYS = {"_name_or_path", "transformers_version", "architectures"}


def fingerprint(*parts: Any) -> str:
    """SHA-256 over ``parts``: encoded sets by their tensors' bytes, numpy arrays by their
    bytes, anything else by its canonical JSON."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Encoded):
            for t in (part.ids, part.attn, part.target):
                h.update(str(tuple(t.shape)).encode())
                h.update(t.contiguous().numpy().tobytes())
        elif isinstance(part, np.ndarray):
            h.update(part.tobytes())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\x00")
    return h.hexdigest()


def config_dict(lm: LanguageModel) -> dict:
    """The architecture's configuration without the keys that name where it was loaded from."""
    d = lm.model.config.to_dict()
    return {k: v for k, v in d.items() if k not in _IGNORED_CONFIG_KEYS}


def model_hash(lm: LanguageModel) -> str:
    """SHA-256 of the weights (parameters and buffers in name order): bit-identical models
    have the same hash."""
    h = hashlib.sha256()
    for name, t in sorted(lm.model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().contiguous().cpu().numpy().tobytes())
    return h.hexdigest()


@dataclass
class ModelCache:
    """Trained weights by fingerprint, in memory and (``root``) on disk; ``enabled=False``
    always trains. ``trained`` and ``hits`` count what happened (tests and the app read
    them)."""

    root: Optional[Path] = None
    enabled: bool = True
    memory: bool = True
    trained: int = 0
    hits: int = 0
    _mem: dict[str, tuple[dict, float]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.root is None:
            self.root = default_cache_dir() / "text_models"
        self.root = Path(self.root)

    def _folder(self, key: str) -> Path:
        return Path(self.root) / key[:32]

    def fetch(self, key: str, lm: LanguageModel) -> Optional[float]:
        """Load the weights cached under ``key`` into ``lm`` (in place); returns the recorded
        training seconds, or None when there is no usable entry."""
        if not self.enabled:
            return None
        if self.memory and key in self._mem:
            state, seconds = self._mem[key]
            lm.model.load_state_dict(state)
            lm.model.eval()
            self.hits += 1
            return seconds
        folder = self._folder(key)
        try:
            meta = json.loads((folder / "meta.json").read_text())
            if meta.get("key") != key:
                return None
            from safetensors.torch import load_model

            missing, unexpected = load_model(lm.model, str(folder / "model.safetensors"),
                                             strict=False)
            if unexpected or [m for m in missing if not _tied(lm, m)]:
                return None
        except Exception:  # a damaged or foreign entry is retrained, never trusted
            return None
        lm.model.eval()
        seconds = float(meta.get("seconds", 0.0))
        self._remember(key, lm, seconds)
        self.hits += 1
        return seconds

    def store(self, key: str, lm: LanguageModel, seconds: float) -> None:
        """Keep ``lm``'s weights under ``key`` (memory, then disk, written atomically)."""
        if not self.enabled:
            return
        self._remember(key, lm, seconds)
        folder = self._folder(key)
        try:
            from safetensors.torch import save_model

            Path(self.root).mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.root))
            save_model(lm.model, str(tmp / "model.safetensors"))
            (tmp / "meta.json").write_text(json.dumps({"key": key, "seconds": seconds}))
            if folder.exists():
                shutil.rmtree(tmp, ignore_errors=True)
                return
            os.replace(tmp, folder)
        except OSError:
            pass  # a read-only cache costs time, not correctness

    def _remember(self, key: str, lm: LanguageModel, seconds: float) -> None:
        if self.memory:
            state = {k: v.detach().clone() for k, v in lm.model.state_dict().items()}
            self._mem[key] = (state, seconds)

    def train(self, key: str, lm: LanguageModel, fit: Callable[[], float]) -> tuple[float, bool]:
        """``lm`` with the weights cached under ``key``, else trained by ``fit()`` (which
        returns its seconds) and stored; returns (seconds, came from the cache)."""
        seconds = self.fetch(key, lm)
        if seconds is not None:
            return seconds, True
        seconds = fit()
        self.trained += 1
        self.store(key, lm, seconds)
        return seconds, False


def _tied(lm: LanguageModel, name: str) -> bool:
    """Whether a parameter missing from the file is tied to one that is there (GPT-2's
    ``lm_head.weight`` is the token embedding)."""
    params = dict(lm.model.named_parameters(remove_duplicate=False))
    target = params.get(name)
    if target is None:
        return False
    return any(p is target for n, p in params.items() if n != name)


def default_cache() -> ModelCache:
    """The process-wide cache at the default folder (``UNLEARN_TEXT_CACHE=0`` disables it)."""
    global _DEFAULT
    enabled = os.environ.get("UNLEARN_TEXT_CACHE", "1") != "0"
    root = default_cache_dir() / "text_models"
    if _DEFAULT is None or Path(_DEFAULT.root) != root or _DEFAULT.enabled != enabled:
        _DEFAULT = ModelCache(root, enabled)
    return _DEFAULT


_DEFAULT: Optional[ModelCache] = None
