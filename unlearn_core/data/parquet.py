"""Parquet data sets (Apache Parquet, read with pyarrow): a label column and either numeric
feature columns (tabular, z-scored on load like a CSV) or one image column of encoded image
bytes (PNG, JPEG...), the layout of Hugging Face image data sets (``img: struct<bytes, path>``,
``label: int64`` with the class names in the schema's ``huggingface`` metadata), so e.g. CIFAR-10
exported from the Hub loads as it is.

Bounds, checked before the data are read: the file size (``MAX_BYTES``), the footer's Thrift
strings and lists (pyarrow's limits, lowered), at most ``MAX_SAMPLES`` rows and
``MAX_FEATURES`` columns, and the row groups' declared decoded size; then the row groups are
read one at a time and their decoded size counted as they come, so a footer that under-states
them stops at ``MAX_UNCOMPRESSED_BYTES``. Images are decoded one by one with the pixel cap of
the image ZIP loader. Nothing is unpickled; every problem is one ``DataError`` line.
"""

from __future__ import annotations

import io
import json

import numpy as np

from unlearn_core.data.builtin import zscore
from unlearn_core.data.dataset import Dataset
from unlearn_core.data.loaders import (
    MAX_CLASSES,
    MAX_FEATURES,
    MAX_IMAGE_SIDE,
    MAX_SAMPLES,
    MAX_UNCOMPRESSED_BYTES,
    MAX_VALUES,
    Source,
    _encode_string_labels,
    _finish,
    _labels_to_int,
    _listing,
    _pick_label,
    _read_source,
    _to_rgb,
    image_pixels,
)
from unlearn_core.errors import DataError

THRIFT_STRING_LIMIT = 16 * 2**20  # bytes of one string in the footer (pyarrow: 100 MB)
THRIFT_CONTAINER_LIMIT = 200_000  # items of one list in the footer (pyarrow: 1M)


def load_parquet(source: Source, label_column: str | None = None,
                 image_column: str | None = None, image_size: int | None = None,
                 name: str = "uploaded") -> Dataset:
    """A Parquet file as a ``Dataset``.

    ``label_column``: the labels (default: a column named label, labels, target, class or y);
    integers are class numbers 0..999 (names from Hugging Face metadata when present), text
    labels become classes in sorted order. ``image_column``: a column of encoded images (a
    binary column, or a struct with a ``bytes`` field); found by itself when there is exactly
    one. Images keep their size when they all share one, else give ``image_size`` to resize
    them all to a square. Without an image column every other column must be numeric.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    data, label = _read_source(source, "Parquet")
    if data[:4] != b"PAR1" or data[-4:] != b"PAR1":
        raise DataError(f"{label} is not a Parquet file (no PAR1 magic at both ends)")
    try:
        pf = pq.ParquetFile(io.BytesIO(data), thrift_string_size_limit=THRIFT_STRING_LIMIT,
                            thrift_container_size_limit=THRIFT_CONTAINER_LIMIT)
        meta, schema = pf.metadata, pf.schema_arrow
    except (pa.ArrowException, OSError, ValueError) as err:
        raise DataError(f"{label} is not a readable Parquet file: {_first_line(err)}") from None
    if meta.num_rows <= 0:
        raise DataError(f"{label} contains no rows")
    if meta.num_rows > MAX_SAMPLES:
        raise DataError(f"{label} has {meta.num_rows} rows; the limit is {MAX_SAMPLES}")
    if len(schema.names) > MAX_FEATURES + 1:
        raise DataError(f"{label} has {len(schema.names)} columns; the limit is "
                        f"{MAX_FEATURES + 1}")
    if len(set(schema.names)) != len(schema.names):
        raise DataError(f"{label}: column names must be unique")
    declared = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if declared > MAX_UNCOMPRESSED_BYTES:
        raise DataError(f"{label} decodes to {declared / 2**20:.0f} MiB; the limit is "
                        f"{MAX_UNCOMPRESSED_BYTES // 2**20} MiB")

    names = list(schema.names)
    label_column = _pick_label(names, label_column, label)
    images = [n for n in names if n != label_column and _is_image_type(schema.field(n).type)]
    if image_column is not None:
        if image_column not in names:
            raise DataError(f"{label} has no column {image_column!r}; the columns are: "
                            f"{_listing(names)}")
        if not _is_image_type(schema.field(image_column).type):
            raise DataError(f"{label}: column {image_column!r} is {schema.field(image_column).type}"
                            ", not encoded images (binary, or a struct with a 'bytes' field)")
        images = [image_column]
    if len(images) > 1:
        raise DataError(f"{label} has several image columns ({', '.join(images)}); say which "
                        "one with image_column")
    features = images if images else [n for n in names if n != label_column]
    if not features:
        raise DataError(f"{label} has no feature columns besides the label {label_column!r}")
    if not images:
        for n in features:
            kind = schema.field(n).type
            if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                    or pa.types.is_boolean(kind)):
                raise DataError(f"{label}: column {n!r} is {kind}, not numeric; only numeric "
                                "feature columns (or one column of encoded images) are read")

    tables = []
    decoded = 0
    try:
        for i in range(meta.num_row_groups):
            table = pf.read_row_group(i, columns=[label_column, *features])
            decoded += table.nbytes
            if decoded > MAX_UNCOMPRESSED_BYTES:
                raise DataError(f"{label} decodes to more than "
                                f"{MAX_UNCOMPRESSED_BYTES // 2**20} MiB; that is the limit")
            tables.append(table)
    except (pa.ArrowException, OSError, ValueError) as err:
        raise DataError(f"{label}: cannot read the data: {_first_line(err)}") from None
    table = pa.concat_tables(tables)
    if table.num_rows != meta.num_rows or table.num_rows > MAX_SAMPLES:
        raise DataError(f"{label}: the footer declares {meta.num_rows} rows but the data hold "
                        f"{table.num_rows}")

    y, class_names = _labels(table.column(label_column), schema, label_column, label)
    if images:
        X = _decode_images(table.column(images[0]), image_size, label)
        return _finish(name, X, y, None, class_names, "image", [], label)
    if table.num_rows * len(features) > MAX_VALUES:
        raise DataError(f"{label}: {table.num_rows} rows of {len(features)} features are too "
                        "many to hold in memory")
    columns = []
    for n in features:
        col = table.column(n)
        if col.null_count:
            row = int(np.flatnonzero(np.asarray(col.is_null()))[0])
            raise DataError(f"{label} has {col.null_count} missing value(s) in column {n!r} "
                            f"(first at row {row})")
        columns.append(np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64))
    X = np.stack(columns, axis=1)
    bad = ~np.isfinite(X)
    if bad.any():
        r, c = (int(v) for v in np.argwhere(bad)[0])
        raise DataError(f"{label} has {int(bad.sum())} NaN or infinite feature value(s) "
                        f"(first at row {r}, column {features[c]!r})")
    return _finish(name, zscore(X), y, None, class_names, "tabular", features, label)


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__


def _is_image_type(kind) -> bool:
    """A binary column, or a struct with a binary ``bytes`` field (Hugging Face's Image)."""
    import pyarrow as pa

    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return True
    if pa.types.is_struct(kind):
        index = kind.get_field_index("bytes")
        return index >= 0 and (pa.types.is_binary(kind.field(index).type)
                               or pa.types.is_large_binary(kind.field(index).type))
    return False


def _hf_class_names(schema, column: str) -> list[str] | None:
    """Class names of a Hugging Face ``ClassLabel`` column from the schema metadata, if any."""
    raw = (schema.metadata or {}).get(b"huggingface")
    if not raw or len(raw) > 2**20:
        return None
    try:
        feature = json.loads(raw)["info"]["features"][column]
        names = feature["names"]
    except (ValueError, KeyError, TypeError, RecursionError):  # metadata nested too deep too
        return None
    if not isinstance(names, list) or not 2 <= len(names) <= MAX_CLASSES or \
            not all(isinstance(n, str) and len(n) <= 200 for n in names):
        return None
    return names


def _labels(column, schema, column_name: str, label: str) -> tuple[np.ndarray, list | None]:
    import pyarrow as pa

    if column.null_count:
        row = int(np.flatnonzero(np.asarray(column.is_null()))[0])
        raise DataError(f"{label}: {column.null_count} row(s) have no label (first at row {row})")
    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        values = [str(v) for v in column.to_pylist()]
        return _encode_string_labels(values, None, label)
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
            or pa.types.is_boolean(kind)):
        raise DataError(f"{label}: label column {column_name!r} is {kind}; labels must be "
                        "integers or text")
    y = _labels_to_int(np.asarray(column.to_numpy(zero_copy_only=False)), label)
    names = _hf_class_names(schema, column_name)
    if names is not None and len(y) and int(y.max()) >= len(names):
        names = None  # the metadata does not describe these labels
    return y, names


