"""The 32x32 built-in (shapes32) and the CIFAR-10 binary and Parquet data inputs."""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pytest
import torch

from unlearn_core.data import (
    cifar_binary,
    load_builtin,
    load_cifar_binary,
    load_dataset,
    load_parquet,
)
from unlearn_core.data.shapes32 import CLASS_NAMES, generate_shapes32
from unlearn_core.errors import DataError


def one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert text and "\n" not in text, text
    return text


# --------------------------------------------------------------------------- shapes32


def test_shapes32_is_deterministic_per_seed_and_differs_across_seeds():
    a, ya = generate_shapes32(60, seed=3)
    b, yb = generate_shapes32(60, seed=3)
    c, yc = generate_shapes32(60, seed=4)
    assert a.shape == (60, 3, 32, 32) and a.dtype == np.uint8
    assert np.array_equal(a, b) and np.array_equal(ya, yb)
    assert not np.array_equal(a, c)
    assert np.bincount(ya, minlength=10).tolist() == [6] * 10  # balanced
    assert a.min() < 30 and a.max() > 225  # uses the whole range


def test_shapes32_builtin_loads_a_small_size_and_caches_it(tmp_path):
    ds = load_builtin("shapes32", seed=1, n_samples=200, cache_dir=tmp_path)
    assert ds.X.shape == (200, 3, 32, 32) and ds.X.dtype == np.float32
    assert 0.0 <= ds.X.min() and ds.X.max() <= 1.0
    assert ds.class_names == CLASS_NAMES and ds.kind == "image"
    assert list(tmp_path.glob("shapes32_*seed1_n200.npz"))
    again = load_dataset("shapes32", seed=1, n_samples=200, cache_dir=tmp_path)
    assert again.fingerprint() == ds.fingerprint()
    other = load_builtin("shapes32", seed=2, n_samples=200, cache_dir=tmp_path)
    assert other.fingerprint() != ds.fingerprint()
    with pytest.raises(DataError, match="between 20 and"):
        load_builtin("shapes32", n_samples=10, cache_dir=tmp_path)


def test_shapes32_is_learnable_by_a_small_cnn(tmp_path):
    """Structure a model can learn: a small CNN trained briefly on 3,000 images is well above
    chance (10%) on 500 others (the full set takes the default cnn to about 60%, see the
    README); colours carry no class, so it has to learn shapes."""
    from unlearn_core.models import ModelSpec, TrainConfig, accuracy, build_model, train_epochs

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ds = load_builtin("shapes32", seed=0, n_samples=3500, cache_dir=tmp_path)
        train, test = ds.subset(np.arange(3000)), ds.subset(np.arange(3000, 3500))
        model = build_model(ModelSpec("cnn", (3, 32, 32), 10, {"width": 8, "hidden": 64}),
                            seed=0)
        train_epochs(model, train, TrainConfig(epochs=6, lr=5e-3, batch_size=32), seed=0)
        assert accuracy(model, test) > 0.2
    finally:
        torch.set_num_threads(threads)


# --------------------------------------------------------------------------- CIFAR-10 binary


def cifar_records(n: int, seed: int, labels: list[int] | None = None) -> tuple[bytes, np.ndarray,
                                                                                np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.array(labels if labels is not None else rng.integers(0, 10, n), dtype=np.uint8)
    pixels = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    raw = np.concatenate([y[:, None], pixels], axis=1).tobytes()
    return raw, y.astype(np.int64), pixels.reshape(n, 3, 32, 32)


def test_cifar_binary_file_is_read_record_by_record(tmp_path):
    raw, y, pixels = cifar_records(25, seed=0, labels=[i % 10 for i in range(25)])
    path = tmp_path / "data_batch_1.bin"
    path.write_bytes(raw)
    ds = load_dataset(str(path))
    assert ds.X.shape == (25, 3, 32, 32)
    assert np.array_equal(ds.y, y)
    assert np.array_equal(np.round(ds.X * 255).astype(np.uint8), pixels)
    # the red plane comes first: record 0's byte 1 is the top-left red value
    assert ds.X[0, 0, 0, 0] == np.float32(raw[1] / 255.0)
    assert ds.X[0, 1, 0, 0] == np.float32(raw[1 + 1024] / 255.0)
    assert ds.class_names[0] == "airplane" and ds.name == "data_batch_1"
    assert load_cifar_binary(raw).fingerprint() == ds.fingerprint()  # bytes, as uploaded


def test_cifar_binary_refuses_truncated_mislabelled_and_empty_files(tmp_path):
    raw, _, _ = cifar_records(4, seed=1)
    with pytest.raises(DataError) as err:
        load_cifar_binary(raw[:-5])
    assert "3 whole records" in one_line(err) and "truncated" in one_line(err)
    bad = bytearray(raw)
    bad[2 * 3073] = 12  # record 2's label byte
    with pytest.raises(DataError) as err:
        load_cifar_binary(bytes(bad))
    assert "record 2 has label 12" in one_line(err)
    empty = tmp_path / "test_batch.bin"
    empty.write_bytes(b"")
    with pytest.raises(DataError) as err:
        load_dataset(str(empty))
    assert "empty" in one_line(err)


def _tar(files: dict[str, bytes], gz: bool = True) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_cifar_binary_archive_in_batch_order_with_class_names(tmp_path):
    b1, y1, _ = cifar_records(6, seed=2, labels=[0, 1, 2, 3, 4, 5])
    b2, y2, _ = cifar_records(5, seed=3, labels=[5, 6, 7, 8, 9])
    bt, yt, _ = cifar_records(4, seed=4, labels=[9, 9, 0, 1])
    names = "\n".join(f"class{i}" for i in range(10)).encode()
    archive = _tar({"cifar-10-batches-bin/test_batch.bin": bt,
                    "cifar-10-batches-bin/data_batch_2.bin": b2,
                    "cifar-10-batches-bin/readme.html": b"<html>",
                    "cifar-10-batches-bin/batches.meta.txt": names,
                    "cifar-10-batches-bin/data_batch_1.bin": b1})
    path = tmp_path / "cifar-10-binary.tar.gz"
    path.write_bytes(archive)
    ds = load_dataset(str(path))
    assert np.array_equal(ds.y, np.concatenate([y1, y2, yt]))
    assert ds.class_names == [f"class{i}" for i in range(10)]
    assert ds.name == "cifar-10-binary"
    plain = load_cifar_binary(_tar({"data_batch_1.bin": b1}, gz=False))
    assert np.array_equal(plain.y, y1)


def test_cifar_binary_archive_refusals(monkeypatch):
    b1, _, _ = cifar_records(3, seed=5)
    with pytest.raises(DataError) as err:
        load_cifar_binary(_tar({"data_batch_1.bin": b1[:-1]}))
    assert "data_batch_1.bin is 9218 bytes" in one_line(err)
    with pytest.raises(DataError) as err:
        load_cifar_binary(_tar({"notes.txt": b"hello"}))
    assert "no data_batch_N.bin" in one_line(err)
    with pytest.raises(DataError) as err:
        load_cifar_binary(_tar({"data_batch_1.bin": b1})[:200])  # cut gzip stream
    one_line(err)
    # the decompressed bytes are counted whatever the headers say
    monkeypatch.setattr(cifar_binary, "MAX_UNCOMPRESSED_BYTES", 20_000)
    big, _, _ = cifar_records(10, seed=6)
    with pytest.raises(DataError) as err:
        load_cifar_binary(_tar({"data_batch_1.bin": big}))
    assert "limit" in one_line(err)


# --------------------------------------------------------------------------- Parquet


def _parquet(table) -> bytes:
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=7)
    return buf.getvalue()


