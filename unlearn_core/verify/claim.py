"""A third-party claim audit's submitted files, checked by the SHA-256 its report records: each is
found at its recorded path, in a bundle's ``submitted/`` folder or beside the report, and must be
the file audited, byte for byte. A re-run then reads the files found (the claimed weights are
loaded again, never re-trained)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

from unlearn_core.audit.claim import ROLE_WORDS, ClaimSpec
from unlearn_core.serialize import sha256_file
from unlearn_core.verify.result import VerifyResult

SUBMITTED = "submitted"  # the bundle's folder of submitted files (``report.bundle``)
# per recorded block: how one of its files is named, how all of them are, and whose they are
BLOCK_WORDS = {"claim": ("submitted", "submitted files", "the claim"),
               "inputs": ("audited", "files", "the audited model folder and recipe")}


def _candidates(rec: dict, base: Optional[Path]) -> list[Path]:
    out = [Path(str(rec.get("path", "")))]
    if base is not None:
        folder = base / SUBMITTED
        if folder.is_dir():
            out += sorted(p for p in folder.rglob("*") if p.is_file())
        out.append(base / Path(str(rec.get("file", ""))).name)
    return out


def check_claim_files(payload: dict, out: VerifyResult, base: Optional[Path] = None,
                      block: str = "claim") -> dict[str, Path]:
    """Every file a claim audit's report records (``block="inputs"``: a text audit's own model
    folder and recipe), found and matched by SHA-256: a missing or changed file is a difference
    (with or without a re-run). Returns recorded path -> the file found, for the re-run."""
    claim = payload.get("reproducibility", {}).get(block)
    if not isinstance(claim, dict):
        return {}
    how, files, whose = BLOCK_WORDS[block]
    found: dict[str, Path] = {}
    for rec in claim.get("files") or []:
        if not isinstance(rec, dict):
            out.differences.append(f"the record of {whose}'s files cannot be read")
            continue
        what = f"{how} {ROLE_WORDS.get(str(rec.get('role')), 'file')} '{rec.get('file')}'"
        changed = None
        for path in _candidates(rec, base):
            if not path.is_file():
                continue
            got = sha256_file(path)
            if got == rec.get("sha256"):
                found[str(rec.get("path"))] = path
                break
            if path == Path(str(rec.get("path"))) or path.name == rec.get("file"):
                changed = changed or (path, got)
        else:
            if changed is not None:
                out.differences.append(f"{what} changed since the audit: {changed[0]} has "
                                       f"sha256 {changed[1][:16]}..., the audited file "
                                       f"{str(rec.get('sha256'))[:16]}...")
            else:
                out.differences.append(f"{what} is missing (not at {rec.get('path')}): "
                                       f"{whose} is verified against the files it was read "
                                       "from (a bundle carries them)")
    if found and len(found) == len(claim.get("files") or []):
        out.notes.append(f"the {len(found)} {files} of {whose} match their recorded sha256")
    return found


def relocate(claim: ClaimSpec, found: dict[str, Path]) -> ClaimSpec:
    """The recorded claim (its paths recorded in full, ``audit.claim.resolved``) with each file
    read from where it was found."""
    def where(path: str) -> str:
        return str(found.get(path, path))

    return dataclasses.replace(
        claim, original=where(claim.original), spec=where(claim.spec),
        recipe=where(claim.recipe) if claim.recipe else "",
        claimed=[where(p) for p in claim.claimed],
        submitted_retrains=[where(p) for p in claim.submitted_retrains])
