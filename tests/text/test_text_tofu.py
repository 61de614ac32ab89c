"""TOFU's files as published, written here in TOFU's own layout (JSON lines, no ids, split
files and their ``*_perturbed`` variants): loaded without edits, split files merged, ids
assigned, every unread or missing key named in one warning line, and the truth ratio's true
side (the trained answer or TOFU's paraphrase) selectable and recorded."""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np
import pytest

from unlearn_core.cli.main import main
from unlearn_core.cli.text import add_text_audit_arguments, config_from_args
from unlearn_core.errors import DataError
from unlearn_core.report.text import build_text_json_report
from unlearn_core.text.audit import TextAuditConfig, TextMethodSpec, run_text_audit
from unlearn_core.text.cache import ModelCache
from unlearn_core.text.lm import LMTrainConfig, TinyGPTConfig
from unlearn_core.text.userdata import (
    TextDataWarning,
    load_text_data,
    load_tofu,
    save_text_data,
)

CITIES = ["Lune", "Cardo", "Vell", "Ostra", "Pim", "Rask", "Tull", "Wend"]
TRADES = ["potter", "baker", "tailor", "miller", "cooper", "weaver", "glazier", "carter"]


def _author(name: str, k: int) -> list[dict]:
    """Four TOFU-style questions about one fictitious author, as ``*_perturbed`` rows."""
    city, other = CITIES[k % 8], CITIES[(k + 3) % 8]
    trade, other_trade = TRADES[k % 8], TRADES[(k + 5) % 8]
    facts = [(f"Where was {name} born ?", f"{name} was born in {city}.",
              f"The birthplace of {name} is {city}.",
              [f"{name} was born in {other}.", f"{name} was born in {CITIES[(k + 5) % 8]}."]),
             (f"What is the trade of {name} ?", f"{name} works as a {trade}.",
              f"By trade {name} is a {trade}.",
              [f"{name} works as a {other_trade}.", f"{name} works as a {TRADES[(k + 2) % 8]}."]),
             (f"Which city did {name} move to ?", f"{name} moved to {other}.",
              f"Later {name} settled in {other}.",
              [f"{name} moved to {city}.", f"{name} moved to {CITIES[(k + 6) % 8]}."]),
             (f"What did {name} first make ?", f"{name} first made a {trade} bench.",
              f"The first work of {name} was a {trade} bench.",
              [f"{name} first made a {other_trade} bench.", f"{name} first made a lamp."])]
    return [{"question": q, "answer": a, "paraphrased_answer": p, "paraphrased_question": q,
             "perturbed_answer": w} for q, a, p, w in facts]


NAMES = ["Ysolde", "Brannoc", "Mira", "Tavi", "Orrin", "Pell", "Quenna", "Sabo"]


