"""Model files a claimant could upload to attack the server, shared by the tests of the model
loaders, the command line and the app (issue 22)."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import torch
from torch import nn


class FileWriter(nn.Module):
    """A classifier whose forward overwrites the first bytes of ``path`` with "AAAA" through
    ``torch.from_file(path, shared=True)``: TorchScript code running with the loader's rights."""

    def __init__(self, path: str, n_in: int, n_out: int) -> None:
        super().__init__()
        self.path = path
        self.lin = nn.Linear(n_in, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mapped = torch.from_file(self.path, shared=True, size=4, dtype=torch.uint8)
        mapped.fill_(65)  # the output depends on it, so TorchScript keeps the call
        return self.lin(x.flatten(1)) + 0.0 * mapped.to(torch.float32).sum()


def scripted(module: nn.Module) -> bytes:
    """``module`` as a TorchScript archive (``torch.jit.save`` of ``torch.jit.script``)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(module), buf)
    return buf.getvalue()


def file_writing_torchscript(target: Path, n_in: int = 64, n_out: int = 10) -> bytes:
    """A TorchScript archive whose forward overwrites ``target`` (which must hold 4 bytes or
    more); for digits by default (64 inputs, 10 classes)."""
    return scripted(FileWriter(str(target), n_in, n_out))
