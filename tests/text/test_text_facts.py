"""Text track without a model: the fact set, forget requests, user data and metric formulas."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from unlearn_core.errors import DataError, ForgetSetError
from unlearn_core.text.facts import (
    ATTRIBUTES,
    COUNTRIES,
    TOOLS,
    FactSetConfig,
    generate_facts,
    partition,
    select_forget,
)
from unlearn_core.text.metrics import (
    extraction_strength,
    forget_quality,
    mia_auc,
    min_k_score,
    privleak,
    rouge_l_recall,
)
from unlearn_core.text.userdata import load_text_data

SMALL = FactSetConfig(n_people=24, n_holdout=8, n_attributes=4, seed=3)


def test_fact_set_is_deterministic_in_the_seed():
    a, b = generate_facts(SMALL), generate_facts(SMALL)
    assert [it.to_dict() for it in a.items] == [it.to_dict() for it in b.items]
    other = generate_facts(FactSetConfig(n_people=24, n_holdout=8, n_attributes=4, seed=4))
    assert [it.answer for it in other.items] != [it.answer for it in a.items]


def test_fact_set_structure():
    fs = generate_facts(SMALL)
    train, holdout = fs.split("train"), fs.split("holdout")
    assert len(train) == 24 * 4 and len(holdout) == 8 * 4 and fs.split("world")
    assert len({it.id for it in fs.items}) == len(fs.items)
    names = fs.people + fs.holdout_people
    assert len(set(names)) == len(names) and all(" " not in n for n in names)
    assert not set(fs.people) & set(fs.holdout_people)
    for it in fs.items:
        assert it.value in it.answer and it.value in it.paraphrased_answer
        assert it.paraphrased_answer != it.answer
        assert len(it.perturbed_answers) == 3
        # the trained phrasing with another value of the same attribute in place of the true one
        pool = ATTRIBUTES.get(it.attribute) or (COUNTRIES if it.attribute == "country" else TOOLS)
        swaps = {it.answer.replace(f" {it.value}", f" {w}") for w in pool if w != it.value}
        assert set(it.perturbed_answers) <= swaps, it.id
    # every value is shared by at least two trained people (a value never identifies a person)
    for attr in {it.attribute for it in train}:
        counts = Counter(it.value for it in train if it.attribute == attr)
        assert min(counts.values()) >= 2, attr
    assert fs.biographies[fs.people[0]].count(fs.people[0]) == 4


def test_forget_requests():
    fs = generate_facts(SMALL)
    p = fs.people[1]
    ids = select_forget(fs.items, f"group:{p}")
    assert ids == [f"{p}:{a}" for a in ("birthplace", "profession", "birth_year", "book")]
    assert select_forget(fs.items, f"ids:{p}:book") == [f"{p}:book"]
    r1, r2 = select_forget(fs.items, "random:2", seed=5), select_forget(fs.items, "random:2", 5)
    assert r1 == r2 and len({i.split(":")[0] for i in r1}) == 2
    forget, retain, holdout, world = partition(fs.items, ids)
    assert {it.id for it in forget} == set(ids)
    assert not {it.id for it in retain} & set(ids) and all(it.split == "train" for it in retain)
    assert len(forget) + len(retain) == len(fs.split("train"))
    for bad, msg in [("group:Nobody", "no trained group"), ("person:x", "must look like"),
                     ("ids:x:y", "no trained item"), ("random:24", "between 1 and 23"),
                     (f"group:{fs.holdout_people[0]}", "no trained group")]:
        with pytest.raises(ForgetSetError, match=msg):
            select_forget(fs.items, bad)


def test_user_data_jsonl_and_csv(tmp_path):
    rows = [{"id": "a1", "group": "ann", "question": "Where does Ann live?", "answer": "Paris.",
             "perturbed_answers": ["Rome.", "Oslo."]},
            {"id": "d1", "text": "A plain document about nothing.", "split": "holdout"}]
    j = tmp_path / "qa.jsonl"
    j.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    items = load_text_data(j)
    assert items[0].group == "ann" and items[0].perturbed_answers == ("Rome.", "Oslo.")
    assert items[1].question == "" and items[1].answer.startswith("A plain") \
        and items[1].group == "d1" and items[1].split == "holdout"
    c = tmp_path / "qa.csv"
    c.write_text("id,question,answer,perturbed_answers\n1,Q?,Yes.,No.|Maybe.\n")
    assert load_text_data(c)[0].perturbed_answers == ("No.", "Maybe.")


@pytest.mark.parametrize("content,suffix,msg", [
    ('{"id": "1", "answer": "x"}\n{"id": "1", "answer": "y"}\n', ".jsonl", "duplicate id"),
    ('{"id": "1", "question": "q"}\n', ".jsonl", "non-empty 'answer'"),
    ('{"id": "1", "answer": "x"\n', ".jsonl", "line 1 is not valid JSON"),
    ('{"id": "1", "answer": "x", "split": "test"}\n', ".jsonl", "split must be one of"),
    ('{"id": "1", "answer": "x", "split": "holdout"}\n', ".jsonl", "no training rows"),
    ("id,answer\n1,a,extra\n", ".csv", "more cells than the header"),
    ("answer\nx\n", ".csv", "has no 'id'"),
    ("x", ".txt", "must be .jsonl or .csv"),
])
def test_user_data_errors(tmp_path, content, suffix, msg):
    p = tmp_path / f"bad{suffix}"
    p.write_text(content)
    with pytest.raises(DataError, match=msg):
        load_text_data(p)


def test_metric_formulas():
    assert rouge_l_recall("Ann was born in Paris.", "Ann was born in Paris.") == 1.0
    assert rouge_l_recall("Ann was born in Paris.", "born Paris") == pytest.approx(2 / 5)
    assert rouge_l_recall("a b c d", "d c b a") == pytest.approx(1 / 4)
    assert extraction_strength(np.array([True] * 5)) == 1.0
    assert extraction_strength(np.array([True, True, True, False])) == pytest.approx(1 / 4)
    assert extraction_strength(np.array([False, True, False, True, True])) == pytest.approx(2 / 5)
    assert min_k_score(np.array([-1.0, -5.0, -2.0, -0.5, -3.0]), 0.4) == pytest.approx(4.0)
    assert min_k_score(np.array([-1.0, -2.0]), 0.2) == pytest.approx(2.0)
    members, non = np.array([0.1, 0.2, 0.3]), np.array([1.0, 2.0, 3.0])
    assert mia_auc(members, non) == 1.0 and mia_auc(non, members) == 0.0
    assert mia_auc(members, members) == 0.5
    assert privleak(0.5, 0.5) == pytest.approx(0.0)
    assert privleak(0.98, 0.5) == pytest.approx(-96.0)
    assert privleak(0.2, 0.5) > 0
    rng = np.random.default_rng(0)
    same = rng.lognormal(size=40)
    assert forget_quality(same, same) == 1.0
    assert forget_quality(same * 0.01, same) < 1e-10
