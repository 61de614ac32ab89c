"""Fixtures of the contract suites: the shared tiny setting (``setting.py``), built once per
session, and one torch thread per module (on a shared 2-core machine two spinning threads made
small models several times slower: see tests/checks/test_inside_support.py)."""

from __future__ import annotations

import pytest
import torch

from .setting import Setting, build_setting


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread for each contract module; the previous count restored."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def setting() -> Setting:
    return build_setting()
