"""``python -m unlearn_core runs ...``: list, show, compare, check, export and import recorded
audits, scoped to a project."""

from __future__ import annotations

import argparse
import os
import sys

from unlearn_core.errors import ConfigError
from unlearn_core.report.table import audit_table, format_table, pct

ACTIONS = ("list", "show", "compare", "verify", "export", "import", "projects")


def store_arguments(p: argparse.ArgumentParser) -> None:
    """``--db``, ``--data-dir`` and ``--project``, shared by ``audit`` and ``runs``."""
    p.add_argument("--db", help="SQLAlchemy URL of the run database, e.g. "
                   "postgresql://user@host:5432/audits ($UNLEARN_DB_URL; default: SQLite in the "
                   "data folder)")
    p.add_argument("--data-dir", dest="data_dir",
                   help="folder of the run database and artifacts ($UNLEARN_DATA_DIR or ./runs)")
    p.add_argument("--project", help="project the runs belong to ($UNLEARN_PROJECT or default)")


def add_runs_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``runs``."""
    p.add_argument("action", choices=ACTIONS, help="list, show ID, compare ID ID.., verify ID, "
                   "export [ID..] --out BUNDLE.zip (no id: the whole project), import BUNDLE.zip, "
                   "projects")
    p.add_argument("ids", nargs="*", help="run id(s) or unique prefixes; for import the bundle")
    p.add_argument("--dataset", help="list only runs on this dataset")
    p.add_argument("--method", help="list only runs where this method ran")
    p.add_argument("--all-projects", dest="all_projects", action="store_true",
                   help="list the runs of every project")
    p.add_argument("--out", help="export: the ZIP bundle to write")
    store_arguments(p)


def open_store(args: argparse.Namespace, create: bool = True):
    """The run store the arguments name (validated, connected, migrated); ``create=False``
    for reading, which never makes a database (``NoRunDatabase`` when there is none). Results
    kept by an earlier failed record are recorded now, and said on stderr."""
    from unlearn_core.store.db import RunStore

    store = RunStore(getattr(args, "db", None), getattr(args, "data_dir", None),
                     project=getattr(args, "project", None), create=create)
    for path, run_id in store.recovered:
        print(f"note: recorded the result kept in {path} (an audit that could not be recorded "
              f"then) as run {run_id[:12]}", file=sys.stderr)
    return store


def _show(store, run_id: str) -> None:
    stored = store.load(run_id)
    s, result = stored.summary, stored.result
    print(f"run {s.id} (project {s.project}, record format {s.record_format}, recorded "
          f"{s.created_at})")
    print(f"{s.dataset or '?'}: forget {s.forget or '?'} ({s.n_forget} samples), seed {s.seed}, "
          f"model {s.model or '?'}, verdict {s.verdict or '-'}")
    if result is not None:
        try:
            print(audit_table(result))
        except Exception as err:  # a table this version cannot draw from an older record
            print(f"(the table cannot be drawn from this record: {type(err).__name__})")
            result = None
    if stored.data.get("kind") == "text":
        _text_metrics_table(store, [s.id])
        for v in stored.data.get("verdicts") or []:
            print(f"verdict {v.get('method')}: {v.get('headline') or v.get('status')}")
    elif result is None:
        if stored.problem:
            print(f"this version cannot rebuild the full result ({stored.problem}); what the "
                  "record has:")
        _metrics_table(store, [s.id])
    if stored.lacks:
        print(f"this record lacks: {', '.join(stored.lacks)} (recorded before they existed, or "
              "not computed)")
    for art in store.artifacts(s.id):
        where = art.path if os.path.exists(art.path) else f"{art.path} (not on this machine)"
        print(f"artifact {art.name}: {where} sha256 {art.sha256[:16]}")


def _metrics_table(store, ids: list[str]) -> None:
    rows: dict = {}
    for run_id, model, metric, value in store.metrics(ids):
        if metric in ("forget_acc", "retain_acc", "test_acc", "mia_efficacy"):
            rows.setdefault((run_id[:12], model), {})[metric] = value
    print(format_table(["run", "model", "forget%", "retain%", "test%", "MIA-eff%"], [
        [r, m, pct(v.get("forget_acc")), pct(v.get("retain_acc")), pct(v.get("test_acc")),
         pct(v.get("mia_efficacy"))] for (r, m), v in sorted(rows.items())]))


def _text_metrics_table(store, ids: list[str]) -> None:
    """A text audit's figures per model, as the store recorded them."""
    from unlearn_core.store.db import TEXT_METRICS

    rows: dict = {}
    for run_id, model, metric, value in store.metrics(ids):
        rows.setdefault((run_id[:12], model), {})[metric] = value
    cols = [m for m in TEXT_METRICS.values() if m != "seconds"]

    def cell(v):
        return "n/a" if v is None else f"{v:.3g}"

    print(format_table(["run", "model", *cols],
                       [[r, m, *[cell(v.get(c)) for c in cols]]
                        for (r, m), v in rows.items()]))


