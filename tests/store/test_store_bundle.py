"""Export / import of runs as ZIP bundles: a run audited into SQLite on a laptop is handed to a
PostgreSQL team server, where its record, artifacts and report verify."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.store.test_store_pg_server import pg_server, pg_url  # noqa: F401
from unlearn_core.cli.main import main
from unlearn_core.errors import ConfigError
from unlearn_core.store.bundle import export_runs, import_bundle
from unlearn_core.store.db import RunStore, sha256_file


def test_sqlite_run_exported_imports_into_postgresql_and_verifies(pg_url, tmp_path,  # noqa: F811
                                                                  small_run, capsys):
    laptop = ["--data-dir", str(tmp_path / "laptop"), "--project", "mnist-deletions"]
    local = RunStore(data_dir=tmp_path / "laptop", project="mnist-deletions")
    run_id = local.record(small_run)
    bundle = tmp_path / "handoff.zip"
    assert main(["runs", "export", "--out", str(bundle), *laptop]) == 0
    assert "exported project 'mnist-deletions'" in capsys.readouterr().out

    server = ["--db", pg_url, "--data-dir", str(tmp_path / "server")]
    assert main(["runs", "import", str(bundle), *server]) == 0
    assert f"imported run {run_id[:12]} into project 'mnist-deletions'" in \
        capsys.readouterr().out
    assert main(["runs", "verify", run_id[:10], *server, "--project", "mnist-deletions"]) == 0
    assert f"run {run_id[:12]}: intact" in capsys.readouterr().out

    team = RunStore(pg_url, tmp_path / "server", project="mnist-deletions")
    [summary] = team.list_runs()
    assert summary.id == run_id and summary.record_format == 2
    assert team.load(run_id).data == local.load(run_id).data
    local_arts = {a.name: a.sha256 for a in local.artifacts(run_id)}
    assert {a.name: a.sha256 for a in team.artifacts(run_id)} == local_arts
    assert {(m, k, v) for _, m, k, v in team.metrics([run_id])} == \
        {(m, k, v) for _, m, k, v in local.metrics([run_id])}

    # the audit report built from the server's copy verifies (integrity and artifacts)
    from unlearn_core.report import build_json_report
    from unlearn_core.verify.run import verify_report

    report = tmp_path / "report.json"
    report.write_text(json.dumps(build_json_report(team.get(run_id), team.artifacts(run_id))))
    outcome = verify_report(report, rerun=False)
    assert outcome.ok, outcome.differences
    assert sum("artifact" in n for n in outcome.notes) == len(local_arts)

    # importing again changes nothing
    assert main(["runs", "import", str(bundle), *server]) == 0
    assert "0 imported, 1 already present" in capsys.readouterr().out


def test_one_run_exported_into_another_project(tmp_path, small_run):
    source = RunStore(data_dir=tmp_path / "a")
    keep, other = source.record(small_run), source.record(small_run)
    bundle = export_runs(source, tmp_path / "one.zip", [keep[:8]])
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
    assert any(keep in n for n in names) and not any(other in n for n in names)
    target = RunStore(data_dir=tmp_path / "b", project="team")
    [outcome] = import_bundle(target, bundle, project="team")
    assert (outcome.run_id, outcome.status, outcome.project) == (keep, "imported", "team")
    assert [r.id for r in target.list_runs()] == [keep]
    assert target.check(keep).ok
    assert all(sha256_file(Path(a.path)) == a.sha256 for a in target.artifacts(keep))


def _rewrite(bundle: Path, out: Path, edit) -> Path:
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, edit(info.filename, src.read(info.filename)))
    return out


def test_altered_or_foreign_bundles_are_refused_before_anything_is_written(tmp_path,
                                                                           small_run):
    source = RunStore(data_dir=tmp_path / "a")
    source.record(small_run)
    bundle = export_runs(source, tmp_path / "b.zip")
    target = RunStore(data_dir=tmp_path / "t")

    def flip_weights(name, data):
        return data[:-1] + bytes([data[-1] ^ 1]) if name.endswith("finetune.safetensors") \
            else data

    def edit_result(name, data):
        return data.replace(b'"wine"', b'"Wine"') if name.endswith("result.json") else data

    for edit, message in ((flip_weights, "finetune.safetensors does not match"),
                          (edit_result, "result in the bundle does not match")):
        with pytest.raises(ConfigError, match=message):
            import_bundle(target, _rewrite(bundle, tmp_path / "bad.zip", edit))
        assert target.list_runs(all_projects=True) == []
        assert list(target.artifact_root.iterdir()) == []
    not_zip = tmp_path / "x.zip"
    not_zip.write_text("hello")
    with pytest.raises(ConfigError, match="not a ZIP run bundle"):
        import_bundle(target, not_zip)
    with zipfile.ZipFile(tmp_path / "y.zip", "w") as zf:
        zf.writestr("manifest.json", json.dumps({"format": "other"}))
    with pytest.raises(ConfigError, match="not a run bundle"):
        import_bundle(target, tmp_path / "y.zip")
    with pytest.raises(ConfigError, match="has no runs to export"):
        export_runs(RunStore(data_dir=tmp_path / "empty"), tmp_path / "none.zip")
