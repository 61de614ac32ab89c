"""User datasets from NPZ, CSV or a ZIP of class folders of images.

Every loader takes a path, raw bytes or a binary file-like object (a Streamlit upload), reads
it in memory without unpickling anything, and turns every problem with the file into a
``DataError`` carrying one readable line.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Union

import numpy as np

from ..errors import DataError
from .builtin import BUILTIN_DATASETS, load_builtin, zscore
from .dataset import Dataset

Source = Union[str, Path, bytes, bytearray, BinaryIO]

MAX_SAMPLES = 200_000
MAX_BYTES = 512 * 2**20  # size of the file as uploaded
MAX_UNCOMPRESSED_BYTES = 2 * MAX_BYTES  # total size of an archive's contents (zip bombs)
MAX_IMAGE_PIXELS = 40_000_000  # one decoded image in a ZIP
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
_LABEL_GUESSES = ("label", "labels", "target", "class", "y")


# --------------------------------------------------------------------------- input


def _read_source(source: Source, kind: str) -> tuple[bytes, str]:
    """The bytes of a path / bytes / file-like source and a display name for messages."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, label = bytes(source), f"the uploaded {kind} data"
    elif isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        label = f"'{path.name}'"
        try:
            size = path.stat().st_size
            if size > MAX_BYTES:
                raise DataError(f"{label} is {size / 2**20:.0f} MiB; the limit is "
                                f"{MAX_BYTES // 2**20} MiB")
            data = path.read_bytes()
        except IsADirectoryError:
            raise DataError(f"{label} is a folder, not a {kind} file") from None
        except FileNotFoundError:
            raise DataError(f"no such file: '{source}'") from None
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


def _labels_to_int(y: np.ndarray, label: str) -> np.ndarray:
    """Integer labels from a numeric array, rejecting NaN/inf and fractions."""
    if y.dtype == np.bool_:
        return y.astype(np.int64)
    if np.issubdtype(y.dtype, np.integer):
        return y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.floating):
        raise DataError(f"{label}: labels must be integers, got {y.dtype} values")
    bad = ~np.isfinite(y)
    if bad.any():
        raise DataError(f"{label}: {int(bad.sum())} label(s) are NaN or infinite "
                        f"(first at row {int(np.flatnonzero(bad)[0])})")
    frac = y != np.round(y)
    if frac.any():
        i = int(np.flatnonzero(frac)[0])
        raise DataError(f"{label}: labels must be whole class numbers; "
                        f"row {i} has {y[i].item()!r}")
    return y.astype(np.int64)


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


def _strings(arr: np.ndarray) -> list[str]:
    return [str(v) for v in arr.tolist()]


def _encode_string_labels(values: list[str], class_names: list[str] | None,
                          label: str) -> tuple[np.ndarray, list[str]]:
    """Map string labels to indices: into ``class_names`` if given, else sorted unique."""
    if class_names is None:
        class_names = sorted(set(values))
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
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise DataError(f"{label} is not a readable NPZ archive") from None
    if total > MAX_UNCOMPRESSED_BYTES:
        raise DataError(f"{label} unpacks to {total / 2**20:.0f} MiB; the limit is "
                        f"{MAX_UNCOMPRESSED_BYTES // 2**20} MiB")
    try:
        npz = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        raise DataError(f"{label} is not a readable NPZ archive") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DataError(f"{label} is not an NPZ archive")
    with npz:
        keys = list(npz.files)
        for key in ("X", "y"):
            if key not in keys:
                raise DataError(f"{label} has no array {key!r}; it has: "
                                f"{', '.join(keys) or 'nothing'} (need X and y)")
        arrays = {}
        for key in ("X", "y", "ids", "class_names", "feature_names"):
            if key in keys:
                try:
                    arrays[key] = npz[key]
                except ValueError:
                    raise DataError(
                        f"{label}: array {key!r} holds Python objects, which are not loaded "
                        "for safety; store numbers, or strings as np.array(..., dtype=str)"
                    ) from None
                except (OSError, EOFError, zipfile.BadZipFile):
                    raise DataError(f"{label}: array {key!r} is corrupt") from None
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
    X = X.astype(np.float32)
    class_names = None
    if "class_names" in arrays:
        cn = arrays["class_names"]
        if cn.ndim != 1 or len(cn) == 0:
            raise DataError(f"{label}: class_names must be a non-empty list of names")
        class_names = _strings(cn)
        if len(set(class_names)) != len(class_names):
            raise DataError(f"{label}: class_names contains duplicates")
    y = np.asarray(y)
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


