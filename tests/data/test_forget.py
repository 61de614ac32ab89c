"""Forget requests resolve to the right training samples and bad ones are refused clearly."""

import numpy as np
import pytest

from unlearn_core.data.forget import forget_by_ids, forget_random, resolve_forget
from unlearn_core.errors import ForgetSetError


def test_class_request_takes_every_training_sample_of_the_class(digits):
    ds, splits = digits
    fs = resolve_forget(ds, splits, "class:3")
    assert fs.classes == (3,)
    assert set(ds.y[fs.forget]) == {3}
    assert (ds.y[splits.train] == 3).sum() == len(fs.forget)
    assert len(fs.forget) + len(fs.retain) == len(splits.train)
    assert not set(fs.forget) & set(fs.retain)


def test_random_request_is_seeded_and_sized(digits):
    ds, splits = digits
    a = resolve_forget(ds, splits, "random:0.1", seed=1)
    b = forget_random(ds, splits, 0.1, seed=1)
    c = forget_random(ds, splits, 0.1, seed=2)
    assert np.array_equal(a.forget, b.forget)
    assert not np.array_equal(a.forget, c.forget)
    assert len(a.forget) == round(0.1 * len(splits.train))
    assert resolve_forget(ds, splits, "random:10%", seed=1).forget.tolist() == a.forget.tolist()


def test_ids_request_maps_ids_to_positions(digits):
    ds, splits = digits
    ids = ds.ids[splits.train[:5]]
    fs = resolve_forget(ds, splits, "ids:" + ",".join(map(str, ids)))
    assert sorted(fs.forget_ids.tolist()) == sorted(ids.tolist())
    assert fs.classes == ()


@pytest.mark.parametrize("request_, message", [
    ("ids:", "empty"),
    ("ids:999999", "not in the dataset"),
    ("class:42", "does not exist"),
    ("random:1.5", "between 0 and 1"),
    ("random:abc", "number"),
    ("everything", "not understood"),
    ("colour:3", "unknown forget request kind"),
    ("ids:1,x", "whole numbers"),
])
def test_bad_requests_are_refused(digits, request_, message):
    ds, splits = digits
    with pytest.raises(ForgetSetError, match=message):
        resolve_forget(ds, splits, request_)


def test_test_split_ids_cannot_be_forgotten(digits):
    ds, splits = digits
    with pytest.raises(ForgetSetError, match="not in the training split"):
        forget_by_ids(ds, splits, ds.ids[splits.test[:3]])


def test_whole_training_set_is_refused(digits):
    ds, splits = digits
    with pytest.raises(ForgetSetError, match="whole training set"):
        forget_by_ids(ds, splits, ds.ids[splits.train])
    with pytest.raises(ForgetSetError, match="whole training set"):
        resolve_forget(ds, splits, "class:" + ",".join(map(str, range(10))))
