"""Training and prediction loops shared by the baseline, the retrain reference and methods."""

from __future__ import annotations

import math
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from unlearn_core.data.dataset import Samples
from unlearn_core.device import autocast, current_device
from unlearn_core.errors import ConfigError
from unlearn_core.progress import ProgressFn, report

OPTIMIZERS = ("adam", "sgd")
MAX_EPOCHS = 10_000
MAX_BATCH_SIZE = 1_000_000


@dataclass
class TrainConfig:
    """The training recipe; retrain uses the same recipe as the baseline.

    Checked on construction (a ``ConfigError`` naming the field and its allowed values):
    ``epochs`` a whole number >= 1, ``lr`` finite > 0, ``batch_size`` >= 1, ``weight_decay``
    finite >= 0, ``optimizer`` adam or sgd. Numeric strings from config files are converted.
    """

    epochs: int = 30
    lr: float = 1e-3
    batch_size: int = 64
    weight_decay: float = 0.0
    optimizer: str = "adam"

    def __post_init__(self) -> None:
        self.epochs = _whole("epochs", self.epochs, 1, MAX_EPOCHS)
        self.batch_size = _whole("batch_size", self.batch_size, 1, MAX_BATCH_SIZE)
        self.lr = _real("lr", self.lr, positive=True)
        self.weight_decay = _real("weight_decay", self.weight_decay, positive=False)
        if not isinstance(self.optimizer, str) or self.optimizer.strip().lower() not in OPTIMIZERS:
            raise ConfigError(f"train optimizer must be one of {', '.join(OPTIMIZERS)}, "
                              f"got {self.optimizer!r}")
        self.optimizer = self.optimizer.strip().lower()


def _number(name: str, value: object) -> float | int:
    """``value`` as an int or float; bools, non-numeric strings and other types refused."""
    if isinstance(value, str):
        try:
            text = value.strip()
            return int(text) if text.lstrip("+-").isdigit() else float(text)
        except ValueError:
            pass
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
            value, (bool, np.bool_)):
        return value.item() if isinstance(value, np.generic) else value
    raise ConfigError(f"train {name} must be a number, got {value!r}")


def _whole(name: str, value: object, low: int, high: int) -> int:
    number = _number(name, value)
    if isinstance(number, float) and (not math.isfinite(number) or number != int(number)):
        raise ConfigError(f"train {name} must be a whole number from {low} to {high}, "
                          f"got {value!r}")
    if not low <= number <= high:
        raise ConfigError(f"train {name} must be from {low} to {high}, got {value!r}")
    return int(number)


def _real(name: str, value: object, positive: bool) -> float:
    number = float(_number(name, value))
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        need = "finite and > 0" if positive else "finite and >= 0"
        raise ConfigError(f"train {name} must be {need}, got {value!r}")
    return number


def default_train_config(arch: str, dataset_name: str, n_train: int) -> TrainConfig:
    """A recipe that reaches good accuracy on the built-ins in seconds on 2 cores."""
    if arch == "logreg":
        return TrainConfig(epochs=60, lr=1e-2, batch_size=64, weight_decay=1e-4)
    if n_train > 20000:
        return TrainConfig(epochs=5, lr=2e-3, batch_size=128)
    return TrainConfig(epochs=30, lr=2e-3, batch_size=64)


