"""User datasets from NPZ, CSV or a ZIP of class folders of images.

Every loader takes a path, raw bytes or a binary file-like object (a Streamlit upload), reads
it in memory without unpickling anything, and turns every problem with the file into a
``DataError`` carrying one readable line.
"""

from __future__ import annotations

import csv
import io
import math
import re
import struct
import zipfile
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Sequence, Union
from zlib import error as zlib_error

import numpy as np

from unlearn_core.data.builtin import zscore
from unlearn_core.data.dataset import Dataset
from unlearn_core.data.id_columns import check_columns, detect_id_column, ids_of_column
from unlearn_core.errors import DataError

Source = Union[str, Path, bytes, bytearray, BinaryIO]

MAX_SAMPLES = 200_000
MAX_BYTES = 512 * 2**20  # size of the file as uploaded
MAX_UNCOMPRESSED_BYTES = 2 * MAX_BYTES  # total size of an archive's contents (zip bombs)
MAX_IMAGE_BYTES = 64 * 2**20  # one image file inside a ZIP, counted while decompressing
MAX_DECODED_PIXELS = 2**30  # pixels decoded in all from one file's encoded images
MAX_ZIP_ENTRIES = 2 * MAX_SAMPLES + 10_000  # files and folders (macOS doubles them)
MAX_CLASSES = 1000  # labels must be 0..MAX_CLASSES-1 (dense), or text / folder names
MAX_FEATURES = 100_000  # columns of a tabular sample
MAX_SAMPLE_VALUES = 3 * 1024 * 1024  # values of one sample (an image: channels x h x w)
MAX_IMAGE_SIDE = 1024  # height or width of an image (NPZ arrays; ZIP and Parquet headers)
MAX_VALUES = 2**29  # values of the whole feature array (2 GiB as float32)
MAX_ABS_FEATURE = 1e6  # NPZ features are used as given: larger magnitudes are refused
ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
_LABEL_GUESSES = ("label", "labels", "target", "class", "y")
# the data files ``load_dataset`` reads (.tar stands for .tar, .tar.gz and .tgz)
FILE_SUFFIXES = (".npz", ".csv", ".zip", ".parquet", ".bin", ".tar")
_SUFFIX_TEXT = ".npz, .csv, .zip, .parquet, or CIFAR-10 binary .bin / .tar.gz"


# --------------------------------------------------------------------------- input


def open_path(path: Path, kind: str, shown: str | None = None) -> tuple[BinaryIO, str]:
    """An open binary handle on a data file within ``MAX_BYTES`` and a display name for
    messages; every refusal (too large, a folder, missing, unreadable) is one ``DataError``
    naming ``shown`` (the path as the user gave it) or the path."""
    label, shown = f"'{path.name}'", shown if shown is not None else str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise DataError(f"{label} is {size / 2**20:.0f} MiB; the limit is "
                            f"{MAX_BYTES // 2**20} MiB")
        return path.open("rb"), label
    except IsADirectoryError:
        raise DataError(f"{label} is a folder, not a {kind} file") from None
    except FileNotFoundError:
        raise DataError(f"no such file: '{shown}'") from None
    except OSError as err:
        raise DataError(f"cannot read '{shown}': {err.strerror or err}") from None


