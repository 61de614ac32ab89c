"""The command line, ``python -m unlearn_core``: ``main`` (audit, methods, datasets, verify),
``runs`` (the run store) and ``text`` (the language-model track)."""