def test_parquet_tabular_with_text_labels(tmp_path):
    import pyarrow as pa

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=20), rng.integers(0, 5, 20)
    table = pa.table({"a": a, "b": b, "target": ["cat", "dog"] * 10})
    path = tmp_path / "t.parquet"
    path.write_bytes(_parquet(table))
    ds = load_dataset(str(path))
    assert ds.kind == "tabular" and ds.feature_names == ["a", "b"]
    assert ds.class_names == ["cat", "dog"] and ds.y.tolist() == [0, 1] * 10
    expected = (a - a.mean()) / a.std()
    assert np.allclose(ds.X[:, 0], expected, atol=1e-6)  # z-scored like a CSV


def _png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_parquet_image_column_in_hugging_face_layout():
    import pyarrow as pa

    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(12) % 3
    img_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    column = pa.array([{"bytes": _png(im), "path": None} for im in images], type=img_type)
    meta = {"info": {"features": {"img": {"_type": "Image"},
                                  "label": {"_type": "ClassLabel",
                                            "names": ["red", "green", "blue"]}}}}
    table = pa.table({"img": column, "label": pa.array(labels, pa.int64())})
    table = table.replace_schema_metadata({b"huggingface": json.dumps(meta).encode()})
    ds = load_parquet(_parquet(table))
    assert ds.X.shape == (12, 3, 32, 32) and ds.kind == "image"
    assert np.array_equal(np.round(ds.X * 255).astype(np.uint8),
                          images.transpose(0, 3, 1, 2))
    assert ds.class_names == ["red", "green", "blue"] and ds.y.tolist() == labels.tolist()


def test_parquet_images_of_several_sizes_need_image_size():
    import pyarrow as pa

    rng = np.random.default_rng(2)
    ims = [rng.integers(0, 256, (s, s), dtype=np.uint8) for s in (16, 20, 16, 20)]
    table = pa.table({"image": pa.array([_png(i) for i in ims], pa.binary()),
                      "y": [0, 1, 0, 1]})
    with pytest.raises(DataError) as err:
        load_parquet(_parquet(table))
    assert "image_size" in one_line(err)
    ds = load_parquet(_parquet(table), image_size=8)
    assert ds.X.shape == (4, 1, 8, 8)  # grayscale stays one channel


def test_parquet_refusals():
    import pyarrow as pa

    good = _parquet(pa.table({"x": np.arange(10.0), "label": [0, 1] * 5}))
    with pytest.raises(DataError) as err:
        load_parquet(good[: len(good) // 2])
    assert "not a Parquet file" in one_line(err)
    with pytest.raises(DataError) as err:
        load_parquet(good[:-12] + good[-4:])  # footer cut, magic kept
    assert "Parquet" in one_line(err)
    with pytest.raises(DataError) as err:
        load_parquet(_parquet(pa.table({"x": ["a", "b"], "label": [0, 1]})))
    assert "column 'x' is string, not numeric" in one_line(err)
    with pytest.raises(DataError) as err:
        load_parquet(_parquet(pa.table({"x": [1.0, 2.0, 3.0], "label": [0, None, 1]})))
    assert "no label" in one_line(err)
    with pytest.raises(DataError) as err:
        load_parquet(_parquet(pa.table({"x": [1.0, 2.0], "label": [0, 1000]})))
    assert "0..999" in one_line(err)
    with pytest.raises(DataError) as err:
        load_parquet(_parquet(pa.table({"x": [1.0, 2.0], "cls": [0, 1]})))
    assert "label_column" in one_line(err)
    with pytest.raises(DataError) as err:
        load_parquet(_parquet(pa.table({"image": pa.array([b"junk", b"more"], pa.binary()),
                                        "label": [0, 1]})))
    assert "cannot decode the image of row 0" in one_line(err)
