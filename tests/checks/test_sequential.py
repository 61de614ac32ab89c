"""The sequential rule: a pass whose powered figure lies in the outer part of its band toward the
original asks for more retrains, and the audit judges every model again against them. The
position and the trigger on exact arithmetic; the audit's extension stage on a small digits
audit with the trigger forced (which models it adds, what is measured again, what is said)."""

from __future__ import annotations

import math

import pytest

from tests.conftest import registered_model
from unlearn_core import AuditConfig, MethodSpec, run_audit
from unlearn_core.audit import run as audit_run
from unlearn_core.audit.data import AuditData
from unlearn_core.audit.run import AuditResult
from unlearn_core.checks.base import Measurement
from unlearn_core.checks.judge import CheckSpec, judge, judging_rules
from unlearn_core.checks.sequential import EXTEND_AT, Borderline, borderline, extension_note
from unlearn_core.checks.verdict import fold, judge_result
from unlearn_core.data.forget import resolve_forget
from unlearn_core.errors import ConfigError
from unlearn_core.models import ModelSpec, TrainConfig, build_model, train_epochs
from unlearn_core.reference.retrains import reference_seeds
from unlearn_core.report import render_html

SPEC = CheckSpec("forget_accuracy", "forget accuracy", "forgetting", "both", "low", "%")
REFS = [0.10, 0.12, 0.11, 0.13, 0.09, 0.11]  # mean 0.11


def _m(figure, model="m", role="method", se=0.0):
    return Measurement("forget_accuracy", model, role, figure, se, 100)


def _judged(figure, control=0.95):
    refs = [_m(v, f"retrain#{i}", "reference") for i, v in enumerate(REFS)]
    return judge(SPEC, _m(figure), refs, _m(control, "baseline", "control"), 1)


def test_position_is_the_share_of_the_way_to_the_band_edge_on_the_original_side():
    at_mean = _judged(0.11)
    assert at_mean.position == pytest.approx(0.0, abs=1e-12)
    edge = at_mean.band_high
    r = _judged(0.11 + 0.7 * (edge - 0.11))
    assert r.position == pytest.approx(0.7) and r.status == "pass"
    # the other side of the mean (more forgotten than the retrains' mean) is negative
    assert _judged(0.11 - 0.3 * (edge - 0.11)).position == pytest.approx(-0.3)
    # an original below the band: measured toward it, the sign turns
    low = _judged(0.11 - 0.7 * (edge - 0.11), control=-0.9)
    assert low.position == pytest.approx(0.7)
    # no power (the original inside the band): no position
    assert math.isnan(_judged(0.12, control=0.11).position)


def edge_of() -> float:
    return _judged(0.11).band_high


def _verdict(position: float, method: str = "m"):
    edge = _judged(0.11).band_high
    c = _judged(0.11 + position * (edge - 0.11))
    return fold(method, [c])


def test_a_pass_in_the_outer_part_of_its_band_asks_for_more_retrains():
    assert borderline([_verdict(0.3)]) == []
    found = borderline([_verdict(0.3, "a"), _verdict(EXTEND_AT + 0.2, "b")])
    assert [(b.model, b.check) for b in found] == [("b", "forget_accuracy")]
    assert found[0].position == pytest.approx(EXTEND_AT + 0.2)
    # a verdict resting on an exact proof never asks; nor one that does not pass
    exact = _verdict(0.9)
    exact.checks.append(_judged(0.11).__class__(**{**_judged(0.11).__dict__, "check": "exact",
                                                   "status": "pass"}))
    assert borderline([exact]) == []
    # an exact method with a figure just outside its band: the proof decides (judging rules
    # 4), so it passes and asks for nothing; under rules 3 it was uncertain and asked
    refs = [_m(v, f"retrain#{i}", "reference") for i, v in enumerate(REFS)]
    near = judge(SPEC, _m(edge_of() + 0.01, se=0.05), refs, _m(0.95, "baseline", "control"), 1)
    proven = _judged(0.11).__class__(**{**_judged(0.11).__dict__, "check": "exact",
                                        "status": "pass"})
    decided = fold("sisa", [near, proven])
    assert near.status == "uncertain" and decided.status == "pass"
    assert borderline([decided]) == []
    with judging_rules(3):
        unsure = fold("sisa", [near, proven])
    assert unsure.status == "uncertain" and len(borderline([unsure])) == 1
    failed = fold("f", [_judged(0.9)])
    assert failed.status == "fail" and borderline([failed]) == []


def test_an_uncertain_verdict_asks_for_more_retrains():
    refs = [_m(v, f"retrain#{i}", "reference") for i, v in enumerate(REFS)]
    edge = _judged(0.11).band_high
    near = judge(SPEC, _m(edge + 0.01, se=0.05), refs, _m(0.95, "baseline", "control"), 1)
    v = fold("u", [near])
    assert v.status == "uncertain"
    found = borderline([v])
    assert len(found) == 1 and found[0].uncertain and found[0].position > 1
    assert "just outside its band" in found[0].text


def test_the_note_says_how_many_were_added_and_why():
    found = [Borderline("distill", "probe", "Few-shot probe on the features", 0.79, 0.256, "%"),
             Borderline("bias", "forget_loss", "forget-set loss", 0.6, 20.0)]
    note = extension_note(found, 6, 4)
    assert note.startswith("4 more retrains trained (6 + 4 = 10)")
    assert "distill: Few-shot probe on the features 25.6% lies 79% of the way" in note
    assert "1 other borderline figure" in note


