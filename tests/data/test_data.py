"""Tests for the data layer: built-ins, user-file loaders, validation errors and splits."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unlearn_core.data import (
    BUILTIN_DATASETS,
    Dataset,
    Splits,
    load_builtin,
    load_csv,
    load_dataset,
    load_image_zip,
    load_npz,
    make_splits,
)
from unlearn_core.data import builtin as builtin_mod
from unlearn_core.data import loaders as loaders_mod
from unlearn_core.errors import DataError

# --------------------------------------------------------------------------- helpers


def _npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _gray_images(rng, n, size=10):
    return [rng.integers(0, 256, (size, size), dtype=np.uint8) for _ in range(n)]


def _tabular_npz(n=40, d=3, seed=0, **extra):
    rng = np.random.default_rng(seed)
    arrays = {"X": rng.normal(size=(n, d)).astype(np.float32), "y": np.arange(n) % 2}
    arrays.update(extra)
    return arrays


# --------------------------------------------------------------------------- built-ins


def test_builtin_names():
    assert BUILTIN_DATASETS == ("digits", "breast_cancer", "wine", "digits28", "shapes32")


def test_digits_builtin():
    ds = load_builtin("digits")
    assert isinstance(ds, Dataset)
    assert ds.X.shape == (1797, 1, 8, 8) and ds.X.dtype == np.float32
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    assert ds.kind == "image" and ds.class_names == [str(i) for i in range(10)]
    assert ds.y.dtype == np.int64 and set(ds.y.tolist()) == set(range(10))
    np.testing.assert_array_equal(ds.ids, np.arange(1797))


@pytest.mark.parametrize("name,n,d,k", [("breast_cancer", 569, 30, 2), ("wine", 178, 13, 3)])
def test_tabular_builtins(name, n, d, k):
    ds = load_builtin(name)
    assert ds.X.shape == (n, d) and ds.X.dtype == np.float32 and ds.kind == "tabular"
    np.testing.assert_allclose(ds.X.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(ds.X.std(axis=0), 1, atol=1e-3)
    assert len(ds.feature_names) == d and ds.n_classes == k
    assert all(isinstance(c, str) for c in ds.class_names)
    if name == "breast_cancer":
        assert ds.class_names == ["malignant", "benign"]
        assert ds.feature_names[0] == "mean radius"


def test_builtin_subsample_is_seeded():
    a = load_builtin("wine", seed=1, n_samples=50)
    b = load_builtin("wine", seed=1, n_samples=50)
    c = load_builtin("wine", seed=2, n_samples=50)
    assert len(a) == 50
    np.testing.assert_array_equal(a.ids, b.ids)
    assert not np.array_equal(a.ids, c.ids)
    assert np.all(np.diff(a.ids) > 0)


def test_unknown_builtin_lists_names():
    with pytest.raises(DataError, match="digits, breast_cancer, wine, digits28"):
        load_builtin("mnist")


@pytest.fixture(scope="module")
def digits28_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def test_digits28_shape_range_and_balance(digits28_cache):
    ds = load_builtin("digits28", seed=0, n_samples=300, cache_dir=digits28_cache)
    assert ds.X.shape == (300, 1, 28, 28) and ds.X.dtype == np.float32
    assert ds.kind == "image" and ds.name == "digits28"
    assert 0.0 <= ds.X.min() and ds.X.max() <= 1.0 and ds.X.max() > 0.9
    np.testing.assert_array_equal(np.bincount(ds.y, minlength=10), np.full(10, 30))
    np.testing.assert_array_equal(ds.ids, np.arange(300))
    # Strokes sit in the middle: the border carries much less ink than the centre.
    assert ds.X[:, :, :3].mean() < ds.X[:, :, 10:18].mean() / 3


def test_digits28_deterministic_and_seeded(digits28_cache, tmp_path):
    a = load_builtin("digits28", seed=0, n_samples=300, cache_dir=digits28_cache)
    fresh = load_builtin("digits28", seed=0, n_samples=300, cache_dir=tmp_path)  # regenerated
    np.testing.assert_array_equal(a.X, fresh.X)
    np.testing.assert_array_equal(a.y, fresh.y)
    other = load_builtin("digits28", seed=1, n_samples=300, cache_dir=digits28_cache)
    assert not np.array_equal(a.X, other.X)


def test_digits28_cache_file_reused(digits28_cache, monkeypatch):
    load_builtin("digits28", seed=5, n_samples=200, cache_dir=digits28_cache)
    path = builtin_mod.digits28_cache_path(5, 200, digits28_cache)
    assert path.is_file() and "seed5" in path.name and "n200" in path.name
    assert not [p for p in os.listdir(digits28_cache) if p.endswith(".tmp")]

    def boom(*args, **kwargs):
        raise AssertionError("regenerated instead of reading the cache")

    monkeypatch.setattr(builtin_mod, "generate_digits28", boom)
    again = load_builtin("digits28", seed=5, n_samples=200, cache_dir=digits28_cache)
    assert again.X.shape == (200, 1, 28, 28)


def test_digits28_corrupt_cache_is_regenerated(tmp_path):
    path = builtin_mod.digits28_cache_path(3, 100, tmp_path)
    path.write_bytes(b"garbage")
    ds = load_builtin("digits28", seed=3, n_samples=100, cache_dir=tmp_path)
    assert ds.X.shape == (100, 1, 28, 28)
    with np.load(path) as f:
        assert f["images"].shape == (100, 28, 28)


def test_digits28_env_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("UNLEARN_CACHE_DIR", str(tmp_path / "env"))
    load_builtin("digits28", seed=0, n_samples=50)
    assert builtin_mod.digits28_cache_path(0, 50).parent == tmp_path / "env"
    assert builtin_mod.digits28_cache_path(0, 50).is_file()


def test_digits28_is_augmented(digits28_cache):
    ds = load_builtin("digits28", seed=0, n_samples=300, cache_dir=digits28_cache)
    sources, source_y = builtin_mod.upscaled_digits()
    assert sources.shape == (1797, 28, 28)
    X = ds.X[:, 0].reshape(len(ds), -1)
    S = sources.reshape(len(sources), -1)
    # Distance from each sample to its nearest clean source: never (close to) a copy.
    d2 = (X**2).sum(1)[:, None] + (S**2).sum(1)[None, :] - 2 * X @ S.T
    nearest = np.sqrt(np.maximum(d2, 0)).min(axis=1)
    assert nearest.min() > 1.0
    # Two samples of the same class are different images.
    same = np.flatnonzero(ds.y == ds.y[0])
    assert not np.allclose(ds.X[same[0]], ds.X[same[1]])
    # ...but still look like their class: nearest class mean (of the sources) mostly right.
    means = np.stack([S[source_y == c].mean(0) for c in range(10)])
    pred = np.argmin(((X[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert (pred == ds.y).mean() > 0.5


@pytest.mark.parametrize("bad", [0, 5, -1, 1.5, True])
def test_digits28_bad_n_samples(bad, tmp_path):
    with pytest.raises(DataError, match="n_samples"):
        load_builtin("digits28", n_samples=bad, cache_dir=tmp_path)


# --------------------------------------------------------------------------- splits


def _synthetic(y: np.ndarray) -> Dataset:
    n = len(y)
    return Dataset("s", np.zeros((n, 2), np.float32), y.astype(np.int64),
                   np.arange(n, dtype=np.int64), [str(i) for i in range(y.max() + 1)],
                   "tabular", ["a", "b"])


def test_splits_disjoint_cover_sorted_stratified():
    ds = load_builtin("digits")
    s = make_splits(ds, seed=0, test_fraction=0.2, population_fraction=0.25)
    assert isinstance(s, Splits)
    for part in (s.train, s.test, s.population):
        assert part.dtype == np.int64 and np.all(np.diff(part) > 0)
    allpos = np.concatenate([s.train, s.test, s.population])
    assert len(allpos) == len(ds) and len(np.unique(allpos)) == len(ds)
    assert len(s.test) == round(0.2 * len(ds)) and len(s.population) == round(0.25 * len(ds))
    overall = np.bincount(ds.y, minlength=10) / len(ds)
    for part in (s.train, s.test, s.population):
        frac = np.bincount(ds.y[part], minlength=10) / len(part)
        assert np.abs(frac - overall).max() < 0.01


def test_splits_stratified_on_imbalanced_labels():
    y = np.array([0] * 90 + [1] * 10)
    s = make_splits(_synthetic(y), seed=3, test_fraction=0.2, population_fraction=0.2)
    assert (y[s.test] == 1).sum() == 2 and (y[s.population] == 1).sum() == 2
    assert (y[s.train] == 1).sum() == 6


def test_splits_deterministic_and_fingerprint():
    ds = load_builtin("wine")
    a, b, c = make_splits(ds, 7), make_splits(ds, 7), make_splits(ds, 8)
    for x, z in zip((a.train, a.test, a.population), (b.train, b.test, b.population)):
        np.testing.assert_array_equal(x, z)
    assert a.fingerprint() == b.fingerprint()
    assert len(a.fingerprint()) == 64
    assert not np.array_equal(a.test, c.test) and a.fingerprint() != c.fingerprint()


def test_splits_tiny_class_falls_back():
    y = np.array([0] * 30 + [1] * 30 + [2])
    s = make_splits(_synthetic(y), seed=0)
    allpos = np.sort(np.concatenate([s.train, s.test, s.population]))
    np.testing.assert_array_equal(allpos, np.arange(len(y)))
    assert len(s.test) == round(0.2 * len(y))


@pytest.mark.parametrize("tf,pf,msg", [
    (0.0, 0.2, "test_fraction"), (1.0, 0.2, "test_fraction"), (0.2, -0.1, "population"),
    (float("nan"), 0.2, "test_fraction"), ("0.2", 0.2, "test_fraction"),
    (0.6, 0.4, "below 1"),
])
def test_splits_bad_fractions(tf, pf, msg):
    with pytest.raises(DataError, match=msg):
        make_splits(load_builtin("wine"), 0, tf, pf)


def test_splits_too_small():
    with pytest.raises(DataError, match="too few"):
        make_splits(_synthetic(np.array([0, 1])), 0)


# --------------------------------------------------------------------------- NPZ


def test_npz_tabular_round_trip(tmp_path):
    arrays = _tabular_npz(ids=np.arange(100, 140), class_names=np.array(["no", "yes"]))
    path = tmp_path / "t.npz"
    path.write_bytes(_npz_bytes(**arrays))
    ds = load_npz(path, name="mine")
    assert ds.name == "mine" and ds.kind == "tabular"
    np.testing.assert_array_equal(ds.X, arrays["X"])  # npz tabular features are not rescaled
    np.testing.assert_array_equal(ds.y, arrays["y"])
    np.testing.assert_array_equal(ds.ids, np.arange(100, 140))
    assert ds.class_names == ["no", "yes"] and ds.feature_names == ["x0", "x1", "x2"]
    assert ds.X.dtype == np.float32 and ds.y.dtype == np.int64 and ds.ids.dtype == np.int64


@pytest.mark.parametrize("shape,expect", [
    ((20, 6, 5), (20, 1, 6, 5)), ((20, 1, 6, 5), (20, 1, 6, 5)),
    ((20, 3, 6, 5), (20, 3, 6, 5)), ((20, 6, 5, 3), (20, 3, 6, 5)), ((20, 6, 5, 1), (20, 1, 6, 5)),
])
def test_npz_image_layouts(shape, expect):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=shape).astype(np.uint8)
    ds = load_npz(_npz_bytes(X=X, y=np.arange(20) % 4))
    assert ds.kind == "image" and ds.X.shape == expect
    assert ds.X.max() <= 1.0 and ds.X.max() > 0.9  # 0..255 scaled to 0..1
    if shape[-1] == 3 and len(shape) == 4 and shape[1] != 3:
        np.testing.assert_allclose(ds.X[:, 2], X[..., 2] / 255.0, rtol=1e-6)
    assert ds.class_names == ["0", "1", "2", "3"]


def test_npz_images_already_unit_range_not_rescaled():
    X = np.random.default_rng(0).uniform(0, 1, (10, 4, 4)).astype(np.float32)
    ds = load_npz(_npz_bytes(X=X, y=np.arange(10) % 2))
    np.testing.assert_array_equal(ds.X[:, 0], X)


def test_npz_file_like_and_bytes_inputs():
    raw = _npz_bytes(**_tabular_npz())
    fh = io.BytesIO(raw)
    fh.name = "upload.npz"
    fh.read(5)  # a partially read upload is rewound
    a = load_npz(fh)
    b = load_npz(raw)
    c = load_npz(bytearray(raw))
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(b.y, c.y)


def test_npz_string_labels():
    arrays = _tabular_npz(n=6)
    arrays["y"] = np.array(["cat", "dog", "cat", "dog", "ant", "dog"])
    ds = load_npz(_npz_bytes(**arrays))
    assert ds.class_names == ["ant", "cat", "dog"]
    np.testing.assert_array_equal(ds.y, [1, 2, 1, 2, 0, 2])


def test_npz_float_whole_labels_accepted():
    arrays = _tabular_npz()
    arrays["y"] = arrays["y"].astype(np.float64)
    assert load_npz(_npz_bytes(**arrays)).y.dtype == np.int64


@pytest.mark.parametrize("mutate,msg", [
    (lambda a: a.pop("y"), r"no array 'y'.*it has: X"),
    (lambda a: a.pop("X"), r"no array 'X'"),
    (lambda a: a.__setitem__("y", np.arange(39) % 2), "40 samples but 39 labels"),
    (lambda a: a["X"].__setitem__((5, 2), np.nan), r"1 missing, NaN or infinite.*row 5"),
    (lambda a: a["X"].__setitem__((7, 0), np.inf), r"row 7"),
    (lambda a: a.__setitem__("y", np.zeros(40, int)), "only one class"),
    (lambda a: a.__setitem__("y", np.r_[np.arange(39) % 2, -1]), "0 or more.*row 39"),
    (lambda a: a.__setitem__("y", np.r_[np.arange(39) % 2, 0.5]), "whole.*row 39"),
    (lambda a: a.__setitem__("y", np.r_[np.arange(39) % 2, np.nan]), "NaN or infinite"),
    (lambda a: a.update(class_names=np.array(["a", "b"]), y=np.arange(40) % 3),
     r"label 2 .*out of range.*2 class names"),
    (lambda a: a.__setitem__("ids", np.r_[np.arange(39), 3]), r"unique; id 3 appears 2 times"),
    (lambda a: a.__setitem__("ids", np.arange(10)), "one per sample"),
    (lambda a: a.__setitem__("X", np.zeros((0, 3))), "no samples"),
    (lambda a: a.__setitem__("X", np.zeros(40)), "shape"),
    (lambda a: a.__setitem__("X", np.array(["a"] * 40)), "numeric"),
    (lambda a: a.__setitem__("X", np.zeros((40, 5, 5, 7))), "channels"),
    (lambda a: a.__setitem__("class_names", np.array([{"a": 1}, None], dtype=object)),
     "Python objects"),
])
def test_npz_bad_inputs(mutate, msg):
    arrays = _tabular_npz()
    mutate(arrays)
    with pytest.raises(DataError, match=msg):
        load_npz(_npz_bytes(**arrays))


def test_npz_wrong_file_types(tmp_path):
    png = tmp_path / "pic.npz"
    png.write_bytes(_png_bytes(np.zeros((4, 4), np.uint8)))
    with pytest.raises(DataError, match="'pic.npz' is not an NPZ"):
        load_npz(png)
    buf = io.BytesIO()
    np.save(buf, np.zeros(3))
    with pytest.raises(DataError, match="np.savez"):
        load_npz(buf.getvalue())
    with pytest.raises(DataError, match="not a readable NPZ"):
        load_npz(b"PK\x03\x04 truncated")
    with pytest.raises(DataError, match="empty"):
        load_npz(b"")
    with pytest.raises(DataError, match="no such file"):
        load_npz(tmp_path / "missing.npz")


def test_npz_too_many_samples(monkeypatch):
    monkeypatch.setattr(loaders_mod, "MAX_SAMPLES", 30)
    with pytest.raises(DataError, match="limit is 30"):
        load_npz(_npz_bytes(**_tabular_npz()))


def test_too_large_file(monkeypatch, tmp_path):
    raw = _npz_bytes(**_tabular_npz())
    monkeypatch.setattr(loaders_mod, "MAX_BYTES", 100)
    with pytest.raises(DataError, match="limit"):
        load_npz(raw)
    path = tmp_path / "big.npz"
    path.write_bytes(raw)
    with pytest.raises(DataError, match="MiB"):
        load_npz(path)
    with pytest.raises(DataError, match="limit"):
        load_npz(io.BytesIO(raw))


# --------------------------------------------------------------------------- CSV

CSV_OK = "a,b,label\n1,10,cat\n2,10,dog\n3,10,cat\n4,10,dog\n"


def test_csv_round_trip_string_labels(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(CSV_OK)
    ds = load_csv(path, "label", name="pets")
    assert ds.kind == "tabular" and ds.name == "pets"
    assert ds.feature_names == ["a", "b"] and ds.class_names == ["cat", "dog"]
    np.testing.assert_array_equal(ds.y, [0, 1, 0, 1])
    np.testing.assert_allclose(ds.X[:, 0], (np.arange(1, 5) - 2.5) / np.std(np.arange(1, 5)),
                               rtol=1e-6)
    np.testing.assert_array_equal(ds.X[:, 1], 0)  # constant column left at 0
    assert ds.X.dtype == np.float32


def test_csv_numeric_labels_bytes_and_file_like():
    text = "x;y;target\n0.5;1;0\n1.5;2;2\n2.5;3;1\n"
    ds = load_csv(text.encode(), "target")
    np.testing.assert_array_equal(ds.y, [0, 2, 1])
    assert ds.class_names == ["0", "1", "2"]
    fh = io.BytesIO(("\ufeff" + CSV_OK).encode())
    fh.name = "up.csv"
    assert load_csv(fh, "label").class_names == ["cat", "dog"]


def test_csv_label_column_anywhere_and_quoted():
    text = 'label,"f, one",f2\n"a",1,2\nb,3,4\n\na,5,6\n'
    ds = load_csv(text.encode(), "label")
    assert ds.feature_names == ["f, one", "f2"] and len(ds) == 3


@pytest.mark.parametrize("text,col,msg", [
    (CSV_OK, "klass", r"no column 'klass'; the columns are: a, b, label"),
    ("a,b,label\n1,2,x\n3,4,5,6\n", "label", "line 3 has 4 fields but the header has 3"),
    ("a,b,label\n1,2,x\n3,4\n", "label", "line 3 has 2 fields"),
    ("a,b,label\n1,2,0\n,4,1\n5,nan,1\n", "label", r"2 missing.*line 3, column 'a'"),
    ("a,b,label\n1,2,0\n3,inf,1\n", "label", r"line 3, column 'b'"),
    ("a,b,label\n1,2,0\n3,4,\n", "label", "no label.*line 3"),
    ("a,b,label\n1,2,0\n3,4,nan\n", "label", "NaN or infinite.*line 3"),
    ("a,b,label\n1,2,0\n3,4,1.5\n", "label", "whole class numbers; line 3 has '1.5'"),
    ("a,b,label\n1,2,0\n3,4,-1\n", "label", "0 or more; line 3"),
    ("a,b,label\n1,2,x\n3,4,x\n", "label", "only one class"),
    ("a,city,label\n1,Paris,0\n3,Rome,1\n", "label", "column 'city' is not numeric"),
    ("a,b,label\n", "label", "no data rows"),
    ("label\n0\n1\n", "label", "no feature columns"),
    ("a,a,label\n1,2,0\n", "label", "'a' appears more than once"),
])
def test_csv_bad_inputs(text, col, msg):
    with pytest.raises(DataError, match=msg):
        load_csv(text.encode(), col)


def test_csv_binary_and_empty(tmp_path):
    with pytest.raises(DataError, match="binary"):
        load_csv(_png_bytes(np.zeros((4, 4), np.uint8)), "label")
    with pytest.raises(DataError, match="empty"):
        load_csv(b"", "label")
    with pytest.raises(DataError, match="empty"):
        load_csv(b"\n\n", "label")


# --------------------------------------------------------------------------- image ZIP


def _class_zip(rng, prefix="", colour=False, extra=None) -> bytes:
    files = {}
    for cls in ("cat", "dog", "10", "2"):
        for i in range(3):
            if colour and cls == "dog" and i == 0:
                img = rng.integers(0, 256, (12, 9, 3), dtype=np.uint8)
            else:
                img = rng.integers(0, 256, (12, 9), dtype=np.uint8)
            files[f"{prefix}{cls}/img{i}.png"] = _png_bytes(img)
    files.update(extra or {})
    return _zip_bytes(files)


def test_zip_round_trip_grayscale(tmp_path):
    rng = np.random.default_rng(0)
    img = np.tile(np.arange(0, 250, 25, dtype=np.uint8), (10, 1))
    extra = {
        "__MACOSX/cat/._img0.png": b"junk", "cat/.DS_Store": b"junk", "README.txt": b"hi",
        "cat/known.png": _png_bytes(img),
    }
    path = tmp_path / "imgs.zip"
    path.write_bytes(_class_zip(rng, extra=extra))
    ds = load_image_zip(path, image_size=10, name="pets")
    assert ds.kind == "image" and ds.X.shape == (13, 1, 10, 10) and ds.X.dtype == np.float32
    assert ds.class_names == ["2", "10", "cat", "dog"]  # numbers in numeric order first
    np.testing.assert_array_equal(np.bincount(ds.y), [3, 3, 4, 3])
    assert 0.0 <= ds.X.min() and ds.X.max() <= 1.0
    k = [i for i in range(len(ds)) if ds.y[i] == 2][-1]  # cat/known.png sorts last among cats
    np.testing.assert_allclose(ds.X[k, 0], img / 255.0, atol=1e-6)


def test_zip_top_level_folder_and_colour():
    rng = np.random.default_rng(1)
    ds = load_image_zip(_class_zip(rng, prefix="dataset/", colour=True), image_size=16)
    assert ds.class_names == ["2", "10", "cat", "dog"]
    assert ds.X.shape == (12, 3, 16, 16)


def test_zip_file_like_with_name():
    fh = io.BytesIO(_class_zip(np.random.default_rng(2)))
    fh.name = "upload.zip"
    assert len(load_image_zip(fh, image_size=8)) == 12


@pytest.mark.parametrize("files,msg", [
    ({"a/x.png": b"not a png", "b/y.png": None}, r"cannot read image 'a/x.png'"),
    ({"x.png": None, "y.png": None}, "not inside a class folder"),
    ({"a/x.txt": b"text"}, "contains no images"),
    ({"only/x.png": None, "only/y.png": None}, "only one class"),
])
def test_zip_bad_contents(files, msg):
    png = _png_bytes(np.zeros((5, 5), np.uint8))
    files = {k: (png if v is None else v) for k, v in files.items()}
    with pytest.raises(DataError, match=msg):
        load_image_zip(_zip_bytes(files))


def test_zip_not_a_zip_and_bomb(monkeypatch):
    with pytest.raises(DataError, match="not a ZIP"):
        load_image_zip(b"plain text, not a zip")
    big = _zip_bytes({"a/x.png": b"\0" * 100_000, "b/y.png": b"\0" * 100_000})
    assert len(big) < 10_000
    monkeypatch.setattr(loaders_mod, "MAX_UNCOMPRESSED_BYTES", 150_000)
    with pytest.raises(DataError, match="unpacks to"):
        load_image_zip(big)


def test_zip_bad_image_size():
    with pytest.raises(DataError, match="image_size"):
        load_image_zip(_class_zip(np.random.default_rng(0)), image_size=0)


# --------------------------------------------------------------------------- dispatch


def test_load_dataset_dispatch(tmp_path):
    assert load_dataset("wine").name == "wine"
    ds = load_dataset("digits28", seed=2, n_samples=40, cache_dir=tmp_path, image_size=5)
    assert ds.X.shape == (40, 1, 28, 28)
    (tmp_path / "t.npz").write_bytes(_npz_bytes(**_tabular_npz()))
    assert load_dataset(str(tmp_path / "t.npz")).name == "t"
    (tmp_path / "c.csv").write_text(CSV_OK.replace("label", "Target"))
    assert load_dataset(str(tmp_path / "c.csv")).class_names == ["cat", "dog"]
    (tmp_path / "c2.csv").write_text("a,b,label\n0,1,1\n1,2,0\n4,3,1\n")
    assert load_dataset(str(tmp_path / "c2.csv"), label_column="a").n_classes == 5
    (tmp_path / "i.zip").write_bytes(_class_zip(np.random.default_rng(0)))
    assert load_dataset(str(tmp_path / "i.zip"), image_size=6).X.shape == (12, 1, 6, 6)


def test_load_dataset_errors(tmp_path):
    with pytest.raises(DataError,
                       match=r"unsupported file type '\.xyz': use \.npz, \.csv, \.zip, \.parquet"):
        load_dataset(str(tmp_path / "f.xyz"))
    with pytest.raises(DataError, match="unknown dataset 'digit'.*digits28"):
        load_dataset("digit")
    (tmp_path / "c.csv").write_text("a,b,kind\n1,2,x\n")
    with pytest.raises(DataError, match="label_column.*a, b, kind"):
        load_dataset(str(tmp_path / "c.csv"))
    with pytest.raises(DataError, match="no such file"):
        load_dataset(str(tmp_path / "nope.npz"))
    with pytest.raises(DataError, match="folder"):
        (tmp_path / "dir.npz").mkdir()
        load_dataset(str(tmp_path / "dir.npz"))


def test_every_error_is_one_line(tmp_path):
    cases = [
        lambda: load_npz(b"junk"), lambda: load_csv(b"a,b\n1,2\n", "c"),
        lambda: load_image_zip(b"junk"), lambda: load_dataset("x.doc"),
        lambda: load_builtin("nope"), lambda: make_splits(load_builtin("wine"), 0, 2, 0.1),
    ]
    for case in cases:
        with pytest.raises(DataError) as info:
            case()
        assert "\n" not in str(info.value) and str(info.value)


def test_path_given_as_pathlib(tmp_path):
    p = Path(tmp_path) / "t.npz"
    p.write_bytes(_npz_bytes(**_tabular_npz()))
    assert len(load_npz(p)) == len(load_npz(str(p))) == 40
