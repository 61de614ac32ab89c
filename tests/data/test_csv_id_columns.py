"""A real CSV's id and extra columns (issue 22): the user names the id column and drops columns
(``load_csv``, ``load_dataset``, the command line); a column named ``id`` of distinct whole
numbers becomes the ids with a warning, never silently a feature."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from unlearn_core.cli.main import build_parser, config_from_args, main
from unlearn_core.data import load_csv, load_dataset
from unlearn_core.data.id_columns import IdColumnWarning
from unlearn_core.data.load import csv_columns
from unlearn_core.errors import DataError


def _csv(ids: list, extra: str = "name", extra_values=None) -> bytes:
    """12 rows: an id column, a text column, two features, a label."""
    rng = np.random.default_rng(0)
    rows = [f"id,{extra},a,b,label"]
    for i, rid in enumerate(ids):
        name = extra_values[i] if extra_values else f"user{i}"
        label = "cat" if i % 2 else "dog"
        rows.append(f"{rid},{name},{rng.normal():.3f},{rng.normal():.3f},{label}")
    return ("\n".join(rows) + "\n").encode()


SHUFFLED = [105, 101, 110, 103, 100, 111, 104, 102, 109, 106, 108, 107]


def test_a_numeric_id_column_is_the_ids_with_a_warning_never_a_feature():
    with pytest.warns(IdColumnWarning, match="'id' holds distinct whole numbers"):
        ds = load_csv(_csv(SHUFFLED), "label", drop_columns=["name"])
    assert ds.ids.tolist() == SHUFFLED
    assert ds.feature_names == ["a", "b"] and ds.X.shape == (12, 2)


def test_a_text_id_column_is_refused_with_the_way_out_then_dropped_or_chosen():
    text_ids = _csv(list(range(12)), "uid", [f"u-{i:03d}" for i in range(12)])
    with pytest.raises(DataError, match="'uid' holds 'u-000' on line 2; ids must be whole "
                                        "numbers: drop the column"):
        load_csv(text_ids, "label", id_column="uid")
    with pytest.warns(IdColumnWarning):  # the numeric id column is still taken
        with pytest.raises(DataError, match="column 'uid' is not numeric.*drop it"):
            load_csv(text_ids, "label")  # a text column: the message says what to do
    with pytest.warns(IdColumnWarning):
        ds = load_csv(text_ids, "label", drop_columns=["uid"])
    assert ds.ids.tolist() == list(range(12)) and ds.feature_names == ["a", "b"]


def test_an_explicit_id_column_and_row_numbers():
    data = _csv(SHUFFLED, "user", [str(1000 + 7 * i) for i in range(12)])
    ds = load_csv(data, "label", id_column="user", drop_columns=["id"])
    assert ds.ids.tolist() == [1000 + 7 * i for i in range(12)]
    assert ds.feature_names == ["a", "b"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", IdColumnWarning)  # "": the rows, no column detected
        ds = load_csv(data, "label", id_column="", drop_columns="user")
    assert ds.ids.tolist() == list(range(12)) and ds.feature_names == ["id", "a", "b"]


def test_an_id_named_column_that_repeats_stays_a_feature_but_says_so():
    with pytest.warns(IdColumnWarning, match="repeats values: it is used as a feature"):
        ds = load_csv(_csv([1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), "label",
                      drop_columns=["name"])
    assert "id" in ds.feature_names and ds.ids.tolist() == list(range(12))


@pytest.mark.parametrize("kw, message", [
    ({"drop_columns": ["nope"]}, "has no column 'nope'; the columns are: id, name, a, b"),
    ({"id_column": "nope"}, "has no column 'nope'"),
    ({"drop_columns": ["label"]}, "the label column 'label' cannot be dropped"),
    ({"id_column": "label"}, "the id column 'label' is the label column"),
    ({"id_column": "id", "drop_columns": ["id", "name"]}, "both the id column and dropped"),
    ({"drop_columns": ["id", "name", "a", "b"]}, "no feature columns besides"),
])
def test_bad_column_choices_are_one_clear_line(kw, message):
    with pytest.raises(DataError, match=message):
        load_csv(_csv(SHUFFLED), "label", **kw)


def test_load_dataset_and_the_setup_preview(tmp_path):
    path = tmp_path / "users.csv"
    path.write_bytes(_csv(SHUFFLED))
    ds = load_dataset(str(path), id_column="id", drop_columns=["name"])
    assert ds.ids.tolist() == SHUFFLED
    assert csv_columns(path.read_bytes()) == (["id", "name", "a", "b", "label"], "id")
    assert csv_columns(_csv([1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]))[1] is None
    with pytest.raises(DataError, match="apply to CSV files only"):
        load_dataset("digits", id_column="id")


def test_command_line_id_and_drop_columns(tmp_path, capsys):
    path = tmp_path / "users.csv"
    path.write_bytes(_csv(SHUFFLED, "user", [str(1000 + 7 * i) for i in range(12)]))
    assert main(["ids", "--dataset", str(path), "--id-column", "user", "--drop-columns",
                 "id", "--split", "train"]) == 0
    printed = {int(v) for v in capsys.readouterr().out.split()}
    assert printed and printed <= {1000 + 7 * i for i in range(12)}
    args = build_parser().parse_args(["audit", "--dataset", str(path), "--id-column", "user",
                                      "--drop-columns", "id, name"])
    cfg = config_from_args(args)
    assert cfg.id_column == "user" and cfg.drop_columns == ["id", "name"]
    assert main(["ids", "--dataset", str(path), "--drop-columns", "label"]) == 2
    assert "cannot be dropped" in capsys.readouterr().err
