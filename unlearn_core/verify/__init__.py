"""Re-check an audit report, one module per step: integrity, signature, evidence, rejudge,
rendering, rerun; ``tracks`` picks the steps of a report's track; ``run`` does them all."""
