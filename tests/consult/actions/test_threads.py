"""Threads, membership, key packages, messages and the record (DESIGN §4, §5)."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from consult.actions.keys import check_key_package
from consult.actions.messages import check_send_message
from consult.actions.threads import check_membership_change, do_expire_due_memberships
from consult.client import build_membership_change, make_payload, open_envelope, seal_envelope, verify_chain
from consult.client.chain import ChainHead
from consult.client.errors import ChainError
from consult.exceptions import BadInput, BadSignature, Conflict, Forbidden, NotFound, StaleEpoch
from consult.lib.crypto import unb64u
from consult.lib.entries import entry_item
from consult.lib.server_key import server_private_key
from consult.models import Entry, Thread
from tests.realtime import Peer, World, make_world, open_thread, package_recipients, rotate

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return make_world()


def send(peer, thread_id, key, text="Is the offence punishable by at least one year?", epoch=None, **kwargs):  # type: ignore[no-untyped-def]
    thread = Thread.objects.get(pk=thread_id)
    envelope = seal_envelope(
        peer.device, key, thread=thread_id, epoch=epoch or thread.epoch, kind=kwargs.pop("kind", "text"),
        payload=make_payload(text), **kwargs,
    )  # fmt: skip
    return envelope, check_send_message(peer.user, peer.server_device(), thread_id, envelope)


def add(actor, thread_id, target, expires=None):  # type: ignore[no-untyped-def]
    change = build_membership_change(
        actor.device, thread=thread_id, action="add", user=str(target.user.pk), expires=expires
    )
    return check_membership_change(actor.user, actor.server_device(), thread_id, change).seq


def test_record__gapless_chain_verifies_with_the_server_key(world: World) -> None:
    """Every accepted item is an entry; the client's verifier accepts the whole chain."""
    thread_id, key = open_thread(world.fr, world.case)
    add(world.fr, thread_id, world.de)
    key = rotate(world.fr, thread_id)
    for i in range(5):
        send(world.fr if i % 2 else world.de, thread_id, key, f"message {i}")
    entries = [entry_item(e) for e in Entry.objects.filter(thread_id=thread_id).order_by("seq")]
    assert [e["seq"] for e in entries] == list(range(1, 10))
    assert [e["entry"]["kind"] for e in entries[:4]] == ["create", "keys", "member", "keys"]
    head = verify_chain(thread_id, entries, server_private_key().public_key())
    assert head.seq == 9 and head.hash == bytes(Thread.objects.get(pk=thread_id).head_hash)


def test_record__a_changed_byte_is_caught_at_its_seq(world: World) -> None:
    thread_id, key = open_thread(world.fr, world.case)
    send(world.fr, thread_id, key)
    entries = [entry_item(e) for e in Entry.objects.filter(thread_id=thread_id).order_by("seq")]
    entries[2]["entry"]["body"]["ct"] = entries[2]["entry"]["body"]["ct"][:-2] + "AA"
    with pytest.raises(ChainError) as broken:
        verify_chain(thread_id, entries, server_private_key().public_key(), after=ChainHead.genesis(thread_id))
    assert broken.value.seq == 3


def test_send__member_can_read_what_another_sent(world: World) -> None:
    thread_id, _ = open_thread(world.fr, world.case)
    add(world.fr, thread_id, world.de)
    key = rotate(world.fr, thread_id)
    envelope, ack = send(world.fr, thread_id, key, "Please confirm the limitation period.")
    stored = Entry.objects.get(thread_id=thread_id, seq=ack.seq)
    assert b"limitation" not in stored.canonical.encode()  # ciphertext only
    payload = open_envelope(envelope, key, world.fr.device.sig_public_key)
    assert payload["text"] == "Please confirm the limitation period."


def test_send__same_client_id_stores_once_and_returns_first_ack(world: World) -> None:
    thread_id, key = open_thread(world.fr, world.case)
    envelope, first = send(world.fr, thread_id, key)
    again = check_send_message(world.fr.user, world.fr.server_device(), thread_id, envelope)
    assert again == first
    assert Entry.objects.filter(thread_id=thread_id, kind="message").count() == 1


def test_send__another_members_client_id_is_a_conflict_not_their_ack(world: World) -> None:
    thread_id, key = open_thread(world.fr, world.case)
    add(world.fr, thread_id, world.de)
    envelope, _ = send(world.fr, thread_id, key)
    with pytest.raises(Conflict):
        send(world.de, thread_id, key, client_id=envelope["header"]["client_id"])
    assert Entry.objects.filter(thread_id=thread_id, kind="message").count() == 1


