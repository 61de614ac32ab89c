"""Saving and loading models without unpickling: safetensors + JSON spec, a ``torch.export``
program (``models.export``), or TorchScript (deprecated by torch 2.13, and code: read only with
``trust_code=True``, for local files the user made, never for an upload).

``torch.load`` on an uploaded file can run arbitrary code; we never call it without
``weights_only=True`` and prefer safetensors, whose format holds only tensors.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from pathlib import Path
from typing import BinaryIO, Optional, Union

import numpy as np
import torch
from torch import nn

from unlearn_core.errors import ModelError
from unlearn_core.models.architectures import ARCHITECTURES, Classifier, ModelSpec, build_model
from unlearn_core.models.training import predict_logits
from unlearn_core.serialize import json_depth

Source = Union[str, Path, bytes, BinaryIO]

MAX_MODEL_BYTES = 1024 * 2**20  # a weights, spec or TorchScript file
MAX_SPEC_BYTES = 2**20  # a model spec (a few hundred bytes in practice)
MAX_JSON_DEPTH = 100  # nesting of a spec or a .pt2 program's JSON (real ones: 2 and about 10)
MAX_CLASSES = 1000  # as for datasets (``data.loaders.MAX_CLASSES``)
MAX_INPUT_DIMS = 3  # (features,) or (channels, height, width)
MAX_INPUT_SIDE = 4096
MAX_INPUT_VALUES = 3 * 1024 * 1024  # values in one sample
MAX_PARAMETERS = 100_000_000  # weights a spec may ask for (400 MB of float32)
MAX_WIDTH = 4096  # the ``hidden`` and ``width`` architecture params
# the params each architecture takes, with their allowed whole-number ranges
ARCH_PARAMS: dict[str, dict[str, tuple[int, int]]] = {
    "logreg": {},
    "mlp": {"hidden": (1, MAX_WIDTH)},
    "cnn": {"width": (1, MAX_WIDTH), "hidden": (1, MAX_WIDTH)},
    "resnet18": {"width": (1, MAX_WIDTH // 8)},  # layer4 has 8 x width channels
    "vit": {"patch": (1, 64), "dim": (1, MAX_WIDTH), "depth": (1, 48), "heads": (1, 64)},
}


TORCHSCRIPT_REFUSED = (
    "TorchScript is refused: it is deprecated by torch and carries code that runs with the "
    "rights of whoever loads it (a forward can read or overwrite files on this machine); bring "
    "safetensors weights with their spec JSON, a weights-only state dict with its spec, or a "
    "torch.export program (.pt2, checked against its allow list)")


def is_torchscript(raw: bytes) -> bool:
    """Whether ``raw`` is a TorchScript archive (a ZIP holding ``constants.pkl`` and ``code/``,
    as ``torch.jit.save`` writes it, the test torch itself applies)."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            return any(n == "constants.pkl" or n.endswith("/constants.pkl")
                       for n in zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False


def _read_bytes(source: Source) -> bytes:
    """The bytes of a path, bytes or binary file object, at most ``MAX_MODEL_BYTES``."""
    limit = f"the limit is {MAX_MODEL_BYTES // 2**20} MiB"
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif isinstance(source, (str, Path)):
        try:
            if Path(source).stat().st_size > MAX_MODEL_BYTES:
                raise ModelError(f"model file '{Path(source).name}' is too large; {limit}")
            data = Path(source).read_bytes()
        except OSError as err:
            raise ModelError(f"cannot read model file '{source}': {err.strerror or err}")
    else:
        data = source.read(MAX_MODEL_BYTES + 1)
        if hasattr(source, "seek"):
            source.seek(0)
    if len(data) > MAX_MODEL_BYTES:
        raise ModelError(f"model file is larger than {MAX_MODEL_BYTES // 2**20} MiB; {limit}")
    return data


