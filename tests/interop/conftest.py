"""Fixtures for the Python <-> JavaScript interop tests (STYLE rule 21).

The JavaScript side runs in Node through ``tests/interop/js_peer.mjs``, one
process per operation: a JSON request on stdin, a JSON result on stdout. The
tests need Node.js 20 or later (WebCrypto as ``globalThis.crypto``); without
it they skip, or fail under ``COMITY_REQUIRE_SERVICES=1`` (CI).
"""

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PEER = Path(__file__).with_name("js_peer.mjs")
MIN_NODE_MAJOR = 20  # globalThis.crypto.subtle without flags
PEER_TIMEOUT = 60  # seconds; a healthy call takes well under one

JsPeer = Callable[..., Any]


def _missing(reason: str) -> None:
    """Skip for a missing Node.js, or fail where CI requires every service."""
    if os.environ.get("COMITY_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (COMITY_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


def _node() -> str:
    """The path of a usable ``node`` executable (skips or fails otherwise)."""
    node = shutil.which("node")
    if node is None:
        _missing("needs Node.js 20+ on PATH (`node`) for the Python <-> JS interop tests")
        raise AssertionError("unreachable")  # for type checkers: _missing never returns
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=False).stdout
    match = re.match(r"v(\d+)\.", version)
    if not match or int(match.group(1)) < MIN_NODE_MAJOR:
        _missing(f"needs Node.js {MIN_NODE_MAJOR}+ for the interop tests, found {version.strip() or 'nothing'}")
    return node


@pytest.fixture(scope="session")
def js() -> JsPeer:
    """Call the JavaScript peer: ``js("op", **request)`` returns the op's result.

    A refusal by the JS crypto layer comes back inside the result as
    ``{"error": {"code", "message"}}``; a crash of the peer fails the test.
    """
    node = _node()

    def call(op: str, **request: Any) -> Any:
        proc = subprocess.run(
            [node, str(PEER)],
            input=json.dumps({"op": op, **request}),
            capture_output=True,
            text=True,
            timeout=PEER_TIMEOUT,
            check=False,
        )
        if proc.returncode != 0:
            pytest.fail(f"js_peer {op!r} exited {proc.returncode}:\n{proc.stderr}", pytrace=False)
        return json.loads(proc.stdout)["result"]

    return call