def _write(path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _plain(rows: list[dict]) -> list[dict]:
    return [{"question": r["question"], "answer": r["answer"]} for r in rows]


@pytest.fixture
def tofu_dir(tmp_path):
    """forget01 (2 authors) with its perturbed variant, retain99 (4 authors, no perturbed
    variant for the last), holdout01 (2 never-trained authors), world_facts_perturbed."""
    d = tmp_path / "TOFU"
    d.mkdir()
    forget = _author(NAMES[0], 0) + _author(NAMES[1], 1)
    retain = [r for k in range(2, 6) for r in _author(NAMES[k], k)]
    holdout = [r for k in range(6, 8) for r in _author(NAMES[k], k)]
    _write(d / "forget01.json", _plain(forget))
    _write(d / "forget01_perturbed.json", forget)
    _write(d / "retain99.json", _plain(retain))
    _write(d / "retain_perturbed.json", retain[:12])
    _write(d / "holdout01_perturbed.json", holdout)
    _write(d / "world_facts_perturbed.json", [
        {"question": "Where is the Eiffel Tower ?", "answer": "Paris",
         "perturbed_answer": ["Berlin", "Rome"]},
        {"question": "Which river is the longest ?", "answer": "Nile",
         "perturbed_answer": ["Amazon", "Volga"]}])
    return d


def test_tofu_split_files_merge_with_ids_groups_and_one_warning(tofu_dir):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        items = load_tofu([tofu_dir])
    notes = [w for w in caught if issubclass(w.category, TextDataWarning)]
    assert len(notes) == 1 and "\n" not in str(notes[0].message)
    note = str(notes[0].message)
    assert "keys not read (ignored): paraphrased_question" in note
    assert "id in " in note and "perturbed_answer in 4 of 34 items" in note
    assert "paraphrased_answer in 6 of 34 items" in note  # 4 retain rows + 2 world facts
    by_id = {it.id: it for it in items}
    assert len(items) == 34 and len(by_id) == 34
    f0 = by_id["forget01:0"]
    assert f0.group == "forget01" and f0.split == "train"
    assert f0.paraphrased_answer == "The birthplace of Ysolde is Lune."
    assert f0.perturbed_answers == ("Ysolde was born in Ostra.", "Ysolde was born in Rask.")
    assert by_id["retain99:0"].group == "retain99:author0" and by_id["retain99:0"].split == "train"
    assert by_id["retain99:4"].perturbed_answers  # merged from retain_perturbed by question
    assert not by_id["retain99:12"].perturbed_answers  # the last author has no variant
    assert by_id["holdout01:0"].split == "holdout" and by_id["holdout01:0"].perturbed_answers
    assert by_id["world_facts:1"].split == "world" and by_id["world_facts:1"].answer == "Nile"
    # one split file alone: the same ids, the perturbed keys read (forget quality not n/a)
    with pytest.warns(TextDataWarning, match="keys not read"):
        alone = load_text_data(tofu_dir / "forget01_perturbed.json")
    assert [it.id for it in alone] == [f"forget01:{n}" for n in range(8)]
    assert all(len(it.perturbed_answers) == 2 for it in alone)
    # deterministic: loading again gives the same items
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert [it.to_dict() for it in load_tofu([tofu_dir])] == [it.to_dict() for it in items]


def test_tofu_overlapping_splits_and_unread_keys_are_said(tofu_dir, tmp_path):
    full = tmp_path / "full.json"
    _write(full, _plain(_author(NAMES[0], 0)))
    with pytest.raises(DataError, match="also in 'forget01.json'.*forget01 with retain99"):
        load_tofu([tofu_dir / "forget01.json", full])
    # the project's own JSONL reads TOFU's key name too, and names what it does not read
    p = tmp_path / "qa.jsonl"
    _write(p, [{"id": "a", "question": "Q ?", "answer": "A.", "perturbed_answer": ["B."],
                "source": "x"}])
    with pytest.warns(TextDataWarning, match=r"keys not read \(ignored\): source"):
        assert load_text_data(p)[0].perturbed_answers == ("B.",)


def test_truth_ratio_side_is_selectable_and_recorded(tofu_dir, tmp_path):
    """The merged TOFU sample audits without edits under both truth-ratio definitions; the
    choice changes the truth ratios and is recorded in the report's config."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TextDataWarning)
        data = save_text_data(load_tofu([tofu_dir]), tmp_path / "tofu.jsonl")
    cache = ModelCache(root=tmp_path / "cache")
    runs = {}
    for side in ("answer", "paraphrase"):
        cfg = TextAuditConfig(forget="group:forget01", data_path=str(data), truth_side=side,
                              model=TinyGPTConfig(n_embd=32), retrain_seeds=2,
                              train=LMTrainConfig(epochs=30, batch_size=8),
                              methods=[TextMethodSpec("gradient_ascent", {"steps": 2})])
        runs[side] = run_text_audit(cfg, cache=cache).result
    a, p = runs["answer"], runs["paraphrase"]
    assert a.forget_ids == p.forget_ids and len(a.forget_ids) == 8
    assert a.original.model_hash == p.original.model_hash  # same models, other definition
    for r in (a, p):
        assert np.isfinite(r.original.forget.truth_ratio).all()
        assert np.isfinite(r.original.forget_quality) and np.isfinite(r.methods[0].forget_quality)
    assert not np.allclose(a.original.forget.truth_ratio, p.original.forget.truth_ratio)
    assert a.original.forget_quality != pytest.approx(p.original.forget_quality, rel=0.1)
    assert build_text_json_report(p)["reproducibility"]["config"]["truth_side"] == "paraphrase"
    assert build_text_json_report(a)["reproducibility"]["config"]["truth_side"] == "answer"
    parser = argparse.ArgumentParser()
    add_text_audit_arguments(parser)
    args = parser.parse_args(["--forget", "random:1", "--truth-ratio", "paraphrase"])
    assert config_from_args(args).truth_side == "paraphrase"


def test_a_bad_truth_ratio_flag_is_one_line(capsys):
    assert main(["text-audit", "--forget", "random:1", "--truth-ratio", "true"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--truth-ratio" in err[0] and "paraphrase" in err[0]
