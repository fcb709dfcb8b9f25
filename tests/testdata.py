"""Where the shared test data lives, and loaders for it.

The data sits beside the repository in ``../shared/testdata`` (DESIGN's
byte-exact vectors and the Wycheproof files); ``COMITY_TESTDATA`` points
elsewhere when the checkout is laid out differently.
"""

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
TESTDATA = Path(os.environ.get("COMITY_TESTDATA") or REPO_ROOT.parent / "shared" / "testdata")


@cache
def load_vectors() -> dict[str, Any]:
    """The comity/v1 protocol vectors (``comity-v1/vectors.json``)."""
    with (TESTDATA / "comity-v1" / "vectors.json").open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


@cache
def load_wycheproof(name: str) -> dict[str, Any]:
    """One Wycheproof file from ``wycheproof/``, e.g. ``"aes_gcm_test.json"``."""
    with (TESTDATA / "wycheproof" / name).open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data
