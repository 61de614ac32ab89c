"""The run store: every audit recorded in a real database (SQLite by default; PostgreSQL for a
history a team shares), with its artifacts (weights as safetensors, per-sample scores).

- **A record is the whole result JSON** plus summary columns read defensively from it (a result
  that lacks a field still records and lists). Its artifacts are files under the data folder and
  their bytes in the database, so a shared database carries them to every machine (files missing
  locally are written back from the database, checked against their SHA-256).
- **Atomic**: artifacts go to a temporary folder, the rows are inserted in one transaction, the
  folder is renamed into place, then the transaction commits. A crash at any point leaves either
  no record or a complete one; folders without a record are swept by ``cleanup_orphans`` (called
  when a store opens) as soon as their writer is gone: a writer holds a lock on its run for as
  long as it writes (``store.lock``: host, pid, start time; released by the kernel when the
  process dies, SIGKILL included), so a live writer's folder is never touched and a killed one's
  is removed at the next start. Folders without a lock (an earlier release) keep the age rule.
- **Concurrent**: several processes can open (and create or migrate) the same database and
  record into it at once (see ``store.schema``).
- **Projects**: every run belongs to one (``default`` unless ``project=`` or
  ``$UNLEARN_PROJECT`` says otherwise); listing and lookups are scoped to the store's project.
- **Versions**: older databases are migrated when opened; older records say what they lack.

Export and import of runs as ZIP bundles live in ``store.bundle``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import numpy as np
from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError

from unlearn_core.audit.run import AuditResult, AuditRun
from unlearn_core.errors import ConfigError
from unlearn_core.models import save_model
from unlearn_core.serialize import sha256_file
from unlearn_core.store.lock import WriterLock, claim, lock_files, lock_path
from unlearn_core.store.schema import (
    DEFAULT_PROJECT,
    RECORD_FORMAT,
    SCHEMA_VERSION,
    artifacts_table,
    display_url,
    ensure_schema,
    metrics_table,
    open_engine,
    runs_table,
    write_transaction,
)
from unlearn_core.store.unrecorded import record_kept

__all__ = ["RunStore", "RunSummary", "Artifact", "StoredRun", "RunCheck", "sha256_file",
           "overall_verdict", "default_data_dir", "SCHEMA_VERSION"]

# a text audit records each language model's weights up to this size (the built-in tiny GPT
# is about 2 MB; a user's GPT-2 of 500 MB times every retrain is not copied into the database)
MAX_TEXT_WEIGHT_BYTES = 64 << 20
ORPHAN_GRACE_S = 600.0  # a folder without a writer lock (earlier release): swept when older
_RUN_DIR = re.compile(r"(\.tmp-)?([0-9a-f]{32})")
_PROJECT = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._@/+-]{0,99}")
_VERDICT_ORDER = ("fail", "uncertain", "inconclusive")  # the first present decides, else pass


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
    project: str = DEFAULT_PROJECT
    record_format: int = RECORD_FORMAT


@dataclass
class Artifact:
    """A file recorded with a run, with its SHA-256 so a later check can tell if it changed."""

    name: str
    kind: str
    path: str
    sha256: str


@dataclass
class StoredRun:
    """A record as stored: its summary, the result JSON, the result rebuilt when this code can,
    and the result fields that today's code has and the record lacks."""

    summary: RunSummary
    data: dict
    result: Optional[AuditResult]
    lacks: list[str] = field(default_factory=list)
    problem: Optional[str] = None  # why ``result`` could not be rebuilt


@dataclass
class RunCheck:
    """What ``RunStore.check`` found; ``ok`` only when nothing differs."""

    run_id: str
    notes: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def sha256_text(text: str) -> str:
    """SHA-256 of a text's UTF-8 bytes, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class NoRunDatabase(ConfigError):
    """``RunStore(create=False)`` found no SQLite file where the store would be: nothing has
    been recorded there (``path``), and listing must not create one."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no run database at '{path}': nothing has been recorded there (an "
                         "audit creates it)")
        self.path = path


RUN_TABLES = ("runs", "metrics", "artifacts", "schema_version")


