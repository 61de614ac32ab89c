"""RESTOR on text: corrupt two people's facts by fine-tuning on wrong answers, unlearn the
corrupted items, measure how much of the clean knowledge returns. The retrain of the corruption
stage (the same fine-tuning without the corrupted items) recovers it, a method that does nothing
recovers none, and gradient difference lies in between (RESTOR's finding: partial recovery)."""

from __future__ import annotations

import dataclasses

import pytest

from tests.text.test_text_verdict import CFG  # the same fact set and model: one cached original
from unlearn_core.errors import ConfigError
from unlearn_core.text.facts import QAItem
from unlearn_core.text.methods import TEXT_METHODS, TextMethod, register
from unlearn_core.text.restor import corrupt, recovery, restor_text


@dataclasses.dataclass
class _DoNothing(TextMethod):
    name = "test_restor_do_nothing"
    paper = "test"

    def _unlearn(self, lm, forget, retain, ctx, log):
        return lm


@pytest.fixture(scope="module")
def no_op():
    register(_DoNothing)
    yield _DoNothing.name
    TEXT_METHODS.pop(_DoNothing.name, None)


def test_retraining_recovers_the_clean_facts_and_doing_nothing_does_not(no_op):
    noop = restor_text(CFG, no_op)
    assert noop.n_corrupted == 12  # two people x six facts
    assert noop.acc_clean >= 0.9 and noop.acc_corrupted <= 0.2  # the corruption took
    assert noop.recovery == pytest.approx(0.0, abs=0.05)
    assert noop.recovery_retrain >= 0.8 and noop.prob_retrain > noop.prob_corrupted + 0.2
    gd = restor_text(CFG, "gradient_difference")
    # same clean, corrupted and retrained models: only the unlearning differs
    assert (gd.acc_clean, gd.acc_corrupted, gd.acc_retrain) == \
        (noop.acc_clean, noop.acc_corrupted, noop.acc_retrain)
    assert gd.prob_after > noop.prob_after + 0.05  # the true answers come back somewhat
    assert noop.recovery <= gd.recovery < gd.recovery_retrain


def test_corruption_and_recovery_helpers():
    it = QAItem("A:book", "A", "Which book?", "A wrote X.", perturbed_answers=("A wrote Y.",),
                value="X")
    bad = corrupt([it])[0]
    assert (bad.id, bad.answer, bad.perturbed_answers) == ("A:book#corrupted", "A wrote Y.",
                                                           ("A wrote X.",))
    with pytest.raises(ConfigError, match="no perturbed answer"):
        corrupt([dataclasses.replace(it, perturbed_answers=())])
    assert recovery(0.5, 0.0, 1.0) == 0.5 and recovery(0.3, 0.2, 1.0) == pytest.approx(0.125)
    assert recovery(1.0, 1.0, 1.0) != recovery(1.0, 1.0, 1.0)  # NaN: nothing was lost
