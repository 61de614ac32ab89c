"""CIFAR-10's binary format: ``data_batch_1.bin`` ... ``test_batch.bin``, or the archive they
ship in (``cifar-10-binary.tar.gz``).

Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009; the format as
published with the data set (https://www.cs.toronto.edu/~kriz/cifar.html): each record is 1
label byte (0..9) followed by 3,072 pixel bytes, the 1,024 red values of the 32x32 image in
row-major order, then the green, then the blue. There is no header, so nothing is trusted
from one: a file is read in blocks of whole records, its size must be a whole number of
records, every label must be 0..9, and the records are counted against ``MAX_SAMPLES`` as
they arrive, so a large or mislabelled file stops early with one line. Nothing is unpickled
(the Python version of CIFAR-10 is a pickle and is not read).

An archive (``.tar``, ``.tar.gz``, ``.tgz``) is read member by member: the
``data_batch_N.bin`` files in batch order, then ``test_batch.bin`` (ids continue across
files: data_batch_1's records are 0..9,999), class names from ``batches.meta.txt`` when it is
there; the decompressed bytes are counted as they come out, whatever the tar headers claim.
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np

from unlearn_core.data.dataset import Dataset
from unlearn_core.data.loaders import (
    MAX_SAMPLES,
    MAX_UNCOMPRESSED_BYTES,
    Source,
    _finish,
    _read_source,
    open_path,
)
from unlearn_core.errors import DataError

SIDE = 32
PIXELS = 3 * SIDE * SIDE
RECORD = 1 + PIXELS  # CIFAR-10: one label byte, then R, G, B planes
N_CLASSES = 10
CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck"]
_BLOCK_RECORDS = 1024  # records read at a time (3 MiB)
_BATCH_NAME = re.compile(r"^(data_batch_(\d{1,3})|test_batch)\.bin$")
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")


def _read_full(fh: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes, short only at the end of the stream."""
    parts, got = [], 0
    while got < size:
        chunk = fh.read(size - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _records(fh: BinaryIO, label: str, what: str, first: int) -> tuple[list, list, int]:
    """Read whole records from ``fh`` in blocks: (pixel blocks, label blocks, bytes read).
    ``first`` is the number of records already read (for the cap and the messages)."""
    pixels, labels, total, count = [], [], 0, 0
    while True:
        block = _read_full(fh, _BLOCK_RECORDS * RECORD)
        if not block:
            break
        total += len(block)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise DataError(f"{label}: {what} holds more than {MAX_UNCOMPRESSED_BYTES // 2**20}"
                            " MiB; that is the limit")
        if len(block) % RECORD:
            raise DataError(f"{label}: {what} is {total} bytes, {total // RECORD} whole records "
                            f"and {total % RECORD} bytes over; a CIFAR-10 record is 1 label "
                            f"byte + {PIXELS} pixel bytes (truncated, or not CIFAR-10 binary)")
        rows = np.frombuffer(block, dtype=np.uint8).reshape(-1, RECORD)
        if first + count + len(rows) > MAX_SAMPLES:
            raise DataError(f"{label} has more than {MAX_SAMPLES} records; that is the limit")
        bad = rows[:, 0] >= N_CLASSES
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"{label}: {what} record {count + i} has label {int(rows[i, 0])}; "
                            "CIFAR-10 labels are 0..9 (CIFAR-100's binary format, with 2 "
                            "label bytes, is not read)")
        labels.append(rows[:, 0].astype(np.int64))
        pixels.append(rows[:, 1:].reshape(-1, 3, SIDE, SIDE))
        count += len(rows)
    return pixels, labels, total


def load_cifar_binary(source: Source, name: str = "uploaded") -> Dataset:
    """A CIFAR-10 binary batch file (``.bin``) or archive of them (``.tar``/``.tar.gz``) as a
    ``Dataset`` of (n, 3, 32, 32) images in [0, 1]; any problem is a one-line ``DataError``."""
    if isinstance(source, (str, Path)) and not _is_archive_name(str(source)):
        fh, label = open_path(Path(source).expanduser(), "CIFAR-10")
        with fh:
            pixels, labels, total = _records(fh, label, "the file", 0)
        class_names = CLASS_NAMES
    else:
        data, label = _read_source(source, "CIFAR-10")
        if _looks_like_archive(data):
            return _load_archive(data, label, name)
        pixels, labels, total = _records(io.BytesIO(data), label, "the file", 0)
        class_names = CLASS_NAMES
    if not total:
        raise DataError(f"{label} is empty")
    return _assemble(pixels, labels, class_names, label, name)