def sqlite_file(url: str) -> Optional[Path]:
    """The file of a SQLite URL; None for a server (or an in-memory database)."""
    try:
        parsed = make_url(url)
    except Exception:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def default_data_dir() -> Path:
    """``$UNLEARN_DATA_DIR`` or ``./runs``."""
    return Path(os.environ.get("UNLEARN_DATA_DIR", "runs"))


def default_project() -> str:
    """``$UNLEARN_PROJECT`` or ``default``."""
    return os.environ.get("UNLEARN_PROJECT") or DEFAULT_PROJECT


def check_project(name: str) -> str:
    """A valid project name (letters, digits, space and ``._@/+-``, at most 100), or a
    ``ConfigError``."""
    name = str(name).strip()
    if not _PROJECT.fullmatch(name):
        raise ConfigError(f"project name '{name}' is not valid: use 1 to 100 letters, digits, "
                          "spaces or ._@/+- (starting with a letter or digit)")
    return name


def _clip(value: Any, size: int) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= size else text[: size - 1] + "~"


def _finite(value: Any) -> Optional[float]:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _evaluations(result: Any) -> list:
    try:
        return list(result.evaluations())
    except Exception:
        return [e for e in (getattr(result, "baseline", None), getattr(result, "retrain", None),
                            *(getattr(result, "methods", None) or [])) if e is not None]


def _unique_names(evaluations: list) -> list[tuple[str, Any]]:
    """(name, evaluation) with repeated names made unique (``name#2``)."""
    seen: dict[str, int] = {}
    out = []
    for e in evaluations:
        name = _clip(getattr(e, "name", None) or "model", 90)
        seen[name] = seen.get(name, 0) + 1
        out.append((name if seen[name] == 1 else f"{name}#{seen[name]}", e))
    return out


def _status_of(verdict: Any) -> str:
    status = getattr(verdict, "status", None)
    if isinstance(status, str) and status:
        qualifier = getattr(verdict, "qualifier", None)  # a pass on the outputs only
        return f"{status} ({qualifier})" if status == "pass" and qualifier else status
    passed = getattr(verdict, "passed", None)
    return "inconclusive" if passed is None else ("pass" if passed else "fail")


def overall_verdict(result: Any) -> Optional[str]:
    """The audit's verdict in one word, or None when it carries none: the result's own
    ``status`` when it has one; else from its verdicts, each a ``status`` ("pass", "fail",
    "inconclusive", "uncertain") or a ``passed`` flag: any fail fails, any uncertain is
    uncertain, any inconclusive is inconclusive, else pass."""
    status = getattr(result, "status", None)
    if isinstance(status, str) and status:
        return _clip(status, 20)
    verdicts = getattr(result, "verdicts", None)
    if not verdicts:
        return None
    statuses = {_status_of(v) for v in verdicts}
    for word in _VERDICT_ORDER:
        if word in statuses:
            return word
    return "pass" if statuses <= {"pass"} else _clip(sorted(statuses - {"pass"})[0], 20)


def summary_values(result: Any) -> dict:
    """The summary columns of a result, each read defensively (a missing field gives an empty
    value, never an error)."""
    cfg = getattr(result, "config", None)
    methods = [name for name, _ in _unique_names(list(getattr(result, "methods", None) or []))]
    joined = ",".join(methods)
    while len(joined) > 500 and "," in joined:  # keep whole names
        joined = joined.rsplit(",", 1)[0]
    return {
        "dataset": _clip(getattr(result, "dataset_name", ""), 200),
        "model": _clip(getattr(result, "model_name", None) or getattr(cfg, "model", ""), 50),
        "forget": _clip(getattr(result, "forget_description", ""), 200),
        "methods": _clip(joined, 500),
        "seed": _int(getattr(cfg, "seed", 0)),
        "n_forget": _int(getattr(result, "n_forget", 0)),
        "dataset_fingerprint": _clip(getattr(result, "dataset_fingerprint", ""), 64),
        "forget_fingerprint": _clip(getattr(result, "forget_fingerprint", ""), 64),
        "baseline_hash": _clip(getattr(getattr(result, "baseline", None), "model_hash", ""), 64),
        "verdict": overall_verdict(result),
        "seconds": _finite(getattr(result, "seconds", 0.0)) or 0.0,
        "versions": json.dumps(getattr(result, "versions", None) or {}, default=str),
    }