def _read_source(source: Source, kind: str) -> tuple[bytes, str]:
    """The bytes of a path / bytes / file-like source and a display name for messages."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, label = bytes(source), f"the uploaded {kind} data"
    elif isinstance(source, (str, Path)):
        fh, label = open_path(Path(source).expanduser(), kind, shown=str(source))
        try:
            with fh:
                data = fh.read()
        except OSError as err:
            raise DataError(f"cannot read '{source}': {err.strerror or err}") from None
    elif hasattr(source, "read"):
        name = getattr(source, "name", None)
        label = f"'{Path(str(name)).name}'" if name else f"the uploaded {kind} file"
        try:
            if hasattr(source, "seek"):
                source.seek(0)
            data = source.read(MAX_BYTES + 1)
        except (OSError, ValueError) as err:
            raise DataError(f"cannot read {label}: {err}") from None
        if isinstance(data, str):
            raise DataError(f"{label} was opened in text mode; open it in binary mode ('rb')")
        data = bytes(data)
    else:
        raise DataError(f"cannot read a {kind} dataset from a {type(source).__name__}; "
                        "give a path, bytes or a binary file object")
    if len(data) > MAX_BYTES:
        raise DataError(f"{label} is larger than the {MAX_BYTES // 2**20} MiB limit")
    if not data:
        raise DataError(f"{label} is empty")
    return data, label


# --------------------------------------------------------------------------- archives


def _zip_entry_count(data: bytes) -> int | None:
    """The number of entries an archive's end-of-central-directory record declares (ZIP64
    too), read before ``zipfile`` parses the directory; None when no record is found."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if at < 0 or at + 22 > len(data):
        return None
    count = struct.unpack("<H", data[at + 10:at + 12])[0]
    if count == 0xFFFF and at >= 20 and data[at - 20:at - 16] == b"PK\x06\x07":
        offset = struct.unpack("<Q", data[at - 12:at - 4])[0]
        if offset + 40 <= len(data) and data[offset:offset + 4] == b"PK\x06\x06":
            count = struct.unpack("<Q", data[offset + 32:offset + 40])[0]
    return count


def _open_zip(data: bytes, label: str, what: str) -> tuple[zipfile.ZipFile, list]:
    """A ``ZipFile`` over ``data`` and its entries, refusing too many entries (counted from
    the end record before the directory is parsed), compression other than stored/deflate
    (bzip2 and lzma decompress without an output bound) and declared sizes over the limit."""
    count = _zip_entry_count(data)
    if count is not None and count > MAX_ZIP_ENTRIES:
        raise DataError(f"{label} has {count} entries; the limit is {MAX_ZIP_ENTRIES}")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, struct.error, EOFError):
        raise DataError(f"{label} is not {what}") from None
    if len(infos) > MAX_ZIP_ENTRIES:
        raise DataError(f"{label} has {len(infos)} entries; the limit is {MAX_ZIP_ENTRIES}")
    odd = next((i for i in infos if not i.is_dir() and i.compress_type not in ZIP_METHODS), None)
    if odd is not None:
        raise DataError(f"{label}: entry {odd.filename!r} uses an unsupported compression "
                        f"(method {odd.compress_type}); use stored or deflate (zip's default)")
    total = sum(info.file_size for info in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise DataError(f"{label} unpacks to {total / 2**20:.0f} MiB; the limit is "
                        f"{MAX_UNCOMPRESSED_BYTES // 2**20} MiB")
    return zf, infos


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, label: str) -> bytes:
    """An entry's bytes, decompressed in 1 MiB steps and counted: stops with a ``DataError``
    as soon as more than ``cap`` bytes come out, whatever the header claims."""
    out = bytearray()
    with zf.open(info) as fh:
        while True:
            chunk = fh.read(2**20)
            if not chunk:
                break
            out += chunk
            if len(out) > cap:
                raise DataError(f"{label}: {info.filename!r} unpacks to more than "
                                f"{cap / 2**20:.0f} MiB; that is the limit")
    return bytes(out)


def _npy_from_bytes(raw: bytes, key: str, label: str) -> np.ndarray:
    """An array from ``.npy`` bytes, checking the header's shape against the bytes present
    before numpy allocates it; object arrays are refused (never unpickled)."""
    fmt = np.lib.format
    fp = io.BytesIO(raw)
    try:
        version = fmt.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(fp)
        else:
            shape, _, dtype = fmt._read_array_header(fp, version)
    except (ValueError, OSError, EOFError, SyntaxError, TypeError):
        raise DataError(f"{label}: array {key!r} is corrupt") from None
    if dtype.hasobject:
        raise DataError(f"{label}: array {key!r} holds Python objects, which are not loaded "
                        "for safety; store numbers, or strings as np.array(..., dtype=str)")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > len(raw) - fp.tell():
        raise DataError(f"{label}: array {key!r} declares shape {shape} ({nbytes} bytes) but "
                        f"holds {len(raw) - fp.tell()} bytes: it is truncated or corrupt")
    try:
        return fmt.read_array(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError, EOFError):
        raise DataError(f"{label}: array {key!r} is corrupt") from None


# --------------------------------------------------------------------------- validation


