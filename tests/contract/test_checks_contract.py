"""The contract every registered check must keep (scikit-learn ``check_estimator`` style):
parametrised over the registry, so a new check is checked the moment it registers, default
and opt-in (expensive) checks alike, on the tiny setting of ``setting.py``.

Declaration: ``Check.spec()`` is a well-formed ``CheckSpec`` that round-trips through
``dataclasses.asdict`` and through ``unlearn_core.serialize`` to and from JSON; ``applicable``
answers None or a reason. Measurement, on a class and a sample request, for the original, a
genuine retrain and each reference retrain: a ``Measurement`` of this check with a finite
figure, a finite standard error >= 0, a positive whole sample count and float details, that
round-trips through JSON; no model is modified (``CheckContext``: checks must not modify any
model); measuring again, in the same context or a fresh one, gives the same measurement.
Judging: ``judge`` takes the audited measurement, the references' and the original's (the
control) and returns a ``CheckResult`` with a known status and a reason.

A check that declares itself not applicable to a request (``applicable`` returns a reason:
the way ``audit.run.measure_checks`` skips it) is skipped for that request with that reason.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math

import pytest
import torch

from unlearn_core.checks import CHECKS, Check, CheckContext, Measurement, available_checks
from unlearn_core.checks.base import CheckSpec
from unlearn_core.checks.judge import (
    FAIL,
    NO_DATA,
    NO_POWER,
    PASS,
    UNCERTAIN,
    CheckResult,
    judge,
)
from unlearn_core.serialize import from_jsonable, to_jsonable

from .setting import REQUESTS

NAMES = available_checks()
STATUSES = {PASS, FAIL, UNCERTAIN, NO_POWER, NO_DATA}
PAIRS = [(name, request) for name in NAMES for request in REQUESTS]


def _json_round_trip(cls, obj):
    return from_jsonable(cls, json.loads(json.dumps(to_jsonable(obj), allow_nan=False)))


def _state(model: torch.nn.Module) -> tuple:
    return model.training, {k: v.detach().clone() for k, v in model.state_dict().items()}


def _unchanged(before: tuple, model: torch.nn.Module) -> bool:
    training, state = before
    now = model.state_dict()
    return training == model.training and state.keys() == now.keys() and all(
        torch.equal(state[k], now[k]) for k in state)


def _measure(check: Check, model, ctx: CheckContext, label: str, role: str,
             k_out: int | None = None) -> Measurement:
    """As ``audit.run.measure_checks``: closeness checks compare a reference with the other
    references (leave-one-out) and any other model with all of them."""
    if check.closeness:
        others = [r for j, r in enumerate(ctx.references) if j != k_out]
        m = check.measure(model, ctx, others)
    else:
        m = check.measure(model, ctx)
    m.model, m.role = label, role
    return m


@dataclasses.dataclass
class Measured:
    references: list[Measurement]
    control: Measurement  # the original
    retrain: Measurement  # a genuine audited model
    modified: list[str]  # models a measurement changed (must stay empty)


def _applicable_or_skip(setting, name: str, request: str):
    req = setting.requests[request]
    why = CHECKS[name]().applicable(req.check_context())
    if why is not None:
        assert isinstance(why, str) and why.strip(), f"{name}: applicable() gave {why!r}"
        pytest.skip(f"{name} declares itself not applicable to a {request} request: {why}")
    return req


@functools.lru_cache(maxsize=None)
def _measured(setting, name: str, request: str) -> Measured:
    """Every model of the request measured once in one fresh context (cached per session)."""
    req = setting.requests[request]
    check, ctx = CHECKS[name](), req.check_context()
    models = {f"retrain#{k}": m for k, m in enumerate(req.references)}
    models.update(baseline=req.original, retrain=req.retrain)
    before = {label: _state(m) for label, m in models.items()}
    refs = [_measure(check, m, ctx, f"retrain#{k}", "reference", k)
            for k, m in enumerate(req.references)]
    control = _measure(check, req.original, ctx, "baseline", "control")
    retrain = _measure(check, req.retrain, ctx, "retrain", "method")
    modified = [label for label, m in models.items() if not _unchanged(before[label], m)]
    return Measured(refs, control, retrain, modified)


# -------------------------------------------------------------------------------- declarations


def test_registry_names_its_classes():
    assert NAMES, "no check registered"
    for name in NAMES:
        cls = CHECKS[name]
        assert issubclass(cls, Check) and cls.name == name
        assert isinstance(cls.default, bool) and isinstance(cls.closeness, bool)
        assert isinstance(cls.order, int) and isinstance(cls.cost, str) and cls.cost.strip()


@pytest.mark.parametrize("name", NAMES)
def test_spec_is_well_formed_and_round_trips(name):
    spec = CHECKS[name].spec()
    assert type(spec) is CheckSpec and spec.name == name
    assert spec.title.strip() and spec.paper.strip(), f"{name} has no title or paper"
    assert spec.kind in ("forgetting", "utility")
    assert spec.sides in ("both", "high", "low")
    assert spec.forgotten_side in ("", "low", "high")
    assert spec.scale in ("linear", "log")
    assert spec.unit in ("", "%")
    assert CheckSpec(**dataclasses.asdict(spec)) == spec
    assert _json_round_trip(CheckSpec, spec) == spec


@pytest.mark.parametrize("name,request_name", PAIRS)
def test_applicable_answers_none_or_a_reason(setting, name, request_name):
    why = CHECKS[name]().applicable(setting.requests[request_name].check_context())
    assert why is None or (isinstance(why, str) and why.strip()), repr(why)


# --------------------------------------------------------------------------------- measurement


def _well_formed(name: str, m: Measurement) -> None:
    assert type(m) is Measurement and m.check == name, m
    assert isinstance(m.figure, float) and math.isfinite(m.figure), \
        f"{name} on {m.model}: figure {m.figure!r} (not applicable? then say so in applicable)"
    assert isinstance(m.se, float) and math.isfinite(m.se) and m.se >= 0, \
        f"{name} on {m.model}: standard error {m.se!r}"
    assert type(m.n) is int and m.n > 0, f"{name} on {m.model}: n={m.n!r}"
    assert isinstance(m.detail, dict)
    assert all(isinstance(k, str) and type(v) is float for k, v in m.detail.items()), m.detail
    back = _json_round_trip(Measurement, m)
    assert type(back) is Measurement and to_jsonable(back) == to_jsonable(m)


@pytest.mark.parametrize("name,request_name", PAIRS)
def test_measure_returns_a_finite_measurement_and_modifies_no_model(setting, name,
                                                                    request_name):
    _applicable_or_skip(setting, name, request_name)
    got = _measured(setting, name, request_name)
    assert not got.modified, f"{name} modified {got.modified}"
    for m in [*got.references, got.control, got.retrain]:
        _well_formed(name, m)


def _same(a: Measurement, b: Measurement) -> bool:
    return to_jsonable(a) == to_jsonable(b)  # NaN-safe, exact floats


@pytest.mark.parametrize("name,request_name", PAIRS)
def test_measure_is_deterministic(setting, name, request_name):
    req = _applicable_or_skip(setting, name, request_name)
    got = _measured(setting, name, request_name)
    check = CHECKS[name]()
    for model, label, role, first in ((req.retrain, "retrain", "method", got.retrain),
                                      (req.original, "baseline", "control", got.control)):
        ctx = req.check_context()
        once = _measure(check, model, ctx, label, role)
        twice = _measure(check, model, ctx, label, role)  # same context, warm cache
        assert _same(once, twice), f"{name}: {once} then {twice}"
        assert _same(once, first), f"{name}: {once} in a fresh context, {first} before"


# ------------------------------------------------------------------------------------- judging


@pytest.mark.parametrize("name,request_name", PAIRS)
def test_judge_accepts_the_measurements(setting, name, request_name):
    _applicable_or_skip(setting, name, request_name)
    spec = CHECKS[name].spec()
    got = _measured(setting, name, request_name)
    for audited in (got.retrain, got.control):
        r = judge(spec, audited, got.references, got.control, len(NAMES))
        assert type(r) is CheckResult and r.check == name and r.model == audited.model
        assert r.status in STATUSES, r.status
        assert isinstance(r.reason, str) and r.reason.strip(), r
        assert r.kind == spec.kind and r.figure == audited.figure
        assert r.k == len(got.references)
        assert r.status != NO_DATA, f"{name}: no data with finite measurements: {r.reason}"
        if spec.kind == "forgetting":
            assert isinstance(r.powered, bool), r  # the control was measured
        else:
            assert r.powered is None
        back = _json_round_trip(CheckResult, r)
        assert to_jsonable(back) == to_jsonable(r)
