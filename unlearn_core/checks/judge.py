"""The judge, written once for every check: is the audited model's figure where genuinely
retrained models land, could the check tell doing nothing from retraining (power), and are there
enough samples to say so (intervals)?

Band: the K retrains' figures g_1..g_K give a normal prediction band for one more genuine model,
mean +/- t(K-1, q) * s * sqrt(1 + 1/K), widened by the sampling error of a figure on these
samples (so a discrete figure on which few retrains agree cannot make it narrower than the data
resolve). q = 1 - alpha / (2 m) over the m checks of a verdict (Bonferroni), so that a genuine
retrain passes the whole verdict with probability about 1 - alpha. The audited model's interval
is its figure +/- z(q) * se. PASS: the figure lies in the band; FAIL: the whole interval lies
outside the band computed at a ten times smaller error level (failing needs stronger evidence
than passing, since K retrains estimate their own spread poorly); UNCERTAIN: in between. The
untouched original goes through the same check: when its interval reaches into the band, the
check has NO POWER for this request (doing nothing could pass it) and cannot support a pass,
nor fail a model on the less-forgotten side (only on the forgotten side: over-forgetting)
(evaluation reference (a); Hayes et al. 2024 on over-forgetting; Triantafillou et al. 2024 on
calibrating against retrain variability).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Iterator, Optional

import numpy as np
from scipy import stats

from unlearn_core.checks.base import CheckSpec, Measurement
from unlearn_core.version import JUDGE_RULES

PASS, FAIL, UNCERTAIN, NO_POWER, NO_DATA = "pass", "fail", "uncertain", "no power", "no data"
FAIL_STRICTER = 10  # a fail needs a band at a 10 times smaller error level than a pass
MIN_SAMPLES = 30  # below this a forget-set figure's interval cannot be trusted to decide
# A check rules out a forgery family only when the original lies at least this many band
# half-widths beyond the band: then a model halfway between the retrains' mean and the
# original (one that kept half of what the original holds) would fall outside the band too.
# Power against doing nothing alone (the original outside the band) can leave room for a
# partial forgery inside it (digits cnn class 0: the probe's band reaches 82% of the way to the
# original, and a forget-only distillation keeping part of the class in the features passed).
HALFWAY_MARGIN = 1.0
# the judging rules ``judge`` applies (``version.JUDGE_RULES``); ``verify`` judges a report again
# under the rules it was judged with (``judging_rules``) and says where today's differ
_RULES: ContextVar[int] = ContextVar("judge_rules", default=JUDGE_RULES)


@contextmanager
def judging_rules(rules: int) -> Iterator[None]:
    """Judge under earlier rules inside this block (``version.JUDGE_RULES`` says what each
    changed): 1 and 2 let a check without power fail a model on either side."""
    token = _RULES.set(int(rules))
    try:
        yield
    finally:
        _RULES.reset(token)


def rules_in_force() -> int:
    """The judging rules in force here (today's, or those a ``judging_rules`` block set)."""
    return _RULES.get()


@dataclass
class CheckResult:
    """One check of one model, judged: figure, interval, band and where it came from, the
    do-nothing control, power and a status with a one-line reason in plain words."""

    check: str
    title: str
    model: str
    kind: str
    status: str  # pass, fail, uncertain, no power, no data
    figure: float
    se: float
    n: int
    ci_low: float
    ci_high: float
    band_low: float
    band_high: float
    band_source: str
    reference_mean: float
    reference_sd: float
    k: int
    control: float  # the untouched original's figure (NaN when not measured)
    powered: Optional[bool]  # None for utility checks
    power_margin: float  # distance of the original from the band, in band half-widths
    over_forgetting: bool  # outside on the "more forgotten than retraining" side
    low_resolution: bool  # too few samples for its interval to decide (see MIN_SAMPLES)
    reason: str
    unit: str = ""
    detail: dict[str, float] = field(default_factory=dict)
    # the figure's distance from the band in band half-widths (0 inside), on the scale it is
    # judged on, and that distance over its interval: what ``checks.levels`` ranks methods by
    distance: float = math.nan
    distance_low: float = math.nan
    distance_high: float = math.nan
    # where the figure lies toward the original, in band half-widths on that side: 0 at the
    # retrains' mean, 1 at the band's edge (NaN without power); what ``checks.sequential``
    # reads to ask for more retrains when a pass is borderline
    position: float = math.nan

    @property
    def name(self) -> str:
        return self.title

    @property
    def passed(self) -> bool:
        return self.status == PASS

    @property
    def detection_floor(self) -> float:
        """The share of the original's distance from the retrains' mean that a model may keep
        and still land in the band: 1 / (1 + power margin) (NaN without a power test). A
        halfway-powered check lets through less than half."""
        if not self.powered or not math.isfinite(self.power_margin):
            return math.nan
        return 1.0 / (1.0 + self.power_margin)

    @property
    def halfway_powered(self) -> bool:
        """Powered strongly enough to rule a forgery family out: doing nothing fails it, and so
        would a model halfway between retraining and the original (``HALFWAY_MARGIN``)."""
        return bool(self.powered) and not (self.power_margin < HALFWAY_MARGIN)


def fmt(value: float, unit: str = "") -> str:
    """A figure as the user reads it: shares in percent, other figures with 3 decimals."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    if unit == "%":
        return f"{100 * value:.1f}%"
    return f"{value:.3g}" if abs(value) >= 1000 else f"{value:.3f}"


def figure_range(spec: CheckSpec) -> tuple[float, float]:
    """The values a check's figure can take: its declared ``bounds``, [0, 1] for a share
    (unit "%"), else unbounded. Intervals and bands are clipped to it, as Agresti-Coull and
    Wilson intervals of a share are: a share's interval never reaches below 0% or above 100%,
    an AUC's never above 1."""
    if spec.bounds is not None:
        lo, hi = spec.bounds
        return float(lo), float(hi)
    return (0.0, 1.0) if spec.unit == "%" else (-math.inf, math.inf)


def _clip(lo: float, hi: float, rng: tuple[float, float]) -> tuple[float, float]:
    """``[lo, hi]`` clipped to ``rng``: the open end of a one-sided band becomes the end of the
    range (a share's "at least 85%" reads 85% to 100%); NaN (no band) stays."""
    return (rng[0] if lo == -math.inf else max(lo, rng[0]) if math.isfinite(lo) else lo,
            rng[1] if hi == math.inf else min(hi, rng[1]) if math.isfinite(hi) else hi)


def critical_level(n_checks: int, alpha: float = 0.05) -> float:
    """Two-sided per-check quantile level q = 1 - alpha / (2 m) (Bonferroni over m checks)."""
    return 1.0 - alpha / (2.0 * max(1, n_checks))


def band(spec: CheckSpec, references: list[Measurement], q: float,
         threshold: Optional[float] = None) -> tuple[float, float, float, float, int, str]:
    """(low, high, mean, sd, K, source) of the genuine band from the retrains' measurements
    (not yet clipped to the figure's range: ``judge`` does that)."""
    g = np.array([r.figure for r in references if math.isfinite(r.figure)], dtype=np.float64)
    k = len(g)
    if k == 0:
        return math.nan, math.nan, math.nan, math.nan, 0, "no retrain could be measured"
    mean = float(g.mean())
    sd = float(g.std(ddof=1)) if k >= 2 else math.nan
    if threshold is not None:
        lo, hi = mean - threshold, mean + threshold
        source = (f"threshold set by the user: within {fmt(threshold, spec.unit)} of the mean "
                  f"of {k} retrain(s)")
    elif k < 2:
        return math.nan, math.nan, mean, sd, k, "one retrain gives no spread: at least 2 needed"
    else:
        model_half = stats.t.ppf(q, k - 1) * sd * math.sqrt(1 + 1 / k)
        ses = np.array([r.se for r in references if math.isfinite(r.se)], dtype=np.float64)
        sampling_half = stats.norm.ppf(q) * math.sqrt(float(np.mean(ses ** 2))) if len(ses) \
            else 0.0
        half = math.hypot(model_half, sampling_half)
        lo, hi = mean - half, mean + half
        source = (f"{k} retrains' spread (sd {fmt(sd, spec.unit)}) widened by sampling error, "
                  f"{100 * (2 * q - 1):.1f}% per check")
    if spec.sides == "high":
        lo = -math.inf
    elif spec.sides == "low":
        hi = math.inf
    return lo, hi, mean, sd, k, source


def _interval(m: Measurement, z: float) -> tuple[float, float]:
    if not math.isfinite(m.se):
        return m.figure, m.figure
    return m.figure - z * m.se, m.figure + z * m.se


def _disjoint(lo: float, hi: float, band_lo: float, band_hi: float) -> bool:
    return hi < band_lo or lo > band_hi


def _log(m: Optional[Measurement]) -> Optional[Measurement]:
    """A measurement on log scale (delta method for the standard error)."""
    if m is None:
        return None
    f = max(m.figure, 1e-12) if math.isfinite(m.figure) else m.figure
    return Measurement(m.check, m.model, m.role, math.log(f) if math.isfinite(f) else f,
                       m.se / f if math.isfinite(m.se) and math.isfinite(f) else m.se, m.n,
                       dict(m.detail))


def judge(spec: CheckSpec, audited: Measurement, references: list[Measurement],
          control: Optional[Measurement], n_checks: int, alpha: float = 0.05,
          threshold: Optional[float] = None) -> CheckResult:
    """Judge one check of one model against the retrain band and the do-nothing control.

    Checks on a log scale (``spec.scale == "log"``) are judged on log(figure) and reported
    back on the figure's own scale."""
    if spec.scale == "log" and threshold is None:  # log(figure) is unbounded
        linear = CheckSpec(**{**spec.__dict__, "scale": "linear",
                              "bounds": (-math.inf, math.inf)})
        r = judge(linear, _log(audited), [_log(m) for m in references], _log(control),
                  n_checks, alpha)
        back = {k: math.exp(getattr(r, k)) if math.isfinite(getattr(r, k)) else
                (0.0 if getattr(r, k) == -math.inf else getattr(r, k))
                for k in ("figure", "ci_low", "ci_high", "band_low", "band_high",
                          "reference_mean", "control")}
        back["figure"] = audited.figure
        back["control"] = control.figure if control is not None else math.nan
        r = CheckResult(**{**r.__dict__, **back, "se": audited.se})
        r.band_source += " (judged on a log scale: the figure is positive and skewed)"
        r.reason = _reason(spec, r)
        return r
    q = critical_level(n_checks, alpha)
    z = float(stats.norm.ppf(q))
    # intervals and bands clipped to the figure's range (a share's [0, 1]): which of them meet
    # is unchanged by that, so are the decisions; the widths that measure resolution and power
    # margins are taken before clipping
    rng = figure_range(spec)
    band_lo, band_hi, mean, sd, k, source = band(spec, references, q, threshold)
    lo, hi = _clip(band_lo, band_hi, rng)
    raw_lo, raw_hi = _interval(audited, z)
    ci_lo, ci_hi = _clip(raw_lo, raw_hi, rng)
    value, u = audited.figure, spec.unit
    ctrl = control.figure if control is not None else math.nan
    base = dict(check=spec.name, title=spec.title, model=audited.model, kind=spec.kind,
                figure=value, se=audited.se, n=audited.n, ci_low=ci_lo, ci_high=ci_hi,
                band_low=lo, band_high=hi, band_source=source, reference_mean=mean,
                reference_sd=sd, k=k, control=ctrl, unit=u, detail=dict(audited.detail))
    if not math.isfinite(value) or math.isnan(lo) or math.isnan(hi):
        why = ("the figure could not be measured on this model" if not math.isfinite(value)
               else source)
        return CheckResult(status=NO_DATA, powered=None, power_margin=math.nan,
                           over_forgetting=False, low_resolution=False,
                           reason=f"{spec.title}: {why}", **base)
    finite_lo = band_lo if math.isfinite(band_lo) else mean
    finite_hi = band_hi if math.isfinite(band_hi) else mean
    half = max((finite_hi - finite_lo) / 2, 1e-12) if spec.sides == "both" else \
        max(abs((finite_hi if spec.sides == "high" else finite_lo) - mean), 1e-12)
    # failing needs stronger evidence than passing: the interval must clear a band FAIL_STRICTER
    # times stricter, so a genuine model from an unlucky, tight ensemble is "uncertain", not
    # "fail" (K retrains estimate their own spread poorly)
    f_lo, f_hi = lo, hi
    if threshold is None:
        q_fail = 1.0 - (1.0 - q) / FAIL_STRICTER
        f_lo, f_hi = _clip(*band(spec, references, q_fail)[:2], rng)
    inside = lo <= value <= hi
    if inside:
        status = PASS
    elif _disjoint(ci_lo, ci_hi, f_lo, f_hi):
        status = FAIL
    else:
        status = UNCERTAIN
    side = "" if inside else ("high" if value > hi else "low")
    over = bool(side) and side == spec.forgotten_side
    width_band = (finite_hi - finite_lo) if spec.sides == "both" else half
    # too few samples in the set this check measures (audited.n: the forget set's for a
    # forgetting check, the retain or test set's for a utility one): the normal intervals are
    # unreliable below ~30 and one sample moves a share by more than 3 points; or, for a
    # forgetting check, its interval is wider than the whole band. A utility check's interval
    # on hundreds of samples can be wider than a band of retrains that agree to a fraction of
    # a point: that is a tight band, not too few samples, and it is judged as it stands.
    low_res = audited.n < MIN_SAMPLES or (
        spec.kind == "forgetting" and math.isfinite(raw_hi - raw_lo)
        and (raw_hi - raw_lo) > 1.5 * width_band)
    powered: Optional[bool] = None
    margin = math.nan
    if spec.kind == "forgetting" and control is not None and math.isfinite(ctrl):
        c_lo, c_hi = _clip(*_interval(control, z), rng)
        powered = _disjoint(c_lo, c_hi, lo, hi)  # doing nothing could not pass this check
        dist = max(lo - ctrl, ctrl - hi, 0.0)
        margin = dist / half
    # without power a check has no say on the side of the original: doing nothing lands within
    # reach of its band, so a figure beyond the band on the less-forgotten side is not evidence
    # that the data was kept (a genuine retrain's MIA-efficacy of 41% against a band of 72% to
    # 100%, the original 91%, on digits mlp random 10%). Beyond the band on the forgotten side
    # it still fails: over-forgetting is measured against the retrains alone (Hayes et al. 2024)
    if powered is False and (status in (PASS, UNCERTAIN) or (
            status == FAIL and spec.forgotten_side and not over and _RULES.get() >= 3)):
        status = NO_POWER

    def away(v: float) -> float:  # distance from the band in half-widths, as power_margin
        return max(lo - v, v - hi, 0.0) / half

    reach = 0.0 if not _disjoint(raw_lo, raw_hi, lo, hi) else min(away(raw_lo), away(raw_hi))
    position = math.nan
    if powered:  # the original lies beyond a closed side of the band: measure toward it
        edge = finite_hi - mean if ctrl > mean else mean - finite_lo
        position = (value - mean if ctrl > mean else mean - value) / max(edge, 1e-12)
    r = CheckResult(status=status, powered=powered, power_margin=margin,
                    over_forgetting=over, low_resolution=bool(low_res), reason="",
                    distance=away(value), distance_low=reach,
                    distance_high=max(away(raw_lo), away(raw_hi)), position=position, **base)
    r.reason = _reason(spec, r)
    return r


def _reason(spec: CheckSpec, r: CheckResult) -> str:
    """The one-line reason of a judged check, in plain words."""
    u = r.unit
    band_txt = _band_text(r.band_low, r.band_high, u)
    where = f"{spec.title} {fmt(r.figure, u)} (interval {fmt(r.ci_low, u)} to " \
            f"{fmt(r.ci_high, u)}, n={r.n})"
    if r.status == PASS:
        return f"{where} lies in the retrain band {band_txt}"
    if r.status == FAIL:
        return (f"{where} lies outside the retrain band {band_txt} beyond sampling error"
                + (": more forgotten than retraining would leave it" if r.over_forgetting else
                   (": less forgotten than retraining" if spec.kind == "forgetting" and
                    spec.forgotten_side else "")))
    if r.status == NO_POWER:
        outside = not r.band_low <= r.figure <= r.band_high
        return (f"{where}{' lies outside the band on the less-forgotten side' if outside else ''}"
                f"; the untouched original scores {fmt(r.control, u)}, also within "
                f"reach of the band {band_txt}: this check cannot tell doing nothing from "
                "retraining for this request")
    if r.status == NO_DATA:
        return r.reason
    return (f"{where} is outside the retrain band {band_txt} but its interval reaches into "
            "it: more samples would decide")


def _band_text(lo: float, hi: float, unit: str) -> str:
    if math.isinf(lo):
        return f"(at most {fmt(hi, unit)})"
    if math.isinf(hi):
        return f"(at least {fmt(lo, unit)})"
    return f"[{fmt(lo, unit)}, {fmt(hi, unit)}]"
