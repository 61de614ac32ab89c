"""The package's version, in a leaf module so that any stage can record it without a cycle."""

__version__ = "0.1.0"
