"""The audit as stages, each from plain data to plain data: ``data`` (dataset, splits, forget set,
training on a split; below everything else), ``run`` (config and result types, the stages from
baseline to verdicts) and ``evidence`` (per-sample evidence of the headline figures)."""