def test_send__bad_signature_refused_and_nothing_stored(world: World) -> None:
    thread_id, key = open_thread(world.fr, world.case)
    envelope, _ = send(world.fr, thread_id, key)
    forged = {**envelope, "header": {**envelope["header"], "client_id": str(uuid.uuid4())}}
    before = Entry.objects.count()
    with pytest.raises(BadSignature):
        check_send_message(world.fr.user, world.fr.server_device(), thread_id, forged)
    assert Entry.objects.count() == before


def test_send__outsider_gets_not_found(world: World) -> None:
    thread_id, key = open_thread(world.fr, world.case)
    with pytest.raises(NotFound):
        send(world.outsider, thread_id, key)
    with pytest.raises(NotFound):
        send(world.de, thread_id, key)  # a party officer, but not a member


def test_epochs__removal_makes_old_epoch_stale_until_rotation(world: World) -> None:
    thread_id, _ = open_thread(world.fr, world.case)
    add(world.fr, thread_id, world.de)
    key = rotate(world.fr, thread_id)
    change = build_membership_change(world.fr.device, thread=thread_id, action="remove", user=str(world.de.user.pk))
    check_membership_change(world.fr.user, world.fr.server_device(), thread_id, change)
    before = Entry.objects.count()
    with pytest.raises(StaleEpoch):
        send(world.fr, thread_id, key)
    assert Entry.objects.count() == before
    new_key = rotate(world.fr, thread_id)
    _, ack = send(world.fr, thread_id, new_key)
    assert ack.seq == Entry.objects.filter(thread_id=thread_id).count()


def test_epochs__the_rotation_that_admits_a_newcomer_closes_the_epochs_before_it(world: World) -> None:
    """An addition leaves the current epoch open only until the rotation: after it, the old key is stale.

    Otherwise an epoch could outlive its 1,000 messages or 7 days (counted
    for the newest epoch only) by being used after the rotation.
    """
    thread_id, first_key = open_thread(world.fr, world.case)
    send(world.fr, thread_id, first_key)
    add(world.fr, thread_id, world.de)
    send(world.fr, thread_id, first_key, epoch=1)  # before the rotation: still open
    key = rotate(world.fr, thread_id)
    before = Entry.objects.count()
    with pytest.raises(StaleEpoch):
        send(world.fr, thread_id, first_key, epoch=1)
    assert Entry.objects.count() == before
    _, ack = send(world.de, thread_id, key)
    assert ack.seq == before + 1


def test_epochs__a_newcomer_sends_only_under_an_epoch_keyed_after_they_joined(world: World) -> None:
    """Until the rotation that admits them, a newcomer may hold the current key (shared as history) but not write.

    Every membership change starts a new epoch (DESIGN §4): a message under
    the epoch before it would come from someone its package never named.
    """
    thread_id, first_key = open_thread(world.fr, world.case)
    add(world.fr, thread_id, world.de)
    before = Entry.objects.count()
    with pytest.raises(StaleEpoch) as refused:
        send(world.de, thread_id, first_key, epoch=1)
    assert "before you joined" in refused.value.detail
    assert Entry.objects.count() == before
    send(world.fr, thread_id, first_key, epoch=1)  # the members of that epoch still may, until the rotation
    key = rotate(world.fr, thread_id)
    _, ack = send(world.de, thread_id, key)
    assert ack.seq == Entry.objects.filter(thread_id=thread_id).count()


def test_replay__a_membership_change_sent_again_returns_its_entry_and_stores_nothing(world: World) -> None:
    """A browser sends its in-flight frame again after a reconnect: the first ack, not "Already a member"."""
    thread_id, _ = open_thread(world.fr, world.case)
    joined = build_membership_change(world.fr.device, thread=thread_id, action="add", user=str(world.de.user.pk))
    first = check_membership_change(world.fr.user, world.fr.server_device(), thread_id, joined)
    assert check_membership_change(world.fr.user, world.fr.server_device(), thread_id, joined) == first
    left = build_membership_change(world.de.device, thread=thread_id, action="leave", user=str(world.de.user.pk))
    gone = check_membership_change(world.de.user, world.de.server_device(), thread_id, left)
    assert check_membership_change(world.de.user, world.de.server_device(), thread_id, left) == gone
    assert Entry.objects.filter(thread_id=thread_id, kind="member").count() == 2
    with pytest.raises(BadInput):  # someone else's signed change is not theirs to replay
        check_membership_change(world.de.user, world.de.server_device(), thread_id, joined)


