"""The text report says which definition each metric follows (issue 23): the JSON records, and
the HTML shows, for every metric of the metrics table, how it is computed here and which
implementation and paper it follows (OpenUnlearning's for Min-k%, Min-k%++, zlib, ...), with
the truth ratio's true side as the audit chose it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from unlearn_core.report.text import build_text_json_report, render_text_html
from unlearn_core.text.audit import TextAuditConfig, run_text_audit
from unlearn_core.text.facts import FactSetConfig
from unlearn_core.text.lm import LMTrainConfig, TinyGPTConfig
from unlearn_core.text.metrics import metric_definitions

CFG = TextAuditConfig(forget="random:1", methods=[], retrain_seeds=1,
                      facts=FactSetConfig(n_people=6, n_holdout=4, n_attributes=2),
                      model=TinyGPTConfig(n_embd=32), train=LMTrainConfig(epochs=5, lr=1e-2))
# every metric the report's metrics table and checks show
SHOWN = ("answer probability", "truth ratio", "forget quality", "model utility", "ROUGE-L",
         "exact memorisation", "extraction strength", "LOSS attack", "zlib attack",
         "Min-k% attack", "Min-k%++ attack", "attack AUC", "PrivLeak")


@pytest.fixture(scope="module")
def results():
    return {side: run_text_audit(dataclasses.replace(CFG, truth_side=side)).result
            for side in ("answer", "paraphrase")}


@pytest.fixture(scope="module")
def payloads(results):
    return {side: build_text_json_report(r) for side, r in results.items()}


def test_world_facts_keep_the_answer_side_in_model_utility(results):
    # OpenUnlearning's model utility scores the world facts against their answer (TOFU's
    # real-author and world-fact sets have no paraphrase) whichever side the forget and
    # retain sets use (the retain set's side follows the choice, as TOFU's retain_perturbed)
    a, p = results["answer"].original, results["paraphrase"].original
    assert not np.allclose(a.forget.truth_ratio, p.forget.truth_ratio)
    assert a.world is not None and len(a.world.truth_ratio) > 0
    assert a.world.truth_ratio == pytest.approx(p.world.truth_ratio, rel=1e-9)


def test_every_shown_metric_names_its_definition(payloads):
    defs = {d["metric"]: d for d in payloads["answer"]["reproducibility"]["definitions"]}
    assert set(SHOWN) <= set(defs)
    assert all(d["definition"] and d["follows"] for d in defs.values())
    for name in ("Min-k% attack", "Min-k%++ attack", "zlib attack", "PrivLeak",
                 "forget quality", "truth ratio"):
        assert defs[name]["follows"].startswith("OpenUnlearning"), name
    # the end-of-sequence handling and zlib's text, as OpenUnlearning computes them
    assert "without EOS" in defs["Min-k% attack"]["definition"]
    assert "without EOS" in defs["Min-k%++ attack"]["definition"]
    assert "and EOS" in defs["LOSS attack"]["definition"]
    assert "decoded scored tokens" in defs["zlib attack"]["definition"]
    assert "lowest 40%" in defs["Min-k% attack"]["definition"]


def test_the_truth_ratio_definition_follows_the_chosen_side(payloads):
    def truth(side):
        return next(d["definition"] for d in payloads[side]["reproducibility"]["definitions"]
                    if d["metric"] == "truth ratio")

    assert "true side: the trained answer" in truth("answer")
    assert "true side: TOFU's paraphrased answer" in truth("paraphrase")
    assert metric_definitions("paraphrase") == payloads["paraphrase"]["reproducibility"][
        "definitions"]


def test_the_html_shows_the_definitions(payloads):
    page = render_text_html(payloads["answer"])
    assert "<h2>Metric definitions</h2>" in page
    for d in payloads["answer"]["reproducibility"]["definitions"]:
        assert d["follows"].replace("'", "&#x27;") in page
