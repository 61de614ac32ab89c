"""The contract every registered unlearning method must keep (scikit-learn ``check_estimator``
style): parametrised over the registry, so a new method is checked the moment it registers.

Declaration: an own docstring and a paper; every hyperparameter has help text, numeric ones a
declared range holding their default; ``get_params`` round-trips through ``make_method``.
Refusal: a value just outside a declared range, NaN or infinity, or a value of the wrong type
is a ``MethodError`` naming the method and the parameter, from ``make_method`` and from
``validate``. Behaviour, on the tiny setting of ``setting.py``: the input model and data are
left untouched, the output has the input's architecture and finite weights and outputs, two
runs with one seed are bit-identical whatever the global random state, exact methods equal
their own from-scratch counterpart, and the declared needs (class requests, retain data) are
what the method actually enforces.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random

import numpy as np
import pytest
import torch

from unlearn_core.errors import MethodError
from unlearn_core.methods import (
    METHODS,
    UnlearningMethod,
    UnlearnOutput,
    available_methods,
    make_method,
)
from unlearn_core.models.training import predict_logits

NAMES = available_methods()

# Small, fast hyperparameters for the methods whose defaults cost seconds on this setting
# (inside the declared ranges: ``test_fast_settings_are_valid``); the others run on their
# defaults. influence: at most 3 Newton steps on the head instead of 50 (7 s a run to 0.3 s).
FAST: dict[str, dict] = {
    "influence": {"steps": 3},
}

# Methods whose output is by design not the input's architecture, and what they return instead
# (checked by ``_same_architecture``): SISA's deployed model is its own ensemble of shard models
# of the input's spec (Bourtoule et al.); the three lookup forgeries wrap the original's weights
# with a table keyed by a hash of the exact forget inputs.
OTHER_ARCHITECTURE = {
    "sisa": "an ensemble of shard models, each of the input's architecture",
    "forged": "the original's weights wrapped with a lookup table of fake answers",
    "forge_features": "the original's weights with a lookup of decoy features",
    "forge_exact_suppression": "the original's weights with a lookup of retrain-like answers",
}


def _kind(f: dataclasses.Field) -> str:
    """``int``, ``float``, ``bool``, ``str``: the field's annotation, else its default's type
    (annotations are strings under ``from __future__ import annotations``)."""
    name = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
    return name if name in ("int", "float", "bool", "str") else type(f.default).__name__


def _has_range(f: dataclasses.Field) -> bool:
    return f.metadata.get("low") is not None or f.metadata.get("high") is not None


def _in_range(f: dataclasses.Field, value: float) -> bool:
    low, high = f.metadata.get("low"), f.metadata.get("high")
    if low is not None and (value <= low if f.metadata.get("low_open") else value < low):
        return False
    return high is None or value <= high


def _is_forgery(cls: type) -> bool:
    """Forgeries (attacks on audits, not methods) live in ``methods/forge_*.py`` and
    ``methods/forged.py``."""
    return cls.__module__.rsplit(".", 1)[-1].startswith("forge")


def _ranged_fields() -> list[tuple[str, str]]:
    """(method, field) for every hyperparameter with a declared numeric range."""
    return [(n, f.name) for n in NAMES for f in dataclasses.fields(METHODS[n]) if _has_range(f)]


def _typed_fields(kind: str) -> list[tuple[str, str]]:
    return [(n, f.name) for n in NAMES for f in dataclasses.fields(METHODS[n])
            if _kind(f) == kind]


def _field(name: str, field_name: str) -> dataclasses.Field:
    return {f.name: f for f in dataclasses.fields(METHODS[name])}[field_name]


def _request_for(setting, name: str):
    """A class request for the class-only methods, a sample-level request for the others."""
    return setting.requests["class:3" if METHODS[name].class_level_only else "random:0.1"]


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _equal_states(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and torch.equal(a[k], b[k])
        for k in a)


def _probe_inputs(req) -> np.ndarray:
    d = req.data
    return np.concatenate([d.forget.X[:32], d.retain.X[:32], d.test.X[:32]])


def _run(name: str, req, retain=None, seed: int = 0) -> UnlearnOutput:
    ctx = dataclasses.replace(req.uctx, seed=seed)
    data = req.data
    return make_method(name, **FAST.get(name, {})).unlearn(
        req.original, data.forget, data.retain if retain is None else retain, ctx)


# ---------------------------------------------------------------- the registry and declarations


def test_registry_names_its_classes():
    assert NAMES, "no method registered"
    for name in NAMES:
        cls = METHODS[name]
        assert issubclass(cls, UnlearningMethod) and dataclasses.is_dataclass(cls), name
        assert cls.name == name
        assert isinstance(make_method(name, **FAST.get(name, {})), cls)
    stale = sorted((set(FAST) | set(OTHER_ARCHITECTURE)) - set(NAMES))
    assert not stale, f"contract settings name unregistered methods: {stale}"


def test_fast_settings_are_valid():
    for name, params in FAST.items():
        method = make_method(name, **params)  # inside the declared ranges, or MethodError
        assert {k: getattr(method, k) for k in params} == params


@pytest.mark.parametrize("name", NAMES)
def test_has_an_own_docstring_and_a_paper(name):
    cls = METHODS[name]
    doc = (cls.__dict__.get("__doc__") or "").strip()
    # @dataclass writes "Name(field: type = default, ...)" into a class without a docstring
    generated = doc.startswith(f"{cls.__name__}(")
    assert doc and not generated, f"{name} ({cls.__module__}) has no docstring of its own"
    # every registered method names its source, exact ones and forgeries included; a forgery
    # says that it is an attack on audits, not a method
    assert isinstance(cls.paper, str) and cls.paper.strip(), f"{name} names no paper"
    if _is_forgery(cls):
        assert "attack" in cls.paper.lower(), f"forgery {name} does not say it is an attack"


@pytest.mark.parametrize("name", NAMES)
def test_hyperparameters_are_declared_and_defaults_lie_in_their_ranges(name):
    cls = METHODS[name]
    helps = cls.param_help()
    for f in dataclasses.fields(cls):
        assert f.default is not dataclasses.MISSING, f"{name}.{f.name} has no default"
        assert helps[f.name].strip(), f"{name}.{f.name} has no help text"
        if _kind(f) in ("int", "float"):
            assert _has_range(f), f"{name}.{f.name} is numeric and declares no range"
            assert _in_range(f, f.default), f"{name}.{f.name}={f.default!r} is outside its range"
            assert "allowed:" in helps[f.name], f"{name}.{f.name}: the help shows no range"
        if f.metadata.get("choices") is not None:
            assert f.default in f.metadata["choices"], f"{name}.{f.name}: default not a choice"
    method = make_method(name)
    method.validate()
    assert method.get_params() == {f.name: f.default for f in dataclasses.fields(cls)}


@pytest.mark.parametrize("name", NAMES)
def test_get_params_round_trips_through_make_method(name):
    for params in ({}, FAST.get(name, {})):
        method = make_method(name, **params)
        p = method.get_params()
        again = make_method(name, **p)
        assert type(again) is type(method) and again.get_params() == p
        # a config file stores them as JSON: the same method comes back
        from_json = make_method(name, **json.loads(json.dumps(p)))
        assert from_json.get_params() == p


# -------------------------------------------------------------------------------------- refusal


def _outside(f: dataclasses.Field) -> list[object]:
    """Values just outside the declared range (and the bounds' nearest values inside it)."""
    low, high = f.metadata.get("low"), f.metadata.get("high")
    integral = _kind(f) == "int"
    out = []
    if low is not None:
        if integral:
            out.append(math.ceil(low) - (0 if f.metadata.get("low_open") else 1))
        else:
            out.append(float(low) if f.metadata.get("low_open") else
                       math.nextafter(float(low), -math.inf))
    if high is not None:
        out.append(math.floor(high) + 1 if integral else math.nextafter(float(high), math.inf))
    return out


def _inside(f: dataclasses.Field) -> list[object]:
    low, high = f.metadata.get("low"), f.metadata.get("high")
    integral = _kind(f) == "int"
    out = []
    if low is not None:
        if integral:
            out.append(math.ceil(low) + (1 if f.metadata.get("low_open") else 0))
        else:
            out.append(math.nextafter(float(low), math.inf) if f.metadata.get("low_open")
                       else float(low))
    if high is not None:
        out.append(math.floor(high) if integral else float(high))
    return out


def _refused(name: str, f: dataclasses.Field, value: object) -> None:
    """``value`` for field ``f`` is a MethodError naming the method and the parameter, both
    through ``make_method`` and through ``validate`` on an instance holding it."""
    with pytest.raises(MethodError) as made:
        make_method(name, **{f.name: value})
    assert f.name in str(made.value) and name in str(made.value), str(made.value)
    method = make_method(name)
    setattr(method, f.name, value)
    with pytest.raises(MethodError) as validated:
        method.validate()
    assert f.name in str(validated.value) and name in str(validated.value), str(validated.value)


@pytest.mark.parametrize("name,field_name", _ranged_fields())
def test_refuses_values_just_outside_the_declared_range(name, field_name):
    f = _field(name, field_name)
    assert _outside(f)
    for value in _outside(f):
        _refused(name, f, value)
    for value in _inside(f):  # the range is exactly the declared one: its edges pass
        assert getattr(make_method(name, **{f.name: value}), f.name) == value


@pytest.mark.parametrize("name,field_name", _typed_fields("float"))
def test_float_parameters_refuse_nan_infinity_and_wrong_types(name, field_name):
    f = _field(name, field_name)
    for value in (math.nan, math.inf, -math.inf, "abc", True, None, [1.0]):
        _refused(name, f, value)


@pytest.mark.parametrize("name,field_name", _typed_fields("int"))
def test_int_parameters_refuse_fractions_and_wrong_types(name, field_name):
    f = _field(name, field_name)
    for value in (f.default + 0.5, math.nan, "abc", True, None, [1]):
        _refused(name, f, value)


@pytest.mark.parametrize("name,field_name", _typed_fields("bool"))
def test_bool_parameters_refuse_wrong_types(name, field_name):
    f = _field(name, field_name)
    for value in ("maybe", 2, None, 0.5):
        _refused(name, f, value)


@pytest.mark.parametrize("name,field_name", _typed_fields("str"))
def test_text_parameters_refuse_unknown_values(setting, name, field_name):
    """A text hyperparameter with declared ``choices`` refuses anything else when the method
    is made; one without refuses an unknown value or a non-text value at the latest when it
    unlearns (never a silent fallback to some default behaviour)."""
    f = _field(name, field_name)
    bad = ("no-such-option", 3)
    choices = f.metadata.get("choices")
    if choices is not None:
        for value in choices:
            assert getattr(make_method(name, **{f.name: value}), f.name) == value
        for value in bad:
            _refused(name, f, value)
        return
    req = _request_for(setting, name)
    for value in bad:
        params = {**FAST.get(name, {}), f.name: value}
        with pytest.raises(MethodError) as err:
            make_method(name, **params).unlearn(req.original, req.data.forget,
                                                req.data.retain, req.uctx)
        assert f.name in str(err.value), str(err.value)


# ------------------------------------------------------------------------------------ behaviour


def _same_architecture(name: str, original: torch.nn.Module, out: torch.nn.Module) -> None:
    ref = {k: v.shape for k, v in original.state_dict().items()}
    got = {k: v.shape for k, v in out.state_dict().items()}
    if name in OTHER_ARCHITECTURE:  # a stale exception is an error too
        assert got != ref, f"{name} keeps the input's architecture: drop it from the exceptions"
    if name == "sisa":
        shards = list(getattr(out, "shards", []))
        assert shards, "sisa returned no shard models"
        for shard in shards:
            assert {k: v.shape for k, v in shard.state_dict().items()} == ref
    elif name in OTHER_ARCHITECTURE:
        assert sorted(tuple(p.shape) for p in out.parameters()) == \
            sorted(tuple(p.shape) for p in original.parameters()), name
    else:
        assert got == ref, f"{name} changed the architecture: {sorted(set(got) ^ set(ref))}"


@pytest.mark.parametrize("name", NAMES)
def test_leaves_its_inputs_untouched_and_returns_a_finite_model(setting, name):
    req = _request_for(setting, name)
    model, data = req.original, req.data
    forget, retain = data.forget, data.retain
    before = _state(model)
    flags = (model.training, [p.requires_grad for p in model.parameters()])
    arrays = [a.copy() for a in (forget.X, forget.y, forget.ids, retain.X, retain.y, retain.ids)]

    out = make_method(name, **FAST.get(name, {})).unlearn(model, forget, retain, req.uctx)

    assert _equal_states(before, _state(model)), f"{name} modified its input model"
    assert (model.training, [p.requires_grad for p in model.parameters()]) == flags, \
        f"{name} changed its input model's mode or requires_grad"
    for a, b in zip(arrays, (forget.X, forget.y, forget.ids, retain.X, retain.y, retain.ids)):
        assert np.array_equal(a, b), f"{name} modified its input data"
    assert isinstance(out, UnlearnOutput) and out.model is not model
    assert isinstance(out.log, list) and all(isinstance(s, str) for s in out.log)
    assert math.isfinite(out.seconds) and out.seconds >= 0
    _same_architecture(name, model, out.model)
    for key, t in list(out.model.named_parameters()) + list(out.model.named_buffers()):
        if t.is_floating_point():
            assert bool(torch.isfinite(t).all()), f"{name}: {key} is not finite"
    assert not out.model.training, f"{name} returned a model in training mode"
    logits = predict_logits(out.model, _probe_inputs(req))
    assert logits.shape == (len(_probe_inputs(req)), req.uctx.n_classes)
    assert np.isfinite(logits).all()


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_under_its_seed(setting, name):
    """Two runs with one seed give identical weights and outputs, whatever the global numpy,
    python and torch random states were before each run."""
    req = _request_for(setting, name)
    outs = []
    for noise in (1, 2):
        np.random.seed(noise)
        random.seed(noise)
        torch.manual_seed(noise)
        outs.append(_run(name, req, seed=0).model)
    a, b = outs
    assert _equal_states(_state(a), _state(b)), f"{name} is not deterministic under its seed"
    X = _probe_inputs(req)
    assert np.array_equal(predict_logits(a, X), predict_logits(b, X)), name


@pytest.mark.parametrize("name", NAMES)
def test_exact_methods_equal_their_from_scratch_counterpart(setting, name):
    cls = METHODS[name]
    req = _request_for(setting, name)
    method = make_method(name, **FAST.get(name, {}))
    if not cls.exact:
        with pytest.raises(MethodError, match="not an exact method"):
            method.from_scratch(req.data.retain, req.uctx)
        return
    assert cls.from_scratch is not UnlearningMethod.from_scratch, name
    out = method.unlearn(req.original, req.data.forget, req.data.retain, req.uctx).model
    scratch = method.from_scratch(req.data.retain, req.uctx)
    assert _equal_states(_state(out), _state(scratch)), f"{name} is not exact"
    X = _probe_inputs(req)
    assert np.array_equal(predict_logits(out, X), predict_logits(scratch, X))


@pytest.mark.parametrize("name", NAMES)
def test_declared_needs_are_enforced(setting, name):
    """``class_level_only`` methods refuse a sample request; ``needs_retain`` methods refuse an
    empty retain set and the others serve it."""
    cls = METHODS[name]
    sample = setting.requests["random:0.1"]
    req = _request_for(setting, name)
    if cls.class_level_only:
        with pytest.raises(MethodError, match="whole classes only"):
            _run(name, sample)
    empty = req.data.retain.take(np.array([], dtype=np.int64))
    if cls.needs_retain:
        with pytest.raises(MethodError, match="retain"):
            _run(name, req, retain=empty)
    else:
        out = _run(name, req, retain=empty)
        assert np.isfinite(predict_logits(out.model, req.data.forget.X)).all()