def test_replay__an_acknowledgement_sent_again_is_stored_once(world: World) -> None:
    from consult.actions.messages import check_acknowledgement
    from consult.client import build_acknowledgement

    thread_id, key = open_thread(world.fr, world.case)
    _, ack = send(world.fr, thread_id, key)
    receipt = build_acknowledgement(world.fr.device, thread=thread_id, seq=ack.seq, hash_=unb64u(ack.hash))
    first = check_acknowledgement(world.fr.user, world.fr.server_device(), thread_id, receipt)
    assert check_acknowledgement(world.fr.user, world.fr.server_device(), thread_id, receipt) == first
    assert Entry.objects.filter(thread_id=thread_id, kind="receipt").count() == 1


def test_epochs__liaison_expiry_is_recorded_and_forces_rotation(world: World) -> None:
    thread_id, _ = open_thread(world.fr, world.case)
    add(world.fr, thread_id, world.liaison, expires=(timezone.now() + timedelta(hours=1)).isoformat())
    key = rotate(world.fr, thread_id)
    assert do_expire_due_memberships() == []
    from consult.models import Membership

    Membership.objects.filter(user=world.liaison.user).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert do_expire_due_memberships() == [(thread_id, str(world.liaison.user.pk))]
    last = Entry.objects.filter(thread_id=thread_id).order_by("-seq").first()
    assert last is not None and last.kind == "expiry" and last.actor_user is None
    assert '"reason":"expired"' in last.canonical
    with pytest.raises(StaleEpoch):
        send(world.fr, thread_id, key)
    with pytest.raises(NotFound):
        send(world.liaison, thread_id, key)


def test_membership__liaison_needs_an_expiry_and_outsiders_cannot_join(world: World) -> None:
    thread_id, _ = open_thread(world.fr, world.case)
    with pytest.raises(BadInput):
        add(world.fr, thread_id, world.liaison)
    with pytest.raises(NotFound):
        add(world.fr, thread_id, world.outsider)
    assert Entry.objects.filter(thread_id=thread_id, kind="member").count() == 0


def test_membership__liaison_cannot_invite(world: World) -> None:
    thread_id, _ = open_thread(world.fr, world.case)
    add(world.fr, thread_id, world.liaison, expires=(timezone.now() + timedelta(days=1)).isoformat())
    with pytest.raises(Forbidden):
        add(world.liaison, thread_id, world.de)


def _package(world: World, thread_id: str, drop: str | None):  # type: ignore[no-untyped-def]
    from consult.client import build_key_package, new_epoch_key
    from consult.lib.crypto import b64u

    thread = Thread.objects.get(pk=thread_id)
    members, recipients = package_recipients(thread)
    recipients = [r for r in recipients if r.id != drop]
    prev = b64u(bytes(Entry.objects.get(thread=thread, seq=thread.epoch_seq).hash))
    return build_key_package(
        world.fr.device, thread=thread_id, epoch=thread.epoch + 1, reason="rotate", history="shared",
        members=members, recipients=recipients, epoch_key=new_epoch_key(), prev=prev,
    )  # fmt: skip


@pytest.mark.parametrize("missing", ["member device", "records:FR-MJ", "records:DE-BFJ"])
def test_rotate__package_missing_a_recipient_is_refused(world: World, missing: str) -> None:
    thread_id, _ = open_thread(world.fr, world.case)
    add(world.fr, thread_id, world.de)
    drop = world.de.device.id if missing == "member device" else missing
    before = (Entry.objects.count(), Thread.objects.get(pk=thread_id).epoch)
    with pytest.raises(BadInput) as refused:
        check_key_package(world.fr.user, world.fr.server_device(), thread_id, _package(world, thread_id, drop))
    assert "recipients" in str(refused.value.fields)
    assert (Entry.objects.count(), Thread.objects.get(pk=thread_id).epoch) == before


def test_rotate__newcomer_cannot_sign_the_rotation_that_admits_them(world: World) -> None:
    thread_id, _ = open_thread(world.fr, world.case)
    add(world.fr, thread_id, world.de)
    with pytest.raises(Forbidden):
        rotate(world.de, thread_id)


