"""The run store: every audit recorded in a real database (SQLite by default, any SQLAlchemy URL
such as PostgreSQL), with its artifacts (weights as safetensors, per-sample scores) on disk.

A record is written atomically: artifacts go to a temporary folder, the rows are inserted in one
transaction, the folder is renamed into place, then the transaction commits. A crash at any
point leaves either no record or a complete one; folders without a record are swept by
``cleanup_orphans``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import numpy as np
from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    insert,
    select,
)

from .audit import AuditResult, AuditRun
from .errors import ConfigError
from .models import save_model

metadata = MetaData()
runs_table = Table(
    "runs", metadata,
    Column("id", String(32), primary_key=True),
    Column("created_at", String(32), nullable=False),
    Column("dataset", String(200), nullable=False),
    Column("model", String(50), nullable=False),
    Column("forget", String(200), nullable=False),
    Column("methods", String(500), nullable=False),
    Column("seed", Integer, nullable=False),
    Column("n_forget", Integer, nullable=False),
    Column("dataset_fingerprint", String(64), nullable=False),
    Column("forget_fingerprint", String(64), nullable=False),
    Column("baseline_hash", String(64), nullable=False),
    Column("verdict", String(20)),
    Column("seconds", Float, nullable=False),
    Column("versions", Text, nullable=False),
    Column("result_json", Text, nullable=False),
)
metrics_table = Table(
    "metrics", metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("model", String(100), primary_key=True),
    Column("metric", String(100), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("value", Float),
)
artifacts_table = Table(
    "artifacts", metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("kind", String(30), nullable=False),
    Column("path", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
)


@dataclass
class RunSummary:
    """One row of the run list."""

    id: str
    created_at: str
    dataset: str
    model: str
    forget: str
    methods: str
    seed: int
    n_forget: int
    verdict: Optional[str]
    seconds: float


@dataclass
class Artifact:
    """A file recorded with a run, with its SHA-256 so a later check can tell if it changed."""

    name: str
    kind: str
    path: str
    sha256: str


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_data_dir() -> Path:
    return Path(os.environ.get("UNLEARN_DATA_DIR", "runs"))


def _metric_rows(run_id: str, result: AuditResult) -> list[dict]:
    rows = []
    for e in result.evaluations():
        values = {
            "forget_acc": e.accuracy.forget, "retain_acc": e.accuracy.retain,
            "test_acc": e.accuracy.test, "test_other_acc": e.accuracy.test_other_classes,
            "mia_auc_forget_vs_test": e.mia.auc_forget_vs_test,
            "mia_forget_member_rate": e.mia.forget_member_rate,
            "mia_efficacy": e.mia_efficacy, "seconds": e.seconds,
        }
        for metric, value in values.items():
            v = None if value is None or not np.isfinite(value) else float(value)
            rows.append({"run_id": run_id, "model": e.name, "metric": metric, "role": e.role,
                         "value": v})
    return rows


def overall_verdict(result: AuditResult) -> Optional[str]:
    """'pass'/'fail' when the audit carries verdicts, else None."""
    verdicts = getattr(result, "verdicts", None)
    if not verdicts:
        return None
    return "pass" if all(getattr(v, "passed", False) for v in verdicts) else "fail"


class RunStore:
    """Record, list and fetch audits. ``url`` is any SQLAlchemy URL; default SQLite in
    ``data_dir`` (``$UNLEARN_DATA_DIR`` or ``./runs``)."""

    def __init__(self, url: Optional[str] = None, data_dir: Optional[str | Path] = None) -> None:
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.url = url or f"sqlite:///{(self.data_dir / 'runs.sqlite').resolve()}"
        try:
            self.engine = create_engine(self.url)
            metadata.create_all(self.engine)
        except Exception as err:
            raise ConfigError(f"cannot open the run database '{self.url}': "
                              f"{str(err).splitlines()[0]}")
        self.artifact_root = self.data_dir / "artifacts"
        self.artifact_root.mkdir(exist_ok=True)

    # -- writing ---------------------------------------------------------------------------
    def _write_artifacts(self, run: AuditRun, folder: Path) -> list[Artifact]:
        folder.mkdir(parents=True)
        out = []
        for name, model in run.models.items():
            if hasattr(model, "spec"):
                weights, spec = save_model(model, folder / name)
                out.append(Artifact(f"{name}.safetensors", "weights", weights.name,
                                    sha256_file(weights)))
                out.append(Artifact(f"{name}.json", "spec", spec.name, sha256_file(spec)))
        scores = folder / "scores.npz"
        np.savez(scores, forget_ids=run.result.forget_ids,
                 **{f"{e.name}__forget": e.mia.forget_scores for e in run.result.evaluations()},
                 **{f"{e.name}__test": e.mia.test_scores for e in run.result.evaluations()})
        out.append(Artifact("scores.npz", "scores", scores.name, sha256_file(scores)))
        return out

    def record(self, run: AuditRun, _fail_before_commit: bool = False) -> str:
        """Store a run atomically; return its id."""
        run_id = uuid.uuid4().hex
        result = run.result
        tmp = self.artifact_root / f".tmp-{run_id}"
        final = self.artifact_root / run_id
        try:
            artifacts = self._write_artifacts(run, tmp)
            with self.engine.begin() as conn:
                conn.execute(insert(runs_table).values(
                    id=run_id, created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    dataset=result.dataset_name, model=result.config.model,
                    forget=result.forget_description,
                    methods=",".join(e.name for e in result.methods), seed=result.config.seed,
                    n_forget=result.n_forget, dataset_fingerprint=result.dataset_fingerprint,
                    forget_fingerprint=result.forget_fingerprint,
                    baseline_hash=result.baseline.model_hash, verdict=overall_verdict(result),
                    seconds=result.seconds, versions=json.dumps(result.versions),
                    result_json=json.dumps(result.to_dict())))
                conn.execute(insert(metrics_table), _metric_rows(run_id, result))
                conn.execute(insert(artifacts_table), [
                    {"run_id": run_id, "name": a.name, "kind": a.kind,
                     "path": str(final / a.path), "sha256": a.sha256} for a in artifacts])
                os.replace(tmp, final)
                if _fail_before_commit:  # for tests: a crash between rename and commit
                    raise RuntimeError("simulated crash before commit")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(final, ignore_errors=True)
            raise
        return run_id

    def cleanup_orphans(self) -> list[str]:
        """Remove artifact folders that have no committed record (left by a killed run)."""
        with self.engine.connect() as conn:
            known = set(conn.execute(select(runs_table.c.id)).scalars())
        removed = []
        for folder in self.artifact_root.iterdir():
            name = folder.name
            if name.startswith(".tmp-") or name not in known:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(name)
        return removed

    def delete(self, run_id: str) -> None:
        with self.engine.begin() as conn:
            for table in (metrics_table, artifacts_table):
                conn.execute(delete(table).where(table.c.run_id == run_id))
            conn.execute(delete(runs_table).where(runs_table.c.id == run_id))
        shutil.rmtree(self.artifact_root / run_id, ignore_errors=True)

    # -- reading ---------------------------------------------------------------------------
    def list_runs(self, dataset: Optional[str] = None, method: Optional[str] = None,
                  limit: int = 200) -> list[RunSummary]:
        """Newest first, optionally filtered by dataset or by a method that ran."""
        q = select(runs_table).order_by(runs_table.c.created_at.desc()).limit(limit)
        if dataset:
            q = q.where(runs_table.c.dataset == dataset)
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        out = [RunSummary(r["id"], r["created_at"], r["dataset"], r["model"], r["forget"],
                          r["methods"], r["seed"], r["n_forget"], r["verdict"], r["seconds"])
               for r in rows]
        if method:
            out = [r for r in out if method in r.methods.split(",")]
        return out

    def resolve_id(self, prefix: str) -> str:
        """A full run id from a unique prefix."""
        with self.engine.connect() as conn:
            ids = list(conn.execute(select(runs_table.c.id).where(
                runs_table.c.id.like(f"{prefix}%"))).scalars())
        if len(ids) != 1:
            raise ConfigError(f"no run with id '{prefix}'" if not ids else
                              f"id prefix '{prefix}' matches {len(ids)} runs: give more of it")
        return ids[0]

    def get(self, run_id: str) -> AuditResult:
        run_id = self.resolve_id(run_id)
        with self.engine.connect() as conn:
            text = conn.execute(select(runs_table.c.result_json).where(
                runs_table.c.id == run_id)).scalar_one()
        return AuditResult.from_dict(json.loads(text))

    def artifacts(self, run_id: str) -> list[Artifact]:
        run_id = self.resolve_id(run_id)
        with self.engine.connect() as conn:
            rows = conn.execute(select(artifacts_table).where(
                artifacts_table.c.run_id == run_id)).mappings().all()
        return [Artifact(r["name"], r["kind"], r["path"], r["sha256"]) for r in rows]

    def metrics(self, run_ids: list[str]) -> list[tuple[str, str, str, Optional[float]]]:
        """(run id, model, metric, value) rows for comparing runs side by side."""
        full = [self.resolve_id(r) for r in run_ids]
        with self.engine.connect() as conn:
            rows = conn.execute(select(metrics_table).where(
                metrics_table.c.run_id.in_(full))).mappings().all()
        return [(r["run_id"], r["model"], r["metric"], r["value"]) for r in rows]
