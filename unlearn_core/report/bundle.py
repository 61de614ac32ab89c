"""A report bundle: one ZIP with the report (JSON and HTML), the audited data file (when it was
a file) and the artifacts, which ``verify report.zip`` checks in a fresh folder anywhere.

The report itself is kept byte for byte (its content hash and signature stay valid); the
bundle's ``bundle.json`` says where inside the ZIP each file is, relative to the bundle, and
verification matches every file by the SHA-256 the report recorded.

    report.json  report.html  report.pdf  bundle.json  data/<file>  artifacts/<name>
    submitted/<n>/<file>  (a third-party claim's submitted files: original, spec, claimed
                           models, retrains, recipe; ``verify.claim`` finds them by sha256)
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterator, Optional

from unlearn_core.errors import ConfigError
from unlearn_core.serialize import sha256_file

BUNDLE_VERSION = 1
MANIFEST = "bundle.json"
MAX_BUNDLE_BYTES = 16 << 30  # counted while extracting: a ZIP header is not trusted


def _safe_name(name: str) -> str:
    """A plain file name for inside the bundle (no folders, nothing hidden, no ':' that
    ``open_bundle`` refuses: a run label such as ``finetune:epochs=10`` or ``claim:B`` names
    its artifacts)."""
    base = PurePosixPath(name.replace("\\", "/")).name.lstrip(".").replace(":", "_")
    if not base:
        raise ConfigError(f"'{name}' cannot be stored in a bundle")
    return base


def write_bundle(report: str | Path, out: str | Path, data: Optional[str | Path] = None) -> Path:
    """Write ``out`` (a ZIP) with ``report`` (report.json), the report.html beside it if any,
    the data file (``data`` or the recorded path, checked by sha256) and the artifacts (checked
    by sha256). One ``ConfigError`` for a missing or changed file: nothing half written."""
    from unlearn_core.report.envelope import load_report

    report = Path(report)
    payload = load_report(report)
    repro = payload["reproducibility"]
    files: list[tuple[Path, str]] = [(report, "report.json")]
    html = report.with_suffix(".html")
    if html.is_file():
        files.append((html, "report.html"))
    pdf = report.with_suffix(".pdf")
    if pdf.is_file():
        files.append((pdf, "report.pdf"))
    manifest: dict = {"bundle_version": BUNDLE_VERSION, "report": "report.json",
                      "html": "report.html" if html.is_file() else None,
                      "pdf": "report.pdf" if pdf.is_file() else None,
                      "content_sha256": payload.get("content_sha256"), "data": None,
                      "artifacts": [], "submitted": []}
    rec = repro.get("data")
    if rec is not None:
        config = repro.get("config") or {}  # a text audit records its file as data_path
        recorded = Path(str(config.get("dataset") or config.get("data_path"))).expanduser()
        source = Path(data).expanduser() if data is not None else recorded
        if not source.is_file():
            raise ConfigError(f"the audited data file '{rec['file']}' is not at '{source}': "
                              "pass --data PATH")
        if rec.get("sha256") and sha256_file(source) != rec["sha256"]:
            raise ConfigError(f"data file '{source}' is not the audited '{rec['file']}': its "
                              "sha256 differs from the recorded one")
        inside = f"data/{_safe_name(rec['file'])}"
        files.append((source, inside))
        manifest["data"] = {"path": inside, "file": rec["file"], "sha256": rec.get("sha256")}
    for art in repro.get("artifacts", []):
        path = Path(art["path"])
        if not path.is_file():
            raise ConfigError(f"artifact {art['name']} is missing ({path}): the bundle needs it")
        if sha256_file(path) != art["sha256"]:
            raise ConfigError(f"artifact {art['name']} changed since the audit ({path})")
        inside = f"artifacts/{_safe_name(art['name'])}"
        files.append((path, inside))
        manifest["artifacts"].append({"name": art["name"], "path": inside,
                                      "sha256": art["sha256"]})
    # a claim's submitted files, or a text audit's own model folder and recipe (``inputs``)
    submitted = [*((repro.get("claim") or {}).get("files") or []),
                 *((repro.get("inputs") or {}).get("files") or [])]
    for i, sub in enumerate(submitted, 1):
        path, what = Path(str(sub["path"])), f"submitted file '{sub['file']}'"
        if not path.is_file():
            raise ConfigError(f"{what} is missing ({path}): the bundle carries every file a "
                              "claim or the audited model folder was read from")
        if sha256_file(path) != sub["sha256"]:
            raise ConfigError(f"{what} changed since the audit ({path})")
        inside = f"submitted/{i}/{_safe_name(sub['file'])}"  # each under its own name
        files.append((path, inside))
        manifest["submitted"].append({"file": sub["file"], "path": inside,
                                      "sha256": sub["sha256"]})
    out = Path(out).expanduser()
    if not out.parent.is_dir():
        raise ConfigError(f"--out '{out}': the folder '{out.parent}' does not exist")
    tmp = out.with_name(f".{out.name}.part")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for path, inside in files:
                zf.write(path, inside)
            zf.writestr(MANIFEST, json.dumps(manifest, indent=1))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


@dataclass
class OpenBundle:
    """A bundle extracted into a temporary folder: where its report, HTML, data and artifacts
    are (artifacts by name)."""

    root: Path
    report: Path
    html: Optional[Path] = None
    data: Optional[Path] = None
    pdf: Optional[Path] = None
    artifacts: dict[str, Path] = field(default_factory=dict)


def _inside(root: Path, name: object) -> Path:
    if not isinstance(name, str) or not name or name.startswith(("/", "\\")) or \
            ".." in PurePosixPath(name.replace("\\", "/")).parts or ":" in name:
        raise ConfigError(f"the bundle names an unsafe path {name!r}")
    return root / PurePosixPath(name)


@contextlib.contextmanager
def open_bundle(path: str | Path) -> Iterator[OpenBundle]:
    """Extract the files a bundle's manifest names into a fresh temporary folder (paths checked,
    bytes counted while decompressing) and yield where they are; the folder is removed after."""
    from unlearn_core.report.envelope import parse_json

    path = Path(path)
    if not path.is_file():  # a FIFO or device would block; a folder is no bundle
        raise ConfigError(f"report bundle '{path}' is not a regular file")
    try:
        zf = zipfile.ZipFile(path)
        names = zf.namelist()
    except (OSError, zipfile.BadZipFile) as err:
        raise ConfigError(f"'{path}' is not a readable report bundle: {err}")
    # the same name twice (or two names one folder would hold as one file: ./a, A): refused
    seen = collections.Counter("/".join(p for p in PurePosixPath(n.replace("\\", "/")).parts
                                        if p not in (".", "")).lower() for n in names)
    twice = sorted(n for n, k in seen.items() if k > 1)
    if twice:  # which copy is read depends on the reader: `unzip` shows the first, we the last
        zf.close()
        raise ConfigError(f"'{path}' holds {', '.join(twice[:3])} more than once: a bundle "
                          "names each file once, so it is refused")
    with zf, tempfile.TemporaryDirectory(prefix="unlearn-verify-") as tmp:
        root = Path(tmp)
        try:
            with zf.open(MANIFEST) as src:
                raw = src.read((1 << 20) + 1)
        except KeyError:
            raise ConfigError(f"'{path}' has no {MANIFEST}: not a report bundle (write one with "
                              "`bundle report.json --out report.zip`)")
        if len(raw) > 1 << 20:
            raise ConfigError(f"the {MANIFEST} of '{path}' is over 1 MiB: not a bundle manifest")
        manifest = parse_json(raw, f"the {MANIFEST} of '{path}'")
        if not isinstance(manifest, dict) or manifest.get("bundle_version") != BUNDLE_VERSION:
            raise ConfigError(f"'{path}' is not a report bundle of version {BUNDLE_VERSION}")
        budget = [MAX_BUNDLE_BYTES]

        def extract(name: object) -> Path:
            target = _inside(root, name)
            try:
                src = zf.open(str(name))
            except KeyError:
                raise ConfigError(f"the bundle lists {name} but does not hold it")
            target.parent.mkdir(parents=True, exist_ok=True)
            with src, target.open("wb") as dst:
                for block in iter(lambda: src.read(1 << 20), b""):
                    budget[0] -= len(block)
                    if budget[0] < 0:
                        raise ConfigError(f"'{path}' unpacks to more than "
                                          f"{MAX_BUNDLE_BYTES >> 30} GiB")
                    dst.write(block)
            return target

        opened = OpenBundle(root=root, report=extract(manifest.get("report")))
        if manifest.get("html"):
            opened.html = extract(manifest["html"])
        if manifest.get("pdf"):
            opened.pdf = extract(manifest["pdf"])
        if isinstance(manifest.get("data"), dict):
            opened.data = extract(manifest["data"].get("path"))
        for art in manifest.get("artifacts") or []:
            if isinstance(art, dict) and isinstance(art.get("name"), str):
                opened.artifacts[art["name"]] = extract(art.get("path"))
        for sub in manifest.get("submitted") or []:  # found by sha256 (``verify.claim``)
            if isinstance(sub, dict):
                extract(sub.get("path"))
        yield opened

