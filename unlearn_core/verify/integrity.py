"""Integrity: the report's content hash, and its artifacts by their recorded SHA-256."""


from __future__ import annotations

from pathlib import Path
from typing import Optional

from unlearn_core.report.envelope import REPORT_VERSION, content_hash
from unlearn_core.serialize import sha256_file
from unlearn_core.verify.result import VerifyResult


def check_integrity(payload: dict, out: VerifyResult,
                    artifacts: Optional[dict[str, Path]] = None,
                    base: Optional[Path] = None) -> None:
    """Report version, content hash, and each artifact's SHA-256. ``artifacts``: where each
    artifact is (by name) when not at its recorded path, as in a bundle; else the recorded path,
    then ``base/artifacts/<name>`` (a report folder carried with its artifacts)."""
    if payload.get("report_version") != REPORT_VERSION:
        out.differences.append(f"report version {payload.get('report_version')} is not "
                               f"{REPORT_VERSION}")
    if payload.get("content_sha256") != content_hash(payload):
        out.differences.append("report content was edited: its SHA-256 does not match the one "
                               "recorded when it was written")
    for art in payload["reproducibility"].get("artifacts", []):
        path = _artifact_path(art, artifacts or {}, base)
        if not path.exists():
            out.differences.append(f"artifact {art['name']} is missing ({path})")
        elif not path.is_file():  # a FIFO or device would block the hash, a folder has none
            out.differences.append(f"artifact {art['name']} is not a regular file ({path})")
        elif sha256_file(path) != art["sha256"]:
            out.differences.append(f"artifact {art['name']} changed since the audit ({path})")
        else:
            out.notes.append(f"artifact {art['name']} unchanged")


def _artifact_path(art: dict, overrides: dict[str, Path], base: Optional[Path]) -> Path:
    if art.get("name") in overrides:
        return overrides[art["name"]]
    path = Path(art["path"])
    if not path.exists() and base is not None and (base / "artifacts" / path.name).exists():
        return base / "artifacts" / path.name
    return path
