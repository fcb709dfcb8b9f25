"""Retention, retraction and legal hold (DESIGN §5).

Purging drops the ciphertext of message envelopes and the encrypted files of
a closed case's threads once the longer retention period of its two
authorities has passed, unless the case is on legal hold. A sender may also
retract one of their own messages: its ciphertext is dropped the same way.
Entries are never removed: a purged entry keeps its ``digest`` (SHA-256 of
the canonical entry as written), so its chain hash still verifies, and a
``purge`` entry (``{"seq": n, "reason": "retention"|"retracted"}``) records
each purge. Setting and lifting a hold is recorded in every thread of the
case as a ``status`` entry.
"""

import json
import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from cases.lib.access import access_case
from cases.models import Case
from consult.actions.blobs import do_delete_blobs
from consult.actions.records import do_append_entry
from consult.actions.threads import end_due_memberships, locked_thread
from consult.exceptions import BadInput, Conflict, Forbidden, NotFound
from consult.lib.access import access_thread_member, is_member
from consult.lib.canonical import canonical_json
from consult.models import Entry, LegalHold, Thread, User
from consult.models.blobs import Blob

logger = logging.getLogger("comity.retention")
HOLD, NO_HOLD = "legal_hold", "not_on_hold"
RETENTION, RETRACTED = "retention", "retracted"


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
        end_due_memberships(thread_id)  # an expiry is recorded before the status that follows it
        thread = locked_thread(thread_id)
        do_append_entry(thread, "status", {"case": str(case.pk), "from": before, "to": after}, user=user, device=None)


def check_set_legal_hold(user: User, case_id: str, reason: str) -> LegalHold:
    """A supervisor holds the case for their authority: nothing of it is purged while any party's hold stands."""
    case = _access_as_supervisor(user, case_id)
    reason = reason.strip()[:200] or "legal hold"
    with transaction.atomic():
        standing = _standing_holds(case)
        if any(hold.authority_id == user.authority_id for hold in standing):
            raise Conflict("Your authority already holds this case.")
        assert user.authority_id is not None  # a supervisor of one of the case's parties
        hold = LegalHold.objects.create(case=case, authority_id=user.authority_id, reason=reason, set_by=user)
        do_record_case_status(case, user, HOLD if standing else NO_HOLD, HOLD)
    return hold


def check_lift_legal_hold(user: User, case_id: str) -> LegalHold:
    """A supervisor lifts their authority's hold; the other party's, if any, stands (docs/decisions.md)."""
    case = _access_as_supervisor(user, case_id)
    with transaction.atomic():
        standing = _standing_holds(case)
        hold = next((hold for hold in standing if hold.authority_id == user.authority_id), None)
        if hold is None:
            other = "; the other party's hold is for it alone to lift" if standing else ""
            raise Conflict(f"Your authority does not hold this case{other}.")
        hold.lifted_by, hold.lifted_at = user, timezone.now()
        hold.save(update_fields=["lifted_by", "lifted_at"])
        do_record_case_status(case, user, HOLD, HOLD if len(standing) > 1 else NO_HOLD)
    return hold


def _standing_holds(case: Case) -> list[LegalHold]:
    """The case's holds not lifted, read under the case's row lock: a concurrent set or lift waits for this one."""
    Case.objects.select_for_update().filter(pk=case.pk).first()
    return list(LegalHold.objects.filter(case=case, lifted_at__isnull=True))


def on_hold(case: Case) -> bool:
    """Whether any party holds the case."""
    return LegalHold.objects.filter(case=case, lifted_at__isnull=True).exists()


def do_drop_content(thread: Thread, entry: Entry, reason: str, *, user: User | None, now: datetime) -> Entry:
    """Drop a message entry's ``ct`` and record a ``purge`` entry; return the latter.

    The caller holds ``thread``'s row lock inside a transaction and has checked
    that ``entry`` is an unpurged message of it and that no legal hold applies.
    ``Entry.digest`` keeps the hash of the entry as written, so the chain still
    verifies.
    """
    content = json.loads(entry.canonical)
    content["body"].pop("ct", None)
    entry.canonical, entry.purged_at = canonical_json(content).decode(), now
    entry.save(update_fields=["canonical", "purged_at"])
    return do_append_entry(thread, "purge", {"seq": entry.seq, "reason": reason}, user=user, device=None)


def check_retract_message(user: User, thread_id: str, seq: int, blobs: Collection[str] = ()) -> Entry:
    """The sender of a message drops its content (DESIGN §5); return the ``purge`` entry.

    ``blobs`` are the message's attachments as the sender's client read them
    from the payload, which the server cannot: of those, the files the sender
    uploaded to this thread are deleted with the content. Anything else named
    is left alone, without saying whether it exists.

    Raises:
        NotFound: ``user`` is not a current member, or no such thread or entry.
        BadInput: the entry is not a message.
        Forbidden: someone else sent the message.
        Conflict: its content is already gone, or the case is on legal hold.
    """
    thread = access_thread_member(user, thread_id)
    with transaction.atomic():
        thread = locked_thread(thread.pk)
        if not is_member(user, thread.pk):
            raise NotFound  # left or removed since the check above
        entry = Entry.objects.filter(thread=thread, seq=seq).first() if 1 <= seq <= thread.head_seq else None
        if entry is None:
            raise NotFound
        if entry.kind != "message":
            raise BadInput("Only messages can be retracted.")
        if entry.actor_user_id != user.pk:
            raise Forbidden("Only the sender of a message may retract it.")
        if entry.purged_at is not None:
            raise Conflict("The content of this message is already removed.")
        if on_hold(thread.case):
            raise Conflict("The case is on legal hold: nothing of it may be removed until the hold is lifted.")
        purge = do_drop_content(thread, entry, RETRACTED, user=user, now=timezone.now())
        do_delete_blobs(Blob.objects.filter(thread=thread, uploaded_by=user, pk__in=blobs))
    logger.info("retracted thread=%s seq=%d purge=%d", thread.pk, seq, purge.seq)
    return purge


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
    if on_hold(thread.case):
        return False
    return closed + timedelta(days=max(d for d in days if d is not None)) <= now


def do_purge_thread(thread_id: str, now: datetime) -> int:
    """Drop the ciphertext of every message and file of the thread; return how many entries."""
    purged = 0
    end_due_memberships(thread_id)
    with transaction.atomic():
        thread = locked_thread(thread_id)
        if not purge_due(thread, now):
            return 0
        for entry in Entry.objects.filter(thread=thread, kind="message", purged_at__isnull=True).order_by("seq"):
            do_drop_content(thread, entry, RETENTION, user=None, now=now)
            purged += 1
        do_delete_blobs(Blob.objects.filter(thread=thread))
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
