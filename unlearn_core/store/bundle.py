"""Export runs (one, several, or a whole project) as a ZIP bundle with their artifacts, and
import such a bundle into another run database: an audit done on a laptop (SQLite) handed to a
team server (PostgreSQL).

A bundle holds ``manifest.json`` (the bundle format, the schema version that wrote it, and per
run its summary columns, project, record format and the SHA-256 of its result JSON and of each
artifact) and, per run, ``runs/<id>/result.json`` (the record exactly as stored),
``runs/<id>/metrics.json`` and ``runs/<id>/artifacts/<name>``. Import checks every hash before
writing anything, keeps the run's id, and is idempotent: a run already present with the same
result is skipped; one present with a different result is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from unlearn_core.errors import ConfigError
from unlearn_core.store.db import RunStore, check_project, sha256_text
from unlearn_core.store.schema import (
    SCHEMA_VERSION,
    artifacts_table,
    metrics_table,
    runs_table,
    write_transaction,
)

BUNDLE_FORMAT = "unlearn-runs-bundle"
BUNDLE_VERSION = 1
MAX_BUNDLE_BYTES = 8 << 30  # refuse bundles that would unpack to more than this
_SUMMARY_COLUMNS = ("created_at", "dataset", "model", "forget", "methods", "seed", "n_forget",
                    "dataset_fingerprint", "forget_fingerprint", "baseline_hash", "verdict",
                    "seconds", "versions", "project", "record_format")
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.#+-]{0,199}")


@dataclass
class ImportOutcome:
    """One run of a bundle: ``imported``, or ``present`` (already there, same result)."""

    run_id: str
    project: str
    status: str


def export_runs(store: RunStore, out: str | Path, run_ids: Optional[list[str]] = None) -> Path:
    """Write the given runs (ids or unique prefixes in the store's project), or every run of
    the store's project, to the ZIP ``out``; returns its path."""
    ids = ([store.resolve_id(r) for r in run_ids] if run_ids else
           [r.id for r in store.list_runs(limit=10**9)])
    if not ids:
        raise ConfigError(f"project '{store.project}' has no runs to export")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    manifest: dict = {"format": BUNDLE_FORMAT, "bundle_version": BUNDLE_VERSION,
                      "schema_version": SCHEMA_VERSION,
                      "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      "runs": []}
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for run_id in dict.fromkeys(ids):
                manifest["runs"].append(_export_one(store, zf, run_id))
            zf.writestr("manifest.json", json.dumps(manifest, indent=1))
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


def _export_one(store: RunStore, zf: zipfile.ZipFile, run_id: str) -> dict:
    with store.engine.connect() as conn:
        row = conn.execute(select(runs_table).where(runs_table.c.id == run_id)).mappings().one()
        metrics = [dict(r) for r in conn.execute(
            select(metrics_table.c.model, metrics_table.c.metric, metrics_table.c.role,
                   metrics_table.c.value).where(metrics_table.c.run_id == run_id)).mappings()]
        arts = conn.execute(select(artifacts_table.c.name, artifacts_table.c.kind,
                                   artifacts_table.c.sha256)
                            .where(artifacts_table.c.run_id == run_id)).mappings().all()
    result_json = row["result_json"]
    zf.writestr(f"runs/{run_id}/result.json", result_json)
    zf.writestr(f"runs/{run_id}/metrics.json", json.dumps(metrics))
    entry = {"id": run_id, **{c: row[c] for c in _SUMMARY_COLUMNS},
             "result_sha256": sha256_text(result_json),
             "recorded_result_sha256": row["result_sha256"], "artifacts": []}
    for art in arts:
        data = store.artifact_bytes(run_id, art["name"])
        if data is None:
            raise ConfigError(f"run {run_id[:12]}: artifact {art['name']} is neither in the "
                              "database nor on this machine, so it cannot be exported")
        if hashlib.sha256(data).hexdigest() != art["sha256"]:
            raise ConfigError(f"run {run_id[:12]}: artifact {art['name']} changed since the "
                              "audit, so it is not exported")
        zf.writestr(f"runs/{run_id}/artifacts/{art['name']}", data)
        entry["artifacts"].append(dict(art))
    return entry


def _read_manifest(zf: zipfile.ZipFile, path: Path) -> dict:
    try:
        manifest = json.loads(zf.read("manifest.json"))
    except KeyError:
        raise ConfigError(f"'{path}' is not a run bundle (no manifest.json)")
    except (ValueError, RecursionError) as err:  # RecursionError: nested too deep
        raise ConfigError(f"'{path}': manifest.json is not valid JSON "
                          f"({err if isinstance(err, ValueError) else 'nested too deep'})")
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise ConfigError(f"'{path}' is not a run bundle (format is not {BUNDLE_FORMAT})")
    if int(manifest.get("bundle_version", 0)) > BUNDLE_VERSION:
        raise ConfigError(f"'{path}' was written by a newer version (bundle version "
                          f"{manifest.get('bundle_version')}): upgrade unlearn_core")
    return manifest


def _read_run(zf: zipfile.ZipFile, entry: dict) -> tuple[str, list, dict[str, bytes]]:
    """The run's result JSON, metric rows and artifact bytes, every hash checked."""
    run_id = str(entry.get("id", ""))
    if not re.fullmatch(r"[0-9a-f]{32}", run_id):
        raise ConfigError(f"bundle entry has no valid run id ('{run_id}')")
    try:
        result_json = zf.read(f"runs/{run_id}/result.json").decode("utf-8")
        metrics = json.loads(zf.read(f"runs/{run_id}/metrics.json"))
        blobs = {}
        for art in entry.get("artifacts", []):
            name = str(art["name"])
            if not _SAFE_NAME.fullmatch(name) or ".." in name:
                raise ConfigError(f"run {run_id[:12]}: artifact name '{name}' is not allowed")
            blobs[name] = zf.read(f"runs/{run_id}/artifacts/{name}")
    except KeyError as err:
        raise ConfigError(f"run {run_id[:12]}: the bundle lacks {err.args[0]}")
    if sha256_text(result_json) != entry.get("result_sha256"):
        raise ConfigError(f"run {run_id[:12]}: its result in the bundle does not match its "
                          "SHA-256 (the bundle was altered or damaged)")
    for art in entry.get("artifacts", []):
        if hashlib.sha256(blobs[art["name"]]).hexdigest() != art.get("sha256"):
            raise ConfigError(f"run {run_id[:12]}: artifact {art['name']} does not match its "
                              "SHA-256 (the bundle was altered or damaged)")
    return result_json, metrics, blobs


def import_bundle(store: RunStore, path: str | Path,
                  project: Optional[str] = None) -> list[ImportOutcome]:
    """Import every run of the bundle at ``path`` into ``store``, each into its own project
    or into ``project`` when given. All runs are checked before any is written."""
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise ConfigError(f"no bundle at '{path}'")
    except (zipfile.BadZipFile, OSError) as err:
        raise ConfigError(f"'{path}' is not a ZIP run bundle ({err})")
    with zf:
        if sum(i.file_size for i in zf.infolist()) > MAX_BUNDLE_BYTES:
            raise ConfigError(f"'{path}' would unpack to more than "
                              f"{MAX_BUNDLE_BYTES >> 30} GiB: refused")
        manifest = _read_manifest(zf, path)
        entries = manifest.get("runs") or []
        payloads = [(e, *_read_run(zf, e)) for e in entries]
    target = check_project(project) if project else None
    return [_import_one(store, e, rj, m, b, target) for e, rj, m, b in payloads]


def _import_one(store: RunStore, entry: dict, result_json: str, metrics: list,
                blobs: dict[str, bytes], project: Optional[str]) -> ImportOutcome:
    run_id = entry["id"]
    project = project or check_project(entry.get("project") or "default")
    tmp = store.artifact_root / f".tmp-{run_id}"
    final = store.artifact_root / run_id
    with store.engine.connect() as conn:
        present = conn.execute(select(runs_table.c.result_json).where(
            runs_table.c.id == run_id)).scalar_one_or_none()
    if present is not None:
        if sha256_text(present) == entry["result_sha256"]:
            return ImportOutcome(run_id, project, "present")
        raise ConfigError(f"run {run_id[:12]} is already in this database with a different "
                          "result: not overwritten")
    row = {c: entry.get(c) for c in _SUMMARY_COLUMNS}
    row.update(id=run_id, project=project, result_json=result_json,
               result_sha256=entry.get("recorded_result_sha256"),
               record_format=int(entry.get("record_format") or 1))
    for column, empty in (("dataset", ""), ("model", ""), ("forget", ""), ("methods", ""),
                          ("seed", 0), ("n_forget", 0), ("dataset_fingerprint", ""),
                          ("forget_fingerprint", ""), ("baseline_hash", ""), ("seconds", 0.0),
                          ("versions", "{}"), ("created_at", "")):
        if row.get(column) is None:
            row[column] = empty
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(final, ignore_errors=True)  # no record: an orphan of an earlier attempt
    try:
        tmp.mkdir(parents=True)
        for name, data in blobs.items():
            (tmp / name).write_bytes(data)
        with write_transaction(store.engine) as conn:
            conn.execute(insert(runs_table).values(**row))
            if metrics:
                conn.execute(insert(metrics_table), [
                    {"run_id": run_id, "model": m["model"], "metric": m["metric"],
                     "role": m.get("role") or "method", "value": m.get("value")}
                    for m in metrics])
            arts = entry.get("artifacts", [])
            if arts:
                conn.execute(insert(artifacts_table), [
                    {"run_id": run_id, "name": a["name"], "kind": a.get("kind") or "file",
                     "path": f"{run_id}/{a['name']}", "sha256": a["sha256"],
                     "content": blobs[a["name"]], "size": len(blobs[a["name"]])} for a in arts])
            os.replace(tmp, final)
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)
        if isinstance(err, IntegrityError):  # another process imported it meanwhile
            raise ConfigError(f"run {run_id[:12]} was written by another process during the "
                              "import: run the import again")
        raise
    return ImportOutcome(run_id, project, "imported")
