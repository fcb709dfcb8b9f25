"""Retention and legal hold (DESIGN §5).

Purging drops the ciphertext of message envelopes and the encrypted files of
a closed case's threads once the longer retention period of its two
authorities has passed, unless the case is on legal hold. Entries are never
removed: a purged entry keeps its ``digest`` (SHA-256 of the canonical entry
as written), so its chain hash still verifies, and a ``purge`` entry records
each purge. Setting and lifting a hold is recorded in every thread of the
case as a ``status`` entry.
"""

import json
import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from cases.lib.access import access_case
from cases.models import Case
from consult.actions.records import do_append_entry
from consult.actions.threads import locked_thread
from consult.exceptions import Conflict, NotFound
from consult.lib.canonical import canonical_json
from consult.models import Entry, LegalHold, Thread, User
from consult.models.blobs import Blob

logger = logging.getLogger("comity.retention")
HOLD, NO_HOLD = "legal_hold", "not_on_hold"


def _access_as_supervisor(user: User, case_id: str) -> Case:
    try:
        case = access_case(user, case_id)
    except Http404:
        raise NotFound from None
    if user.role != User.Role.SUPERVISOR:
        raise NotFound
    return case


def do_record_case_status(case: Case, user: User | None, before: str, after: str) -> None:
    """Write a ``status`` entry in every thread of the case (DESIGN §5): the record shows
    when a case closed, reopened, or went on and off legal hold."""
    for thread_id in Thread.objects.filter(case=case).values_list("pk", flat=True):
        thread = locked_thread(thread_id)
        do_append_entry(thread, "status", {"case": str(case.pk), "from": before, "to": after}, user=user, device=None)


def check_set_legal_hold(user: User, case_id: str, reason: str) -> LegalHold:
    """A supervisor of a party puts the case on hold: nothing of it is purged until lifted."""
    case = _access_as_supervisor(user, case_id)
    reason = reason.strip()[:200] or "legal hold"
    with transaction.atomic():
        if LegalHold.objects.select_for_update().filter(case=case, lifted_at__isnull=True).exists():
            raise Conflict("The case is already on legal hold.")
        hold = LegalHold.objects.create(case=case, reason=reason, set_by=user)
        do_record_case_status(case, user, NO_HOLD, HOLD)
    return hold


def check_lift_legal_hold(user: User, case_id: str) -> LegalHold:
    case = _access_as_supervisor(user, case_id)
    with transaction.atomic():
        hold = LegalHold.objects.select_for_update().filter(case=case, lifted_at__isnull=True).first()
        if hold is None:
            raise Conflict("The case is not on legal hold.")
        hold.lifted_by, hold.lifted_at = user, timezone.now()
        hold.save(update_fields=["lifted_by", "lifted_at"])
        do_record_case_status(case, user, HOLD, NO_HOLD)
    return hold


def closed_since(thread: Thread) -> datetime | None:
    """When the thread's case was last closed, from its ``status`` entries; None if open."""
    if thread.case.status != Case.Status.CLOSED:
        return None
    entry = (
        Entry.objects.filter(thread=thread, kind="status", canonical__contains='"to":"closed"').order_by("-seq").first()
    )
    return entry.at if entry else thread.case.updated_at


def purge_due(thread: Thread, now: datetime) -> bool:
    """Whether the thread's content is past retention and not on hold."""
    closed = closed_since(thread)
    days = [a.retention_days for a in (thread.case.requesting_authority, thread.case.requested_authority)]
    if closed is None or any(d is None for d in days):
        return False  # open, or an authority keeps content for ever
    if LegalHold.objects.filter(case=thread.case, lifted_at__isnull=True).exists():
        return False
    return closed + timedelta(days=max(d for d in days if d is not None)) <= now


def do_purge_thread(thread_id: str, now: datetime) -> int:
    """Drop the ciphertext of every message and file of the thread; return how many entries."""
    from consult.actions.blobs import blob_path

    purged = 0
    with transaction.atomic():
        thread = locked_thread(thread_id)
        if not purge_due(thread, now):
            return 0
        for entry in Entry.objects.filter(thread=thread, kind="message", purged_at__isnull=True).order_by("seq"):
            content = json.loads(entry.canonical)
            content["body"].pop("ct", None)
            entry.canonical, entry.purged_at = canonical_json(content).decode(), now
            entry.save(update_fields=["canonical", "purged_at"])
            do_append_entry(thread, "purge", {"seq": entry.seq, "reason": "retention"}, user=None, device=None)
            purged += 1
        for blob in Blob.objects.filter(thread=thread):
            blob_path(blob.pk).unlink(missing_ok=True)
            blob.delete()
    logger.info("purged thread=%s entries=%d", thread_id, purged)
    return purged


def do_purge_expired(now: datetime | None = None) -> dict[str, int]:
    """Purge every thread past retention; safe to run daily and repeatedly."""
    now = now or timezone.now()
    done = {}
    for thread in Thread.objects.filter(case__status=Case.Status.CLOSED).select_related(
        "case__requesting_authority", "case__requested_authority"
    ):
        if purge_due(thread, now) and (count := do_purge_thread(str(thread.pk), now)):
            done[str(thread.pk)] = count
    return done
