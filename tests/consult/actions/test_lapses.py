"""Lapses take effect at once: an expired invitation, a revoked device, a spent epoch.

Each is enforced where the thread is read or written, not only by the hub's
sweep or a close event, which may be late or (with no socket open on any
worker) never come.
"""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from cases.models import Case
from consult.actions.messages import check_acknowledgement, check_send_message
from consult.actions.retention import do_purge_expired
from consult.actions.threads import (
    check_create_thread,
    check_mark_read,
    check_membership_change,
    check_revoke_membership,
)
from consult.client import (
    build_acknowledgement,
    build_membership_change,
    build_thread_creation,
)
from consult.conf import comity_settings
from consult.exceptions import BadInput, Conflict, NotFound, StaleEpoch
from consult.lib.access import access_thread_from_device
from consult.lib.crypto import b64u, random_bytes
from consult.lib.server_key import server_public_key_b64u
from consult.models import Authority, BackupWrap, Device, Entry, Membership, Thread
from tests.consult.actions.sending import sealed
from tests.helpers import add_totp, assign, make_case, make_user, totp_now, verified_client
from tests.realtime import World, make_peer, make_world, open_thread, rotate

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return make_world()


def invite(world: World, thread_id: str, days: float = 1, who: str = "liaison") -> None:
    target = getattr(world, who)
    expires = (timezone.now() + timedelta(days=days)).isoformat()
    change = build_membership_change(
        world.fr.device, thread=thread_id, action="add", user=str(target.user.pk), expires=expires
    )
    check_membership_change(world.fr.user, world.fr.server_device(), thread_id, change)


def with_liaison(world: World) -> tuple[str, bytes]:
    """A thread the liaison was invited to, and the epoch key after the invitation."""
    thread_id, _ = open_thread(world.fr, world.case)
    invite(world, thread_id)
    return thread_id, rotate(world.fr, thread_id)


def lapse(world: World, thread_id: str) -> None:
    """The liaison's invitation ran out a second ago; no sweep has run since."""
    Membership.objects.filter(thread_id=thread_id, user=world.liaison.user).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def kinds(thread_id: str) -> list[str]:
    return list(Entry.objects.filter(thread_id=thread_id).order_by("seq").values_list("kind", flat=True))


# --- an expired invitation ------------------------------------------------------------


@pytest.mark.parametrize("path", ["", "/entries", "/keys?device={device}"])
def test_expired_invitation__over_http_alone_is_not_found_and_the_expiry_is_recorded(world: World, path: str) -> None:
    thread_id, _ = with_liaison(world)
    lapse(world, thread_id)
    client = verified_client(world.liaison.user)
    url = f"/api/v1/threads/{thread_id}" + path.format(device=world.liaison.device.id)
    assert client.get(url).status_code == 404
    assert kinds(thread_id)[-1] == "expiry"
    thread = Thread.objects.get(pk=thread_id)
    assert thread.min_epoch == thread.epoch + 1


def test_expired_invitation__is_not_in_the_liaisons_thread_list(world: World) -> None:
    thread_id, _ = with_liaison(world)
    client = verified_client(world.liaison.user)
    assert [t["id"] for t in client.get("/api/v1/threads").json()] == [thread_id]
    lapse(world, thread_id)
    assert client.get("/api/v1/threads").json() == []


def test_expired_invitation__a_send_records_the_expiry_first_and_its_epoch_is_stale(world: World) -> None:
    thread_id, key = with_liaison(world)
    lapse(world, thread_id)
    with pytest.raises(StaleEpoch):
        check_send_message(world.fr.user, world.fr.server_device(), thread_id, sealed(world.fr, thread_id, key, 2))
    assert kinds(thread_id)[-1] == "expiry"
    new_key = rotate(world.fr, thread_id)
    check_send_message(world.fr.user, world.fr.server_device(), thread_id, sealed(world.fr, thread_id, new_key, 3))
    assert kinds(thread_id)[-3:] == ["expiry", "keys", "message"]


def test_expired_invitation__a_read_marker_records_the_expiry_and_moves_nothing(world: World) -> None:
    thread_id, _ = with_liaison(world)
    lapse(world, thread_id)
    head = Thread.objects.get(pk=thread_id).head_seq
    assert check_mark_read(world.liaison.user, world.liaison.server_device(), thread_id, head) is False
    assert kinds(thread_id)[-1] == "expiry"
    assert Membership.objects.get(thread_id=thread_id, user=world.liaison.user).read_seq < head


def test_expired_invitation__the_liaison_can_send_nothing(world: World) -> None:
    thread_id, key = with_liaison(world)
    lapse(world, thread_id)
    with pytest.raises(NotFound):
        check_send_message(
            world.liaison.user, world.liaison.server_device(), thread_id, sealed(world.liaison, thread_id, key, 2)
        )
    assert "message" not in kinds(thread_id)


