"""Backdoor verification: the trigger works before deletion and stops working after retrain;
a method that does nothing is caught."""

import pytest

from tests.conftest import registered_no_op
from unlearn_core.data import load_builtin
from unlearn_core.scenarios import backdoor_check


@pytest.fixture()
def no_op():
    with registered_no_op("test_no_op") as name:
        yield name


def test_backdoor_removed_by_retrain_and_random_label_not_by_no_op(no_op):
    ds = load_builtin("digits")
    good = backdoor_check(ds, "mlp", "random_label", seed=0)
    assert good.asr_before > 0.8, "the trigger must be learned first"
    assert good.asr_retrain < 0.2 and good.asr_retrain <= good.base_rate + 0.1
    assert good.passed, good.reason
    bad = backdoor_check(ds, "mlp", no_op, seed=0)
    assert not bad.passed and bad.asr_after > 0.8
    assert "before" in bad.reason