def _first_bad(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _check_features(X: np.ndarray, label: str, feature_names: list[str] | None = None,
                    row_offset: int = 0, row_word: str = "row") -> None:
    bad = ~np.isfinite(X)
    count = int(bad.sum())
    if count:
        where = _first_bad(bad)
        row = where[0] + row_offset
        if X.ndim == 2:
            col = feature_names[where[1]] if feature_names else f"{where[1]}"
            at = f"{row_word} {row}, column {col!r}" if feature_names else \
                f"{row_word} {row}, column {col}"
        else:
            at = f"{row_word} {row}, position {list(where[1:])}"
        raise DataError(f"{label} has {count} missing, NaN or infinite feature value"
                        f"{'s' if count > 1 else ''} (first at {at})")


def _listing(names: Sequence[str]) -> str:
    """Column names for a message: the first 30, then `...`."""
    return ", ".join(names[:30]) + (" ..." if len(names) > 30 else "")


def _pick_label(names: Sequence[str], label_column: str | None, label: str) -> str:
    """The label column: ``label_column`` (refused when ``names`` lacks it), else the first of
    ``names`` that reads, case aside, as one of ``_LABEL_GUESSES`` (refused when none does)."""
    if label_column is not None:
        if label_column not in names:
            raise DataError(f"{label} has no column {label_column!r}; the columns are: "
                            f"{_listing(names)}")
        return label_column
    for guess in _LABEL_GUESSES:
        for n in names:
            if n.lower() == guess:
                return n
    raise DataError(f"{label}: say which column holds the labels (label_column); the columns "
                    f"are: {_listing(names)}")


def _check_label_range(y: np.ndarray, label: str, row_word: str = "row",
                       rows: list[int] | None = None) -> None:
    """Numeric labels are class numbers 0..MAX_CLASSES-1; checked before any cast to int64
    (which would wrap huge values) and before ``range(max + 1)`` class names are made."""
    if not len(y):
        return
    neg = y < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise DataError(f"{label}: labels must be 0 or more; {row_word} "
                        f"{rows[i] if rows else i} has label {y[i].item()!r}")
    big = y >= MAX_CLASSES
    if big.any():
        i = int(np.flatnonzero(big)[0])
        raise DataError(f"{label}: labels must be class numbers 0..{MAX_CLASSES - 1} (at most "
                        f"{MAX_CLASSES} classes); {row_word} {rows[i] if rows else i} has "
                        f"label {y[i].item()!r}: number the classes 0..K-1 or use text labels")


def _check_whole_labels(values: np.ndarray, written: np.ndarray, label: str,
                        row_word: str = "row", rows: list[int] | None = None) -> None:
    """Float labels are finite whole numbers; ``written`` holds each label as its file gave it
    (for the message), ``rows`` the row (or line) numbers to name."""
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{label}: {int(bad.sum())} label(s) are NaN or infinite "
                        f"(first at {row_word} {rows[i] if rows else i})")
    frac = values != np.round(values)
    if frac.any():
        i = int(np.flatnonzero(frac)[0])
        raise DataError(f"{label}: labels must be whole class numbers; {row_word} "
                        f"{rows[i] if rows else i} has {written[i].item()!r}")


def _labels_to_int(y: np.ndarray, label: str) -> np.ndarray:
    """Integer labels from a numeric array, rejecting NaN/inf, fractions and labels outside
    0..MAX_CLASSES-1."""
    if y.dtype == np.bool_:
        return y.astype(np.int64)
    if np.issubdtype(y.dtype, np.integer):
        _check_label_range(y, label)
        return y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.floating):
        raise DataError(f"{label}: labels must be integers, got {y.dtype} values")
    _check_whole_labels(y, y, label)
    _check_label_range(y, label)
    return y.astype(np.int64)


