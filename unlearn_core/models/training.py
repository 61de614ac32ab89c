"""Training and prediction loops shared by the baseline, the retrain reference and methods."""

from __future__ import annotations

import math
import warnings
from contextlib import nullcontext
from dataclasses import asdict, dataclass, fields
from functools import partial
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
SCHEDULES = ("constant", "cosine", "step")  # the learning-rate schedules train_epochs runs
AUGMENTATIONS = ("hflip", "crop")  # what train_epochs can do to image batches
MAX_EPOCHS = 10_000
MAX_BATCH_SIZE = 1_000_000
MAX_CROP_PADDING = 64
# the fields a claimant's recipe adds to the five above (``TrainConfig.key`` leaves out defaults)
RECIPE_FIELDS = ("momentum", "betas", "schedule", "step_size", "gamma", "label_smoothing",
                 "augment", "crop_padding")


@dataclass
class TrainConfig:
    """The training recipe; retrain uses the same recipe as the baseline.

    Checked on construction (a ``ConfigError`` naming the field and its allowed values):
    ``epochs`` a whole number >= 1, ``lr`` finite > 0, ``batch_size`` >= 1, ``weight_decay``
    finite >= 0, ``optimizer`` adam or sgd. Numeric strings from config files are converted.

    The fields after ``optimizer`` describe a claimant's recipe (``audit.recipe``); at their
    defaults training is what it always was: SGD ``momentum`` in [0, 1), Adam ``betas`` each in
    [0, 1), ``schedule`` constant, cosine (to 0 over the epochs) or step (times ``gamma`` in
    (0, 1] every ``step_size`` epochs), ``label_smoothing`` in [0, 1), ``augment`` any of hflip
    and crop (random crop after zero padding of ``crop_padding`` pixels), images only.
    """

    epochs: int = 30
    lr: float = 1e-3
    batch_size: int = 64
    weight_decay: float = 0.0
    optimizer: str = "adam"
    momentum: float = 0.9
    betas: tuple[float, float] = (0.9, 0.999)
    schedule: str = "constant"
    step_size: int = 10
    gamma: float = 0.1
    label_smoothing: float = 0.0
    augment: tuple[str, ...] = ()
    crop_padding: int = 4

    def __post_init__(self) -> None:
        self.epochs = _whole("epochs", self.epochs, 1, MAX_EPOCHS)
        self.batch_size = _whole("batch_size", self.batch_size, 1, MAX_BATCH_SIZE)
        self.lr = _real("lr", self.lr, positive=True)
        self.weight_decay = _real("weight_decay", self.weight_decay, positive=False)
        self.optimizer = _choice("optimizer", self.optimizer, OPTIMIZERS)
        self.momentum = _share("momentum", self.momentum)
        betas = self.betas
        if isinstance(betas, str) or not isinstance(betas, (list, tuple)) or len(betas) != 2:
            raise ConfigError(f"train betas must be two numbers, each from 0 up to (not "
                              f"including) 1, e.g. [0.9, 0.999]; got {betas!r}")
        self.betas = (_share("betas", betas[0]), _share("betas", betas[1]))
        self.schedule = _choice("schedule", self.schedule, SCHEDULES)
        self.step_size = _whole("step_size", self.step_size, 1, MAX_EPOCHS)
        self.gamma = _real("gamma", self.gamma, positive=True)
        if self.gamma > 1:
            raise ConfigError(f"train gamma must be > 0 and at most 1 (the step schedule's "
                              f"factor), got {self.gamma!r}")
        self.label_smoothing = _share("label_smoothing", self.label_smoothing)
        self.augment = _augmentations(self.augment)
        self.crop_padding = _whole("crop_padding", self.crop_padding, 1, MAX_CROP_PADDING)

    def key(self) -> dict:
        """The recipe as plain data for fingerprints: the claimant-recipe fields left out where
        they keep their defaults, so that today's recipes keep today's cache entries."""
        out = asdict(self)
        for f in fields(self):
            if f.name in RECIPE_FIELDS and out[f.name] == f.default:
                del out[f.name]
        return out


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.strip().lower() not in allowed:
        raise ConfigError(f"train {name} must be one of {', '.join(allowed)}, got {value!r}")
    return value.strip().lower()


def _share(name: str, value: object) -> float:
    """A number from 0 up to, not including, 1 (momentum, betas, label smoothing)."""
    number = _real(name, value, positive=False)
    if number >= 1:
        raise ConfigError(f"train {name} must be from 0 up to (not including) 1, got {value!r}")
    return number


