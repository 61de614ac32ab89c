"""RESTOR: after unlearning corrupted labels, retraining brings the clean behaviour back and a
method that does nothing does not."""

import pytest

from tests.conftest import registered_no_op
from unlearn_core.data import load_builtin
from unlearn_core.scenarios import restor_check


@pytest.fixture()
def no_op():
    with registered_no_op("test_no_op_restor") as name:
        yield name


def test_restor_recovery(no_op):
    ds = load_builtin("digits")
    noop = restor_check(ds, "mlp", no_op)
    assert noop.acc_clean > noop.acc_corrupted + 0.2  # the corruption did damage
    assert noop.recovery == pytest.approx(0.0, abs=0.05)
    assert noop.recovery_retrain > 0.8  # retraining without the corrupted samples recovers
    assert 0.0 <= noop.recovery <= 1.0 and 0.0 <= noop.recovery_retrain <= 1.0
    ft = restor_check(ds, "mlp", "random_label")
    assert ft.recovery > noop.recovery
