"""Imported first by the classifier benchmarks (run as ``python benchmarks/<name>.py``).

One BLAS thread, set before numpy/scipy load their BLAS, so the figures are one core's; and the
repository on ``sys.path`` so the scripts import the project as installed from a checkout.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

REPO = Path(__file__).resolve().parents[1]
# The public appeal data lives beside the repository (../shared); a worktree elsewhere points to it
# with HOTLINE_APPEALS_DATA.
APPEALS = Path(os.environ.get("HOTLINE_APPEALS_DATA") or REPO.parent / "shared" / "data" / "appeals")
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