def test_rotate__a_second_rotation_to_the_same_epoch_is_a_conflict_and_stores_nothing(world: World) -> None:
    """Two members rotating at once: the second learns the epoch is taken (re-read, then rotate if still needed)."""
    thread_id, _ = open_thread(world.fr, world.case)
    add(world.fr, thread_id, world.de)
    late = _package(world, thread_id, None)  # built on epoch 1, like the one that wins
    rotate(world.fr, thread_id)
    before = (Entry.objects.count(), Thread.objects.get(pk=thread_id).epoch)
    with pytest.raises(Conflict) as refused:
        check_key_package(world.fr.user, world.fr.server_device(), thread_id, late)
    assert "epoch 2" in refused.value.detail
    assert (Entry.objects.count(), Thread.objects.get(pk=thread_id).epoch) == before


def test_rotate__a_create_on_a_keyed_thread_is_a_conflict(world: World) -> None:
    from consult.client import build_key_package, new_epoch_key

    thread_id, _ = open_thread(world.fr, world.case)
    members, recipients = package_recipients(Thread.objects.get(pk=thread_id))
    again = build_key_package(
        world.fr.device, thread=thread_id, epoch=1, reason="create", history="shared",
        members=members, recipients=recipients, epoch_key=new_epoch_key(), prev=None,
    )  # fmt: skip
    with pytest.raises(Conflict):
        check_key_package(world.fr.user, world.fr.server_device(), thread_id, again)


def test_rotate__skipping_an_epoch_is_bad_input(world: World) -> None:
    from consult.client.objects import sign_object

    thread_id, _ = open_thread(world.fr, world.case)
    package = {k: v for k, v in _package(world, thread_id, None).items() if k != "sig"}
    skipping = sign_object(world.fr.device, {**package, "epoch": 3})
    with pytest.raises(BadInput) as refused:
        check_key_package(world.fr.user, world.fr.server_device(), thread_id, skipping)
    assert "package.epoch" in str(refused.value.fields)


def test_rotate__wrong_epoch_or_prev_refused(world: World) -> None:
    thread_id, _ = open_thread(world.fr, world.case)
    package = _package(world, thread_id, None)
    package["prev"] = package["prev"][:-4] + "AAAA"
    from consult.client.objects import sign_object

    resigned = sign_object(world.fr.device, {k: v for k, v in package.items() if k != "sig"})
    with pytest.raises(BadInput):
        check_key_package(world.fr.user, world.fr.server_device(), thread_id, resigned)


def test_keys__records_key_opens_every_epoch(world: World) -> None:
    """Both authorities' records keys can unwrap the epoch key (the record is readable by each party)."""
    from consult.client import open_key_package
    from consult.lib.entries import entry_item as item

    thread_id, key = open_thread(world.fr, world.case)
    entry = next(e for e in Entry.objects.filter(thread_id=thread_id, kind="keys"))
    package = item(entry)["entry"]["body"]
    for records in world.records.values():
        assert open_key_package(package, records, world.fr.device.sig_public_key) == key


def test_create__needs_both_records_keys(world: World) -> None:
    from consult.models import RecordsKey

    RecordsKey.objects.filter(authority__code="DE-BFJ").update(retired_at=timezone.now())
    with pytest.raises(BadInput):
        open_thread(world.fr, world.case)
    assert not Thread.objects.exists()


def test_create__conflicting_thread_id(world: World) -> None:
    thread_id, _ = open_thread(world.fr, world.case)
    from consult.actions.threads import check_create_thread
    from consult.client import build_thread_creation
    from consult.lib.server_key import server_public_key_b64u

    creation = build_thread_creation(
        world.fr.device, thread=thread_id, case=str(world.case.pk), subject="again", history="shared",
        server_key=server_public_key_b64u(),
    )  # fmt: skip
    with pytest.raises(Conflict):
        check_create_thread(world.fr.user, world.fr.server_device(), str(world.case.pk), creation)