def load_csv(source: Source, label_column: str, name: str = "uploaded") -> Dataset:
    """Load a CSV with a header row: numeric feature columns plus one label column.

    Features are z-scored per column with whole-file statistics (constant columns become 0).
    Text labels become class indices in sorted order; numeric labels must be whole numbers
    and are used as class indices directly.
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
                            f"{', '.join(header[:30])}{' ...' if width > 30 else ''}")
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
    feature_names = [h for i, h in enumerate(header) if i != li]
    columns = []
    for j, col_name in enumerate(header):
        if j == li:
            continue
        col = table[:, j]
        col = np.where(col == "", "nan", col)
        try:
            columns.append(col.astype(np.float64))
        except ValueError:
            bad = next(i for i, v in enumerate(col) if not _is_float(v))
            raise DataError(f"{label}: column {col_name!r} is not numeric ({str(col[bad])!r} "
                            f"on line {lines[bad]}); only numeric feature columns are supported"
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
        bad = ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"{label}: {int(bad.sum())} label(s) are NaN or infinite "
                            f"(first on line {lines[i]})")
        frac = values != np.round(values)
        if frac.any():
            i = int(np.flatnonzero(frac)[0])
            raise DataError(f"{label}: numeric labels must be whole class numbers; line "
                            f"{lines[i]} has {str(raw[i])!r}")
        y = values.astype(np.int64)
        if (y < 0).any():
            i = int(np.flatnonzero(y < 0)[0])
            raise DataError(f"{label}: numeric labels must be 0 or more; line {lines[i]} has "
                            f"{str(raw[i])!r}")
        class_names = None
    else:
        y, class_names = _encode_string_labels(raw.tolist(), None, label)
    return _finish(name, zscore(X), y, None, class_names, "tabular", feature_names, label)


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
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise DataError(f"{label} is not a ZIP archive") from None
    with zf:
        total = sum(info.file_size for info in infos)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise DataError(f"{label} unpacks to {total / 2**20:.0f} MiB; the limit is "
                            f"{MAX_UNCOMPRESSED_BYTES // 2**20} MiB")
        members = []
        for info in infos:
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
        members.sort(key=lambda m: (_natural_key(m[0][0]), m[1].filename))
        index = {c: i for i, c in enumerate(class_names)}

        size = int(image_size)
        pixels = np.empty((len(members), size, size, 3), dtype=np.uint8)
        colour = False
        for k, (parts, info) in enumerate(members):
            try:
                raw = zf.read(info)
                with Image.open(io.BytesIO(raw)) as img:
                    if img.width * img.height > MAX_IMAGE_PIXELS:
                        raise DataError(f"{label}: image {info.filename!r} is "
                                        f"{img.width}x{img.height}, too large")
                    rgb = _to_rgb(img).resize((size, size), Image.Resampling.BILINEAR)
                    arr = np.asarray(rgb, dtype=np.uint8)
            except DataError:
                raise
            except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
                    Image.DecompressionBombError, zipfile.BadZipFile, EOFError):
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


# --------------------------------------------------------------------------- dispatch


def load_dataset(source: str, label_column: str | None = None, seed: int = 0,
                 **kw: object) -> Dataset:
    """A built-in dataset by name, or a .npz / .csv / .zip file by path.

    Extra keywords go to the loader that uses them (``n_samples``/``cache_dir`` for
    built-ins, ``image_size`` for ZIPs, ``name`` for files) and are ignored by the others.
    A CSV without ``label_column`` uses a column named label, target, class or y if any.
    """
    if not isinstance(source, (str, Path)):
        raise DataError(f"a dataset is named by a string, got {type(source).__name__}")
    source = str(source)
    unknown = set(kw) - {"n_samples", "cache_dir", "image_size", "name"}
    if unknown:
        raise TypeError(f"load_dataset() got unexpected keyword(s): {', '.join(sorted(unknown))}")
    if source in BUILTIN_DATASETS:
        return load_builtin(source, seed=seed, n_samples=kw.get("n_samples"),
                            cache_dir=kw.get("cache_dir"))
    suffix = Path(source).suffix.lower()
    if suffix not in (".npz", ".csv", ".zip"):
        if not suffix:
            raise DataError(f"unknown dataset {source!r}: use a built-in name "
                            f"({', '.join(BUILTIN_DATASETS)}) or a .npz, .csv or .zip file")
        raise DataError(f"unsupported file type '{suffix}': use .npz, .csv or .zip")
    name = str(kw.get("name") or Path(source).stem or "uploaded")
    if suffix == ".npz":
        return load_npz(source, name=name)
    if suffix == ".zip":
        return load_image_zip(source, image_size=kw.get("image_size", 28), name=name)
    if label_column is None:
        label_column = _guess_label_column(source)
    return load_csv(source, label_column, name=name)


def _guess_label_column(path: str) -> str:
    data, label = _read_source(path, "CSV")
    first = _decode_text(data[:65536], label).split("\n", 1)[0]
    header = [h.strip() for h in next(csv.reader([first], delimiter=_sniff_delimiter(first)),
                                      [])]
    for guess in _LABEL_GUESSES:
        for h in header:
            if h.lower() == guess:
                return h
    raise DataError(f"{label}: say which column holds the labels (label_column); the columns "
                    f"are: {', '.join(header[:30])}")