@pytest.mark.parametrize("writer", ["export", "status", "purge"])
def test_expired_invitation__ends_before_an_entry_the_server_writes_on_its_own(world: World, writer: str) -> None:
    """An export, a case's status change and a retention purge record the expiry first, and an
    export's bundle shows the liaison's membership ended."""
    thread_id, key = with_liaison(world)
    check_send_message(world.fr.user, world.fr.server_device(), thread_id, sealed(world.fr, thread_id, key, 2))
    lapse(world, thread_id)
    if writer == "export":
        supervisor = world.fr_supervisor.user
        totp = add_totp(supervisor)
        bundle = verified_client(supervisor).post(
            f"/api/v1/threads/{thread_id}/record", {"code": totp_now(totp)}, content_type="application/json"
        )
        member = next(m for m in bundle.json()["members"] if m["user"] == str(world.liaison.user.pk))
        assert member["ended_seq"] is not None
    elif writer == "status":
        answer = verified_client(world.fr.user).patch(
            f"/api/v1/cases/{world.case.pk}", {"status": "decided"}, content_type="application/json"
        )
        assert answer.status_code == 200
    else:
        Authority.objects.filter(code__in=["FR-MJ", "DE-BFJ"]).update(retention_days=1)
        Case.objects.filter(pk=world.case.pk).update(
            status=Case.Status.CLOSED, updated_at=timezone.now() - timedelta(days=2)
        )
        assert do_purge_expired() == {thread_id: 1}
    assert kinds(thread_id)[-2:] == ["expiry", writer]


def backup_wrap(thread_id: str, epoch: int) -> dict[str, Any]:
    eph = Device.objects.filter(dh_public__gt="").values_list("dh_public", flat=True).first()
    return {"thread": thread_id, "epoch": epoch, "eph": eph, "iv": b64u(random_bytes(12)), "ct": b64u(random_bytes(48))}


@pytest.mark.parametrize("ended", ["expired", "revoked"])
def test_former_member__stores_no_backup_wrap_and_learns_no_epoch(world: World, ended: str) -> None:
    thread_id, _ = with_liaison(world)
    client = verified_client(world.liaison.user)
    assert (
        client.post("/api/v1/key-backup", backup_wrap(thread_id, 2), content_type="application/json").status_code == 201
    )
    if ended == "expired":
        lapse(world, thread_id)
    else:
        check_revoke_membership(world.fr.user, thread_id, str(world.liaison.user.pk))
    stored = client.post("/api/v1/key-backup", backup_wrap(thread_id, 1), content_type="application/json")
    assert stored.status_code == 404
    rotate(world.fr, thread_id)  # the expiry is recorded by now: the rotation leaves the liaison out
    for epoch in (3, 4):
        response = client.post("/api/v1/key-backup", backup_wrap(thread_id, epoch), content_type="application/json")
        assert response.status_code == 404
    assert list(BackupWrap.objects.filter(user=world.liaison.user).values_list("epoch", flat=True)) == [2]


# --- invitations that cannot be ended -------------------------------------------------


@pytest.mark.parametrize(
    "expires",
    ["9999-12-31T23:59:59-14:00", "past the longest invitation", "an hour ago"],
)
def test_invitation__expiry_far_off_or_past_is_refused_and_nothing_stored(world: World, expires: str) -> None:
    thread_id, _ = open_thread(world.fr, world.case)
    longest = timedelta(days=comity_settings.COMITY_INVITATION_MAX_DAYS)
    if expires == "past the longest invitation":
        expires = (timezone.now() + longest + timedelta(hours=1)).isoformat()
    elif expires == "an hour ago":
        expires = (timezone.now() - timedelta(hours=1)).isoformat()
    before = kinds(thread_id)
    for who in ("liaison", "de"):
        change = build_membership_change(
            world.fr.device, thread=thread_id, action="add", user=str(getattr(world, who).user.pk), expires=expires
        )
        with pytest.raises(BadInput):
            check_membership_change(world.fr.user, world.fr.server_device(), thread_id, change)
    assert kinds(thread_id) == before
    invite(world, thread_id, days=longest.days - 1)  # within the limit
    assert Thread.objects.get(pk=thread_id).memberships.filter(ended_at__isnull=True).count() == 2


def test_deactivated_member__can_be_removed_so_keys_stop_going_to_them(world: World) -> None:
    thread_id, _ = open_thread(world.fr, world.case)
    invite(world, thread_id, who="de")
    world.de.user.is_active = False
    world.de.user.save(update_fields=["is_active"])
    change = build_membership_change(world.fr.device, thread=thread_id, action="remove", user=str(world.de.user.pk))
    check_membership_change(world.fr.user, world.fr.server_device(), thread_id, change)
    assert not Membership.objects.filter(thread_id=thread_id, user=world.de.user, ended_at__isnull=True).exists()
    rotate(world.fr, thread_id)  # addressed to the current members alone


