"""API: the record bundle for export, retraction and legal hold (DESIGN §5, §7 ``threads/{id}/record``)."""

import json
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest
from ninja import Body, Router

from consult.actions.exports import check_export
from consult.actions.retention import check_lift_legal_hold, check_retract_message, check_set_legal_hold
from consult.lib import envelopes as check
from consult.models import User

router = Router(tags=["record"])


@router.post("/threads/{thread_id}/record", summary="Export: record the export and return the bundle data")
def export_record(request: HttpRequest, thread_id: str, payload: Body[dict[str, Any]]) -> dict[str, Any]:
    """Supervisors of a party authority only, with a fresh code from their authenticator."""
    user = request.user
    assert isinstance(user, User)
    body = check.exact_fields(payload, "export", {"code"})
    return check_export(request, user, thread_id, str(body["code"]))


# More than a message can name: a 256 KiB frame holds about 1,300 file entries.
MAX_RETRACTED_BLOBS = 1000


def _retraction_body(request: HttpRequest) -> Mapping[str, Any]:
    """Nothing, an empty form, ``{}`` or ``{"blobs": …}``; whatever the body claims to be, anything else is refused."""
    if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return check.exact_fields({} if not request.POST and not request.FILES else None, "retract", set())
    if not request.body.strip():
        return {}
    try:
        payload = json.loads(request.body)
    except ValueError:
        payload = None
    fields = {"blobs"} if isinstance(payload, dict) and "blobs" in payload else set()
    return check.exact_fields(payload, "retract", fields)


def _blob_ids(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_RETRACTED_BLOBS:
        raise check.fail("blobs", f"must be a list of at most {MAX_RETRACTED_BLOBS} file ids")
    return [check.uuid_text(blob, "blobs") for blob in value]


@router.post(
    "/threads/{thread_id}/entries/{seq}/retract",
    summary="Retract one of my messages: its content is dropped, its entry and hash stay",
)
def retract_message(request: HttpRequest, thread_id: str, seq: str) -> dict[str, Any]:
    """The sender, still a member, drops a message's ciphertext; a ``purge`` entry records it.

    The body is none, the JSON ``{}``, or ``{"blobs": [id, …]}``: the message's attachments,
    whose files go too (docs/record.md). Answers ``{"seq": <purge entry>, "retracted": <message>}``;
    404 for non-members and missing threads or entries, 403 for someone else's message,
    400 for an entry that is not a message, 409 if already removed or the case is on legal hold.
    """
    user = request.user
    assert isinstance(user, User)
    body = _retraction_body(request)
    blobs = _blob_ids(body["blobs"]) if "blobs" in body else []
    number = int(seq) if seq.isascii() and seq.isdigit() and len(seq) <= 18 else 0  # 0: no such entry
    purge = check_retract_message(user, thread_id, number, blobs)
    return {"seq": purge.seq, "retracted": number}


@router.post("/cases/{case_id}/legal-hold", response={201: dict[str, Any]}, summary="Put a case on legal hold")
def set_legal_hold(request: HttpRequest, case_id: str, payload: Body[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """Supervisors of a party; recorded in every thread of the case. Blocks retention purges."""
    user = request.user
    assert isinstance(user, User)
    body = check.exact_fields(payload, "hold", {"reason"})
    hold = check_set_legal_hold(user, case_id, check.text(body["reason"], "reason", 200))
    return 201, {"case": case_id, "reason": hold.reason, "set_at": hold.set_at.isoformat()}


@router.delete("/cases/{case_id}/legal-hold", summary="Lift a case's legal hold")
def lift_legal_hold(request: HttpRequest, case_id: str) -> dict[str, Any]:
    user = request.user
    assert isinstance(user, User)
    hold = check_lift_legal_hold(user, case_id)
    return {"case": case_id, "lifted_at": hold.lifted_at.isoformat() if hold.lifted_at else None}