def _decode_images(column, image_size: int | None, label: str) -> np.ndarray:
    """(n, c, h, w) float32 in [0, 1] from a column of encoded images; grayscale unless some
    image has colour (as the image ZIP loader)."""
    import pyarrow as pa
    from PIL import Image, UnidentifiedImageError

    if image_size is not None and (isinstance(image_size, bool) or
                                   not isinstance(image_size, (int, np.integer)) or
                                   not 4 <= image_size <= 512):
        raise DataError(f"image_size must be an integer from 4 to 512, got {image_size!r}")
    if pa.types.is_struct(column.type):
        column = pa.chunked_array([chunk.field("bytes") for chunk in column.chunks],
                                  type=column.type.field("bytes").type)
    n = len(column)
    pixels: list[np.ndarray] = []
    size = None if image_size is None else (int(image_size), int(image_size))
    colour, decoded = False, 0
    for row, raw in enumerate(column.to_pylist()):
        if raw is None:
            raise DataError(f"{label}: row {row} has no image bytes (images stored only as a "
                            "path are not read)")
        try:
            with Image.open(io.BytesIO(raw)) as img:  # the header only: nothing decoded yet
                decoded += image_pixels(img, f"the image of row {row}", decoded, label)
                rgb = _to_rgb(img)
                if size is None:
                    size = rgb.size
                    if max(size) > MAX_IMAGE_SIDE or n * size[0] * size[1] * 3 > MAX_VALUES:
                        raise DataError(f"{label}: {n} images of {size[0]}x{size[1]} pixels are "
                                        "too many or too large; give image_size to resize them")
                elif rgb.size != size and image_size is None:
                    raise DataError(f"{label}: the image of row {row} is {rgb.size[0]}x"
                                    f"{rgb.size[1]} but the first is {size[0]}x{size[1]}; give "
                                    "image_size to resize them all")
                if rgb.size != size:
                    rgb = rgb.resize(size, Image.Resampling.BILINEAR)
                arr = np.asarray(rgb, dtype=np.uint8)
        except DataError:
            raise
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError,
                Image.DecompressionBombError):
            raise DataError(f"{label}: cannot decode the image of row {row}") from None
        if not colour and not (np.array_equal(arr[..., 0], arr[..., 1])
                               and np.array_equal(arr[..., 0], arr[..., 2])):
            colour = True
        pixels.append(arr)
    stacked = np.stack(pixels)  # (n, h, w, 3)
    X = (np.transpose(stacked, (0, 3, 1, 2)) if colour else stacked[:, None, :, :, 0])
    X = X.astype(np.float32)
    X /= np.float32(255.0)
    return X
