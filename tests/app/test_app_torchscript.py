"""The Setup page refuses an uploaded TorchScript model, whatever its name or spec, with one
message that says why and what to bring instead; its code never runs (issue 22)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.hostile_models import file_writing_torchscript

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_an_uploaded_torchscript_model_is_refused_and_runs_nothing(tmp_path):
    target = tmp_path / "server-file.txt"
    target.write_bytes(b"safe contents")
    hostile = file_writing_torchscript(target)  # digits-shaped: 64 inputs, 10 classes
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    for name, spec in (("model.pt", None), ("model.ts", None), ("model.pt2", None),
                       ("weights.pt", b'{"arch": "mlp", "input_shape": [1, 8, 8], '
                                      b'"n_classes": 10}')):
        at.file_uploader(key="setup_weights").upload(name, hostile).run()
        if spec is not None:
            at.file_uploader(key="setup_spec").upload("spec.json", spec).run()
        at.button(key="setup_go").click().run()
        assert not at.exception
        assert [e.value for e in at.error if "TorchScript is refused" in e.value], name
        assert not at.session_state["ws"].ready  # nothing was loaded
        assert target.read_bytes() == b"safe contents"
    assert not any("Ready" in s.value for s in at.success)
