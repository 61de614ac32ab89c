"""The sequential rule on the text track (``checks.sequential``, as a classifier audit's): when a
pass is borderline or a verdict uncertain the text audit trains ``extend_references`` more
retrains (the next seeds), measures every check on every model again and judges again, once;
it says why (result, report, command line) and ``verify`` judges the recorded K + N again.
The trigger is forced here (``borderline`` patched) so the stage runs on the smallest set: 8
people x 3 facts, width 32, 2 retrains + 2."""

from __future__ import annotations

import dataclasses

import pytest

from unlearn_core.checks.sequential import Borderline
from unlearn_core.errors import ConfigError
from unlearn_core.report.text import render_text_html, write_text_reports
from unlearn_core.text import audit as text_audit
from unlearn_core.text.audit import TextAuditConfig, TextMethodSpec, fingerprint, run_text_audit
from unlearn_core.text.facts import FactSetConfig
from unlearn_core.text.lm import LMTrainConfig, TinyGPTConfig
from unlearn_core.verify.run import verify_report

CFG = TextAuditConfig(forget="random:1", facts=FactSetConfig(n_people=8, n_holdout=8,
                                                             n_attributes=3),
                      model=TinyGPTConfig(n_embd=32),
                      train=LMTrainConfig(epochs=30, lr=1e-2, batch_size=16), retrain_seeds=2,
                      methods=[TextMethodSpec("gradient_ascent")], extend_references=2)


@pytest.fixture(scope="module")
def extended():
    """The audit with the trigger forced once (the first judgement), as a borderline pass."""
    calls = []
    real = text_audit.borderline

    def forced(verdicts, *a, **k):
        calls.append([v.method for v in verdicts])
        v = verdicts[0]
        c = v.checks[0]
        return [Borderline(v.method, c.check, c.title, 0.8, c.figure, c.unit)]

    text_audit.borderline = forced
    try:
        result = run_text_audit(CFG).result
    finally:
        text_audit.borderline = real
    return result, calls


def test_a_borderline_verdict_trains_the_next_seeds_and_judges_every_model_again(extended):
    result, calls = extended
    assert calls == [["gradient_ascent"]]  # asked once, after the first judgement
    assert [r.name for r in result.retrains] == ["retrain", "retrain#2", "retrain#3",
                                                 "retrain#4"]
    assert result.extended == 2
    assert result.extended_because.startswith("2 more retrains trained (2 + 2 = 4) and every "
                                              "model judged again")
    for spec in {s.name for s in result.check_specs}:
        measured = {m.model for m in result.measurements if m.check == spec}
        assert {"retrain#3", "retrain#4", "gradient_ascent", "original"} <= measured, spec
    judged = [c for c in result.verdicts[0].checks if c.status != "no data"]
    assert judged and all(c.k == 4 for c in judged), [(c.check, c.k) for c in judged]


def test_the_reason_is_said_in_the_report_and_verify_judges_k_plus_n_again(extended, tmp_path):
    from unlearn_core.cli.text import verdict_lines

    result, _ = extended
    lines = verdict_lines(result)
    assert sum(line.startswith("note: 2 more retrains trained") for line in lines) == 1
    paths = write_text_reports(result, tmp_path / "report")
    page = render_text_html(__import__("json").loads(paths["json"].read_text()))
    assert "2 more retrains trained (2 + 2 = 4)" in page
    assert result.retrain_seeds == [0, 1, 2, 3]  # the next seeds, named in the report
    assert "retrain#4; seeds 0, 1, 2, 3)" in page
    out = verify_report(str(paths["json"]), rerun=False)
    assert out.ok, out.differences
    assert "the recorded text verdicts follow from the recorded figures" in out.notes


def test_without_the_rule_nothing_is_added_and_the_fingerprint_is_the_old_one():
    off = dataclasses.replace(CFG, extend_references=0)
    d = dataclasses.asdict(off)
    assert fingerprint(off) != fingerprint(CFG)
    d.pop("extend_references")
    import hashlib
    import json

    blob = json.dumps({k: v for k, v in d.items() if v is not None or k not in
                       ("claim", "recipe")}, sort_keys=True, default=str)
    assert fingerprint(off) == hashlib.sha256(blob.encode()).hexdigest()[:16]
    with pytest.raises(ConfigError, match="extend_references must be a whole number"):
        run_text_audit(dataclasses.replace(CFG, extend_references=-1))
