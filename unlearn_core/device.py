"""The compute device of an audit: ``auto`` (``$UNLEARN_DEVICE`` when set, else CUDA when
present, else CPU), ``cpu`` or ``cuda`` (``cuda:N``). ``use_device`` sets it for a block (a
context variable, so concurrent app sessions keep their own), the training loop
(``models.training.train_epochs``) and prediction run there, and the executors carry it into
their workers. Models live on the CPU between stages: a loop moves its model to the device and
back, so code that never heard of devices keeps working.

Mixed precision (bfloat16 autocast, no loss scaling needed) is opt-in and CUDA-only: it
changes the numbers, and on CPU it is slower for these small models."""

from __future__ import annotations

import os
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from typing import ContextManager, Iterator

import torch

from unlearn_core.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")
ENV = "UNLEARN_DEVICE"  # what "auto" means here (the tests set cpu)


@dataclass(frozen=True)
class DeviceSetting:
    """A resolved device and whether mixed precision is on (only ever on CUDA)."""

    name: str = "cpu"  # "cpu", "cuda" or "cuda:N"
    mixed_precision: bool = False

    @property
    def torch(self) -> torch.device:
        return torch.device(self.name)

    @property
    def is_cpu(self) -> bool:
        return self.name == "cpu"


_CURRENT: ContextVar[DeviceSetting] = ContextVar("unlearn_device", default=DeviceSetting())


def _cuda_missing() -> str:
    build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA " \
        f"{torch.version.cuda}, but no GPU is visible"
    return f"device 'cuda' needs a CUDA GPU, and torch {torch.__version__} here is {build}: " \
           f"use --device cpu (or auto)"


def resolve_device(name: str = "auto") -> str:
    """The device ``name`` stands for on this machine; a ``ConfigError`` of one line for an
    unknown name or for CUDA without CUDA."""
    text = str(name or "auto").strip().lower()
    if text == "auto":
        env = os.environ.get(ENV, "").strip().lower()
        if env and env != "auto":
            return resolve_device(env)
        return "cuda" if torch.cuda.is_available() else "cpu"
    if text == "cpu":
        return "cpu"
    if text == "cuda" or (text.startswith("cuda:") and text[5:].isdigit()):
        if not torch.cuda.is_available():
            raise ConfigError(_cuda_missing())
        index = int(text[5:]) if ":" in text else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device '{text}': only {torch.cuda.device_count()} CUDA "
                              f"device(s) here")
        return text
    raise ConfigError(f"unknown device '{name}': use auto, cpu, cuda or cuda:N")


def check_device(name: str) -> str:
    """Refuse a device this machine cannot use, before any work; returns ``name``."""
    resolve_device(name)
    return name


@contextmanager
def use_device(name: str = "auto", mixed_precision: bool = False) -> Iterator[DeviceSetting]:
    """Run the block on ``name`` (resolved); mixed precision only takes effect on CUDA."""
    resolved = resolve_device(name)
    setting = DeviceSetting(resolved, bool(mixed_precision) and resolved != "cpu")
    token = _CURRENT.set(setting)
    try:
        yield setting
    finally:
        _CURRENT.reset(token)


def current_device() -> DeviceSetting:
    """The device of the running block (CPU outside any ``use_device``)."""
    return _CURRENT.get()


def autocast(setting: DeviceSetting) -> ContextManager:
    """bfloat16 autocast on CUDA when mixed precision is on; otherwise nothing."""
    if setting.mixed_precision and not setting.is_cpu:
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return nullcontext()
