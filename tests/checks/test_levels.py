"""Levels of assurance and the ranking figure (``unlearn_core.checks.levels``, issue 26), on
hand-made judged checks: each level's boundary, the forgery patterns that must stay low, and
the distance from the retrain band that ranks methods."""

from __future__ import annotations

import math

import pytest

from unlearn_core.checks import judge as judge_mod
from unlearn_core.checks.base import CheckSpec, Measurement
from unlearn_core.checks.judge import CheckResult
from unlearn_core.checks.levels import grade, rank_key
from unlearn_core.checks.verdict import check_families, fold

FAMILIES = check_families()
OUTPUT = ("forget_accuracy", "forgotten_class_accuracy")
MEMBERSHIP = ("membership_auc", "mia_efficacy")
LOSS = ("forget_loss", "output_divergence")


def c(name, status="pass", *, powered=True, kind="forgetting", over=False, distance=0.0):
    """One judged check: a figure inside its band (distance 0) unless told otherwise."""
    return CheckResult(
        check=name, title=name, model="m", kind=kind, status=status, figure=0.5, se=0.01,
        n=100, ci_low=0.48, ci_high=0.52, band_low=0.4, band_high=0.6, band_source="band",
        reference_mean=0.5, reference_sd=0.05, k=6, control=0.9,
        powered=powered if kind == "forgetting" else None, power_margin=2.0,
        over_forgetting=over, low_resolution=False, reason="", distance=distance,
        distance_low=max(distance - 0.5, 0.0), distance_high=distance + 0.5)


def model(**status):
    """Every default check passing with power, with the statuses given by name overridden."""
    names = [*OUTPUT, *MEMBERSHIP, *LOSS, "probe"]
    checks = [c(n, status.get(n, "pass"), over=status.get("over") == n) for n in names]
    checks += [c(n, status.get(n, "pass"), kind="utility")
               for n in ("retain_accuracy", "test_accuracy")]
    return checks


def level_of(checks):
    return grade(checks, fold("m", checks, FAMILIES).status, FAMILIES)


def test_every_check_in_its_band_with_a_powered_probe_is_level_1_the_plain_pass():
    checks = model()
    v = fold("m", checks, FAMILIES)
    g = grade(checks, v.status, FAMILIES)
    assert v.plain_pass and g.level == 1 and g.blockers == []
    assert g.gap == 0 and g.label.startswith("level 1: indistinguishable from retraining")


def test_missing_the_loss_levels_only_is_level_2_and_names_what_level_1_needs():
    # finetune on a class request: accuracies and membership like retraining, the median
    # forget loss and the divergence far below the retrains' (less forgotten)
    g = level_of(model(forget_loss="fail", output_divergence="fail"))
    assert g.level == 2
    assert g.blockers == ["forget_loss: fail", "output_divergence: fail"]


def test_a_loss_failed_on_the_over_forgotten_side_is_kept_from_level_2():
    g = level_of(model(forget_loss="fail", over="forget_loss"))
    assert g.level == 3
    assert g.blockers == ["forget_loss: fail (more forgotten than retraining)"]


def test_a_suppression_forgery_reaches_only_level_3():
    # a calibrated logit bias: every output check in its band, the probe still finds the class
    g = level_of(model(probe="fail"))
    assert g.level == 3 and g.blockers == ["probe: fail"]
    # the same with the loss off too: still level 3, never 2
    assert level_of(model(probe="fail", forget_loss="fail")).level == 3


def test_the_probe_without_power_caps_every_model_at_level_3_and_says_why():
    checks = model()
    checks[-3] = c("probe", "no power", powered=False)  # the original lands in its band
    v = fold("m", checks, FAMILIES)
    g = grade(checks, v.status, FAMILIES)
    assert v.status == "pass" and v.qualifier == "outputs only" and g.level == 3
    assert any("output suppression is not ruled out" in b and "probe: no power" in b
               for b in g.blockers)


def test_a_failing_membership_check_keeps_a_model_at_level_3():
    g = level_of(model(membership_auc="fail", forget_loss="fail"))
    assert g.level == 3 and "membership_auc: fail" in g.blockers
    assert level_of(model(mia_efficacy="uncertain")).level == 3


def test_a_failing_output_or_utility_check_reaches_no_level():
    assert level_of(model(forget_accuracy="fail")).level == 0
    g = level_of(model(test_accuracy="fail"))
    assert g.level == 0 and g.blockers == ["test_accuracy: fail"]
    assert g.label == "no level"


def test_doing_nothing_and_an_inconclusive_verdict_reach_no_level():
    nothing = [c(n, "no power", powered=False) for n in (*OUTPUT, *MEMBERSHIP, *LOSS, "probe")]
    v = fold("m", nothing, FAMILIES)
    assert v.status == "inconclusive"
    g = grade(nothing, v.status, FAMILIES)
    assert g.level == 0 and "inconclusive" in g.blockers[0]
    # the levels' own power rule: checks passing, none of them powered
    assert grade(nothing, "pass", FAMILIES).blockers[0].startswith("no forgetting check with "
                                                                   "power passed")


@pytest.mark.parametrize("failing", [None, "forget_loss", "probe", "membership_auc",
                                     "forget_accuracy"])
def test_the_levels_are_nested(failing):
    from unlearn_core.checks.levels import _blockers

    checks = model(**({failing: "fail"} if failing else {}))
    status = fold("m", checks, FAMILIES).status
    reached = [lv for lv in (1, 2, 3) if not _blockers(lv, checks, status, FAMILIES)]
    g = grade(checks, status, FAMILIES)
    assert reached == (list(range(g.level, 4)) if g.level else [])
    assert g.level == {None: 1, "forget_loss": 2, "probe": 3, "membership_auc": 3,
                       "forget_accuracy": 0}[failing]