def _check_values(X: np.ndarray, label: str) -> None:
    """NPZ features are used as given: refuse magnitudes over ``MAX_ABS_FEATURE`` (they
    overflow float32 or make training diverge) rather than silently mangling them."""
    if X.dtype.kind not in "iuf" or not X.size:
        return
    with np.errstate(invalid="ignore"):
        big = (X > MAX_ABS_FEATURE) | (X < -MAX_ABS_FEATURE)
    if X.dtype.kind == "f":
        big &= np.isfinite(X)  # NaN and infinities get their own message
    if big.any():
        where = _first_bad(big)
        raise DataError(f"{label}: feature value {X[where].item():.4g} at row {where[0]} is "
                        f"beyond +/-{MAX_ABS_FEATURE:g}; standardise the features (e.g. "
                        "z-score each column) or use a CSV, which is standardised on load")


def _finish(name: str, X: np.ndarray, y: np.ndarray, ids: np.ndarray | None,
            class_names: list[str] | None, kind: str, feature_names: list[str],
            label: str) -> Dataset:
    """Check the assembled arrays (sizes, label range, classes, ids) and build the Dataset."""
    n = len(X)
    if n == 0:
        raise DataError(f"{label} contains no samples")
    if n > MAX_SAMPLES:
        raise DataError(f"{label} has {n} samples; the limit is {MAX_SAMPLES}")
    if y.ndim != 1:
        raise DataError(f"{label}: labels must be one-dimensional, got shape {y.shape}")
    if len(y) != n:
        raise DataError(f"{label} has {n} samples but {len(y)} labels")
    if (y < 0).any():
        i = int(np.flatnonzero(y < 0)[0])
        raise DataError(f"{label}: labels must be 0 or more; row {i} has label {y[i]}")
    if class_names is None:
        _check_label_range(y, label)
        class_names = [str(i) for i in range(int(y.max()) + 1)]
    elif (y >= len(class_names)).any():
        i = int(np.flatnonzero(y >= len(class_names))[0])
        raise DataError(f"{label}: label {y[i]} at row {i} is out of range for the "
                        f"{len(class_names)} class names given (0..{len(class_names) - 1})")
    present = np.unique(y)
    if len(present) < 2:
        raise DataError(f"{label} has only one class ({class_names[int(present[0])]!r}); "
                        "at least two are needed")
    if ids is None:
        ids = np.arange(n, dtype=np.int64)
    else:
        ids = np.asarray(ids)
        if ids.ndim != 1 or len(ids) != n:
            raise DataError(f"{label}: ids must be one per sample ({n}), got shape {ids.shape}")
        if np.issubdtype(ids.dtype, np.floating):
            if not np.isfinite(ids).all() or (ids != np.round(ids)).any():
                raise DataError(f"{label}: ids must be whole numbers")
        elif not np.issubdtype(ids.dtype, np.integer):
            raise DataError(f"{label}: ids must be integers, got {ids.dtype} values")
        _check_id_range(ids, label)
        ids = ids.astype(np.int64)
        uniq, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            dup = int(uniq[np.argmax(counts > 1)])
            rows = np.flatnonzero(ids == dup)[:3].tolist()
            raise DataError(f"{label}: ids must be unique; id {dup} appears "
                            f"{int((ids == dup).sum())} times (rows {', '.join(map(str, rows))})")
    return Dataset(name=name, X=np.ascontiguousarray(X, dtype=np.float32),
                   y=y.astype(np.int64), ids=ids, class_names=[str(c) for c in class_names],
                   kind=kind, feature_names=feature_names)


def _check_id_range(ids: np.ndarray, label: str) -> None:
    """Ids are 64-bit signed whole numbers: refuse, naming the first, any beyond that range
    (uint64 ids from 2^63 and floats past +/-2^63 would wrap or saturate when cast)."""
    if ids.dtype.kind == "u":
        outside = ids > np.uint64(2**63 - 1)
    elif ids.dtype.kind == "f":
        outside = (ids >= 2.0**63) | (ids < -(2.0**63))
    else:
        return
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise DataError(f"{label}: ids must fit in 64-bit signed integers (-2^63..2^63-1); "
                        f"row {i} has id {ids[i].item()!r} ({int(outside.sum())} such id(s))")


def _strings(arr: np.ndarray) -> list[str]:
    return [str(v) for v in arr.tolist()]


