"""Where a text method or scenario departs from its paper, it says so with the paper's choice:
ICU's neighbours and stop rule (``ICU.departures``, its hyperparameters' help and the
``methods`` command; its KL weight is the authors' 1.0) and RESTOR's corruption and probe
(``text.restor.DEPARTURES``)."""

from __future__ import annotations

from unlearn_core.cli.main import main
from unlearn_core.text.methods import ICU
from unlearn_core.text.restor import DEPARTURES


def test_icu_names_each_departure_with_the_papers_choice():
    parts = {d.split(":")[0]: d for d in ICU.departures}
    assert set(parts) == {"neighbours", "stop rule"}
    assert "sentence encoder" in parts["neighbours"]
    assert "memorisation" in parts["stop rule"]
    assert ICU().w_kl == 1.0  # the KL weight follows the authors' release: no departure
    helps = ICU.param_help()
    assert "1.0" in helps["w_kl"] and "memorisation" in helps["es_threshold"]


def test_methods_command_shows_the_departures(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    assert "text methods (text-audit --method):" in out
    lines = [ln.strip() for ln in out.splitlines() if "departs:" in ln]
    assert [ln[len("departs: "):] for ln in lines] == list(ICU.departures)


def test_restor_names_its_corruption_and_probe_departures():
    corruption, probe = DEPARTURES
    assert corruption.startswith("corruption:") and "unrelated context" in corruption
    assert probe.startswith("probe:") and "separate questions" in probe
