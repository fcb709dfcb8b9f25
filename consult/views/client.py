"""API for the browser client's lists: threads and people to invite (DESIGN §8).

Metadata only (subjects, names, dates): what the server sees anyway (DESIGN §2).
"""

import re
from typing import Any

import segno
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Router

from cases.lib.access import access_case
from consult.actions.threads import may_invite
from consult.exceptions import Forbidden
from consult.lib import envelopes as check
from consult.lib.access import access_thread_member
from consult.models import Membership, Thread, User

router = Router(tags=["client"])


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _thread_json(thread: Thread, member_of: set[Any]) -> dict[str, Any]:
    return {
        "id": str(thread.pk),
        "case": str(thread.case_id),
        "subject": thread.subject,
        "history": thread.history,
        "epoch": thread.epoch,
        "head": thread.head_seq,
        "created_at": thread.created_at.isoformat(),
        "member": thread.pk in member_of,
    }


@router.get("/threads", summary="Threads of a case I see (?case=), or else the threads I am a member of")
def list_threads(request: HttpRequest, case: str | None = None) -> list[dict[str, Any]]:
    user = _user(request)
    unexpired = Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())  # the sweep may not have ended it yet
    memberships = Membership.objects.filter(unexpired, user=user, ended_at__isnull=True)
    mine = set(memberships.values_list("thread_id", flat=True))
    if case is not None:
        threads = Thread.objects.filter(case=access_case(user, case))
    else:
        threads = Thread.objects.filter(pk__in=mine)
    return [_thread_json(t, mine) for t in threads.order_by("-created_at")[:500]]


@router.get("/threads/{thread_id}/candidates", summary="People who may be invited to a thread")
def invite_candidates(request: HttpRequest, thread_id: str) -> list[dict[str, Any]]:
    user = _user(request)
    thread = access_thread_member(user, thread_id)
    if not may_invite(user, thread):
        raise Forbidden("Only officers and supervisors of the two authorities invite.")
    current = Membership.objects.filter(thread=thread, ended_at__isnull=True).values_list("user_id", flat=True)
    parties = Q(authority_id__in=thread.case.party_ids(), role__in=[User.Role.OFFICER, User.Role.SUPERVISOR])
    people = (
        User.objects.filter(parties | Q(role=User.Role.LIAISON), is_active=True)
        .exclude(pk__in=current)
        .select_related("authority")
        .order_by("authority__code", "display_name")
    )
    return [
        {
            "user": str(p.pk),
            "display_name": p.display_name,
            "authority": p.authority.code if p.authority else None,
            "role": p.role,
        }
        for p in people[:500]
    ]


_SAFETY_NUMBER = re.compile(r"^\d{60}$")


@router.get("/safety-qr", summary="A safety number as a QR code (SVG)")
def safety_qr(request: HttpRequest, number: str) -> HttpResponse:
    """The 60 digits of a safety number as a QR code for the other person to scan (DESIGN §4).

    Only digits are accepted, so the SVG holds nothing a user could inject.
    """
    if not _SAFETY_NUMBER.match(number):
        raise check.fail("number", "must be the 60 digits of a safety number")
    svg = segno.make(number, error="m").svg_inline(scale=4, border=2)
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=3600"
    return response
