"""Refusing a request body larger than anything Comity accepts, before reading it.

Daphne has the whole body in a temporary file by the time the application is
called (docs/operations.md: the proxy's cap is what spares the worker that),
but Django's handler would copy it into another before any view could look
at its size. The largest body anything accepts is an encrypted file.
"""

import json
from typing import Any

from django.conf import settings

from consult.conf import comity_settings
from consult.exceptions import TooLarge


def largest_body() -> int:
    """What the largest request may carry: a file upload, or a JSON body Django would still read."""
    return max(int(comity_settings.COMITY_MAX_BLOB_BYTES), settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)


def _declared_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class RequestBodyLimit:
    """HTTP requests declaring a body over :func:`largest_body` get 413 ``too_large``, unread."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        length = _declared_length(scope) if scope["type"] == "http" else None
        if length is None or length <= largest_body():
            await self.app(scope, receive, send)
            return
        error = TooLarge(f"Requests carry at most {largest_body()} bytes.")
        body = json.dumps(error.as_json()).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": error.http_status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
