"""The report's "Look inside the model" section: drawn from the recorded measurements alone, so
``verify`` redraws it from the embedded JSON, and an edited figure in it is caught."""

from __future__ import annotations

import copy

import pytest

from tests.checks.test_inside_support import one_thread  # noqa: F401
from unlearn_core.audit.run import AuditConfig, AuditResult, MethodSpec, run_audit
from unlearn_core.charts.inside import report_figures
from unlearn_core.report.build import build_json_report, render_html
from unlearn_core.verify.rendering import compare_html
from unlearn_core.verify.result import VerifyResult

# the module's audit trains for tens of seconds: handed to a worker first (tests/conftest.py)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run():
    cfg = AuditConfig(dataset="digits", model="mlp", forget="class:3", seed=0,
                      methods=[MethodSpec("forge_logit_bias")], reference_seeds=2,
                      checks=["probe", "cka"], executor="serial")
    return run_audit(cfg)


def test_section_has_the_inside_checks_and_cka_by_layer(run):
    res = run.result
    titles = [t for t, _, _ in report_figures(res)]
    assert titles == ["Few-shot probe on the features", "Relearning from a few forget samples",
                      "Feature similarity to the original (CKA)",
                      "CKA with the original, layer by layer"]
    cka = report_figures(res)[-1][1]
    forged = next(t for t in cka.data if t.name == "forge_logit_bias")
    assert list(forged.y) == pytest.approx([1.0] * len(forged.y))  # features untouched
    page = render_html(res, run, build_json_report(res))
    assert "Look inside the model" in page


def test_section_verifies_and_an_edited_figure_is_caught(run):
    res = run.result
    payload = build_json_report(res)
    page = render_html(res, None, payload)
    out = VerifyResult()
    compare_html(page, payload, out)
    assert out.ok, out.differences
    edited = AuditResult.from_dict(copy.deepcopy(payload["result"]))
    for m in edited.measurements:
        if m.check == "probe" and m.model == "forge_logit_bias":
            m.figure = 0.01  # the forgery made to look forgotten inside
    out = VerifyResult()
    compare_html(render_html(edited, None, payload), payload, out)
    assert any("Look inside the model" in d for d in out.differences), out.differences


def test_no_section_without_inside_checks(run):
    res = copy.copy(run.result)
    inside = ("probe", "relearn", "cka")
    res.measurements = [m for m in res.measurements if m.check not in inside]
    res.check_specs = [s for s in res.check_specs if s.name not in inside]
    assert report_figures(res) == []
    assert "Look inside the model" not in render_html(res, None, build_json_report(res))