def _encode_string_labels(values: list[str], class_names: list[str] | None,
                          label: str) -> tuple[np.ndarray, list[str]]:
    """Map string labels to indices: into ``class_names`` if given, else sorted unique."""
    if class_names is None:
        class_names = sorted(set(values))
    if len(class_names) > MAX_CLASSES:
        raise DataError(f"{label} has {len(class_names)} distinct labels; the limit is "
                        f"{MAX_CLASSES} classes")
    index = {c: i for i, c in enumerate(class_names)}
    unknown = [v for v in values if v not in index]
    if unknown:
        raise DataError(f"{label}: label {unknown[0]!r} is not one of the class names "
                        f"({', '.join(class_names[:10])})")
    return np.array([index[v] for v in values], dtype=np.int64), class_names


# --------------------------------------------------------------------------- NPZ


def load_npz(source: Source, name: str = "uploaded") -> Dataset:
    """Load ``X``, ``y`` and optional ``ids``, ``class_names``, ``feature_names`` from NPZ.

    2-D ``X`` is tabular, used as given; 3-D ``(n, h, w)`` and 4-D ``(n, c, h, w)`` or
    ``(n, h, w, c)`` are images, divided by 255 when they look like 0..255 pixel values.
    """
    data, label = _read_source(source, "NPZ")
    if not data.startswith(b"PK"):
        hint = " (it is a NumPy .npy array; save with np.savez)" if data.startswith(
            b"\x93NUMPY") else ""
        raise DataError(f"{label} is not an NPZ archive{hint}")
    zf, infos = _open_zip(data, label, "a readable NPZ archive")
    with zf:
        members = {i.filename[:-4]: i for i in infos
                   if i.filename.endswith(".npy") and not i.is_dir()}
        keys = list(members)
        for key in ("X", "y"):
            if key not in keys:
                raise DataError(f"{label} has no array {key!r}; it has: "
                                f"{', '.join(keys) or 'nothing'} (need X and y)")
        arrays = {}
        budget = MAX_UNCOMPRESSED_BYTES
        for key in ("X", "y", "ids", "class_names", "feature_names"):
            if key in members:
                try:
                    raw = _read_member(zf, members[key], budget, label)
                except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib_error):
                    raise DataError(f"{label}: array {key!r} is corrupt") from None
                budget -= len(raw)
                arrays[key] = _npy_from_bytes(raw, key, label)
    return _dataset_from_arrays(arrays, name, label)


def _dataset_from_arrays(arrays: dict[str, np.ndarray], name: str, label: str) -> Dataset:
    X, y = arrays["X"], arrays["y"]
    if X.dtype.kind not in "biuf":
        raise DataError(f"{label}: X must be numeric, got {X.dtype} values")
    if X.ndim not in (2, 3, 4):
        raise DataError(f"{label}: X must be (n, features), (n, h, w) or (n, c, h, w); "
                        f"got shape {X.shape}")
    if len(X) == 0:
        raise DataError(f"{label} contains no samples")
    if len(X) > MAX_SAMPLES:
        raise DataError(f"{label} has {len(X)} samples; the limit is {MAX_SAMPLES}")
    if 0 in X.shape[1:]:
        raise DataError(f"{label}: X has an empty dimension, shape {X.shape}")
    per_sample = math.prod(X.shape[1:])
    if X.ndim == 2 and X.shape[1] > MAX_FEATURES:
        raise DataError(f"{label}: X has {X.shape[1]} features; the limit is {MAX_FEATURES}")
    if X.ndim > 2 and (max(X.shape[1:]) > MAX_IMAGE_SIDE or per_sample > MAX_SAMPLE_VALUES):
        raise DataError(f"{label}: images of shape {X.shape[1:]} are too large (at most "
                        f"{MAX_IMAGE_SIDE} pixels a side, {MAX_SAMPLE_VALUES} values)")
    if X.size > MAX_VALUES:
        raise DataError(f"{label}: X holds {X.size} values; the limit is {MAX_VALUES}")
    _check_values(X, label)
    X = X.astype(np.float32)
    class_names = None
    if "class_names" in arrays:
        cn = arrays["class_names"]
        if cn.ndim != 1 or len(cn) == 0:
            raise DataError(f"{label}: class_names must be a non-empty list of names")
        if len(cn) > MAX_CLASSES:
            raise DataError(f"{label} has {len(cn)} class_names; the limit is {MAX_CLASSES}")
        class_names = _strings(cn)
        if len(set(class_names)) != len(class_names):
            raise DataError(f"{label}: class_names contains duplicates")
    y = np.asarray(y)
    if y.ndim == 0:
        raise DataError(f"{label}: y must hold one label per sample ({len(X)}), got a single "
                        f"value {y.item()!r} (shape ())")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.dtype.kind in "US":
        if y.ndim != 1:
            raise DataError(f"{label}: y must be one-dimensional, got shape {y.shape}")
        y, class_names = _encode_string_labels(_strings(y), class_names, label)
    else:
        y = _labels_to_int(y, label)

    feature_names: list[str] = []
    if X.ndim == 2:
        kind = "tabular"
        if "feature_names" in arrays:
            feature_names = _strings(arrays["feature_names"].reshape(-1))
            if len(feature_names) != X.shape[1]:
                raise DataError(f"{label}: {len(feature_names)} feature_names for "
                                f"{X.shape[1]} features")
        else:
            feature_names = [f"x{i}" for i in range(X.shape[1])]
        _check_features(X, label, feature_names)
    else:
        kind = "image"
        if X.ndim == 3:
            X = X[:, None, :, :]
        elif X.shape[1] not in (1, 3):
            if X.shape[3] in (1, 3):
                X = np.transpose(X, (0, 3, 1, 2))
            else:
                raise DataError(f"{label}: 4-D X must be (n, c, h, w) or (n, h, w, c) with 1 "
                                f"or 3 channels; got shape {X.shape}")
        _check_features(X, label)
        if X.max() > 1.5:
            X = X / np.float32(255.0)
    return _finish(name, X, y, arrays.get("ids"), class_names, kind, feature_names, label)


