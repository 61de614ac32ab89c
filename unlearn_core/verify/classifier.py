"""The classifier track's steps after integrity and signature: the data by its SHA-256, the
evidence, the shares, the verdicts judged again, then (``rerun``) the stored weights evaluated
again and, last, the recorded config re-run and compared; each of the two only when nothing
before it differed (``last_step``)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from unlearn_core.audit.run import AuditResult
from unlearn_core.progress import ProgressFn
from unlearn_core.verify.claim import check_claim_files
from unlearn_core.verify.evidence import check_evidence, check_shares
from unlearn_core.verify.last_step import Announce, may_rerun
from unlearn_core.verify.rejudge import rejudge
from unlearn_core.verify.rerun import _rerun, check_data, reevaluate
from unlearn_core.verify.result import VerifyResult


def verify_classifier_payload(payload: dict, out: VerifyResult,
                              progress: Optional[ProgressFn] = None, rerun: bool = True,
                              data: Optional[str | Path] = None, base: Optional[Path] = None,
                              artifacts: Optional[dict[str, Path]] = None,
                              announce: Optional[Announce] = None) -> VerifyResult:
    """A classifier audit's payload checked past its integrity and signature; the slow steps
    last, skipped once a difference is found (``announce`` is told when the re-run starts)."""
    data_path = check_data(payload, out, data, base, needed=rerun)
    claim_files = check_claim_files(payload, out, base)  # a third-party claim's files
    try:
        old = AuditResult.from_dict(payload["result"])
    except (KeyError, TypeError, ValueError) as err:
        out.differences.append(f"the result block cannot be read: {err}")
        return out
    check_evidence(old, out)
    check_shares(old, out)
    rejudge(old, out)
    if rerun and may_rerun(out):  # the stored weights first: seconds, not minutes
        reevaluate(payload, old, out, data_path, artifacts, base)
        if may_rerun(out, announce):
            _rerun(payload, old, out, data_path, progress, claim_files)
    return out
