"""unlearn_core: load data and models, unlearn, and audit whether the forgetting is real.

Usable without Streamlit: ``run_audit(AuditConfig(...))`` from Python, or
``python -m unlearn_core audit ...`` from the command line.
"""

__version__ = "0.1.0"

from .audit import AuditConfig, AuditResult, AuditRun, MethodSpec, run_audit  # noqa: E402
from .errors import UnlearnError  # noqa: E402

__all__ = ["AuditConfig", "AuditResult", "AuditRun", "MethodSpec", "run_audit", "UnlearnError",
           "__version__"]