# --------------------------------------------------------------------------- CSV


def _decode_text(data: bytes, label: str) -> str:
    if b"\x00" in data[:4096]:
        raise DataError(f"{label} is a binary file, not a CSV text file")
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DataError(f"{label} is not a text CSV file")  # pragma: no cover (latin-1 decodes all)


def _sniff_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def load_csv(source: Source, label_column: str, name: str = "uploaded",
             id_column: str | None = None, drop_columns: Sequence[str] = ()) -> Dataset:
    """Load a CSV with a header row: numeric feature columns plus one label column.

    Features are z-scored per column with whole-file statistics (constant columns become 0).
    Text labels become class indices in sorted order; numeric labels must be whole numbers
    and are used as class indices directly. ``id_column`` holds the sample ids (whole
    numbers; None: a column named ``id``/``ids`` of distinct whole numbers, with a warning,
    else the row numbers; "": the row numbers); ``drop_columns`` are ignored
    (``data.id_columns``).
    """
    data, label = _read_source(source, "CSV")
    text = _decode_text(data, label)
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter=_sniff_delimiter(first_line))
    try:
        header = next(reader, None)
        while header is not None and not any(h.strip() for h in header):
            header = next(reader, None)
        if header is None:
            raise DataError(f"{label} is empty")
        header = [h.strip() for h in header]
        width = len(header)
        if len(set(header)) != width:
            dup = next(h for h, c in Counter(header).items() if c > 1)
            raise DataError(f"{label}: column name {dup!r} appears more than once")
        if label_column not in header:
            raise DataError(f"{label} has no column {label_column!r}; the columns are: "
                            f"{_listing(header)}")
        detect, id_column = id_column is None, id_column or None  # "": the row numbers
        dropped = check_columns(header, label_column, id_column, drop_columns, label)
        if width - 1 > MAX_FEATURES:
            raise DataError(f"{label} has {width - 1} feature columns; the limit is "
                            f"{MAX_FEATURES}")
        rows: list[list[str]] = []
        lines: list[int] = []
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != width:
                raise DataError(f"{label}: line {reader.line_num} has {len(row)} fields but "
                                f"the header has {width}")
            rows.append(row)
            lines.append(reader.line_num)
            if len(rows) > MAX_SAMPLES:
                raise DataError(f"{label} has more than {MAX_SAMPLES} rows; that is the limit")
    except csv.Error as err:
        raise DataError(f"{label}: not a valid CSV file (line {reader.line_num}: {err})") from None
    if not rows:
        raise DataError(f"{label} has a header but no data rows")
    if width < 2:
        raise DataError(f"{label} has no feature columns besides the label {label_column!r}")

    table = np.array(rows, dtype=str)
    table = np.char.strip(table)
    li = header.index(label_column)
    if detect:  # a column named id of distinct whole numbers: the ids, not a feature
        id_column = detect_id_column(header, table, dropped | {label_column}, label)
    skip = dropped | {label_column} | ({id_column} if id_column is not None else set())
    feature_names = [h for h in header if h not in skip]
    if not feature_names:
        raise DataError(f"{label} has no feature columns besides the label, id and dropped "
                        "columns")
    ids = None if id_column is None else \
        ids_of_column(table[:, header.index(id_column)], id_column, lines, label)
    columns = []
    for j, col_name in enumerate(header):
        if col_name in skip:
            continue
        col = table[:, j]
        col = np.where(col == "", "nan", col)
        try:
            columns.append(col.astype(np.float64))
        except ValueError:
            bad = next(i for i, v in enumerate(col) if not _is_float(v))
            raise DataError(f"{label}: column {col_name!r} is not numeric ({str(col[bad])!r} "
                            f"on line {lines[bad]}); only numeric feature columns are supported: "
                            "make it the id column or drop it (id_column / drop_columns)"
                            ) from None
    X = np.stack(columns, axis=1)
    bad = ~np.isfinite(X)
    if bad.any():
        r, c = _first_bad(bad)
        raise DataError(f"{label} has {int(bad.sum())} missing, NaN or infinite feature "
                        f"value{'s' if bad.sum() > 1 else ''} (first on line {lines[r]}, "
                        f"column {feature_names[c]!r})")

    raw = table[:, li]
    empty = np.flatnonzero(raw == "")
    if len(empty):
        raise DataError(f"{label}: {len(empty)} row(s) have no label (first on line "
                        f"{lines[empty[0]]})")
    numeric = all(_is_float(v) for v in raw)
    if numeric:
        values = raw.astype(np.float64)
        _check_whole_labels(values, raw, label, "line", lines)
        if (values < 0).any():
            i = int(np.flatnonzero(values < 0)[0])
            raise DataError(f"{label}: numeric labels must be 0 or more; line {lines[i]} has "
                            f"{str(raw[i])!r}")
        _check_label_range(values, label, "line", lines)
        y = values.astype(np.int64)
        class_names = None
    else:
        y, class_names = _encode_string_labels(raw.tolist(), None, label)
    return _finish(name, zscore(X), y, ids, class_names, "tabular", feature_names, label)


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- image ZIP


