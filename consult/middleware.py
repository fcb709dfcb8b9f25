"""The second-factor gate in front of every page and API (DESIGN §1).

Nothing but the sign-in, enrolment and static files answers before the
session is OTP-verified: pages redirect to sign-in or verification, the API
answers JSON 401/403. The gate is opt-out by URL name, so a new view is
protected unless it is deliberately listed here.
"""

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import Resolver404, resolve, reverse

# URL names reachable before the second factor is verified.
OPEN_URL_NAMES = frozenset({"login", "logout", "verify", "enrol-link", "enrol-totp", "set_language"})


def is_open_path(path: str) -> bool:
    if path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return True
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.view_name in OPEN_URL_NAMES


class RequireVerifiedMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        verified = user.is_authenticated and user.is_verified()  # type: ignore[union-attr,attr-defined]
        if verified or is_open_path(request.path_info):
            return self.get_response(request)
        if request.path_info.startswith("/api/"):
            if not user.is_authenticated:
                return JsonResponse({"error": "unauthenticated", "detail": "Sign in first."}, status=401)
            return JsonResponse({"error": "otp_required", "detail": "Verify your second factor first."}, status=403)
        target = reverse("verify") if user.is_authenticated else reverse("login")
        return HttpResponseRedirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
