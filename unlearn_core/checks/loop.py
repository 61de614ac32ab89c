"""The measuring loop every track shares: one check on every model of an audit, from plain
labels, with the leave-one-out rule for checks that compare a model with the references.

An audit's models come in reference groups (``ReferenceGroup``): K references (models retrained
from scratch without the forget set), the do-nothing control (the untouched original) and the
audited members judged against them. ``measure_groups`` measures one check on each of them
through a callback the track supplies (the classifier audit measures live models, the text
track per-sample scores), and ``checks.verdict.judge_models`` then judges the members against
their group and folds the checks into verdicts. Closeness checks (a model's distance to the
references) see each reference against the *other* references, and every other model against
the same leave-one-out sets (the mean figure, the root-mean-square error), so a reference is
never compared with itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from unlearn_core.checks.base import Measurement


@dataclass
class ReferenceGroup:
    """A reference ensemble (model labels), its do-nothing control and the audited members
    judged on it."""

    name: str
    refs: list[str]
    control: str
    members: list[str] = field(default_factory=list)


# measure(group, label, against): the check on model ``label`` of ``group``; ``against`` is
# None for a check that does not compare with the references, else the reference labels to
# compare with. Model and role of the returned measurement are set by the loop.
MeasureFn = Callable[[ReferenceGroup, str, Optional[list[str]]], Measurement]


def measure_model(group: ReferenceGroup, label: str, role: str, measure: MeasureFn,
                  closeness: bool, k_out: Optional[int] = None) -> Measurement:
    """One check on one model: plain; or (``closeness``) against the references but the
    ``k_out``-th (a reference itself), or for any other model the mean over the same
    leave-one-out sets the references see (against all references when there is one)."""
    refs = group.refs
    if not closeness:
        m = measure(group, label, None)
    elif k_out is not None:
        m = measure(group, label, [r for j, r in enumerate(refs) if j != k_out])
    elif len(refs) > 1:
        parts = [measure(group, label, [r for j, r in enumerate(refs) if j != k])
                 for k in range(len(refs))]
        m = parts[0]
        m.figure = float(np.mean([p.figure for p in parts]))
        m.se = float(np.sqrt(np.mean([p.se ** 2 for p in parts])))
    else:
        m = measure(group, label, list(refs))
    m.model, m.role = label, role
    return m


def measure_groups(groups: list[ReferenceGroup], measure: MeasureFn,
                   closeness: bool = False) -> list[Measurement]:
    """One check on every model of ``groups``: each group's references (role ``reference``),
    its control (``control``) and its members (``method``), in that order; a reference or a
    control an earlier group measured is not measured again."""
    out: list[Measurement] = []
    for g in groups:
        done = {m.model for m in out}  # measured for an earlier group
        for k, r in enumerate(g.refs):
            if r not in done:
                out.append(measure_model(g, r, "reference", measure, closeness, k))
        if g.control not in done:
            out.append(measure_model(g, g.control, "control", measure, closeness))
        for label in g.members:
            out.append(measure_model(g, label, "method", measure, closeness))
    return out


__all__ = ["MeasureFn", "ReferenceGroup", "measure_groups", "measure_model"]
