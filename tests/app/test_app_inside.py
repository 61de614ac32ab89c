"""The audit page's "Look inside the model" section (AppTest): the probe's bars over the retrain
band, then for a chosen method its CKA-by-layer curves, relearning curves (on request), the
twin embedding map and the prediction matrices, each drawn from the audit's own models."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

# the module's audit trains for tens of seconds: handed to a worker first (tests/conftest.py)
pytestmark = pytest.mark.slow

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _charts(at: AppTest) -> dict[str, dict]:
    """Every plotly chart on the page by its widget key suffix (its figure as JSON)."""
    out = {}
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        out[el.proto.id] = spec
    return out


def _values(v) -> list:
    """A trace's values: plotly writes numpy arrays as typed base64 ({"dtype", "bdata"})."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist()
    return list(v)


def _find(charts: dict[str, dict], part: str) -> dict:
    hits = [v for k, v in charts.items() if part in k]
    assert hits, f"no chart with '{part}' in its key: {list(charts)}"
    return hits[0]


@pytest.fixture(scope="module")
def audited() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.button(key="setup_go").click().run()
    at.switch_page("pages/forget.py").run()
    at.multiselect(key="forget_classes").select(3).run()
    at.button(key="forget_classes_go").click().run()
    at.switch_page("pages/unlearn.py").run()
    at.multiselect(key="unlearn_methods").select("forge_logit_bias").run()
    at.number_input(key="unlearn_reference_seeds").set_value(3).run()
    at.button(key="unlearn_go").click().run()
    assert not at.exception
    at.switch_page("pages/audit.py").run()
    assert not at.exception
    return at


def test_probe_bars_over_the_retrain_band(audited):
    at = audited
    assert "Look inside the model" in [h.value for h in at.subheader]
    assert at.selectbox(key="inside_check").value == "probe"
    bars = _find(_charts(at), "inside_chart_probe")
    trace = bars["data"][0]
    assert trace["type"] == "bar"
    assert {"retrain", "baseline", "finetune", "forge_logit_bias"} <= set(trace["x"])
    shapes = bars["layout"].get("shapes", [])
    assert any(s.get("type") == "rect" for s in shapes)  # the retrain band
    y = dict(zip(trace["x"], _values(trace["y"])))
    # the bias forgery keeps the original's features: the same probe recall, far from retrain
    assert y["forge_logit_bias"] == pytest.approx(y["baseline"])
    assert y["forge_logit_bias"] > y["retrain"]


def test_live_views_of_a_forgery(audited):
    at = audited
    at.selectbox(key="inside_method").set_value("forge_logit_bias").run()
    assert not at.exception
    charts = _charts(at)
    cka = _find(charts, "inside_cka_")
    forged = next(t for t in cka["data"] if t.get("name") == "forge_logit_bias")
    assert all(v == pytest.approx(1.0) for v in _values(forged["y"]))  # features are the original's
    assert any(t.get("fill") == "toself" for t in cka["data"])  # the retrains' envelope
    twin = _find(charts, "inside_map_")
    assert twin["layout"]["xaxis"]["range"] == twin["layout"]["xaxis2"]["range"]
    assert any(t.get("name", "").startswith("forget") for t in twin["data"])
    pm = _find(charts, "inside_pm_")
    assert len(pm["data"]) == 4  # original, retrain and the two methods
    # relearning runs on request, then draws the forgery flat at 0 (over-suppressed)
    assert not any("inside_relearn_" in k and "go" not in k for k in charts)
    at.button(key=next(b.key for b in at.button if b.key and
                       b.key.startswith("inside_relearn_go"))).click().run()
    assert not at.exception
    rel = _find(_charts(at), "inside_relearn_")
    acc = next(t for t in rel["data"] if t.get("name") == "forge_logit_bias")
    assert max(_values(acc["y"])) == 0.0
    orig = next(t for t in rel["data"] if t.get("name") == "original")
    assert _values(orig["y"])[0] > 0.9


def test_prediction_matrix_on_the_test_split(audited):
    at = audited
    at.radio(key="inside_pm_split").set_value("test").run()
    assert not at.exception
    pm = _find(_charts(at), "inside_pm_")
    titles = [a["text"] for a in pm["layout"]["annotations"]]
    assert any(t.startswith("baseline (test") for t in titles)
