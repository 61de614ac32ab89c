"""Load any data source: a built-in set by name, or a file by its suffix (.npz, .csv, .zip,
.parquet, CIFAR-10 binary .bin / .tar.gz), each handed to its reader."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence

from unlearn_core.data.builtin import BUILTIN_DATASETS, load_builtin
from unlearn_core.data.dataset import Dataset
from unlearn_core.data.id_columns import propose_id_column
from unlearn_core.data.loaders import (
    _SUFFIX_TEXT,
    FILE_SUFFIXES,
    Source,
    _decode_text,
    _pick_label,
    _read_source,
    _sniff_delimiter,
    load_csv,
    load_image_zip,
    load_npz,
)
from unlearn_core.errors import DataError


def load_dataset(source: str, label_column: str | None = None, seed: int = 0,
                 id_column: str | None = None, drop_columns: Sequence[str] = (),
                 **kw: object) -> Dataset:
    """A built-in dataset by name, or a .npz / .csv / .zip / .parquet file, a CIFAR-10 binary
    batch (.bin) or an archive of them (.tar, .tar.gz, .tgz) by path.

    Extra keywords go to the loader that uses them (``n_samples``/``cache_dir`` for
    built-ins, ``image_size`` for ZIPs and Parquet images, ``name`` for files) and are
    ignored by the others. A CSV or Parquet file without ``label_column`` uses a column named
    label, target, class or y if any. ``id_column`` and ``drop_columns`` (a CSV's id column
    and the columns to ignore: ``load_csv``) are refused for other sources.
    """
    if not isinstance(source, (str, Path)):
        raise DataError(f"a dataset is named by a string, got {type(source).__name__}")
    source = str(source)
    unknown = set(kw) - {"n_samples", "cache_dir", "image_size", "name"}
    if unknown:
        raise TypeError(f"load_dataset() got unexpected keyword(s): {', '.join(sorted(unknown))}")
    if source in BUILTIN_DATASETS:
        if id_column or drop_columns:
            raise DataError(f"an id column and dropped columns apply to CSV files only, not "
                            f"to the built-in {source!r}")
        return load_builtin(source, seed=seed, n_samples=kw.get("n_samples"),
                            cache_dir=kw.get("cache_dir"))
    suffix = Path(source).suffix.lower()
    if source.lower().endswith((".tar.gz", ".tgz", ".tar")):
        suffix = ".tar"
    if suffix not in FILE_SUFFIXES:
        if not suffix:
            raise DataError(f"unknown dataset {source!r}: use a built-in name "
                            f"({', '.join(BUILTIN_DATASETS)}) or a {_SUFFIX_TEXT} file")
        raise DataError(f"unsupported file type '{suffix}': use {_SUFFIX_TEXT}")
    stem = Path(source).stem
    stem = stem[:-4] if suffix == ".tar" and stem.lower().endswith(".tar") else stem
    name = str(kw.get("name") or stem or "uploaded")
    if suffix in (".bin", ".tar"):  # CIFAR-10 binary (``data.cifar_binary``)
        from unlearn_core.data.cifar_binary import load_cifar_binary

        return load_cifar_binary(source, name=name)
    if suffix == ".parquet":  # ``data.parquet``
        from unlearn_core.data.parquet import load_parquet

        return load_parquet(source, label_column=label_column, image_size=kw.get("image_size"),
                            name=name)
    if suffix == ".npz":
        return load_npz(source, name=name)
    if suffix == ".zip":
        return load_image_zip(source, image_size=kw.get("image_size", 28), name=name)
    if (id_column or drop_columns) and suffix != ".csv":
        raise DataError(f"an id column and dropped columns apply to CSV files only, not to "
                        f"'{suffix}' files")
    if label_column is None:
        label_column = _guess_label_column(source)
    return load_csv(source, label_column, name=name, id_column=id_column,
                    drop_columns=drop_columns)


def _guess_label_column(path: str) -> str:
    data, label = _read_source(path, "CSV")
    first = _decode_text(data[:65536], label).split("\n", 1)[0]
    header = [h.strip() for h in next(csv.reader([first], delimiter=_sniff_delimiter(first)),
                                      [])]
    return _pick_label(header, None, label)


def csv_columns(source: Source, preview_rows: int = 2000) -> tuple[list[str], str | None]:
    """A CSV's column names and the column to propose as its sample ids (one named
    ``id``/``ids`` whose first ``preview_rows`` values are distinct whole numbers), read from
    its first megabyte: what the Setup page offers before loading."""
    data, label = _read_source(source, "CSV")
    text = _decode_text(data[:1 << 20], label)
    lines = text.split("\n")
    if len(data) > 1 << 20:
        lines = lines[:-1]  # the last line may be cut
    first = next((ln for ln in lines if ln.strip()), "")
    reader = csv.reader(lines, delimiter=_sniff_delimiter(first))
    try:
        header = next((h for h in reader if any(c.strip() for c in h)), [])
        header = [h.strip() for h in header]
        rows = [r for _, r in zip(range(preview_rows), reader) if len(r) == len(header)]
    except csv.Error as err:
        raise DataError(f"{label}: not a valid CSV file ({err})") from None
    values = {h: [r[j].strip() for r in rows] for j, h in enumerate(header)}
    return header, propose_id_column(header, values)
