"""Sample-id and dropped columns of a table (CSV): which column holds the ids, which columns
are not features, and whether a column named ``id`` holds ids. An id column used as a feature
lets a model learn the row order or the id scheme, so it is detected and proposed as the id
column (with a warning), never silently kept as a feature."""

from __future__ import annotations

import warnings
from typing import Optional, Sequence

import numpy as np

from unlearn_core.errors import DataError

ID_NAMES = ("id", "ids")  # column names (any case) taken for a sample-id column
_INT64 = (-(2 ** 63), 2 ** 63 - 1)


class IdColumnWarning(UserWarning):
    """A column named like sample ids was taken as the ids, or kept as a feature."""


def parse_ids(values: Sequence[str]) -> Optional[np.ndarray]:
    """The values as int64 whole numbers ("12", "12.0", "-3"), or None when one is not a
    whole number or lies outside int64 (no float detour: ids above 2**53 stay exact)."""
    out = []
    for v in values:
        v = str(v).strip()
        try:
            n = int(v)
        except ValueError:
            try:
                f = float(v)
            except ValueError:
                return None
            if not np.isfinite(f) or f != round(f):
                return None
            n = int(f)
        if not _INT64[0] <= n <= _INT64[1]:
            return None
        out.append(n)
    return np.array(out, dtype=np.int64)


def looks_like_ids(values: Sequence[str]) -> bool:
    """Distinct whole numbers (a row number, an exported index, a user id): what a column of
    sample ids holds."""
    ids = parse_ids(values)
    return ids is not None and len(ids) > 1 and len(np.unique(ids)) == len(ids)


def is_id_name(column: str) -> bool:
    """A column named like sample ids (``id``, ``ID``, ``ids``)."""
    return column.strip().lower() in ID_NAMES


def propose_id_column(header: Sequence[str], columns: dict[str, Sequence[str]]) -> Optional[str]:
    """The column to propose as the id column: the first one named ``id``/``ids`` whose values
    (``columns[name]``) are distinct whole numbers."""
    return next((h for h in header if is_id_name(h) and h in columns
                 and looks_like_ids(columns[h])), None)


def check_columns(header: Sequence[str], label_column: str, id_column: Optional[str],
                  drop_columns: Sequence[str], label: str) -> set[str]:
    """The columns to drop, after checking that each named column exists and that the label,
    id and dropped columns are distinct; a ``DataError`` of one line otherwise."""
    if isinstance(drop_columns, str):
        drop_columns = [c for c in drop_columns.split(",") if c.strip()]
    dropped = {str(c).strip() for c in drop_columns}
    names = ", ".join(header[:30]) + (" ..." if len(header) > 30 else "")
    for col in sorted(dropped) + ([id_column] if id_column is not None else []):
        if col not in header:
            raise DataError(f"{label} has no column {col!r}; the columns are: {names}")
    if label_column in dropped:
        raise DataError(f"{label}: the label column {label_column!r} cannot be dropped")
    if id_column is not None and id_column == label_column:
        raise DataError(f"{label}: the id column {id_column!r} is the label column; choose "
                        "another")
    if id_column is not None and id_column in dropped:
        raise DataError(f"{label}: column {id_column!r} is both the id column and dropped; "
                        "choose one")
    return dropped


def ids_of_column(values: np.ndarray, column: str, lines: Sequence[int],
                  label: str) -> np.ndarray:
    """The id column's values as int64 ids; a ``DataError`` naming the first value that is not
    a whole number (with the way out: drop the column and number the rows)."""
    ids = parse_ids(values)
    if ids is None:
        bad = next(i for i, v in enumerate(values) if parse_ids([v]) is None)
        raise DataError(f"{label}: the id column {column!r} holds {str(values[bad])!r} on line "
                        f"{lines[bad]}; ids must be whole numbers: drop the column instead "
                        "(drop_columns, --drop-columns) to number the rows 0, 1, 2, ...")
    return ids


def detect_id_column(header: Sequence[str], table: np.ndarray, skip: set[str],
                     label: str) -> Optional[str]:
    """With no id column named: the first column named ``id``/``ids`` (not skipped) that holds
    distinct whole numbers, taken as the ids with a warning; one named so that does not is kept
    as a feature, with a warning too (never silently)."""
    for j, name in enumerate(header):
        if name in skip or not is_id_name(name):
            continue
        values = table[:, j]
        if looks_like_ids(values):
            warnings.warn(f"{label}: column {name!r} holds distinct whole numbers: it is used "
                          "as the sample ids, not as a feature (name another id column, or "
                          "drop it, to change that)", IdColumnWarning, stacklevel=3)
            return name
        if parse_ids(values) is not None:
            warnings.warn(f"{label}: column {name!r} is named like sample ids but repeats "
                          "values: it is used as a feature (drop it if it is not one)",
                          IdColumnWarning, stacklevel=3)
    return None
