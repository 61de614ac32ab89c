"""Tampering by removal (issue 22): a report with a verdict, a check, the measurements or a whole
method taken out, its hash recomputed, does not verify (every verdict the recorded measurements
imply must be there); a bundle holding a file twice is refused."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from unlearn_core.cli.main import main
from unlearn_core.report import build_json_report, content_hash
from unlearn_core.verify.run import verify_report


@pytest.fixture(scope="module")
def report(small_run, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("removed") / "report.json"
    path.write_text(json.dumps(build_json_report(small_run.result), indent=1))
    return path


def _rehashed(report: Path, tmp_path: Path, edit) -> Path:
    payload = json.loads(report.read_text())
    edit(payload["result"])
    payload["content_sha256"] = content_hash(payload)  # a forger who also fixes the hash
    out = tmp_path / "forged.json"
    out.write_text(json.dumps(payload))
    return out


def _differences(path: Path) -> list[str]:
    return verify_report(path, rerun=False).differences


def test_the_untouched_report_verifies(report):
    assert _differences(report) == []


def test_verdicts_removed_are_a_difference(report, tmp_path, capsys):
    forged = _rehashed(report, tmp_path, lambda r: r.__setitem__("verdicts", []))
    found = _differences(forged)
    for method in ("finetune", "random_label"):
        assert any(d.startswith(f"{method}: the report records no verdict") for d in found)
    assert main(["verify", str(forged), "--no-rerun", "--quiet"]) == 1


def test_one_verdict_removed_is_a_difference(report, tmp_path):
    def drop_failing(r):
        r["verdicts"] = [v for v in r["verdicts"] if v["method"] != "random_label"]
    found = _differences(_rehashed(report, tmp_path, drop_failing))
    assert found == [d for d in found if d.startswith("random_label:")] and found


def test_a_check_removed_from_a_verdict_is_a_difference(report, tmp_path):
    removed = {}

    def drop_check(r):
        checks = r["verdicts"][0]["checks"]
        removed["title"] = checks[0]["title"]
        del checks[0]
    found = _differences(_rehashed(report, tmp_path, drop_check))
    assert any(f"check {removed['title']}" in d and "missing from the recorded verdict" in d
               for d in found)


def test_verdicts_kept_and_measurements_removed_is_a_difference(report, tmp_path):
    found = _differences(_rehashed(report, tmp_path, lambda r: r.__setitem__("measurements", [])))
    assert any("measurements are not in the report" in d for d in found)


def test_a_whole_method_removed_is_a_difference(report, tmp_path):
    def drop_method(r):
        r["methods"] = [m for m in r["methods"] if m["name"] != "random_label"]
        r["verdicts"] = [v for v in r["verdicts"] if v["method"] != "random_label"]
        r["measurements"] = [m for m in r["measurements"] if m["model"] != "random_label"]
        r["closeness"] = [c for c in r["closeness"] if c["name"] != "random_label"]
    found = _differences(_rehashed(report, tmp_path, drop_method))
    assert any(d.startswith("random_label: the report holds its per-sample evidence")
               for d in found)


def test_a_bundle_holding_report_json_twice_is_refused(report, tmp_path, capsys):
    import warnings

    from unlearn_core.report.bundle import write_bundle

    bundle = write_bundle(report, tmp_path / "report.zip")
    forged = _rehashed(report, tmp_path, lambda r: r.__setitem__("verdicts", []))
    with warnings.catch_warnings(), zipfile.ZipFile(bundle, "a") as zf:
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": the point here
        zf.writestr("report.json", forged.read_text())
    assert [n for n in zipfile.ZipFile(bundle).namelist() if n == "report.json"] == \
        ["report.json", "report.json"]
    assert main(["verify", str(bundle), "--no-rerun", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "report.json more than once" in err and len(err.strip().splitlines()) == 1


def test_a_bundle_with_two_names_for_one_file_is_refused(report, tmp_path, capsys):
    from unlearn_core.report.bundle import write_bundle

    bundle = write_bundle(report, tmp_path / "report.zip")
    with zipfile.ZipFile(bundle, "a") as zf:
        zf.writestr("./Report.JSON", "{}")
    assert main(["verify", str(bundle), "--no-rerun", "--quiet"]) == 2
    assert "more than once" in capsys.readouterr().err