def test_create__pins_this_server_key(world: World) -> None:
    from consult.actions.threads import check_create_thread
    from consult.client import build_thread_creation
    from consult.lib.crypto import b64u, generate_private_key, public_key_bytes

    creation = build_thread_creation(
        world.fr.device, thread=str(uuid.uuid4()), case=str(world.case.pk), subject="x", history="shared",
        server_key=b64u(public_key_bytes(generate_private_key())),
    )  # fmt: skip
    with pytest.raises(BadInput):
        check_create_thread(world.fr.user, world.fr.server_device(), str(world.case.pk), creation)
    assert unb64u(creation["sig"])  # it was properly signed; only the key is wrong


# --- history packages (shared history) -------------------------------------------------


def _history(world: World, thread_id: str, sharer: Peer, key: bytes, for_peer: Peer, **changes: Any) -> Entry:
    """``sharer`` re-wraps epoch 1 for ``for_peer``'s devices, as the browser does for a newcomer."""
    from consult.client import Recipient, build_key_package, public_key_from_b64u
    from consult.models import Device

    devices = list(Device.objects.filter(user=for_peer.user, revoked_at__isnull=True))
    fields: dict[str, Any] = {
        "members": {str(for_peer.user.pk): [d.pk for d in devices]},
        "recipients": [Recipient(d.pk, "device", public_key_from_b64u(d.dh_public)) for d in devices],
        "prev": None,
    }
    fields.update(changes)
    package = build_key_package(
        sharer.device, thread=thread_id, epoch=1, reason="history", history="shared", epoch_key=key, **fields
    )
    return check_key_package(sharer.user, sharer.server_device(), thread_id, package)


def test_history__a_holder_shares_an_epoch_with_a_newcomer(world: World) -> None:
    thread_id, key = open_thread(world.fr, world.case)
    add(world.fr, thread_id, world.de)
    rotate(world.fr, thread_id)
    entry = _history(world, thread_id, world.fr, key, world.de)
    assert entry.kind == "keys" and entry.epoch == 1


def test_history__only_from_someone_who_held_that_epoch(world: World) -> None:
    thread_id, key = open_thread(world.fr, world.case)
    add(world.fr, thread_id, world.de)
    rotate(world.fr, thread_id)
    before = Entry.objects.count()
    with pytest.raises(Forbidden):
        _history(world, thread_id, world.de, key, world.de)  # the newcomer never held epoch 1
    assert Entry.objects.count() == before


def test_keys__the_same_package_again_returns_its_entry(world: World) -> None:
    """A retry after a lost ack stores nothing, whether the package started an epoch or shared one."""
    thread_id, key = open_thread(world.fr, world.case)
    add(world.fr, thread_id, world.de)
    rotation = _package(world, thread_id, None)
    first = check_key_package(world.fr.user, world.fr.server_device(), thread_id, rotation)
    shared = _history(world, thread_id, world.fr, key, world.de)
    before = (Entry.objects.count(), Thread.objects.get(pk=thread_id).epoch)
    again = check_key_package(world.fr.user, world.fr.server_device(), thread_id, rotation)
    shared_again = check_key_package(world.fr.user, world.fr.server_device(), thread_id, item_body(shared))
    assert (again.seq, bytes(again.hash)) == (first.seq, bytes(first.hash))
    assert (shared_again.seq, bytes(shared_again.hash)) == (shared.seq, bytes(shared.hash))
    assert (Entry.objects.count(), Thread.objects.get(pk=thread_id).epoch) == before
    another = _history(world, thread_id, world.fr, key, world.de)  # signed anew: a new package
    assert another.seq == shared.seq + 1


def item_body(entry: Entry) -> Any:
    return entry_item(entry)["entry"]["body"]


@pytest.mark.parametrize("fault", ["prev", "another_device", "non_member"])
def test_history__what_clients_would_reject_is_not_stored(world: World, fault: str) -> None:
    from consult.client import Recipient, public_key_from_b64u

    thread_id, key = open_thread(world.fr, world.case)
    add(world.fr, thread_id, world.de)
    rotate(world.fr, thread_id)
    changes: dict[str, Any] = {}
    if fault == "prev":
        changes["prev"] = "A" * 43
    elif fault == "another_device":  # a member's device, but not one the package's members list names
        own = world.fr.server_device()
        changes["recipients"] = [Recipient(own.pk, "device", public_key_from_b64u(own.dh_public))]
    else:
        changes["members"] = {str(world.outsider.user.pk): [world.outsider.device.id]}
    before = Entry.objects.count()
    with pytest.raises(BadInput):
        _history(world, thread_id, world.fr, key, world.de, **changes)
    assert Entry.objects.count() == before
