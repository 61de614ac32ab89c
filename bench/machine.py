"""The machine a benchmark ran on, printed with every table: a figure means little without it."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch


def machine(load: bool = False) -> str:
    """CPU model, cores, torch version and threads, the GPU if any, and (``load``) the load
    average at the time of the call."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU used"
    text = (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} with "
            f"{torch.get_num_threads()} threads, {gpu}, Python {platform.python_version()}")
    return text + (f", load average {os.getloadavg()[0]:.2f}" if load else "")
