"""API: threads, their record and key packages (DESIGN §7)."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Body, Router

from consult.actions.keys import packages_for_device
from consult.actions.sessions import check_session_device
from consult.actions.threads import check_create_thread, check_revoke_membership, thread_summary
from consult.lib import envelopes as check
from consult.lib.access import access_thread, access_thread_member
from consult.lib.entries import entry_item_text
from consult.models import Entry, User

router = Router(tags=["threads"])
MAX_PAGE = 1000


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@router.post("/cases/{case_id}/threads", response={201: dict[str, Any]}, summary="Open a thread (signed creation)")
def create_thread(request: HttpRequest, case_id: str, payload: Body[dict[str, Any]]) -> tuple[int, Any]:
    user = _user(request)
    sender = payload.get("sender_device", "") if isinstance(payload, dict) else ""
    device = check_session_device(user, sender, request.session.session_key)
    thread = check_create_thread(user, device, case_id, payload)
    return 201, thread_summary(thread)


@router.get("/threads/{thread_id}", summary="A thread: subject, members, epoch, head")
def get_thread(request: HttpRequest, thread_id: str) -> Any:
    return thread_summary(access_thread(_user(request), thread_id))


@router.get("/threads/{thread_id}/entries", response=list[dict[str, Any]], summary="The record in seq order")
def get_entries(request: HttpRequest, thread_id: str, after: int = 0, limit: int = 500) -> HttpResponse:
    thread = access_thread_member(_user(request), thread_id)
    if after < 0 or not 1 <= limit <= MAX_PAGE:
        raise check.fail("limit", f"after ≥ 0 and 1 ≤ limit ≤ {MAX_PAGE}")
    rows = Entry.objects.filter(thread=thread, seq__gt=after).order_by("seq")[:limit]
    # Each entry's stored canonical text is spliced in as it is (like the socket's
    # frames): no re-parsing, and clients hash exactly the bytes the server hashed.
    return HttpResponse("[" + ",".join(entry_item_text(row) for row in rows) + "]", content_type="application/json")


@router.get("/threads/{thread_id}/keys", summary="Key packages with a wrap for my device")
def get_keys(request: HttpRequest, thread_id: str, device: str) -> list[dict[str, Any]]:
    user = _user(request)
    thread = access_thread_member(user, thread_id)
    return packages_for_device(thread, check_session_device(user, device, request.session.session_key).pk)


@router.delete("/threads/{thread_id}/members/{user_id}", summary="Revoke a member's invitation (recorded)")
def revoke_member(request: HttpRequest, thread_id: str, user_id: str) -> dict[str, int]:
    return {"seq": check_revoke_membership(_user(request), thread_id, check.uuid_text(user_id, "user"))}
