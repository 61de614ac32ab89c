"""The reference models an audit compares against: the retrain ensemble (``retrains``), the trainer
that builds any ensemble (``trainer``), the executors it runs on, the vectorised GPU trainer
(``vmap``) and the cache of trained ensembles across audits (``cache``)."""
