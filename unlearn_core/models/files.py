"""One entry that loads a model file a user brings, by its format: safetensors or a weights-only
state dict with its spec JSON (``io.load_model``), a ``torch.export`` program (``.pt2``, checked
against its allow list: ``export.load_exported``), or TorchScript, which carries code and loads
only with ``trust_code=True`` (a local file the user made; the app never passes it)."""

from __future__ import annotations

from typing import Optional

from torch import nn

from unlearn_core.errors import ModelError
from unlearn_core.models.export import load_exported
from unlearn_core.models.io import (
    TORCHSCRIPT_REFUSED,
    Source,
    _read_bytes,
    is_torchscript,
    load_model,
    load_torchscript,
)


def load_model_file(weights: Source, spec: Optional[Source] = None, name: str = "",
                    trust_code: bool = False) -> nn.Module:
    """The model in ``weights`` (a path, bytes or a binary file; ``name``: its file name when
    it is bytes), with its ``spec`` JSON when it is a state dict. TorchScript is refused with
    ``TORCHSCRIPT_REFUSED`` unless ``trust_code`` is True (and never loaded as weights);
    anything else is one ``ModelError``."""
    if spec is not None:
        return load_model(weights, spec)
    raw = _read_bytes(weights)
    if not name and not isinstance(weights, (bytes, bytearray)):
        name = str(getattr(weights, "name", weights))  # a Path's or file object's name
    if is_torchscript(raw):
        if not trust_code:
            raise ModelError(TORCHSCRIPT_REFUSED)
        return load_torchscript(raw, trust_code=True)
    if str(name).lower().endswith(".pt2"):
        return load_exported(raw)
    try:
        return load_exported(raw)
    except ModelError:
        raise ModelError(f"model file '{name or 'upload'}' is neither a torch.export program "
                         "(.pt2) nor, with its spec JSON, safetensors or a weights-only state "
                         "dict: give the spec of a weights file") from None
