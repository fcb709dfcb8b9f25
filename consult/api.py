"""The JSON API under ``/api/v1/`` (DESIGN §7), described at ``openapi.json``.

Every operation needs a signed-in, OTP-verified session (the middleware gate
refuses earlier; this is the second lock) and a CSRF token on unsafe
methods. Errors are ``{"error": code, "detail": ..., "fields": {...}}``; an
outsider's request for something that exists gets the same 404 as for
something that does not.
"""

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import SessionAuth

from consult.exceptions import ComityError, NotFound, RateLimited


class VerifiedSessionAuth(SessionAuth):
    """Session cookie of a user whose second factor is verified."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if user.is_authenticated and user.is_verified():  # type: ignore[union-attr,attr-defined]
            return user
        return None


logger = logging.getLogger("comity.api")

api = NinjaAPI(
    title="Comity API",
    version="1",
    urls_namespace="api",
    docs_url=None,  # the stock docs page loads third-party script; CSP forbids it
    auth=VerifiedSessionAuth(),
)


def _error(request: HttpRequest, exc: ComityError) -> HttpResponse:
    response = api.create_response(request, exc.as_json(), status=exc.http_status)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(ComityError)
def on_comity_error(request: HttpRequest, exc: ComityError) -> HttpResponse:
    return _error(request, exc)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, NotFound())


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload", "query", "path")]
        fields.setdefault(".".join(location) or "__all__", []).append(str(error.get("msg", "invalid")))
    body = {"error": "bad_request", "detail": "Some fields are invalid.", "fields": fields}
    return api.create_response(request, body, status=400)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    body = {"error": "unauthenticated", "detail": "Sign in and verify your second factor first."}
    return api.create_response(request, body, status=401)


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A bug answers in the API's own shape; the traceback goes to the log, not the client."""
    logger.exception("unhandled error in %s %s", request.method, request.path)
    return api.create_response(request, {"error": "server_error", "detail": "Something went wrong."}, status=500)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = {403: "forbidden", 404: "not_found", 405: "bad_request"}.get(exc.status_code, "bad_request")
    return api.create_response(request, {"error": code, "detail": str(exc)}, status=exc.status_code)


def _register_routers() -> None:
    from cases.views.api import router as cases_router
    from cases.views.deadlines_api import router as deadlines_router
    from cases.views.stats_api import router as stats_router
    from cases.views.workflow_api import router as workflow_router
    from consult.views.api import router as consult_router
    from consult.views.blobs import router as blobs_router
    from consult.views.client import router as client_router
    from consult.views.keys import router as keys_router
    from consult.views.record import router as record_router
    from consult.views.threads import router as threads_router

    api.add_router("", consult_router)
    api.add_router("", keys_router)
    api.add_router("", threads_router)
    api.add_router("", record_router)
    api.add_router("", blobs_router)
    api.add_router("", client_router)
    api.add_router("", cases_router)
    api.add_router("", workflow_router)
    api.add_router("", deadlines_router)
    api.add_router("", stats_router)


_register_routers()
