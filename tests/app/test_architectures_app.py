"""The Setup page takes the new inputs: CIFAR-10 binary and Parquet data, torch.export
programs (.pt2), and offers shapes32, resnet18 and vit."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _cifar_bin(n: int = 120) -> bytes:
    rng = np.random.default_rng(0)
    labels = (np.arange(n) % 10).astype(np.uint8)
    pixels = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    return np.concatenate([labels[:, None], pixels], axis=1).tobytes()


def test_setup_offers_the_new_dataset_and_architectures():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert "shapes32" in at.selectbox(key="setup_dataset").options
    assert {"resnet18", "vit"} <= set(at.selectbox(key="setup_arch").options)
    at.radio(key="setup_source").set_value("Upload").run()
    types = set(at.file_uploader(key="setup_upload").proto.type)
    assert {".parquet", ".bin", ".gz"} <= types


def test_cifar_binary_upload_with_an_exported_model_and_a_bad_program():
    from unlearn_core.models import ModelSpec, build_model, export_model

    program = export_model(build_model(ModelSpec("cnn", (3, 32, 32), 10), seed=0).eval(),
                           (3, 32, 32))
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.radio(key="setup_source").set_value("Upload").run()
    at.file_uploader(key="setup_upload").upload("data_batch_1.bin", _cifar_bin()).run()
    at.file_uploader(key="setup_weights").upload("net.pt2", program).run()
    at.button(key="setup_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Ready: data_batch_1.bin with 120 samples" in at.success[0].value
    assert at.session_state["ws"].dataset.class_names[0] == "airplane"
    # a program that does not fit (8x8 inputs) is refused in the page with the shapes named
    small = export_model(build_model(ModelSpec("cnn", (1, 8, 8), 10), seed=0).eval(), (1, 8, 8))
    at.file_uploader(key="setup_weights").upload("small.pt2", small).run()
    at.button(key="setup_go").click().run()
    assert at.error and "does not accept inputs of shape (3, 32, 32)" in at.error[0].value


def test_parquet_upload_trains_a_tabular_baseline():
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 4))
    table = pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "d": X[:, 3],
                      "label": np.where(X[:, 0] > 0, "pos", "neg")})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.radio(key="setup_source").set_value("Upload").run()
    at.file_uploader(key="setup_upload").upload("table.parquet", buf.getvalue()).run()
    at.selectbox(key="setup_arch").set_value("resnet18").run()
    at.button(key="setup_go").click().run()
    assert at.error and "resnet18 needs image data" in at.error[0].value
    at.selectbox(key="setup_arch").set_value("logreg").run()
    at.button(key="setup_go").click().run()
    assert not at.error and "Ready: table.parquet with 150 samples" in at.success[0].value