def make_optimizer(params, name: str, lr: float,
                   weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """Adam or SGD with momentum, by name."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def float_tensor(X: np.ndarray) -> torch.Tensor:
    """``X`` as a float32 tensor with standard row-major strides (no copy when ``X`` is already
    C-ordered float32). numpy lets a size-1 axis carry any stride (the built-in images' channel
    axis does), torch then reads the array as channels-last and runs other convolution
    kernels: the same values trained other weights (by about 1e-6) depending on how the array
    was made (sliced here, or copied or unpickled in a worker)."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    with warnings.catch_warnings():  # read-only arrays (Ray's object store) are only read
        warnings.filterwarnings("ignore", message=".*not writable.*")
        t = torch.as_tensor(X)
    return t.reshape(-1).view(t.shape)


def to_tensors(samples: Samples) -> tuple[torch.Tensor, torch.Tensor]:
    X = float_tensor(samples.X)
    return X, torch.as_tensor(samples.y, dtype=torch.long)


def minibatches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Shuffled index batches drawn from a seeded generator."""
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def epoch_batches(n: int, batch_size: int, rng: np.random.Generator,
                  epoch_samples: Optional[int] = None) -> Iterator[np.ndarray]:
    """One epoch of shuffled batches, over a fresh seeded subset of ``epoch_samples`` items when
    that is fewer than ``n`` (a cost budget: see ``UnlearningMethod.epoch_samples``)."""
    if epoch_samples is None or epoch_samples >= n:
        yield from minibatches(n, batch_size, rng)
        return
    subset = np.sort(rng.choice(n, epoch_samples, replace=False))
    for idx in minibatches(epoch_samples, batch_size, rng):
        yield subset[idx]


def train_epochs(
    model: nn.Module,
    samples: Samples,
    config: TrainConfig,
    seed: int,
    progress: Optional[ProgressFn] = None,
    task: str = "training",
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    epoch_samples: Optional[int] = None,
) -> nn.Module:
    """Minimise cross-entropy (or ``loss_fn(logits, y)``) on ``samples`` in place; deterministic.
    ``epoch_samples`` caps each epoch to a fresh seeded subset of that many samples."""
    if len(samples) == 0:
        return model
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    X, y = to_tensors(samples)
    # the device of the running audit (``unlearn_core.device``); a custom loss may hold CPU
    # tensors, so it stays on the CPU; the model comes back to where it was
    setting = current_device()
    home = _device_of(model)
    on_device = not setting.is_cpu and loss_fn is None
    if on_device:
        model.to(setting.torch)
        X, y = X.to(setting.torch), y.to(setting.torch)
    opt = make_optimizer(model.parameters(), config.optimizer, config.lr, config.weight_decay)
    loss_fn = loss_fn or F.cross_entropy
    model.train()
    for epoch in range(config.epochs):
        for idx in epoch_batches(len(y), config.batch_size, rng, epoch_samples):
            idx_t = torch.as_tensor(idx, device=X.device)
            opt.zero_grad()
            with autocast(setting) if on_device else nullcontext():
                loss = loss_fn(model(X[idx_t]), y[idx_t])
            loss.backward()
            opt.step()
        report(progress, task, epoch + 1, config.epochs)
    model.eval()
    if on_device:
        model.to(home)
    return model


def _device_of(model: nn.Module) -> torch.device:
    """Where the model's weights are (CPU for a model without any)."""
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def predict_logits(model: nn.Module, X: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """Logits for every row of ``X`` (eval mode, no gradients)."""
    model.eval()
    out = []
    setting, home = current_device(), _device_of(model)
    dev = setting.torch if not setting.is_cpu else home  # the audit's device, if not the CPU
    if dev != home:
        model.to(dev)
    try:
        for start in range(0, len(X), batch_size):
            xb = float_tensor(X[start : start + batch_size]).to(dev)
            out.append(model(xb).float().cpu().numpy())
    finally:
        if dev != home:
            model.to(home)
    if not out:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(out)


def predict_proba(model: nn.Module, X: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """Softmax probabilities, float64 for stable log-scores downstream."""
    logits = predict_logits(model, X, batch_size).astype(np.float64)
    if logits.size == 0:
        return logits
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def predict_log_proba(model: nn.Module, X: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """Log-probabilities as log_softmax of the logits in float64: never log(clip(p)), which
    flattens every confident score to the clip value and hides membership signal."""
    logits = predict_logits(model, X, batch_size).astype(np.float64)
    if logits.size == 0:
        return logits
    m = logits.max(axis=1, keepdims=True)
    return logits - (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))


@torch.no_grad()
def embed(model: nn.Module, X: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """Penultimate-layer embeddings (``model.embed``), or logits for models without one."""
    model.eval()
    fn = getattr(model, "embed", None) or model
    parts = [fn(float_tensor(X[s : s + batch_size])).reshape(
        min(batch_size, len(X) - s), -1).numpy() for s in range(0, len(X), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)


def accuracy(model: nn.Module, samples: Samples) -> float:
    """Share of samples predicted correctly; NaN for an empty set."""
    if len(samples) == 0:
        return float("nan")
    return float((predict_logits(model, samples.X).argmax(1) == samples.y).mean())