# --- a revoked device ------------------------------------------------------------------


def test_revoked_device__refused_everywhere_before_its_close_event_arrives(world: World) -> None:
    thread_id, key = open_thread(world.fr, world.case)
    socket_device = world.fr.server_device()  # what the socket loaded when it opened
    Device.objects.filter(pk=socket_device.pk).update(revoked_at=timezone.now())
    before = kinds(thread_id)
    with pytest.raises(NotFound):
        check_send_message(world.fr.user, socket_device, thread_id, sealed(world.fr, thread_id, key))
    with pytest.raises(NotFound):
        rotate(world.fr, thread_id)
    change = build_membership_change(world.fr.device, thread=thread_id, action="add", user=str(world.de.user.pk))
    with pytest.raises(NotFound):
        check_membership_change(world.fr.user, socket_device, thread_id, change)
    head = Entry.objects.filter(thread_id=thread_id).order_by("-seq").first()
    assert head is not None
    receipt = build_acknowledgement(world.fr.device, thread=thread_id, seq=head.seq, hash_=bytes(head.hash))
    with pytest.raises(NotFound):
        check_acknowledgement(world.fr.user, socket_device, thread_id, receipt)
    with pytest.raises(NotFound):
        access_thread_from_device(world.fr.user, socket_device.pk, thread_id)
    with pytest.raises(NotFound):
        check_mark_read(world.fr.user, socket_device, thread_id, head.seq)
    assert kinds(thread_id) == before
    assert Membership.objects.get(thread_id=thread_id, user=world.fr.user).read_seq < head.seq


def test_revoked_device__a_revocation_between_a_sessions_check_and_its_binding_is_not_missed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The revocation found no binding to end, so the binding session must not get the device either."""
    from consult.actions import sessions
    from consult.actions.devices import check_revoke_device

    session_key = verified_client(world.fr.user).session.session_key
    found = sessions.access_device

    def found_then_revoked_elsewhere(user: Any, device_id: object) -> Device:
        device = found(user, device_id)
        check_revoke_device(user, str(device_id))  # another request, committed in between
        return device

    monkeypatch.setattr(sessions, "access_device", found_then_revoked_elsewhere)
    with pytest.raises(NotFound):
        sessions.check_session_device(world.fr.user, world.fr.device.id, session_key)


# --- a spent epoch ----------------------------------------------------------------------


@pytest.mark.parametrize("spent", ["full", "old"])
def test_spent_epoch__stays_closed_after_the_rotation(world: World, spent: str) -> None:
    thread_id, key = open_thread(world.fr, world.case)
    thread = Thread.objects.filter(pk=thread_id)
    if spent == "full":
        thread.update(epoch_messages=comity_settings.COMITY_EPOCH_MAX_MESSAGES)
    else:
        age = timedelta(seconds=comity_settings.COMITY_EPOCH_MAX_SECONDS + 60)
        thread.update(epoch_started_at=timezone.now() - age)
    with pytest.raises(StaleEpoch):
        check_send_message(world.fr.user, world.fr.server_device(), thread_id, sealed(world.fr, thread_id, key))
    assert thread.get().min_epoch == 2
    new_key = rotate(world.fr, thread_id)
    with pytest.raises(StaleEpoch):
        check_send_message(world.fr.user, world.fr.server_device(), thread_id, sealed(world.fr, thread_id, key, 1))
    check_send_message(world.fr.user, world.fr.server_device(), thread_id, sealed(world.fr, thread_id, new_key, 2))


# --- a thread id someone else holds ------------------------------------------------------


def test_create__another_users_thread_id_is_not_found_and_ones_own_is_a_conflict(world: World) -> None:
    thread_id, _ = open_thread(world.fr, world.case)
    colleague = make_peer(make_user(world.fr.user.authority))
    own_case = make_case(colleague.user, world.de.user.authority)
    assign(colleague.user, own_case, colleague.user)

    def creation(peer: Any, case_id: str) -> dict[str, Any]:
        return build_thread_creation(
            peer.device, thread=thread_id, case=case_id, subject="Assurances", history="shared",
            server_key=server_public_key_b64u(),
        )  # fmt: skip

    with pytest.raises(NotFound):
        check_create_thread(
            colleague.user, colleague.server_device(), str(own_case.pk), creation(colleague, str(own_case.pk))
        )
    with pytest.raises(Conflict):
        check_create_thread(
            world.fr.user, world.fr.server_device(), str(world.case.pk), creation(world.fr, str(world.case.pk))
        )
