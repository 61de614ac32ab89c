"""Fixtures of the contract suites: the shared tiny setting (``setting.py``), built once per
session, and one torch thread per module (on a shared 2-core machine two spinning threads made
small models several times slower: see tests/checks/test_inside_support.py)."""

from __future__ import annotations

import pytest

from unlearn_core.checks.probe import one_torch_thread

from .setting import Setting, build_setting


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread for each contract module; the previous count restored."""
    with one_torch_thread():
        yield


@pytest.fixture(scope="session")
def setting() -> Setting:
    return build_setting()
