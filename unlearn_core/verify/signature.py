"""The auditor's signature of a report, checked against their public key (``report.signing``)."""


from __future__ import annotations

from pathlib import Path
from typing import Optional

from unlearn_core.report.envelope import content_hash
from unlearn_core.verify.result import VerifyResult


def check_signature(payload: dict, out: VerifyResult,
                    public_key: Optional[str | Path] = None) -> None:
    """A signed report must carry a valid signature over its recomputed content hash (by the
    auditor's ``public_key`` when one is given); an unsigned one is said to be unsigned, and is
    a difference when a public key was given."""
    from unlearn_core.report.signing import check_signature as valid
    from unlearn_core.report.signing import load_public_key

    trusted = load_public_key(public_key) if public_key is not None else None
    if "signature" not in payload:
        if trusted is not None:
            out.differences.append("signature: the report is not signed, but --public-key was "
                                   "given: it is not the auditor's signed report")
        else:
            out.warnings.append("the report is unsigned: an edit whose content hash was "
                                "recomputed is caught only by re-judging its verdicts and by a "
                                "re-run (sign with audit --sign-key, check with --public-key)")
        return
    ok, what = valid(payload, content_hash(payload), trusted)
    if not ok:
        out.differences.append(f"signature: {what}")
    elif trusted is not None:
        out.notes.append(f"{what}, the --public-key given: signature valid over the content hash")
    else:
        out.warnings.append(f"{what} (the key named inside the report, valid over the content "
                            "hash); pass --public-key auditor.pub to check it is the auditor's")