TEXT_ROLES = ("original", "retrain", "claim")  # a text model's role; any other: a method
TEXT_METRICS = {"forget_accuracy": "forget_acc", "retain_accuracy": "retain_acc",
                "holdout_accuracy": "holdout_acc", "forget_quality": "forget_quality",
                "model_utility": "model_utility", "mia_auc_min_k": "mia_auc_min_k",
                "privleak": "privleak", "seconds": "seconds"}


def text_metric_values(summary: dict) -> dict:
    """A text audit model's metric rows (its ``summary()``), under the store's metric names
    where they mean the same (forget_acc, retain_acc, seconds)."""
    return {ours: summary.get(theirs) for theirs, ours in TEXT_METRICS.items()}


def metric_rows(run_id: str, result: Any) -> list[dict]:
    """One row per (model, metric) for side-by-side comparison; absent figures are skipped."""
    rows = []
    for name, e in _unique_names(_evaluations(result)):
        acc, mia = getattr(e, "accuracy", None), getattr(e, "mia", None)
        role = getattr(e, "role", "") or "method"
        if acc is None and callable(getattr(e, "summary", None)):  # a text audit's model
            values = text_metric_values(e.summary())
            role = e.method if getattr(e, "method", "") in TEXT_ROLES else "method"
        else:
            values = {
                "forget_acc": getattr(acc, "forget", None),
                "retain_acc": getattr(acc, "retain", None),
                "test_acc": getattr(acc, "test", None),
                "test_other_acc": getattr(acc, "test_other_classes", None),
                "mia_auc_forget_vs_test": getattr(mia, "auc_forget_vs_test", None),
                "mia_forget_member_rate": getattr(mia, "forget_member_rate", None),
                "mia_efficacy": getattr(e, "mia_efficacy", None),
                "seconds": getattr(e, "seconds", None),
            }
        for metric, value in values.items():
            rows.append({"run_id": run_id, "model": name, "metric": metric,
                         "role": _clip(role, 20),
                         "value": _finite(value)})
    return rows


def _summary(row: Any) -> RunSummary:
    return RunSummary(row["id"], row["created_at"], row["dataset"], row["model"], row["forget"],
                      row["methods"], row["seed"], row["n_forget"], row["verdict"],
                      row["seconds"], row["project"], row["record_format"])


def result_lacks(data: dict) -> list[str]:
    """The fields of today's ``AuditResult`` that a stored result JSON does not have."""
    return [f.name for f in fields(AuditResult) if f.name not in data]


