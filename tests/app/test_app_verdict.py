"""The verdict in the dashboard (AppTest): the Unlearn page sets the number of reference
retrains; the Audit page leads with each method's headline ("PASS: 5 of 6 checks pass" style,
never "FAIL (5/6)"), shows every check with its interval, band, the original's figure and
power, and draws the checks; a looking-inside check chosen on the Unlearn page gets its own view
across models."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_audit_page_leads_with_headlines_bands_and_power():
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.button(key="setup_go").click().run()
    at.switch_page("pages/forget.py").run()
    at.multiselect(key="forget_classes").select(3).run()
    at.button(key="forget_classes_go").click().run()
    at.switch_page("pages/unlearn.py").run()
    assert at.number_input(key="unlearn_reference_seeds").value == 6
    at.number_input(key="unlearn_reference_seeds").set_value(3).run()
    at.button(key="unlearn_go").click().run()
    assert not at.exception
    run = at.session_state["ws"].runs[-1]
    ens = run.result.ensembles[0]  # 3 asked for, and those the sequential rule added
    assert ens.k - ens.extended == 3 and run.result.config.reference_seeds == 3
    assert ens.seeds[:3] == [1009, 2018, 3027]
    at.switch_page("pages/audit.py").run()
    assert not at.exception
    # a borderline or uncertain verdict (finetune here) trained more retrains: the page says so
    assert ens.extended == 4 and any(ens.extended_because in m.value for m in at.info)
    heads = [m.value for m in [*at.success, *at.error, *at.warning, *at.info]
             if "finetune" in m.value]
    assert heads and re.search(r"\*\*finetune\*\*: (PASS|FAIL|UNCERTAIN|INCONCLUSIVE): "
                               r"\d+ of \d+ checks pass", heads[0])
    assert not any(re.search(r"FAIL \(\d+/\d+", h) for h in heads)
    assert "Look inside the model" in [h.value for h in at.subheader]
    assert at.selectbox(key="inside_check").value == "probe"
    table = next(df.value for df in at.dataframe if "retrain band" in df.value.columns)
    assert (table["check"] == "Few-shot probe on the features").any()
    assert {"interval", "n", "original", "powered", "band from"} <= set(table.columns)
    assert (table["check"] == "forget accuracy").any()
    assert table["band from"].str.contains("3 retrains").all() or \
        table["band from"].str.contains("retrain").any()
    # the ranking first (issue 26): each method's level and distance, closest first
    from unlearn_core.report.rows import ranked, verdict_rows

    ranking = next(df.value for df in at.dataframe if "assurance level" in df.value.columns)
    assert list(ranking["method"]) == [r.method for r in ranked(verdict_rows(
        run.result.verdicts))]
    assert any(m.value.startswith("**Closest to retraining: ") for m in at.markdown)