def _natural_key(name: str) -> tuple[int, object]:
    return (0, int(name)) if name.isdigit() else (1, name)


def load_image_zip(source: Source, image_size: int = 28, name: str = "uploaded") -> Dataset:
    """Load a ZIP of class folders of images (``cat/1.png``, ``dog/7.jpg``...).

    The folders may sit under one top-level folder. Images are resized to
    ``image_size`` x ``image_size`` (aspect ratio not kept) and scaled to [0, 1]; they are
    grayscale unless some image has colour, in which case all are RGB.
    """
    from PIL import Image, UnidentifiedImageError

    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or \
            not 4 <= image_size <= 512:
        raise DataError(f"image_size must be an integer from 4 to 512, got {image_size!r}")
    data, label = _read_source(source, "ZIP")
    zf, infos = _open_zip(data, label, "a ZIP archive")
    with zf:
        members = []
        for info in infos:
            _check_entry_path(info.filename, label)
            parts = PurePosixPath(info.filename.replace("\\", "/")).parts
            if info.is_dir() or not parts or parts[0] == "__MACOSX":
                continue
            if any(p.startswith(".") for p in parts):
                continue
            if not parts[-1].lower().endswith(IMAGE_SUFFIXES):
                continue
            members.append((parts, info))
        if not members:
            raise DataError(f"{label} contains no images ({', '.join(IMAGE_SUFFIXES)})")
        if len(members) > MAX_SAMPLES:
            raise DataError(f"{label} has {len(members)} images; the limit is {MAX_SAMPLES}")
        tops = {parts[0] for parts, _ in members}
        if len(tops) == 1 and all(len(parts) >= 3 for parts, _ in members):
            members = [(parts[1:], info) for parts, info in members]
        loose = [info.filename for parts, info in members if len(parts) < 2]
        if loose:
            raise DataError(f"{label}: image {loose[0]!r} is not inside a class folder; put "
                            "each class's images in a folder named after the class")
        class_names = sorted({parts[0] for parts, _ in members}, key=_natural_key)
        if len(class_names) > MAX_CLASSES:
            raise DataError(f"{label} has {len(class_names)} class folders; the limit is "
                            f"{MAX_CLASSES}")
        members.sort(key=lambda m: (_natural_key(m[0][0]), m[1].filename))
        index = {c: i for i, c in enumerate(class_names)}

        size = int(image_size)
        if len(members) * size * size * 3 > MAX_VALUES:
            raise DataError(f"{label}: {len(members)} images of {size}x{size} pixels are too "
                            f"many to hold in memory; use a smaller image_size or fewer images")
        pixels = np.empty((len(members), size, size, 3), dtype=np.uint8)
        colour = False
        budget, decoded = MAX_UNCOMPRESSED_BYTES, 0
        for k, (parts, info) in enumerate(members):
            try:
                raw = _read_member(zf, info, min(MAX_IMAGE_BYTES, budget), label)
                budget -= len(raw)
                with Image.open(io.BytesIO(raw)) as img:  # reads the header, decodes nothing
                    decoded += image_pixels(img, f"image {info.filename!r}", decoded, label)
                    rgb = _to_rgb(img).resize((size, size), Image.Resampling.BILINEAR)
                    arr = np.asarray(rgb, dtype=np.uint8)
            except DataError:
                raise
            except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
                    Image.DecompressionBombError, zipfile.BadZipFile, EOFError, zlib_error):
                raise DataError(f"{label}: cannot read image {info.filename!r}") from None
            pixels[k] = arr
            if not colour and not (np.array_equal(arr[..., 0], arr[..., 1])
                                   and np.array_equal(arr[..., 0], arr[..., 2])):
                colour = True
    if colour:
        X = np.transpose(pixels, (0, 3, 1, 2)).astype(np.float32) / np.float32(255.0)
    else:
        X = pixels[:, None, :, :, 0].astype(np.float32) / np.float32(255.0)
    y = np.array([index[parts[0]] for parts, _ in members], dtype=np.int64)
    return _finish(name, X, y, None, class_names, "image", [], label)


