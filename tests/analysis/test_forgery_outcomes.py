"""'Which checks does this forgery fool': per forgery, the checks it passes and those that
catch it, read from the audit's verdicts; shown on the audit page."""

from __future__ import annotations

import pytest

from tests.checks.test_inside_support import one_thread  # noqa: F401
from unlearn_core import AuditConfig, MethodSpec, run_audit
from unlearn_core.analysis.forgery_outcomes import forgery_outcomes


@pytest.fixture(scope="module")
def forgery_run():
    from unlearn_core.models import TrainConfig

    cfg = AuditConfig(dataset="wine", model="mlp", forget="class:1", seed=0,
                      train=TrainConfig(epochs=15, lr=5e-3), reference_seeds=3,
                      methods=[MethodSpec("forge_logit_bias"), MethodSpec("finetune"),
                               MethodSpec("forged")])
    return run_audit(cfg).result


def test_outcomes_list_only_forgeries_with_every_check(forgery_run):
    outs = forgery_outcomes(forgery_run)
    assert [o.method for o in outs] == ["forge_logit_bias", "forged"]
    verdicts = {v.method: v for v in forgery_run.verdicts}
    for o in outs:
        v = verdicts[o.forgery]
        assert o.verdict == v.status
        assert len(o.statuses) == len(v.checks)
        assert sorted(o.fooled + o.caught_by + o.undecided) == sorted(o.statuses)
        assert set(o.fooled) == {c.title for c in v.checks if c.status == "pass"}
        assert set(o.caught_by) == {c.title for c in v.checks if c.status == "fail"}
    # a -1e4 logit bias is caught (over-forgetting on the forget-set loss) and never passes
    bias = outs[0]
    assert bias.verdict != "pass" and bias.caught_by


def test_audit_page_shows_the_forgery_table(forgery_run, monkeypatch):
    from streamlit.testing.v1 import AppTest

    def script():
        import streamlit as st

        from pages.inside_view import show_forgery_outcomes

        show_forgery_outcomes(st.session_state["res"])

    at = AppTest.from_function(script)
    at.session_state["res"] = forgery_run
    at.run(timeout=60)
    assert not at.exception
    assert any("fool" in s.value for s in at.subheader)
    frame = at.dataframe[0].value
    assert list(frame.index) == ["forge_logit_bias", "forged"] or \
        list(frame["forgery"]) == ["forge_logit_bias", "forged"]