class RunStore:
    """Record, list and fetch audits.

    ``url``: any SQLAlchemy URL (``$UNLEARN_DB_URL``, else SQLite ``runs.sqlite`` in the data
    folder); ``data_dir``: the folder of artifact files (``$UNLEARN_DATA_DIR`` or ``./runs``);
    ``project``: the project this store records into and lists (``$UNLEARN_PROJECT`` or
    ``default``). Opening validates the URL, connects, creates or migrates the schema and sweeps
    orphan artifact folders; any failure is a ``ConfigError`` of one line.
    """

    def __init__(self, url: Optional[str] = None, data_dir: Optional[str | Path] = None,
                 project: Optional[str] = None, cleanup: bool = True,
                 create: bool = True) -> None:
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.project = check_project(project or default_project())
        url = url or os.environ.get("UNLEARN_DB_URL") or None
        default_sqlite = f"sqlite:///{(self.data_dir / 'runs.sqlite').resolve()}"
        self.file = sqlite_file(url or default_sqlite)  # None: a database server
        if not create and self.file is not None and not self.file.exists():
            raise NoRunDatabase(self.file)  # reading never creates a database
        if url is None:
            self._mkdir(self.data_dir)
        self.engine = open_engine(url or default_sqlite)
        self.url = display_url(str(self.engine.url))
        self._check_intact()
        try:
            self.migrated_from = ensure_schema(self.engine)
        except ConfigError:
            raise
        except Exception as err:
            if self.file is not None and isinstance(err, DatabaseError):
                raise self.damaged(err) from None
            reason = str(getattr(err, "orig", None) or err).strip().splitlines()
            raise ConfigError(f"cannot set up the run database '{self.url}': "
                              f"{reason[0] if reason else type(err).__name__}")
        # artifacts of the default database sit in data_dir/artifacts (as they always have);
        # those of any other database in their own sub-folder, so that sweeping orphans for
        # one database never touches another's files
        self.artifact_root = self.data_dir / "artifacts"
        if url is not None and url != default_sqlite:
            key = hashlib.sha256(self.url.encode()).hexdigest()[:12]
            self.artifact_root = self.artifact_root / f"db-{key}"
        self._mkdir(self.artifact_root)
        self.recovered: list[tuple[str, str]] = []  # (kept result file, run id) recorded now
        if cleanup:
            self.cleanup_orphans()
            self.recovered = record_kept(self)

    def damaged(self, err: BaseException) -> ConfigError:
        """The one line for a SQLite file that is no run database or is damaged, naming it."""
        reason = str(getattr(err, "orig", None) or err).strip().splitlines() or \
            [type(err).__name__]
        return ConfigError(f"'{self.file or self.url}' is not a run database, or it is damaged "
                           f"({reason[0][:200]}): move it aside (an audit then starts a new one) "
                           "or point --data-dir or --db elsewhere")

    def _check_intact(self) -> None:
        """SQLite: ``PRAGMA quick_check`` of each of the store's tables (their pages, indexes
        and overflow chains; about 0.5 s per GB of stored artifacts) before anything reads or
        writes, so a damaged file is refused in one line before an audit, not recorded into.
        A database server looks after its own pages."""
        if self.file is None:
            return
        try:
            with self.engine.connect() as conn:
                tables = set(conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'table'").scalars())
                for table in [t for t in RUN_TABLES if t in tables]:
                    found = conn.exec_driver_sql(f"PRAGMA quick_check({table})").scalars().all()
                    if found != ["ok"]:
                        lines = [ln for row in found for ln in str(row).splitlines()
                                 if ln.strip() and not ln.startswith("***")]
                        raise DatabaseError(f"PRAGMA quick_check({table})", None,
                                            Exception(f"table {table}: "
                                                      f"{(lines or ['damaged'])[0]}"))
        except DatabaseError as err:
            self.engine.dispose()
            raise self.damaged(err) from None

    def ensemble_cache(self):
        """Reference ensembles and shadow sets kept by fingerprint in this store's artifact
        area (``cache/``, never swept as an orphan), reused by later audits."""
        from unlearn_core.reference.cache import EnsembleCache

        return EnsembleCache(self.artifact_root / "cache")

    @staticmethod
    def _mkdir(path: Path) -> None:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(f"cannot create the run data folder '{path}': {err.strerror}")

    # -- writing ---------------------------------------------------------------------------
    def _write_artifacts(self, run: AuditRun, folder: Path) -> list[Artifact]:
        folder.mkdir(parents=True)
        out = []
        for name, model in (getattr(run, "models", None) or {}).items():
            if hasattr(model, "spec"):
                weights, spec = save_model(model, folder / name)
                out.append(Artifact(f"{name}.safetensors", "weights", weights.name,
                                    sha256_file(weights)))
                out.append(Artifact(f"{name}.json", "spec", spec.name, sha256_file(spec)))
            elif hasattr(model, "save_weights"):  # a text audit's language model
                if model.weight_bytes() > MAX_TEXT_WEIGHT_BYTES:
                    continue  # a large user model: its hash is recorded, not its weights
                weights = model.save_weights(folder / f"{name}.safetensors")
                out.append(Artifact(weights.name, "weights", weights.name,
                                    sha256_file(weights)))
        scores = folder / "scores.npz"
        arrays: dict[str, np.ndarray] = {}
        forget_ids = getattr(run.result, "forget_ids", None)
        if forget_ids is not None:
            arrays["forget_ids"] = np.asarray(forget_ids)
        for name, e in _unique_names(_evaluations(run.result)):
            for part in ("forget", "test"):
                values = getattr(getattr(e, "mia", None), f"{part}_scores", None)
                if values is not None:
                    arrays[f"{name}__{part}"] = np.asarray(values)
        np.savez(scores, **arrays)
        out.append(Artifact("scores.npz", "scores", scores.name, sha256_file(scores)))
        return out

    def record(self, run: AuditRun, project: Optional[str] = None,
               _fail_before_commit: bool = False) -> str:
        """Store a run atomically in ``project`` (default: the store's); return its id."""
        project = check_project(project) if project else self.project
        run_id = uuid.uuid4().hex
        result = run.result
        result_json = json.dumps(result.to_dict())
        tmp = self.artifact_root / f".tmp-{run_id}"
        final = self.artifact_root / run_id
        with WriterLock(self.artifact_root, run_id):  # before the folder exists: see sweep
            self._record_locked(run, run_id, project, result, result_json, tmp, final,
                                _fail_before_commit)
        return run_id

    def _record_locked(self, run: AuditRun, run_id: str, project: str, result: AuditResult,
                       result_json: str, tmp: Path, final: Path,
                       _fail_before_commit: bool) -> None:
        try:
            artifacts = self._write_artifacts(run, tmp)
            blobs = {a.name: (tmp / a.path).read_bytes() for a in artifacts}
            with write_transaction(self.engine) as conn:
                conn.execute(insert(runs_table).values(
                    id=run_id,
                    created_at=datetime.now(timezone.utc).isoformat(timespec="microseconds"),
                    project=project, record_format=RECORD_FORMAT,
                    result_sha256=sha256_text(result_json), result_json=result_json,
                    **summary_values(result)))
                metrics = metric_rows(run_id, result)
                if metrics:
                    conn.execute(insert(metrics_table), metrics)
                conn.execute(insert(artifacts_table), [
                    {"run_id": run_id, "name": a.name, "kind": a.kind,
                     "path": f"{run_id}/{a.path}", "sha256": a.sha256,
                     "content": blobs[a.name], "size": len(blobs[a.name])} for a in artifacts])
                os.replace(tmp, final)
                if _fail_before_commit:  # for tests: a crash between rename and commit
                    raise RuntimeError("simulated crash before commit")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(final, ignore_errors=True)
            raise

    def _recorded(self, run_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(runs_table.c.id).where(runs_table.c.id == run_id)) \
                .first() is not None

    def cleanup_orphans(self, min_age_s: float = ORPHAN_GRACE_S) -> list[str]:
        """Remove artifact folders that have no committed record (left by a killed run) whose
        writer is gone (its lock free: ``store.lock``); a live writer's folder is kept,
        however young or old. A folder without a lock file (an earlier release, or a lock
        written by another host) is removed only when older than ``min_age_s``. Returns the
        names removed."""
        with self.engine.connect() as conn:
            known = set(conn.execute(select(runs_table.c.id)).scalars())
        removed = []
        now = time.time()
        for folder in self.artifact_root.iterdir():
            match = _RUN_DIR.fullmatch(folder.name)
            if not match or not folder.is_dir() or (not match.group(1) and folder.name in known):
                continue
            run_id = match.group(2)
            with claim(self.artifact_root, run_id) as writer:
                if writer == "alive":
                    continue
                if writer == "gone":  # the lock is ours: the writer committed or died
                    if self._recorded(run_id) and not match.group(1):
                        continue
                    shutil.rmtree(folder, ignore_errors=True)
                    lock_path(self.artifact_root, run_id).unlink(missing_ok=True)
                    removed.append(folder.name)
                    continue
                try:  # no lock (earlier release) or another host's: the age rule
                    if now - folder.stat().st_mtime < min_age_s:
                        continue
                except FileNotFoundError:  # another process moved or removed it meanwhile
                    continue
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name)
        for path, run_id in lock_files(self.artifact_root):  # a writer killed before mkdir
            if (self.artifact_root / run_id).exists() or \
                    (self.artifact_root / f".tmp-{run_id}").exists():
                continue
            with claim(self.artifact_root, run_id) as writer:
                if writer == "gone":
                    path.unlink(missing_ok=True)
        return removed

    def delete(self, run_id: str) -> None:
        """Remove a run of this project, its rows and its artifact folder."""
        run_id = self.resolve_id(run_id)
        with write_transaction(self.engine) as conn:
            for table in (metrics_table, artifacts_table):
                conn.execute(delete(table).where(table.c.run_id == run_id))
            conn.execute(delete(runs_table).where(runs_table.c.id == run_id))
        shutil.rmtree(self.artifact_root / run_id, ignore_errors=True)

    # -- reading ---------------------------------------------------------------------------
    def list_runs(self, dataset: Optional[str] = None, method: Optional[str] = None,
                  limit: int = 200, all_projects: bool = False) -> list[RunSummary]:
        """Newest first, in this store's project (or all), optionally filtered by dataset or
        by a method that ran."""
        cols = [c for c in runs_table.c if c.name != "result_json"]
        q = select(*cols).order_by(runs_table.c.created_at.desc(), runs_table.c.id)
        if not all_projects:
            q = q.where(runs_table.c.project == self.project)
        if dataset:
            q = q.where(runs_table.c.dataset == dataset)
        if method:
            q = q.where(runs_table.c.methods.contains(method, autoescape=True))
        out = []
        with self.engine.connect() as conn:
            for row in conn.execute(q).mappings():
                summary = _summary(row)
                if method and method not in summary.methods.split(","):
                    continue
                out.append(summary)
                if len(out) >= limit:
                    break
        return out

    def projects(self) -> list[tuple[str, int]]:
        """(project, number of runs), by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(runs_table.c.project, func.count())
                                .group_by(runs_table.c.project)
                                .order_by(runs_table.c.project)).all()
        return [(p, int(n)) for p, n in rows]

    def resolve_id(self, prefix: str, any_project: bool = False) -> str:
        """A full run id of this project from a unique prefix."""
        prefix = str(prefix).strip().lower()
        if not re.fullmatch(r"[0-9a-f]{1,32}", prefix):
            raise ConfigError(f"no run with id '{prefix}' (ids are hexadecimal: see runs list)")
        q = select(runs_table.c.id, runs_table.c.project).where(
            runs_table.c.id.startswith(prefix))
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        mine = [r.id for r in rows if any_project or r.project == self.project]
        if len(mine) == 1:
            return mine[0]
        if mine:
            raise ConfigError(f"id prefix '{prefix}' matches {len(mine)} runs: give more of it")
        if rows:
            others = sorted({r.project for r in rows})
            raise ConfigError(f"no run with id '{prefix}' in project '{self.project}' (it is "
                              f"in project '{others[0]}': use --project '{others[0]}')")
        raise ConfigError(f"no run with id '{prefix}'")

    def summary(self, run_id: str) -> RunSummary:
        """The list row of one run."""
        run_id = self.resolve_id(run_id)
        cols = [c for c in runs_table.c if c.name != "result_json"]
        with self.engine.connect() as conn:
            row = conn.execute(select(*cols).where(runs_table.c.id == run_id)).mappings().one()
        return _summary(row)

    def load(self, run_id: str) -> StoredRun:
        """The record as stored, with the result rebuilt when today's code can; never fails
        on an old or partial record."""
        run_id = self.resolve_id(run_id)
        with self.engine.connect() as conn:
            row = conn.execute(select(runs_table).where(runs_table.c.id == run_id)
                               ).mappings().one()
        summary = _summary(row)
        try:
            data = json.loads(row["result_json"])
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except ValueError as err:
            return StoredRun(summary, {}, None, result_lacks({}),
                             f"its result JSON cannot be read ({err})")
        if data.get("kind") == "text":  # a text audit: its record is read as it is stored
            return StoredRun(summary, data, None)
        lacks = result_lacks(data)
        try:
            result, problem = AuditResult.from_dict(data), None
        except Exception as err:
            result, problem = None, f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
        return StoredRun(summary, data, result, lacks, problem)

    def get(self, run_id: str) -> AuditResult:
        """The run's result; a ``ConfigError`` saying what the record lacks when today's code
        cannot rebuild it (``load`` shows what it has)."""
        stored = self.load(run_id)
        if stored.result is None and stored.data.get("kind") == "text":
            raise ConfigError(f"run {stored.summary.id[:12]} is a text audit, not a classifier "
                              "audit: `runs show` shows it, its report verifies with `verify`")
        if stored.result is None:
            lacks = f" it lacks {', '.join(stored.lacks)};" if stored.lacks else ""
            raise ConfigError(f"run {stored.summary.id[:12]} (record format "
                              f"{stored.summary.record_format}) cannot be opened as a result by "
                              f"this version:{lacks} {stored.problem}")
        return stored.result

    def _local_path(self, run_id: str, stored: str) -> Path:
        """Where an artifact's file is on this machine: relative paths (format 2) under the
        artifact folder; absolute ones (format 1) there too when present, else as recorded."""
        p = Path(stored)
        if not p.is_absolute():
            return self.artifact_root / p
        here = self.artifact_root / run_id / p.name
        return here if here.exists() or not p.exists() else p

    def artifacts(self, run_id: str, restore: bool = True) -> list[Artifact]:
        """A run's artifacts with their paths on this machine; with ``restore``, files missing
        here (a run recorded on another machine) are written from the database first."""
        run_id = self.resolve_id(run_id)
        cols = [artifacts_table.c[n] for n in ("name", "kind", "path", "sha256")]
        with self.engine.connect() as conn:
            rows = conn.execute(select(*cols).where(artifacts_table.c.run_id == run_id)
                                .order_by(artifacts_table.c.name)).mappings().all()
        out = []
        for r in rows:
            path = self._local_path(run_id, r["path"])
            if restore and not path.exists():
                self._restore(run_id, r["name"], r["sha256"], path)
            out.append(Artifact(r["name"], r["kind"], str(path), r["sha256"]))
        return out

    def _restore(self, run_id: str, name: str, sha256: str, path: Path) -> bool:
        with self.engine.connect() as conn:
            blob = conn.execute(select(artifacts_table.c.content).where(
                (artifacts_table.c.run_id == run_id) & (artifacts_table.c.name == name))
            ).scalar_one_or_none()
        if blob is None or hashlib.sha256(bytes(blob)).hexdigest() != sha256:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
        tmp.write_bytes(bytes(blob))
        os.replace(tmp, path)
        return True

    def artifact_bytes(self, run_id: str, name: str) -> Optional[bytes]:
        """An artifact's bytes: from the database, else from its file; None if neither."""
        run_id = self.resolve_id(run_id, any_project=True)
        with self.engine.connect() as conn:
            row = conn.execute(select(artifacts_table.c.content, artifacts_table.c.path).where(
                (artifacts_table.c.run_id == run_id) & (artifacts_table.c.name == name))
            ).one_or_none()
        if row is None:
            return None
        if row.content is not None:
            return bytes(row.content)
        path = self._local_path(run_id, row.path)
        return path.read_bytes() if path.exists() else None

    def metrics(self, run_ids: list[str]) -> list[tuple[str, str, str, Optional[float]]]:
        """(run id, model, metric, value) rows for comparing runs side by side."""
        full = [self.resolve_id(r) for r in run_ids]
        with self.engine.connect() as conn:
            rows = conn.execute(select(metrics_table).where(
                metrics_table.c.run_id.in_(full))).mappings().all()
        return [(r["run_id"], r["model"], r["metric"], r["value"]) for r in rows]

    def check(self, run_id: str) -> RunCheck:
        """Re-check a record: its result JSON against the hash recorded with it, and each
        artifact (the file here and the bytes in the database) against its SHA-256."""
        run_id = self.resolve_id(run_id)
        out = RunCheck(run_id)
        with self.engine.connect() as conn:
            row = conn.execute(select(runs_table.c.result_json, runs_table.c.result_sha256)
                               .where(runs_table.c.id == run_id)).one()
        if row.result_sha256 is None:
            out.notes.append("result JSON: recorded before result hashes (record format 1)")
        elif sha256_text(row.result_json) != row.result_sha256:
            out.differences.append("result JSON was changed since it was recorded")
        else:
            out.notes.append("result JSON unchanged")
        arts = self.artifacts(run_id)
        if not arts:
            out.differences.append("no artifacts recorded")
        for art in arts:
            path = Path(art.path)
            if not path.exists():
                out.differences.append(f"artifact {art.name} is missing ({path})")
            elif sha256_file(path) != art.sha256:
                out.differences.append(f"artifact {art.name} changed since the audit ({path})")
            else:
                out.notes.append(f"artifact {art.name} unchanged")
            blob = self.artifact_bytes(run_id, art.name)
            if blob is not None and hashlib.sha256(blob).hexdigest() != art.sha256:
                out.differences.append(f"artifact {art.name}: the copy in the database changed")
        return out
