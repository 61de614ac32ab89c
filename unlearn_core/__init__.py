"""unlearn_core: load data and models, unlearn, and audit whether the forgetting is real.

Usable without Streamlit: ``run_audit(AuditConfig(...))`` from Python, or
``python -m unlearn_core audit ...`` from the command line. A third-party claim (a model someone
else unlearned, with the recipe of its original): ``run_claim_audit(ClaimSpec(...))``.
"""

from unlearn_core.audit.claim import ClaimSpec
from unlearn_core.audit.run import (
    AuditConfig,
    AuditResult,
    AuditRun,
    MethodSpec,
    run_audit,
    run_claim_audit,
)
from unlearn_core.errors import UnlearnError
from unlearn_core.version import __version__

__all__ = ["AuditConfig", "AuditResult", "AuditRun", "ClaimSpec", "MethodSpec", "run_audit",
           "run_claim_audit", "UnlearnError", "__version__"]