def _augmentations(value: object) -> tuple[str, ...]:
    """``augment`` as a tuple of known names: none, a name, "hflip,crop" or a list."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) for v in items):
        raise ConfigError(f"train augment must be none or a list of {', '.join(AUGMENTATIONS)}"
                          f", got {value!r}")
    names = [v.strip().lower() for v in items if v.strip() and v.strip().lower() != "none"]
    bad = [v for v in names if v not in AUGMENTATIONS]
    if bad:
        raise ConfigError(f"train augment {bad[0]!r} is not one the training loop can do: use "
                          f"none or any of {', '.join(AUGMENTATIONS)}")
    return tuple(dict.fromkeys(names))


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


def make_optimizer(params, name: str, lr: float, weight_decay: float = 0.0,
                   momentum: float = 0.9,
                   betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Optimizer:
    """Adam (``betas``) or SGD with ``momentum``, by name."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, betas=tuple(betas))


def scheduled_lr(config: TrainConfig, epoch: int) -> float:
    """The learning rate of epoch ``epoch`` (from 0) under the recipe's schedule: constant;
    cosine, ``lr (1 + cos(pi epoch / epochs)) / 2`` (torch's CosineAnnealingLR with T_max =
    epochs, stepped per epoch; Loshchilov & Hutter, ICLR 2017); step, ``lr gamma^(epoch //
    step_size)`` (StepLR)."""
    if config.schedule == "cosine":
        return config.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / config.epochs))
    if config.schedule == "step":
        return config.lr * config.gamma ** (epoch // config.step_size)
    return config.lr


def batch_augmenter(config: TrainConfig, sample_shape: tuple[int, ...], seed: int
                    ) -> Optional[Callable[[torch.Tensor], torch.Tensor]]:
    """The recipe's augmentation as a function of an image batch (None when it has none):
    a horizontal flip of each image with probability 1/2, then a random crop of the image's
    size from it zero-padded by ``crop_padding`` pixels on each side, drawn from their own
    seeded generator (the batch order is the one an unaugmented run draws)."""
    if not config.augment:
        return None
    if len(sample_shape) != 3:
        raise ConfigError(f"train augment {', '.join(config.augment)} needs image samples "
                          f"(channels, height, width); these have shape {tuple(sample_shape)}: "
                          "use augment none")
    pad = config.crop_padding
    if "crop" in config.augment and pad >= min(sample_shape[1:]):
        raise ConfigError(f"train crop_padding {pad} must be smaller than the images' side "
                          f"({min(sample_shape[1:])} pixels)")
    rng = np.random.default_rng([seed, 0xA96])
    _, height, width = sample_shape

    def augment(xb: torch.Tensor) -> torch.Tensor:
        n = len(xb)
        if "hflip" in config.augment:
            flip = torch.as_tensor(rng.random(n) < 0.5, device=xb.device)
            xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
        if "crop" in config.augment:
            padded = F.pad(xb, (pad, pad, pad, pad))
            off = torch.as_tensor(rng.integers(0, 2 * pad + 1, size=(n, 2)), device=xb.device)
            rows = off[:, :1] + torch.arange(height, device=xb.device)  # (n, height)
            cols = off[:, 1:] + torch.arange(width, device=xb.device)  # (n, width)
            b = torch.arange(n, device=xb.device)[:, None, None, None]
            c = torch.arange(xb.shape[1], device=xb.device)[None, :, None, None]
            xb = padded[b, c, rows[:, None, :, None], cols[:, None, None, :]]
        return xb

    return augment


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
    opt = make_optimizer(model.parameters(), config.optimizer, config.lr, config.weight_decay,
                         config.momentum, config.betas)
    if loss_fn is None and config.label_smoothing:  # a method's own loss keeps its own terms
        loss_fn = partial(F.cross_entropy, label_smoothing=config.label_smoothing)
    loss_fn = loss_fn or F.cross_entropy
    augment = batch_augmenter(config, tuple(X.shape[1:]), seed)
    model.train()
    for epoch in range(config.epochs):
        if config.schedule != "constant":
            for group in opt.param_groups:
                group["lr"] = scheduled_lr(config, epoch)
        for idx in epoch_batches(len(y), config.batch_size, rng, epoch_samples):
            idx_t = torch.as_tensor(idx, device=X.device)
            opt.zero_grad()
            xb = X[idx_t] if augment is None else augment(X[idx_t])
            with autocast(setting) if on_device else nullcontext():
                loss = loss_fn(model(xb), y[idx_t])
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
