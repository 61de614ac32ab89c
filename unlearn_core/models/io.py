"""Saving and loading models without unpickling: safetensors + JSON spec, or TorchScript.

``torch.load`` on an uploaded file can run arbitrary code; we never call it without
``weights_only=True`` and prefer safetensors, whose format holds only tensors.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
import torch
from torch import nn

from ..errors import ModelError
from .architectures import Classifier, ModelSpec, build_model

Source = Union[str, Path, bytes, BinaryIO]


def _read_bytes(source: Source) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    if isinstance(source, (str, Path)):
        try:
            return Path(source).read_bytes()
        except OSError as err:
            raise ModelError(f"cannot read model file '{source}': {err.strerror}")
    data = source.read()
    if hasattr(source, "seek"):
        source.seek(0)
    return data


def save_model(model: Classifier, path: Union[str, Path]) -> tuple[Path, Path]:
    """Write ``<path>.safetensors`` (weights) and ``<path>.json`` (spec); return both paths."""
    from safetensors.torch import save_file

    base = Path(path)
    if base.suffix in (".safetensors", ".json"):
        base = base.with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    weights, spec = base.with_suffix(".safetensors"), base.with_suffix(".json")
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    save_file(state, str(weights))
    spec.write_text(model.spec.to_json())
    return weights, spec


def load_model(weights: Source, spec: Union[Source, ModelSpec]) -> Classifier:
    """Rebuild a registry model from its spec and load safetensors (or weights-only .pt) weights."""
    if not isinstance(spec, ModelSpec):
        spec = ModelSpec.from_json(_read_bytes(spec).decode("utf-8", errors="replace"))
    model = build_model(spec)
    raw = _read_bytes(weights)
    try:
        from safetensors.torch import load as load_safetensors

        state = load_safetensors(raw)
    except Exception:
        try:
            state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
        except Exception:
            raise ModelError(
                "weights file is neither safetensors nor a weights-only PyTorch state dict"
            )
    if not isinstance(state, dict):
        raise ModelError("weights file does not hold a state dict of tensors")
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        raise ModelError(f"weights do not match the '{spec.arch}' spec: {' '.join(first[:2])}")
    model.eval()
    return model


def load_torchscript(source: Source) -> nn.Module:
    """Load a TorchScript model (a compiled archive, not a pickle of Python objects)."""
    try:
        model = torch.jit.load(io.BytesIO(_read_bytes(source)), map_location="cpu")
    except Exception as err:
        raise ModelError(f"not a TorchScript file ({type(err).__name__}); save with torch.jit.save")
    model.eval()
    return model


def check_compatible(model: nn.Module, sample_shape: tuple[int, ...], n_classes: int) -> None:
    """Refuse a model whose input shape or number of outputs does not fit the dataset."""
    x = torch.zeros((2, *sample_shape), dtype=torch.float32)
    try:
        with torch.no_grad():
            out = model(x)
    except Exception as err:
        msg = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise ModelError(
            f"model does not accept inputs of shape {tuple(sample_shape)} from this dataset: {msg}"
        )
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[1] != n_classes:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ModelError(
            f"model outputs {shape} for a batch of 2 but the dataset has {n_classes} classes: "
            f"expected (2, {n_classes})"
        )


def model_hash(model: nn.Module) -> str:
    """SHA-256 over the parameters and buffers, in state-dict order."""
    h = hashlib.sha256()
    for key, value in model.state_dict().items():
        h.update(key.encode())
        h.update(np.ascontiguousarray(value.detach().cpu().numpy()).tobytes())
    return h.hexdigest()


def clone_model(model: nn.Module) -> nn.Module:
    """An independent trainable copy; TorchScript modules go through a save/load round trip
    because ``copy.deepcopy`` leaves their parameters non-leaf."""
    if isinstance(model, torch.jit.ScriptModule):
        buf = io.BytesIO()
        torch.jit.save(model, buf)
        buf.seek(0)
        return torch.jit.load(buf, map_location="cpu")
    import copy

    return copy.deepcopy(model)
