"""Re-running the audit is ``verify``'s last step and its only slow one (minutes): it starts only
once every earlier step (hash, signature, renderings, data, evidence, the verdicts judged again,
the stored weights evaluated again) found nothing, and it says so when it starts. A difference
found in seconds is reported in seconds; a re-run could not make it good."""

from __future__ import annotations

from typing import Callable, Optional

from unlearn_core.verify.result import VerifyResult

Announce = Callable[[str], None]  # told one line when a slow step starts (the CLI: stderr)

RERUN_NOTICE = ("re-running the audit (last step) ...: every earlier check passed; this trains "
                "the models again")


def may_rerun(out: VerifyResult, announce: Optional[Announce] = None) -> bool:
    """True when the re-run may start (announced first); False, with a line saying why, when
    an earlier step found a difference."""
    if out.differences:
        n = len(out.differences)
        out.warnings.append(f"not re-run: the earlier steps found {n} difference"
                            f"{'s' if n != 1 else ''}, which a re-run cannot make good "
                            "(re-running is the last step)")
        return False
    if announce is not None:
        announce(RERUN_NOTICE)
    return True
