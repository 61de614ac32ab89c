"""The first methods forget a whole class on digits while keeping the other classes."""

import numpy as np
import pytest

from unlearn_core.errors import MethodError
from unlearn_core.methods import METHODS, UnlearnContext, make_method
from unlearn_core.models import model_hash


def _by_name(run):
    return {ev.name: ev for ev in run.result.evaluations()}


def test_baseline_knows_the_class(class_audit):
    base = class_audit.result.baseline.accuracy
    assert base.forget > 0.95 and base.test > 0.9


@pytest.mark.parametrize("name", ["retrain", "finetune", "neggrad_plus", "random_label"])
def test_class_forgotten_and_other_classes_kept(class_audit, name):
    ev = _by_name(class_audit)[name].accuracy
    base = class_audit.result.baseline.accuracy
    assert ev.forget < 0.05, f"{name} still recognises the forgotten class"
    assert ev.test_forgotten_classes < 0.1, "unseen samples of the class must not be recognised"
    assert ev.test_other_classes > base.test_other_classes - 0.04
    assert ev.retain > base.retain - 0.04


def test_gradient_ascent_lowers_forget_accuracy(class_audit):
    ev = _by_name(class_audit)["gradient_ascent"].accuracy
    assert ev.forget < 0.2 < class_audit.result.baseline.accuracy.forget


def test_methods_leave_the_original_model_untouched(class_audit):
    result = class_audit.result
    assert model_hash(class_audit.models["baseline"]) == result.baseline.model_hash
    hashes = {ev.model_hash for ev in result.evaluations()}
    assert len(hashes) == len(result.evaluations())


def test_unlearn_returns_time_and_log(class_audit):
    for ev in class_audit.result.methods:
        assert ev.seconds > 0 and ev.log


def test_every_method_has_a_paper_and_help():
    for name, cls in METHODS.items():
        assert cls.paper, name
        # its own docstring: @dataclass writes "Name(field: type = default, ...)" into a class
        # without one, and every class has a __module__
        doc = (cls.__dict__.get("__doc__") or "").strip()
        assert doc and not doc.startswith(f"{cls.__name__}("), f"{name} has no docstring"
        for key, text in cls.param_help().items():
            assert text, f"{name}.{key} has no help text"


def test_registry_errors():
    with pytest.raises(MethodError, match="unknown method 'magic'"):
        make_method("magic")
    with pytest.raises(MethodError, match="no hyperparameter 'speed'"):
        make_method("finetune", speed=3)
    with pytest.raises(MethodError, match="epochs must be a whole number"):
        make_method("finetune", epochs="many")
    assert make_method("finetune", epochs="3").epochs == 3


def test_empty_forget_set_is_refused(class_audit):
    data = class_audit.data
    empty = data.forget.take(np.array([], dtype=np.int64))
    ctx = UnlearnContext(n_classes=10)
    with pytest.raises(MethodError, match="empty"):
        make_method("finetune").unlearn(class_audit.models["baseline"], empty, data.retain, ctx)


def test_retrain_without_spec_is_refused(class_audit):
    data = class_audit.data
    with pytest.raises(MethodError, match="spec"):
        make_method("retrain").unlearn(class_audit.models["baseline"], data.forget,
                                       data.retain, UnlearnContext(n_classes=10, spec=None))