def image_pixels(img, what: str, decoded: int, label: str) -> int:
    """The pixels decoding an opened (not yet decoded) PIL image will produce, from its
    header; refused before any decoding when a side exceeds ``MAX_IMAGE_SIDE`` or when the
    file's images would decode to more than ``MAX_DECODED_PIXELS`` in all (``decoded`` so
    far): a few KiB of one-bit PNG can declare 36 million pixels."""
    width, height = img.size
    if max(width, height) > MAX_IMAGE_SIDE:
        raise DataError(f"{label}: {what} is {width}x{height} pixels; images may be at most "
                        f"{MAX_IMAGE_SIDE} pixels a side: shrink them before packing")
    if decoded + width * height > MAX_DECODED_PIXELS:
        raise DataError(f"{label}: its images decode to more than {MAX_DECODED_PIXELS:,} "
                        f"pixels in all (the limit, reached at {what}); use smaller images or "
                        "fewer of them")
    return width * height


def _check_entry_path(filename: str, label: str) -> None:
    """Refuse archive entries with an absolute path (``/x``, ``C:/x``) or a ``..`` part: a
    class folder is a relative name, and such entries are the shape of path traversal."""
    name = filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in name.split("/"):
        raise DataError(f"{label}: entry {filename!r} has an absolute path or a '..' part; "
                        "an image ZIP must hold relative class folders (refused for safety)")


def _to_rgb(img):
    """An RGB PIL image; transparency is composited onto black, 16-bit images rescaled."""
    from PIL import Image

    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        gray = np.clip(arr / top * 255.0, 0, 255).astype(np.uint8)
        return Image.fromarray(gray, mode="L").convert("RGB")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(black, rgba).convert("RGB")
    return img.convert("RGB")