def test_extend_references_is_validated():
    with pytest.raises(ConfigError, match="extend_references"):
        audit_run.validate_config(AuditConfig(extend_references=-1))
    with pytest.raises(ConfigError, match="extend_references"):
        audit_run.validate_config(AuditConfig(extend_references=True))


GENUINE = "test_sequential_genuine"
RECIPE = TrainConfig(epochs=6, lr=5e-3, batch_size=64)


def _genuine_retrain():
    data, splits = audit_run.load_data(AuditConfig(dataset="digits", seed=0))
    fs = resolve_forget(data, splits, "class:3", 0)
    retain = AuditData(data, splits, fs).retain
    spec = ModelSpec("logreg", data.sample_shape, data.n_classes)
    return train_epochs(build_model(spec, seed=900_001), retain, RECIPE, 900_001)


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    """A digits logreg audit of a genuine retrain (judged as an unknown model) with 3 retrains,
    the trigger forced once: 2 more retrains, every model judged again."""
    calls = []

    def forced(verdicts, at=EXTEND_AT):  # each group's first call asks for more
        names = [v.method for v in verdicts]
        calls.append(names)
        return [Borderline(names[0], "forget_loss", "forget-set loss", 0.8, 1.0)] \
            if calls.count(names) == 1 else []

    cfg = AuditConfig(dataset="digits", model="logreg", forget="class:3", seed=0,
                      executor="serial", reference_seeds=3, extend_references=2, train=RECIPE,
                      methods=[MethodSpec(GENUINE), MethodSpec("sisa")])
    mp = pytest.MonkeyPatch()
    mp.setattr(audit_run, "borderline", forced)
    try:
        with registered_model(GENUINE, _genuine_retrain()):
            run = run_audit(cfg)
    finally:
        mp.undo()
    return run.result, calls


def test_the_extension_trains_the_next_seeds_and_judges_every_model_again(extended):
    result, calls = extended
    assert calls == [[GENUINE], ["sisa"]]  # asked once per group, about its members
    sisa = next(e for e in result.ensembles if e.kind == "sisa")  # its own ensemble grew too
    assert sisa.k == 5 and sisa.extended == 2
    scratch = [r.name for r in result.references if r.reference_group == "sisa"]
    assert scratch == [f"sisa/scratch#{i}" for i in range(1, 6)]
    s = next(v for v in result.verdicts if v.method == "sisa")
    assert {c.k for c in s.checks if c.kind in ("forgetting", "utility")
            and c.check != "exact"} == {5}
    ens = result.ensembles[0]
    assert ens.k == 5 and ens.extended == 2
    assert ens.seeds == reference_seeds(0, 5)  # the next seeds of the same sequence
    refs = [r.name for r in result.references if r.reference_group == "retrain"]
    assert refs == ["retrain", "retrain#2", "retrain#3", "retrain#4", "retrain#5"]
    for spec in result.check_specs:  # every check measured again on the added retrains
        models = {m.model for m in result.measurements if m.check == spec.name}
        assert {"retrain#4", "retrain#5", GENUINE, "baseline"} <= models, spec.name
    v = next(v for v in result.verdicts if v.method == GENUINE)
    assert {c.k for c in v.checks if c.kind in ("forgetting", "utility")} == {5}
    # what verify repeats: the recorded measurements judged again give the same verdicts
    again = {w.method: w.status for w in judge_result(result)}
    assert again == {w.method: w.status for w in result.verdicts}


def test_the_extension_is_said_in_the_report(extended):
    result, _ = extended
    note = result.ensembles[0].extended_because
    assert note.startswith("2 more retrains trained (3 + 2 = 5)") and GENUINE in note
    assert note.replace("'", "&#x27;") in render_html(result)
    back = AuditResult.from_dict(result.to_dict())  # recorded with the result, read back
    assert back.ensembles[0].extended == 2 and back.ensembles[0].extended_because == note


def test_no_extension_when_turned_off(monkeypatch):
    def never(*a, **k):
        raise AssertionError("the rule must not be asked when extend_references is 0")

    monkeypatch.setattr(audit_run, "borderline", never)
    cfg = AuditConfig(dataset="digits", model="logreg", forget="class:3", seed=0,
                      executor="serial", reference_seeds=3, extend_references=0, train=RECIPE,
                      methods=[MethodSpec("finetune", {"epochs": 1})])
    result = run_audit(cfg).result
    assert result.ensembles[0].k == 3 and result.ensembles[0].extended == 0


def test_the_command_line_takes_extend_references(capsys):
    from unlearn_core.cli.main import build_parser, config_from_args, main

    args = build_parser().parse_args(["audit", "--extend-references", "0"])
    assert config_from_args(args).extend_references == 0
    args = build_parser().parse_args(["audit"])
    assert config_from_args(args).extend_references == 4  # the default: DEFAULT_EXTRA
    assert main(["audit", "--model", "logreg", "--extend-references", "-3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "extend_references" in err[0]


def test_one_line_per_grown_ensemble_for_every_renderer(extended):
    from unlearn_core.report.rows import extension_lines

    result, _ = extended
    lines = extension_lines(result)
    assert len(lines) == 2 and lines[0].startswith("2 more retrains trained (3 + 2 = 5)")
    assert extension_lines(AuditResult.from_dict({**result.to_dict(), "ensembles": []})) == []
