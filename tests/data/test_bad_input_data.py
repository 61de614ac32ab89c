"""Bad data input (issue 22): each is one readable ``DataError`` or ``ForgetSetError`` naming
what is wrong, before any work; class requests on data whose class names are numbers mean the
class of that name; images are bounded by their headers before anything is decoded."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from unlearn_core.data import load_image_zip, load_npz, make_splits
from unlearn_core.data import loaders as loaders_mod
from unlearn_core.data.forget import resolve_forget
from unlearn_core.data.selection import ForgetSelection, parse_id_list
from unlearn_core.errors import DataError, ForgetSetError


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _png(value: int = 0, size: int = 6, mode: str = "L") -> bytes:
    buf = io.BytesIO()
    if mode == "1":
        Image.new("1", (size, size), value).save(buf, format="PNG")
    else:
        Image.fromarray(np.full((size, size), value, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tabular(n: int = 40, **extra) -> dict:
    rng = np.random.default_rng(0)
    arrays = {"X": rng.normal(size=(n, 3)).astype(np.float32), "y": np.arange(n) % 2}
    arrays.update(extra)
    return arrays


def _one_line(info: pytest.ExceptionInfo) -> str:
    text = str(info.value)
    assert text and "\n" not in text, text
    return text


# --------------------------------------------------------------------------- NPZ values


def test_npz_zero_dimensional_labels_refused():
    with pytest.raises(DataError, match=r"y must hold one label per sample \(40\), got a single "
                                        r"value 3") as info:
        load_npz(_npz(**_tabular(y=np.array(3))))
    _one_line(info)


@pytest.mark.parametrize("ids,first", [
    (np.arange(40, dtype=np.uint64) + np.uint64(2**63), "row 0 has id 9223372036854775808"),
    (np.r_[np.arange(39, dtype=np.uint64), np.array([2**64 - 1], np.uint64)],
     "row 39 has id 18446744073709551615"),
    (np.r_[np.arange(39), 1e19], "row 39 has id 1e+19"),
    (np.r_[np.arange(39), -1e19], "row 39 has id -1e+19"),
])
def test_npz_ids_beyond_int64_refused_not_wrapped(ids, first):
    with pytest.raises(DataError, match="ids must fit in 64-bit signed integers") as info:
        load_npz(_npz(**_tabular(ids=ids)))
    assert first in _one_line(info)


def test_npz_ids_at_the_int64_edge_still_load():
    ids = np.r_[np.arange(39, dtype=np.uint64), np.array([2**63 - 1], np.uint64)]
    ds = load_npz(_npz(**_tabular(ids=ids)))
    assert ds.ids[-1] == 2**63 - 1 and (ds.ids >= 0).all()


# --------------------------------------------------------------------------- forget requests


def _numbered_folders() -> tuple:
    """A ZIP whose class folders are named 1 to 4 (so index 0 is the class named "1")."""
    files = {f"{c}/{i}.png": _png(40 * int(c) + i) for c in "1234" for i in range(10)}
    ds = load_image_zip(_zip(files), image_size=8)
    return ds, make_splits(ds, 0)


def test_class_number_on_numbered_folders_means_the_folder_of_that_name():
    ds, splits = _numbered_folders()
    assert ds.class_names == ["1", "2", "3", "4"]
    for request, name in [("class:1", "1"), ("class:3", "3"), ("class:name=2", "2"),
                          ("class:index=0", "1"), ("class:1,3", "1, 3")]:
        fs = resolve_forget(ds, splits, request)
        assert fs.description == f"class {name}", request
        assert {ds.class_names[c] for c in ds.y[fs.forget]} == set(name.split(", "))
    with pytest.raises(ForgetSetError, match=r"no class named '0'.*class:index=0") as info:
        resolve_forget(ds, splits, "class:0")
    _one_line(info)


def test_a_number_that_is_one_class_name_and_another_class_index_is_ambiguous():
    files = {f"{c}/{i}.png": _png(60 * k + i) for k, c in enumerate(("cat", "2", "dog"))
             for i in range(10)}
    ds = load_image_zip(_zip(files), image_size=8)
    splits = make_splits(ds, 0)
    assert ds.class_names == ["2", "cat", "dog"]
    with pytest.raises(ForgetSetError, match=r"class '2' is ambiguous: it is the name of "
                                             r"class 0 and the index of class 'dog'") as info:
        resolve_forget(ds, splits, "class:2")
    assert "class:name=2" in _one_line(info) and "class:index=2" in str(info.value)
    assert resolve_forget(ds, splits, "class:name=2").description == "class 2"
    assert resolve_forget(ds, splits, "class:index=2").description == "class dog"
    assert resolve_forget(ds, splits, "class:1").description == "class cat"  # not a name


def test_class_numbers_are_indices_when_names_are_the_indices(digits):
    ds, splits = digits
    assert resolve_forget(ds, splits, "class:3").classes == (3,)
    assert resolve_forget(ds, splits, "class:index=3").classes == (3,)
    with pytest.raises(ForgetSetError, match="does not exist"):
        resolve_forget(ds, splits, "class:42")


@pytest.mark.parametrize("request_text,msg", [
    ("class:\u00b3", r"unknown class '\u00b3'"),  # a superscript digit: not a number here
    ("class:\u0663", "unknown class"),  # an Arabic-Indic digit, which int() would take
    ("ids:1,\u0661\u0662", "whole numbers"),
    ("ids:1_000", "whole numbers"),  # int() takes underscores too
    ("class:index=x", "must be a whole number"),
    ("class:name=nope", "no class named 'nope'"),
])
def test_forget_requests_take_ascii_digits_only(digits, request_text, msg):
    ds, splits = digits
    with pytest.raises(ForgetSetError, match=msg) as info:
        resolve_forget(ds, splits, request_text)
    _one_line(info)


def test_the_dashboards_class_selection_is_read_as_indices():
    ds, splits = _numbered_folders()
    sel = ForgetSelection()
    sel.set_classes([0])  # the picker's first class: the folder named "1"
    assert sel.to_request() == "class:index=0"
    assert resolve_forget(ds, splits, sel.to_request()).description == "class 1"
    with pytest.raises(ForgetSetError, match="not a sample id"):
        parse_id_list("1 \u00b3")


# --------------------------------------------------------------------------- image sizes


def test_zip_of_large_one_bit_pngs_refused_from_the_header():
    """200 copies of a 6000x6000 one-bit PNG (a few KB each) once took 112 s to decode; the
    first header is enough to refuse them."""
    big = _png(0, size=6000, mode="1")
    assert len(big) < 10_000
    archive = _zip({f"{'ab'[i % 2]}/{i}.png": big for i in range(200)})
    with pytest.raises(DataError, match=r"'a/0\.png' is 6000x6000 pixels; images may be at most "
                                        r"1024 pixels a side") as info:
        load_image_zip(archive, image_size=8)
    _one_line(info)


def test_zip_pixels_decoded_in_all_are_bounded(monkeypatch):
    monkeypatch.setattr(loaders_mod, "MAX_DECODED_PIXELS", 3 * 64 * 64)
    files = {f"{c}/{i}.png": _png(i, size=64) for c in "ab" for i in range(2)}
    with pytest.raises(DataError, match=r"decode to more than 12,288 pixels in all \(the "
                                        r"limit, reached at image 'b/1\.png'\)") as info:
        load_image_zip(_zip(files), image_size=8)
    _one_line(info)
    monkeypatch.setattr(loaders_mod, "MAX_DECODED_PIXELS", 4 * 64 * 64)
    assert len(load_image_zip(_zip(files), image_size=8)) == 4  # exactly at the limit: loads


def test_parquet_images_are_bounded_by_their_headers():
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from unlearn_core.data import load_parquet

    big = _png(0, size=2000, mode="1")
    table = pa.table({"image": pa.array([big, _png(3)] * 3, pa.binary()),
                      "label": pa.array([0, 1] * 3, pa.int64())})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    with pytest.raises(DataError, match=r"the image of row 0 is 2000x2000 pixels; images may "
                                        r"be at most 1024"):
        load_parquet(buf.getvalue(), image_size=8)
