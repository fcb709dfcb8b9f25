"""Bodies larger than anything Comity accepts are refused before a byte is read."""

import asyncio
import json
from typing import Any

import pytest

pytestmark = pytest.mark.django_db


async def _call(content_length: str) -> tuple[list[dict[str, Any]], int]:
    from consult.asgi import application

    reads = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        if reads > 1:  # the client stays connected until the answer is sent
            await asyncio.Event().wait()
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/api/v1/blobs", "raw_path": b"/api/v1/blobs", "query_string": b"thread=x&sha256=y", "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-length", content_length.encode())],
        "client": ("127.0.0.1", 1234), "server": ("testserver", 80),
    }  # fmt: skip
    await application(scope, receive, send)
    return sent, reads


async def test_an_oversize_declared_body_gets_413_without_being_read(settings) -> None:  # type: ignore[no-untyped-def]
    settings.COMITY_MAX_BLOB_BYTES = 4096
    sent, reads = await _call(str(10 * 1024 * 1024))
    assert reads == 0
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"] == "too_large"


async def test_a_body_within_the_limit_reaches_the_application(settings) -> None:  # type: ignore[no-untyped-def]
    settings.COMITY_MAX_BLOB_BYTES = 4096
    sent, reads = await _call("100")
    assert reads >= 1
    assert sent[0]["status"] in (401, 403, 404)  # signed out: refused by the API, not by size
