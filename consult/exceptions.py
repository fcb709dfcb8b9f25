"""Comity's errors, each with the code clients see.

One place maps them to HTTP statuses (``consult.views.api``) and to
WebSocket error codes (``consult.consumers``): an action raises the error
that describes what went wrong and the transport decides how to say it.
"""

from typing import Any


class ComityError(Exception):
    """Base class: ``code`` is the machine-readable error (DESIGN §7)."""

    code = "bad_request"
    http_status = 400
    default_detail = "The request is invalid."

    def __init__(self, detail: str | None = None, *, fields: dict[str, list[str]] | None = None) -> None:
        self.detail = detail or self.default_detail
        self.fields = fields or {}
        super().__init__(self.detail)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "detail": self.detail}
        if self.fields:
            body["fields"] = self.fields
        return body


class BadInput(ComityError):
    code = "bad_request"
    default_detail = "Some fields are invalid."


class NotFound(ComityError):
    """Also what outsiders get for things that exist (DESIGN §1)."""

    code = "not_found"
    http_status = 404
    default_detail = "Not found."


class Forbidden(ComityError):
    """For members who may see a thing but not do this to it."""

    code = "forbidden"
    http_status = 403
    default_detail = "You may not do this."


class Conflict(ComityError):
    code = "conflict"
    http_status = 409
    default_detail = "This conflicts with the current state."


class RateLimited(ComityError):
    code = "rate_limited"
    http_status = 429
    default_detail = "Too many requests."

    def __init__(self, detail: str | None = None, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class LockedOut(RateLimited):
    default_detail = "Too many failed attempts. Try again later."


class InvalidCredentials(ComityError):
    code = "invalid_credentials"
    http_status = 401
    default_detail = "The e-mail address, password or code is not correct."


class BadSignature(ComityError):
    code = "bad_signature"
    default_detail = "A signature or certificate does not verify."


class StaleEpoch(ComityError):
    code = "stale_epoch"
    http_status = 409
    default_detail = "This epoch is closed: rotate the key and send under the new epoch."


class TooLarge(ComityError):
    code = "too_large"
    http_status = 413
    default_detail = "Too large."


def ws_error_code(exc: ComityError) -> str:
    """The WebSocket error code for an error (DESIGN §7): bad input is a bad frame."""
    return "bad_frame" if exc.code in ("bad_request", "invalid_credentials") else exc.code