def test_the_gap_is_zero_inside_every_band_and_the_largest_distance_outside():
    inside = model()
    assert grade(inside, "pass", FAMILIES).gap == 0
    far = model()
    far[4] = c("forget_loss", "fail", distance=3.0)
    far[2] = c("membership_auc", "uncertain", distance=1.2)
    g = grade(far, "fail", FAMILIES)
    assert g.gap == 3.0 and g.gap_check == "forget_loss"
    assert g.gap_low == 2.5 and g.gap_high == 3.5  # the largest ends of the checks' intervals
    nearer = model()
    nearer[4] = c("forget_loss", "fail", distance=1.5)
    nearer[2] = c("membership_auc", "uncertain", distance=1.2)  # the same level as ``far``
    ranked = sorted([("far", grade(far, "fail", FAMILIES)),
                     ("near", grade(nearer, "fail", FAMILIES)),
                     ("genuine", grade(inside, "pass", FAMILIES))], key=lambda t: rank_key(t[1]))
    assert [name for name, _ in ranked] == ["genuine", "near", "far"]


def test_the_judge_measures_the_distance_in_band_half_widths_on_the_judged_scale():
    spec = CheckSpec(name="x", title="x", kind="forgetting", sides="both", unit="")
    refs = [Measurement("x", f"r{i}", "reference", v, 0.0, 100)
            for i, v in enumerate([0.9, 1.0, 1.1, 1.0, 0.95, 1.05])]
    inside = judge_mod.judge(spec, Measurement("x", "m", "method", 1.0, 0.0, 100), refs, None, 1)
    assert inside.distance == 0 and inside.distance_low == 0
    half = (inside.band_high - inside.band_low) / 2
    out = judge_mod.judge(spec, Measurement("x", "m", "method", inside.band_high + 2 * half,
                                            0.0, 100), refs, None, 1)
    assert out.distance == pytest.approx(2.0)
    log = CheckSpec(name="y", title="y", kind="forgetting", sides="both", unit="", scale="log")
    lrefs = [Measurement("y", f"r{i}", "reference", math.exp(v.figure), 0.0, 100)
             for i, v in enumerate(refs)]
    high = judge_mod.judge(log, Measurement("y", "m", "method",
                                            math.exp(inside.band_high + 2 * half), 0.0, 100),
                           lrefs, None, 1)
    assert high.distance == pytest.approx(2.0)  # on log(figure), as it is judged


@pytest.mark.parametrize("margin, plain", [(0.82, False), (0.99, False), (1.0, True), (2.0, True)])
def test_a_probe_whose_band_reaches_past_halfway_to_the_original_rules_out_no_suppression(
        margin, plain):
    # digits cnn class 0 (confirmation half, seed 1): the probe's band reached 82% of the way
    # to the original and a forget-only distillation keeping part of the class passed plainly;
    # below one band half-width of margin a model halfway to the original passes the probe
    checks = model()
    probe = next(x for x in checks if x.check == "probe")
    probe.power_margin = margin
    v = fold("m", checks, FAMILIES)
    g = grade(checks, v.status, FAMILIES)
    assert v.status == "pass" and v.plain_pass is plain
    assert ("suppression" in v.ruled_out) is plain
    assert g.level == (1 if plain else 3)
    if not plain:
        assert v.qualifier == "outputs only"
        assert f"only {margin:.2f} band half-widths" in v.reason and "half" in v.reason
        assert any("too little power" in b for b in g.blockers)


@pytest.mark.parametrize("margin, floor", [(1.0, 50), (2.0, 33), (3.0, 25)])
def test_the_assurance_says_how_much_of_the_original_the_inside_check_lets_through(margin, floor):
    # band half-width h, the original d = margin * h beyond it: a model keeping a share
    # h / (h + d) = 1 / (1 + margin) of the original's distance from the retrains' mean still
    # lands in the band, and the statement of assurance says so
    checks = model()
    probe = next(x for x in checks if x.check == "probe")
    probe.power_margin = margin
    assert probe.detection_floor == pytest.approx(1 / (1 + margin))
    v = fold("m", checks, FAMILIES)
    assert "suppression" in v.ruled_out
    assert f"probe: keeping more than {floor}% of the original's difference" in v.assurance
    probe.status, probe.powered = "no power", False  # no floor without a power test
    assert math.isnan(probe.detection_floor)
    assert "keeping more than" not in fold("m", checks, FAMILIES).assurance


def test_an_exact_proof_decides_the_verdict_and_reaches_level_1():
    """Judging rules 4: a model whose outputs equal, bit for bit, its own run from scratch
    without the data passes at level 1 even where a band drawn by that method's runs with other
    seeds misses one figure (sisa's MIA-efficacy on breast cancer, seed 7 of the verdict
    benchmark); the check stays as judged. Under rules 3, or without the proof, it fails."""
    for missed in ("fail", "uncertain"):
        checks = model(mia_efficacy=missed) + [c("exact")]
        v = fold("m", checks, FAMILIES)
        g = grade(checks, v.status, FAMILIES)
        assert v.plain_pass and v.reason.startswith("decided by exact: ")
        assert "mia_efficacy lies outside bands drawn by the same method's runs" in v.reason
        assert g.level == 1 and g.blockers == []
        assert next(x for x in v.checks if x.check == "mia_efficacy").status == missed
        with judge_mod.judging_rules(3):
            assert fold("m", checks, FAMILIES).status == missed
            assert level_of(checks).level == 3  # the membership check keeps it there
        unproven = model(mia_efficacy=missed) + [c("exact", "fail")]
        assert fold("m", unproven, FAMILIES).status == "fail"
        assert level_of(unproven).level == 0
