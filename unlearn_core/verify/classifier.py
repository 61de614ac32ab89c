"""The classifier track's steps after integrity and signature: the data by its SHA-256, the
evidence, the shares, the verdicts judged again, then (``rerun``) the stored weights evaluated
again and the recorded config re-run and compared."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from unlearn_core.audit.run import AuditResult
from unlearn_core.progress import ProgressFn
from unlearn_core.verify.evidence import check_evidence, check_shares
from unlearn_core.verify.rejudge import rejudge
from unlearn_core.verify.rerun import _rerun, check_data, reevaluate
from unlearn_core.verify.result import VerifyResult


def verify_classifier_payload(payload: dict, out: VerifyResult,
                              progress: Optional[ProgressFn] = None, rerun: bool = True,
                              data: Optional[str | Path] = None, base: Optional[Path] = None,
                              artifacts: Optional[dict[str, Path]] = None) -> VerifyResult:
    """A classifier audit's payload checked past its integrity and signature."""
    data_path = check_data(payload, out, data, base, needed=rerun)
    try:
        old = AuditResult.from_dict(payload["result"])
    except (KeyError, TypeError, ValueError) as err:
        out.differences.append(f"the result block cannot be read: {err}")
        return out
    check_evidence(old, out)
    check_shares(old, out)
    rejudge(old, out)
    if rerun:
        if any(d.startswith("data:") for d in out.differences):
            out.differences.append("not re-run: the audited data file is not here")
        else:
            reevaluate(payload, old, out, data_path, artifacts, base)
            _rerun(payload, old, out, data_path, progress)
    return out