def _is_archive_name(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def _looks_like_archive(data: bytes) -> bool:
    """gzip magic, or a POSIX / GNU tar header ("ustar" at byte 257)."""
    return data[:2] == b"\x1f\x8b" or data[257:262] == b"ustar"


def _assemble(pixels: list, labels: list, class_names: list[str], label: str,
              name: str) -> Dataset:
    if not pixels:
        raise DataError(f"{label} holds no CIFAR-10 records")
    X = np.concatenate(pixels).astype(np.float32)
    X /= np.float32(255.0)
    y = np.concatenate(labels)
    return _finish(name, X, y, None, list(class_names), "image", [], label)


class _CountingReader(io.RawIOBase):
    """A gzip (or plain) byte stream that stops with a ``DataError`` once more than ``cap``
    bytes have come out of it: the bound on an archive, whatever its headers say (``gzip``
    decompresses only as much as each read asks for)."""

    def __init__(self, data: bytes, label: str, cap: int) -> None:
        raw = io.BytesIO(data)
        self._src = gzip.GzipFile(fileobj=raw, mode="rb") if data[:2] == b"\x1f\x8b" else raw
        self._label, self._cap, self.count = label, cap, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            chunk = self._src.read(min(len(buffer), 2**20))
        except (OSError, EOFError, zlib.error):
            raise DataError(f"{self._label} is not a valid gzip archive") from None
        self.count += len(chunk)
        if self.count > self._cap:
            raise DataError(f"{self._label} unpacks to more than {self._cap // 2**20} MiB; "
                            "that is the limit")
        buffer[:len(chunk)] = chunk
        return len(chunk)


def _load_archive(data: bytes, label: str, name: str) -> Dataset:
    """The batch files of a CIFAR-10 binary archive, in batch order, then the test batch."""
    stream = io.BufferedReader(_CountingReader(data, label, MAX_UNCOMPRESSED_BYTES), 2**20)
    found: dict[tuple[int, int], tuple[list, list]] = {}
    class_names = CLASS_NAMES
    done = 0
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:  # a stream: one pass, in order
            for member in tar:
                base = PurePosixPath(member.name.replace("\\", "/")).name
                if not member.isfile():
                    continue
                if base == "batches.meta.txt":
                    class_names = _class_names(tar.extractfile(member), label, class_names)
                    continue
                match = _BATCH_NAME.match(base)
                if not match:
                    continue
                order = (1, 0) if match.group(1) == "test_batch" else (0, int(match.group(2)))
                if order in found:
                    raise DataError(f"{label} holds {base} twice")
                fh = tar.extractfile(member)
                pixels, labels, total = _records(fh, label, base, done)
                done += sum(len(p) for p in pixels)
                found[order] = (pixels, labels)
    except DataError:
        raise
    except (tarfile.TarError, OSError, EOFError, ValueError):
        raise DataError(f"{label} is not a readable tar archive of CIFAR-10 batches") from None
    if not found:
        raise DataError(f"{label} holds no data_batch_N.bin or test_batch.bin files (the "
                        "CIFAR-10 binary version)")
    pixels = [p for key in sorted(found) for p in found[key][0]]
    labels = [y for key in sorted(found) for y in found[key][1]]
    return _assemble(pixels, labels, class_names, label, name)


def _class_names(fh: BinaryIO | None, label: str, default: list[str]) -> list[str]:
    """Ten class names from ``batches.meta.txt`` (one per line), else the default ones."""
    if fh is None:
        return default
    raw = fh.read(64 * 1024 + 1)
    if len(raw) > 64 * 1024:
        raise DataError(f"{label}: batches.meta.txt is larger than 64 KiB")
    names = [line.strip() for line in raw.decode("utf-8", errors="replace").splitlines()]
    names = [n for n in names if n]
    if len(names) != N_CLASSES or len(set(names)) != N_CLASSES or \
            any(len(n) > 100 for n in names):
        raise DataError(f"{label}: batches.meta.txt must name the {N_CLASSES} classes, one "
                        f"per line; it has {len(names)} names")
    return names
