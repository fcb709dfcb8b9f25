"""Pages of the browser client: keys and devices, records key, threads (DESIGN §8).

Each page is a template with a landmark structure and the context the
scripts need as ``data-*`` attributes; the scripts do the cryptography.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from cases.lib.access import visible_cases
from consult.actions.exports import access_record
from consult.actions.threads import may_invite
from consult.exceptions import NotFound
from consult.lib.access import access_thread, is_member
from consult.models import User


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _next(request: HttpRequest, default: str) -> str:
    target = request.GET.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


def keys_page(request: HttpRequest) -> HttpResponse:
    """Set up this browser's keys (first sign-in or restore) and manage devices."""
    default = "/threads/" if _user(request).role == User.Role.LIAISON else "/cases/"
    return render(request, "comity/keys/keys.html", {"next": _next(request, default)})


def records_key_page(request: HttpRequest) -> HttpResponse:
    """A supervisor makes (or replaces) the authority's records key."""
    user = _user(request)
    if user.role != User.Role.SUPERVISOR or user.authority is None:
        raise Http404
    return render(request, "comity/keys/records.html", {"authority": user.authority})


def thread_list_page(request: HttpRequest) -> HttpResponse:
    """The threads I am a member of (a liaison's way in: they see no cases)."""
    return render(request, "comity/threads/list.html")


def thread_page(request: HttpRequest, thread_id: str) -> HttpResponse:
    user = _user(request)
    try:
        thread = access_thread(user, thread_id)
    except NotFound:
        raise Http404 from None  # the same page as for any missing thing (DESIGN §1)
    case = thread.case
    context = {
        "thread": thread,
        "case": case if visible_cases(user).filter(pk=case.pk).exists() else None,
        "parties": f"{case.requesting_authority.code} {case.requested_authority.code}",
        "member": (member := is_member(user, thread.pk)),
        "may_invite": member and may_invite(user, thread),
        "can_export": user.role == User.Role.SUPERVISOR and user.authority_id in case.party_ids(),
    }
    return render(request, "comity/threads/thread.html", context)


def thread_export_page(request: HttpRequest, thread_id: str) -> HttpResponse:
    """A supervisor of a party exports the thread's record; everyone else gets not-found."""
    user = _user(request)
    try:
        thread = access_record(user, thread_id)
    except NotFound:
        raise Http404 from None
    return render(request, "comity/threads/export.html", {"thread": thread, "case": thread.case})
