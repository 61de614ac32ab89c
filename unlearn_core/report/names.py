"""File names of exported reports: named by data set and run, so that the downloads of several
audits do not all arrive as ``audit_report.html`` and overwrite or shadow one another."""

from __future__ import annotations

import re
from pathlib import PurePath

RUN_ID_CHARS = 12  # the run id's prefix in names (as ``runs list`` shows it)


def report_stem(dataset: str, run_id: str = "") -> str:
    """``audit_<dataset>_<run id>``: the data set's name without a file suffix, reduced to
    letters, digits, ``-`` and ``_`` (a hostile name cannot reach a path or a header); an
    audit not recorded in the run store is ``unrecorded``."""
    name = PurePath(str(dataset or "data").replace("\\", "/")).name
    for suffix in (".tar.gz", ".tgz", ".npz", ".csv", ".zip", ".parquet", ".bin", ".tar",
                   ".jsonl"):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name = name[:-len(suffix)]
            break
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")[:60] or "data"
    run = re.sub(r"[^0-9a-f]", "", str(run_id or "").lower())[:RUN_ID_CHARS] or "unrecorded"
    return f"audit_{name}_{run}"


def report_file_name(dataset: str, run_id: str, ext: str) -> str:
    """The download name of a report: ``audit_<dataset>_<run id>.<ext>``."""
    return f"{report_stem(dataset, run_id)}.{ext.lstrip('.')}"
