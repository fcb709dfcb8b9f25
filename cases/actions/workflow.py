"""Workflow rules enforced when a message is accepted (DESIGN §6, docs/protocol.md "Workflow metadata").

The locked path of ``consult.actions.messages`` calls
:func:`check_workflow_message` once, inside its transaction and under the
thread's row lock, right after the entry is appended. It checks what the
signed header asks for against the register, then records it. Any error
rolls back the whole transaction, entry included: a refused item leaves
nothing behind and the socket answers ``forbidden``, ``conflict`` or
``bad_frame``. What the rules read first (the case's parties and the
thread's default handling code) comes with the sender's locking query, so
they add no round trip of their own to the hot path of every message.

Only the header is read (``kind`` and ``meta``); the encrypted payload,
where ``reply_to`` lives, is never opened. That is why answers and assurance
moves name what they move in ``meta`` (``clarification`` and ``ref``).
"""

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from cases.models import (
    Assurance,
    AssuranceEvent,
    AssuranceStatus,
    Case,
    Clarification,
    Item,
    Side,
)
from consult.exceptions import Conflict, Forbidden
from consult.lib.envelopes import fail
from consult.lib.rows import insert_row
from consult.models import Entry, Thread, User

# Which party may make each move of an assurance: the one that gives it (the
# requested side of the assurance) or the one that asked for it, accepts it
# and ticks its checklist (the requesting side). A move not listed here is a
# conflict with the current status; ``withdrawn`` is final.
GIVER, RECEIVER = "giver", "receiver"
S = AssuranceStatus
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.REQUESTED, S.OFFERED): GIVER,
    (S.REQUESTED, S.DECLINED): GIVER,  # the requested side will not give it
    (S.REQUESTED, S.WITHDRAWN): RECEIVER,  # the request is dropped
    (S.OFFERED, S.OFFERED): GIVER,  # a revised offer
    (S.OFFERED, S.ACCEPTED): RECEIVER,
    (S.OFFERED, S.DECLINED): RECEIVER,  # found insufficient
    (S.OFFERED, S.WITHDRAWN): GIVER,
    (S.DECLINED, S.OFFERED): GIVER,  # a better offer after a refusal
    (S.DECLINED, S.REQUESTED): RECEIVER,  # asked again
    (S.ACCEPTED, S.WITHDRAWN): GIVER,
}
OPENING_STATUSES = (S.REQUESTED, S.OFFERED)

Then = Callable[[Item], object]


class Party:
    """The sender as one of the two parties of the case."""

    def __init__(self, case: Case, authority_id: int) -> None:
        self.authority_id = authority_id
        requesting = authority_id == case.requesting_authority_id
        self.side = Side.REQUESTING if requesting else Side.REQUESTED
        self.other_id = case.requested_authority_id if requesting else case.requesting_authority_id


def _party(user: User, case: Case) -> Party | None:
    """Officers and supervisors of the two authorities act for a side; liaison officers do not."""
    if user.role not in (User.Role.OFFICER, User.Role.SUPERVISOR) or user.authority_id not in case.party_ids():
        return None
    assert user.authority_id is not None
    return Party(case, user.authority_id)


def _require_party(party: Party | None, what: str) -> Party:
    if party is None:
        raise Forbidden(f"Only officers and supervisors of the two authorities {what}.")
    return party


def moves_workflow(header: Mapping[str, Any]) -> bool:
    """Whether a message changes workflow state (a clarification, its answer, an assurance move).

    Those are checked against the register under the thread's lock; every
    other message is only recorded as an item (:func:`do_record_item`).
    """
    kind = header["kind"]
    return kind in ("clarification", "assurance") or (kind == "answer" and "clarification" in header["meta"])


def check_workflow_message(
    user: User, thread: Thread, header: Mapping[str, Any], entry: Entry, default_handling: str | None
) -> Item:
    """Check an accepted message's workflow meaning and record it in the register.

    The caller holds ``thread``'s row lock inside a transaction and has
    already checked the header's shape (``consult.lib.envelopes.check_meta``).

    Args:
        user: the sender, a current member of the thread.
        thread: the locked thread; of ``thread.case`` only the id and the two parties are read.
        header: the envelope's signed header (``kind`` and ``meta`` are read).
        entry: the entry just appended for this message.
        default_handling: the thread's default handling code (``ThreadHandling``), if any.

    Returns:
        The item recorded for the message.

    Raises:
        Forbidden: the sender's side may not make this move.
        Conflict: the move does not fit the current state (e.g. accepting a
            withdrawn assurance, answering an answered clarification).
        BadInput: ``meta`` points at something that is not in this thread.
    """
    case = thread.case
    kind, meta = header["kind"], header["meta"]
    party = _party(user, case)
    then: Then | None = None
    if kind == "clarification":
        then = _check_clarification(_require_party(party, "ask for clarification"), case, thread, meta)
    elif kind == "answer" and "clarification" in meta:
        then = _check_answer(_require_party(party, "answer clarifications"), thread, meta["clarification"])
    elif kind == "assurance":
        then = _check_assurance(_require_party(party, "move assurances"), case, thread, meta)
    handling, inherited = meta.get("handling"), False
    if handling is None and default_handling:
        handling, inherited = default_handling, True
    item = do_record_item(user, party, case, thread, entry, kind, handling or "", inherited)
    if then is not None:
        then(item)
    return item


