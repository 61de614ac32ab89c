"""User-facing errors: one class per layer, each carrying a single readable line.

The app shows ``str(err)`` in the page and keeps the session; the command line prints it on
stderr and exits non-zero. Anything that is not an ``UnlearnError`` is a bug.
"""


class UnlearnError(Exception):
    """Base class for every error caused by the user's input rather than by a bug."""


class DataError(UnlearnError):
    """A dataset file or dataset name that cannot be used (wrong type, NaN, ragged rows...)."""


class ModelError(UnlearnError):
    """A model file or architecture that cannot be used with the chosen dataset."""


class ForgetSetError(UnlearnError):
    """A forget request that is empty, unknown, outside the training split or the whole of it."""


class MethodError(UnlearnError):
    """An unlearning method that cannot serve the request or got bad hyperparameters."""


class ConfigError(UnlearnError):
    """A bad command-line argument or configuration file entry."""
