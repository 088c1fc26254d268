"""Where Meta's reference test data lives: ``$JIKIMI_TESTDATA`` or ``<repo>/../shared/testdata``.
Missing data fails the tests loudly instead of skipping them."""

from __future__ import annotations

import os
from pathlib import Path

TESTDATA_ENV = "JIKIMI_TESTDATA"


def shared_testdata() -> Path:
    """The reference data folder: ``$JIKIMI_TESTDATA`` or ``<repo>/../shared/testdata``.

    Raises (so collection fails loudly, never skips) when it is missing: a conformance suite
    that silently does not run is worse than none.
    """
    env = os.environ.get(TESTDATA_ENV)
    repo = Path(__file__).resolve().parents[2]
    path = Path(env) if env else repo / ".." / "shared" / "testdata"
    if not (path / "pdq" / "expected.csv").is_file():
        raise FileNotFoundError(
            f"reference test data not found at {path}; set {TESTDATA_ENV} to the folder that "
            "holds pdq/ and vpdq/"
        )
    return path.resolve()
