"""The checks of the verdict: one module each, registered by name (like ``methods/``).

``CHECKS`` maps a check's name to its class; ``default_checks()`` are those every audit runs,
the others are opt-in by name (``--checks``). The judge (``judge.py``) decides every check the
same way from the measurements of the audited model, the retrain ensemble and the original.
"""

from __future__ import annotations

import importlib
import pkgutil

from unlearn_core.checks.base import (
    Check,
    CheckContext,
    Measurement,
    auc_se,
    bootstrap_se,
    proportion_se,
)

CHECKS: dict[str, type[Check]] = {}

# the machinery, not checks
_NOT_CHECKS = {"base", "judge", "klom", "levels", "loop", "sequential", "verdict"}


def register(cls: type[Check]) -> type[Check]:
    """Class decorator: make a check available by its ``name``."""
    if not cls.name:
        raise TypeError(f"{cls.__name__} needs a non-empty 'name'")
    CHECKS[cls.name] = cls
    return cls


def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name not in _NOT_CHECKS and not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


def available_checks() -> list[str]:
    """Every registered check name, sorted."""
    _discover()
    return sorted(CHECKS)


def default_checks() -> list[str]:
    """The checks every audit runs, in registration order."""
    _discover()
    return [name for name, cls in sorted(CHECKS.items(), key=lambda kv: kv[1].order)
            if cls.default]


__all__ = ["Check", "CheckContext", "Measurement", "CHECKS", "register", "available_checks",
           "default_checks", "auc_se", "bootstrap_se", "proportion_se"]