def month_of(moment: dt.datetime) -> dt.date:
    """The first day of ``moment``'s month in UTC (``Item.month``)."""
    return moment.astimezone(dt.UTC).date().replace(day=1)


def do_record_item(
    user: User, party: Party | None, case: Case, thread: Thread, entry: Entry, kind: str, handling: str, inherited: bool
) -> Item:
    """Store an accepted message's metadata (trusted input: the header is already checked)."""
    return insert_row(Item(
        entry=entry, thread=thread, case=case, seq=entry.seq, at=entry.at, month=month_of(entry.at), kind=kind,
        sender=user, sender_authority_id=user.authority_id, side=party.side if party else "",
        handling=handling, handling_inherited=inherited,
    ))  # fmt: skip


# --- clarifications ---------------------------------------------------------------------


def _check_clarification(party: Party, case: Case, thread: Thread, meta: Mapping[str, Any]) -> Then:
    """A request for clarification: the other party must answer by ``meta.due``."""
    due = dt.date.fromisoformat(meta["due"])

    def then(item: Item) -> Clarification:
        return Clarification.objects.create(
            item=item, case=case, thread=thread, seq=item.seq, asked_at=item.at, due=due,
            asked_by_id=party.authority_id, answer_by_id=party.other_id,
        )  # fmt: skip

    return then


def _check_answer(party: Party, thread: Thread, seq: int) -> Then:
    """An answer that closes the clarification at ``seq``: once, and only by the side asked."""
    asked = Clarification.objects.filter(thread=thread, seq=seq).first()
    if asked is None:
        raise fail("header.meta.clarification", "is not a clarification of this thread")
    if asked.answer_id is not None or asked.answered_at is not None:
        raise Conflict(f"The clarification at seq {seq} is already answered.")
    if party.authority_id != asked.answer_by_id:
        raise Forbidden("Only the other side answers a clarification.")

    def then(item: Item) -> Clarification:
        asked.answer, asked.answered_at = item, item.at
        asked.save(update_fields=["answer", "answered_at"])
        return asked

    return then


# --- assurances -------------------------------------------------------------------------


def _check_assurance(party: Party, case: Case, thread: Thread, meta: Mapping[str, Any]) -> Then:
    """Open an assurance (no ``ref``) or move the one ``meta.ref`` points at."""
    status, kind = meta["status"], meta["type"]
    if "ref" not in meta:
        if status not in OPENING_STATUSES:
            raise fail("header.meta.status", "a new assurance is requested or offered; name it in ref to move it")
        return _opening(party, case, thread, kind, status)
    event = AssuranceEvent.objects.filter(item__thread=thread, item__seq=meta["ref"]).select_related("assurance")
    found = event.first()
    if found is None:
        raise fail("header.meta.ref", "is not an assurance of this thread")
    assurance = found.assurance
    if assurance.type != kind:
        raise fail("header.meta.type", f"must stay {assurance.type}")
    mover = TRANSITIONS.get((assurance.status, status))
    if mover is None:
        raise Conflict(f"A {assurance.status} assurance cannot become {status}.")
    allowed = assurance.requested_authority_id if mover == GIVER else assurance.requesting_authority_id
    if party.authority_id != allowed:
        who = "the side giving the assurance" if mover == GIVER else "the side that asked for the assurance"
        raise Forbidden(f"Only {who} may mark it {status}.")

    def then(item: Item) -> AssuranceEvent:
        assurance.status, assurance.updated_at = status, item.at
        assurance.save(update_fields=["status", "updated_at"])
        return _event(assurance, item, status, party)

    return then


def _opening(party: Party, case: Case, thread: Thread, kind: str, status: str) -> Then:
    """Who asks for an assurance is its requesting side; an unsolicited offer makes the other side it."""
    asking = status == S.REQUESTED
    requesting, requested = (party.authority_id, party.other_id) if asking else (party.other_id, party.authority_id)

    def then(item: Item) -> AssuranceEvent:
        assurance = Assurance.objects.create(
            case=case, thread=thread, seq=item.seq, type=kind, status=status, requesting_authority_id=requesting,
            requested_authority_id=requested, opened_at=item.at, updated_at=item.at,
        )  # fmt: skip
        return _event(assurance, item, status, party)

    return then


def _event(assurance: Assurance, item: Item, status: str, party: Party) -> AssuranceEvent:
    return AssuranceEvent.objects.create(
        assurance=assurance, item=item, status=status, at=item.at, authority_id=party.authority_id, user=item.sender
    )