def _whole(value: object) -> Optional[int]:
    """An int from an int or an integral float; None for anything else (bools included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def validate_spec(spec: ModelSpec) -> ModelSpec:
    """Refuse a spec before anything is allocated: a known architecture, 1 to 3 input
    dimensions of bounded size, 2 to ``MAX_CLASSES`` classes, architecture params that are
    whole numbers in range, and at most ``MAX_PARAMETERS`` weights in all. Returns the spec
    with its numbers as ints."""
    if not isinstance(spec.arch, str) or spec.arch not in ARCHITECTURES:
        raise ModelError(f"model spec: unknown arch {spec.arch!r}: choose one of "
                         f"{', '.join(sorted(ARCHITECTURES))}")
    shape = spec.input_shape
    if not isinstance(shape, (tuple, list)) or not 1 <= len(shape) <= MAX_INPUT_DIMS:
        raise ModelError(f"model spec: input_shape must list 1 to {MAX_INPUT_DIMS} sizes "
                         f"((features,) or (channels, height, width)), got {shape!r}")
    dims = [_whole(v) for v in shape]
    side = MAX_INPUT_VALUES if len(dims) == 1 else MAX_INPUT_SIDE  # features, or image sides
    if any(d is None or not 1 <= d <= side for d in dims):
        raise ModelError(f"model spec: input_shape sizes must be whole numbers from 1 to "
                         f"{side}, got {list(shape)}")
    values = math.prod(dims)
    if values > MAX_INPUT_VALUES:
        raise ModelError(f"model spec: input_shape {list(shape)} has {values} values per sample;"
                         f" the limit is {MAX_INPUT_VALUES}")
    n_classes = _whole(spec.n_classes)
    if n_classes is None or not 2 <= n_classes <= MAX_CLASSES:
        raise ModelError(f"model spec: n_classes must be a whole number from 2 to {MAX_CLASSES}"
                         f", got {spec.n_classes!r}")
    if not isinstance(spec.params, dict):
        raise ModelError(f"model spec: params must be a mapping, got {spec.params!r}")
    allowed = ARCH_PARAMS.get(spec.arch, {})
    params = {}
    for key, value in spec.params.items():
        if key not in allowed:
            raise ModelError(f"model spec: {spec.arch} has no param {key!r}; it takes "
                             f"{', '.join(allowed) or 'none'}")
        number = _whole(value)
        lo, hi = allowed[key]
        if number is None or not lo <= number <= hi:
            raise ModelError(f"model spec: param {key!r} must be a whole number from {lo} to "
                             f"{hi}, got {value!r}")
        params[key] = number
    checked = ModelSpec(spec.arch, tuple(dims), n_classes, params)
    weights = _weight_count(checked)
    if weights > MAX_PARAMETERS:
        raise ModelError(f"model spec: {spec.arch} on input_shape {list(shape)} with "
                         f"{n_classes} classes needs about {weights:,} weights; the limit is "
                         f"{MAX_PARAMETERS:,}")
    return checked


def _weight_count(spec: ModelSpec) -> int:
    """About how many weights the spec's model has, computed without building it; shape
    problems of the architecture (an image model on tabular data, a patch that does not
    divide the image) are a ``ModelError`` here too."""
    values, n_classes, params = math.prod(spec.input_shape), spec.n_classes, spec.params
    if spec.arch == "logreg":
        return values * n_classes
    if spec.arch == "mlp":
        hidden = params.get("hidden", 128)
        return values * hidden + hidden * hidden + hidden * n_classes
    if spec.arch in ("cnn", "resnet18", "vit") and len(spec.input_shape) != 3:
        raise ModelError(f"model spec: {spec.arch} needs image data (channels, height, width)"
                         f"; input_shape {list(spec.input_shape)} is not: use mlp or logreg")
    if spec.arch == "cnn":
        hidden, width = params.get("hidden", 128), params.get("width", 16)
        return 9 * spec.input_shape[0] * width + 18 * width * width + 32 * width * hidden \
            + hidden * n_classes
    if spec.arch == "resnet18":
        from unlearn_core.models.resnet import DEFAULT_WIDTH, resnet18_weights

        return resnet18_weights(spec.input_shape[0], params.get("width", DEFAULT_WIDTH),
                                n_classes)
    if spec.arch == "vit":
        from unlearn_core.models.vit import vit_weights

        return vit_weights(spec)
    return 0


def _registry_keys(arch: str, state: dict) -> dict:
    """A state dict from another code base renamed to the registry's keys, when it is one of
    the layouts CIFAR ResNet-18 weights come in: torchvision's ``resnet18`` (``conv1``, ``bn1``,
    ``layer1.0.conv1``, ``layer2.0.downsample.0``, ``fc``) or the widespread pytorch-cifar one
    (``shortcut`` for ``downsample``, ``linear`` for ``fc``), with or without DataParallel's
    ``module.`` prefix. Other state dicts are returned as they are."""
    if not state or not all(isinstance(k, str) for k in state):
        return state
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    if arch != "resnet18" or any(k.startswith(("body.", "head.")) for k in state):
        return state
    out = {}
    for key, value in state.items():
        for old, new in (("fc.", "head."), ("linear.", "head.")):
            if key.startswith(old):
                out[new + key[len(old):]] = value
                break
        else:
            out["body." + key.replace(".shortcut.", ".downsample.")] = value
    return out


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
        spec = _spec_from_json(_read_bytes(spec))
    spec = validate_spec(spec)
    model = build_model(spec)
    raw = _read_bytes(weights)
    if is_torchscript(raw):  # never loaded as weights: its code would come with it
        raise ModelError(TORCHSCRIPT_REFUSED)
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
    odd = next(((k, v) for k, v in state.items()
                if not isinstance(k, str) or not isinstance(v, torch.Tensor)), None)
    if odd is not None:
        key, value = odd
        what = f"key {key!r} ({type(key).__name__})" if not isinstance(key, str) else \
            f"entry {key[:80]!r} holding a {type(value).__name__}"
        raise ModelError(f"weights file is not a state dict of tensors: it has a {what}; a "
                         "state dict maps parameter names (text) to tensors")
    state = _registry_keys(spec.arch, state)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        raise ModelError(f"weights do not match the '{spec.arch}' spec: {' '.join(first[:2])}")
    model.eval()
    return model


def _spec_from_json(raw: bytes) -> ModelSpec:
    """A ``ModelSpec`` from JSON bytes, the types checked by ``validate_spec`` afterwards; its
    size and nesting are bounded before it is parsed (a spec nests two levels deep)."""
    if len(raw) > MAX_SPEC_BYTES:
        raise ModelError(f"model spec is {len(raw):,} bytes; a spec is a small JSON object "
                         f"(the limit is {MAX_SPEC_BYTES // 2**10} KiB)")
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise ModelError(f"model spec nests deeper than {MAX_JSON_DEPTH} levels; it must be a "
                         "JSON object with arch, input_shape, n_classes (and optional params)")
    try:
        data = json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError as err:
        raise ModelError(f"model spec is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ModelError("model spec must be a JSON object with arch, input_shape, n_classes")
    missing = [k for k in ("arch", "input_shape", "n_classes") if k not in data]
    if missing:
        raise ModelError(f"model spec has no {missing[0]!r}; it needs arch, input_shape and "
                         "n_classes (and optional params)")
    shape = data["input_shape"]
    if not isinstance(shape, list):
        raise ModelError(f"model spec: input_shape must be a list of sizes, got {shape!r}")
    return ModelSpec(arch=data["arch"], input_shape=tuple(shape), n_classes=data["n_classes"],
                     params=data.get("params") if data.get("params") is not None else {})


def load_torchscript(source: Source, *, trust_code: bool = False) -> nn.Module:
    """Load a TorchScript model, only when ``trust_code=True`` is passed: an archive carries
    TorchScript code that runs with the caller's rights (``torch.from_file(path, shared=True)``
    in a ``forward`` reads or overwrites any file), so it is for files you made yourself, never
    for an upload. Without it: ``ModelError(TORCHSCRIPT_REFUSED)``.

    Deprecated: torch 2.13 deprecates ``torch.jit.save`` / ``torch.jit.load`` in favour of
    ``torch.export``; foreign models should come as ``.pt2`` programs
    (``models.export.load_exported``, checked against an allow list) or safetensors + spec."""
    if trust_code is not True:
        raise ModelError(TORCHSCRIPT_REFUSED)
    try:
        model = torch.jit.load(io.BytesIO(_read_bytes(source)), map_location="cpu")
    except Exception as err:
        raise ModelError(f"not a TorchScript file ({type(err).__name__}); save with torch.jit.save")
    model.eval()
    return model


def check_compatible(model: nn.Module, sample_shape: tuple[int, ...], n_classes: int,
                     probe: Optional[np.ndarray] = None,
                     probe_ids: Optional[np.ndarray] = None) -> None:
    """Refuse a model whose input shape or number of outputs does not fit the dataset, or
    whose outputs are NaN or infinite on a probe batch: zeros, seeded random inputs and, when
    given, every row of ``probe`` (the dataset's samples, ``probe_ids`` their ids), counted,
    so that a model that is NaN on a few samples is refused here rather than deep in the
    audit."""
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
    batches = [("zero inputs", x),
               ("random inputs", torch.randn((8, *sample_shape),
                                             generator=torch.Generator().manual_seed(0)))]
    for what, batch in batches:
        try:
            with torch.no_grad():
                out = model(batch)
        except Exception as err:
            raise ModelError(f"model fails on a probe batch of {what}: "
                             f"{type(err).__name__}") from None
        if not isinstance(out, torch.Tensor) or not out.is_floating_point() or \
                tuple(out.shape) != (len(batch), n_classes):
            raise ModelError(f"model outputs {getattr(out, 'shape', type(out).__name__)} on a "
                             f"probe batch of {what}; expected ({len(batch)}, {n_classes}) "
                             "floating-point scores")
        if not bool(torch.isfinite(out).all()):
            raise ModelError(f"model outputs NaN or infinite scores on a probe batch of {what}; "
                             "it cannot be audited (check the weights or the export)")
    if probe is not None and len(probe):
        _check_finite_on(model, np.asarray(probe), n_classes, probe_ids)


PROBE_CHUNK = 4096  # samples per forward pass of the data probe


def _check_finite_on(model: nn.Module, X: np.ndarray, n_classes: int,
                     ids: Optional[np.ndarray] = None) -> None:
    """Run the model on every sample of ``X`` (on the audit's device, in chunks) and refuse it,
    saying on how many samples and naming the first, when any score is NaN or infinite."""
    bad, first = 0, None
    for start in range(0, len(X), PROBE_CHUNK):
        chunk = X[start:start + PROBE_CHUNK]
        try:
            out = predict_logits(model, chunk)
        except Exception as err:
            raise ModelError(f"model fails on samples {start}..{start + len(chunk) - 1} of the "
                             f"dataset: {type(err).__name__}") from None
        if out.shape != (len(chunk), n_classes):
            raise ModelError(f"model outputs {tuple(out.shape)} on {len(chunk)} samples of the "
                             f"dataset; expected ({len(chunk)}, {n_classes}) scores")
        rows = np.flatnonzero(~np.isfinite(out).all(axis=1))
        if rows.size and first is None:
            first = start + int(rows[0])
        bad += int(rows.size)
    if bad:
        which = f"sample id {int(ids[first])}" if ids is not None else f"probe row {first}"
        raise ModelError(f"model outputs NaN or infinite scores on {bad:,} of {len(X):,} samples "
                         f"of the dataset (the first: {which}); it cannot be audited (check "
                         "the weights or the export)")


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