def cmd_runs(args: argparse.Namespace) -> int:
    """Run one ``runs`` action; 0 on success, 1 when ``verify`` finds a difference. Reading
    never creates a database; a damaged one is one line naming its file."""
    from sqlalchemy.exc import DatabaseError

    from unlearn_core.store.db import NoRunDatabase

    try:
        store = open_store(args, create=args.action == "import")
    except NoRunDatabase as err:
        if args.action in ("list", "projects"):
            print(f"no runs recorded in {err.path}")
            return 0
        raise
    try:
        return _run_action(store, args)
    except DatabaseError as err:
        raise store.damaged(err) from None


def _run_action(store, args: argparse.Namespace) -> int:
    if args.action == "projects":
        rows = [[name, n] for name, n in store.projects()]
        print(format_table(["project", "runs"], rows) if rows else "no runs recorded")
        return 0
    if args.action == "list":
        runs = store.list_runs(args.dataset, args.method, all_projects=args.all_projects)
        rows = [[r.id[:12], r.project, r.created_at[:19], r.dataset, r.model, r.forget,
                 r.methods, r.seed, r.verdict or "-", f"{r.seconds:.1f}"] for r in runs]
        scope = "any project" if args.all_projects else f"project '{store.project}'"
        print(format_table(["id", "project", "created", "dataset", "model", "forget", "methods",
                            "seed", "verdict", "seconds"], rows) if rows else
              f"no runs recorded in {scope}")
        return 0
    if args.action == "export":
        from unlearn_core.store.bundle import export_runs

        if not args.out:
            raise ConfigError("runs export needs --out BUNDLE.zip")
        path = export_runs(store, args.out, args.ids or None)
        what = f"{len(args.ids)} run(s)" if args.ids else f"project '{store.project}'"
        print(f"exported {what} to {path}")
        return 0
    if not args.ids:
        raise ConfigError(f"runs {args.action} needs "
                          f"{'a bundle' if args.action == 'import' else 'a run id'} "
                          "(see: runs list)")
    if args.action == "import":
        from unlearn_core.store.bundle import import_bundle

        outcomes = import_bundle(store, args.ids[0], project=args.project)
        for o in outcomes:
            print(f"{o.status} run {o.run_id[:12]} into project '{o.project}'")
        print(f"{sum(o.status == 'imported' for o in outcomes)} imported, "
              f"{sum(o.status == 'present' for o in outcomes)} already present in {store.url}")
        return 0
    if args.action == "show":
        _show(store, args.ids[0])
        return 0
    if args.action == "verify":
        failed = 0
        for run_id in args.ids:
            check = store.check(run_id)
            for note in check.notes:
                print(f"ok: {note}")
            for diff in check.differences:
                print(f"differs: run {check.run_id[:12]}: {diff}", file=sys.stderr)
            print(f"run {check.run_id[:12]}: {'intact' if check.ok else 'NOT intact'}")
            failed += not check.ok
        return 1 if failed else 0
    _metrics_table(store, args.ids)
    return 0


def keep_result(result, store, args: argparse.Namespace) -> str:
    """Write the result JSON where it survives a failed record: ``--out`` when given (already
    written), else ``<data dir>/unrecorded/result-<time>.json`` (``./unrecorded`` when that
    cannot be written), which the next store open records (``store.unrecorded``). Returns the
    path."""
    from pathlib import Path

    from unlearn_core.store.unrecorded import keep

    if getattr(args, "out", None) and Path(args.out).exists():
        return str(args.out)
    for folder in (Path(store.data_dir), Path.cwd()):  # each written whole or not at all
        try:
            return str(keep(result, folder, store.url, store.project))
        except OSError:
            continue
    raise ConfigError("the run could not be recorded and its result could not be written "
                      "anywhere: use --out")


def record_or_keep(store, run, args: argparse.Namespace) -> tuple[str | None, list]:
    """Record a finished audit; when storage fails, keep its result JSON beside (see
    ``keep_result``), say where on stderr, and return ``(None, [])``: the computation is never
    lost to a storage failure."""
    try:
        run_id = store.record(run)
        artifacts = store.artifacts(run_id)
    except Exception as err:
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()
        path = keep_result(run.result, store, args)
        print(f"error: the run could not be recorded in {store.url} "
              f"({reason[0] if reason else type(err).__name__}); its result is kept in {path}",
              file=sys.stderr)
        return None, []
    print(f"recorded run {run_id[:12]} in project '{store.project}' of {store.url}")
    return run_id, artifacts
