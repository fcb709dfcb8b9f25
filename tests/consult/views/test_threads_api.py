"""The threads API over HTTP (DESIGN §1, §5, §7): opening threads, reading the
record and key packages, revoking invitations, CSRF on unsafe methods."""

import json
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.crypto import get_random_string

from consult.actions.messages import check_send_message
from consult.actions.threads import check_membership_change
from consult.client import (
    ChainHead,
    build_membership_change,
    build_thread_creation,
    make_payload,
    open_key_package,
    public_key_from_b64u,
    seal_envelope,
    verify_chain,
)
from consult.lib.server_key import server_public_key_b64u
from consult.models import Entry, Membership, Thread
from tests.helpers import make_user, verified_client
from tests.realtime import Peer, World, make_peer, make_world, open_thread, rotate

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture
def world() -> World:
    return make_world()


def creation(
    peer: Peer, case_id: str, thread_id: str | None = None, subject: str = "Dual criminality"
) -> dict[str, object]:
    """A thread creation signed by ``peer``'s first device, as the browser sends it."""
    return build_thread_creation(
        peer.device, thread=thread_id or str(uuid.uuid4()), case=case_id, subject=subject, history="shared",
        server_key=server_public_key_b64u(),
    )  # fmt: skip


def add(actor: Peer, thread_id: str, target: Peer, expires: str | None = None) -> int:
    change = build_membership_change(
        actor.device, thread=thread_id, action="add", user=str(target.user.pk), expires=expires
    )
    return check_membership_change(actor.user, actor.server_device(), thread_id, change).seq


def invite_liaison(world: World, thread_id: str) -> int:
    return add(world.fr, thread_id, world.liaison, expires=(timezone.now() + timedelta(days=1)).isoformat())


def send(peer: Peer, thread_id: str, key: bytes, text: str) -> int:
    thread = Thread.objects.get(pk=thread_id)
    envelope = seal_envelope(
        peer.device, key, thread=thread_id, epoch=thread.epoch, kind="text", payload=make_payload(text)
    )
    return check_send_message(peer.user, peer.server_device(), thread_id, envelope).seq


def unassigned_officer(world: World) -> Peer:
    assert world.fr.user.authority is not None
    return make_peer(make_user(world.fr.user.authority))


def stored() -> tuple[int, int, int]:
    return Thread.objects.count(), Entry.objects.count(), Membership.objects.count()


# --- opening a thread ----------------------------------------------------------


@pytest.mark.parametrize("who", ["fr", "de", "fr_supervisor"])
def test_create__signed_creation_opens_the_thread(world: World, who: str) -> None:
    """201: the creator is the only member and entry 1 is the signed creation, untouched."""
    peer: Peer = getattr(world, who)
    body = creation(peer, str(world.case.pk))
    response = verified_client(peer.user).post(f"/api/v1/cases/{world.case.pk}/threads", body, content_type=JSON)
    assert response.status_code == 201, response.content
    summary = response.json()
    assert (summary["id"], summary["case"], summary["subject"]) == (body["thread"], str(world.case.pk), body["subject"])
    assert (summary["epoch"], summary["head"]) == (0, 1)
    assert [m["user"] for m in summary["members"]] == [str(peer.user.pk)]
    first = Entry.objects.get(thread_id=body["thread"], seq=1)
    assert first.kind == "create" and first.actor_user == peer.user and first.actor_device == peer.device.id
    assert json.loads(first.canonical)["body"] == body
    assert Membership.objects.get(thread_id=body["thread"], ended_at__isnull=True).user == peer.user


def _outsider(world: World, who: str) -> Peer:
    return unassigned_officer(world) if who == "unassigned officer" else getattr(world, who)


@pytest.mark.parametrize("who", ["outsider", "unassigned officer", "liaison"])
def test_create__outsider_gets_the_404_of_a_missing_case_and_nothing_is_stored(world: World, who: str) -> None:
    """A third authority, an unassigned officer or a liaison cannot tell the case exists."""
    peer = _outsider(world, who)
    client = verified_client(peer.user)
    refused = client.post(
        f"/api/v1/cases/{world.case.pk}/threads", creation(peer, str(world.case.pk)), content_type=JSON
    )
    missing_id = str(uuid.uuid4())
    missing = client.post(f"/api/v1/cases/{missing_id}/threads", creation(peer, missing_id), content_type=JSON)
    assert refused.status_code == missing.status_code == 404
    assert refused.content == missing.content
    assert stored() == (0, 0, 0)


def test_create__forged_or_foreign_device_stores_nothing(world: World) -> None:
    """A creation not signed by the named device is bad_signature; another user's device is 404."""
    client = verified_client(world.fr.user)
    path = f"/api/v1/cases/{world.case.pk}/threads"
    forged = {**creation(world.fr, str(world.case.pk)), "subject": "changed after signing"}
    response = client.post(path, forged, content_type=JSON)
    assert response.status_code == 400 and response.json()["error"] == "bad_signature"
    theirs = creation(world.de, str(world.case.pk))
    assert client.post(path, theirs, content_type=JSON).status_code == 404
    assert client.post(path, [theirs], content_type=JSON).status_code == 400
    assert stored() == (0, 0, 0)


def test_create__same_thread_id_twice_is_conflict(world: World) -> None:
    """The client chooses the thread id; a second creation with a taken id is 409 and stores nothing."""
    client = verified_client(world.fr.user)
    path = f"/api/v1/cases/{world.case.pk}/threads"
    body = creation(world.fr, str(world.case.pk))
    assert client.post(path, body, content_type=JSON).status_code == 201
    again = client.post(path, creation(world.fr, str(world.case.pk), body["thread"], "again"), content_type=JSON)
    assert again.status_code == 409
    assert stored() == (1, 1, 1)


# --- reading a thread ----------------------------------------------------------


def test_get_thread__member_sees_subject_members_and_epoch(world: World) -> None:
    """A member reads the thread's subject, current members, epoch and head."""
    thread_id, _ = open_thread(world.fr, world.case, subject="Speciality")
    add(world.fr, thread_id, world.de)
    body = verified_client(world.de.user).get(f"/api/v1/threads/{thread_id}").json()
    assert (body["id"], body["subject"], body["epoch"], body["head"]) == (thread_id, "Speciality", 1, 3)
    assert {m["user"] for m in body["members"]} == {str(world.fr.user.pk), str(world.de.user.pk)}


@pytest.mark.parametrize("who", ["outsider", "unassigned officer", "liaison"])
def test_get_thread__outsider_gets_the_404_of_a_missing_thread(world: World, who: str) -> None:
    """An outsider's 404 is byte for byte that of a missing thread or of junk."""
    thread_id, _ = open_thread(world.fr, world.case)
    client = verified_client(_outsider(world, who).user)
    hidden = client.get(f"/api/v1/threads/{thread_id}")
    assert hidden.status_code == 404
    assert hidden.content == client.get(f"/api/v1/threads/{uuid.uuid4()}").content
    assert hidden.content == client.get("/api/v1/threads/not-a-uuid").content


# --- the record ----------------------------------------------------------------


@pytest.fixture
def record(world: World) -> str:
    """A thread of 7 entries: create, keys, member, keys, three messages."""
    thread_id, _ = open_thread(world.fr, world.case)
    add(world.fr, thread_id, world.de)
    key = rotate(world.fr, thread_id)
    for i, peer in enumerate((world.fr, world.de, world.fr)):
        send(peer, thread_id, key, f"message {i}")
    return thread_id


def test_entries__whole_record_in_seq_order_verifies_with_the_server_key(world: World, record: str) -> None:
    """Every item verifies with the key GET server-key returns, up to the thread's head."""
    client = verified_client(world.de.user)
    items = client.get(f"/api/v1/threads/{record}/entries").json()
    assert [i["seq"] for i in items] == list(range(1, 8))
    kinds = [i["entry"]["kind"] for i in items]
    assert kinds == ["create", "keys", "member", "keys", "message", "message", "message"]
    server_key = public_key_from_b64u(client.get("/api/v1/server-key").json()["key"])
    head = verify_chain(record, items, server_key)
    assert (head.seq, head.hash) == (7, bytes(Thread.objects.get(pk=record).head_hash))


def test_entries__pages_with_after_and_limit_chain_together(world: World, record: str) -> None:
    """``after``/``limit`` pages are consecutive; verifying page by page reaches the same head."""
    client = verified_client(world.fr.user)
    server_key = public_key_from_b64u(server_public_key_b64u())
    head, pages = ChainHead.genesis(record), []
    while True:
        page = client.get(f"/api/v1/threads/{record}/entries?after={head.seq}&limit=3").json()
        if not page:
            break
        pages.append([i["seq"] for i in page])
        head = verify_chain(record, page, server_key, after=head)
    assert pages == [[1, 2, 3], [4, 5, 6], [7]]
    assert head.hash == bytes(Thread.objects.get(pk=record).head_hash)
    assert [i["seq"] for i in client.get(f"/api/v1/threads/{record}/entries?after=5&limit=1000").json()] == [6, 7]


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "after=-1", "limit=abc", "after=1.5", "limit=-3"])
def test_entries__bad_paging_is_400(world: World, record: str, query: str) -> None:
    """A member's out-of-range or non-integer ``after``/``limit`` is a 400."""
    response = verified_client(world.fr.user).get(f"/api/v1/threads/{record}/entries?{query}")
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


@pytest.mark.parametrize("who", ["outsider", "fr_supervisor", "liaison", "unassigned officer"])
def test_entries__non_member_gets_404_even_for_bad_paging(world: World, record: str, who: str) -> None:
    """Not a member (even a supervisor who sees the case): 404 like a missing thread, before any 400."""
    client = verified_client(_outsider(world, who).user)
    missing = client.get(f"/api/v1/threads/{uuid.uuid4()}/entries").content
    for query in ("", "?after=2&limit=2", "?limit=0"):
        response = client.get(f"/api/v1/threads/{record}/entries{query}")
        assert response.status_code == 404 and response.content == missing


# --- key packages for a device -------------------------------------------------


def test_keys__only_packages_with_a_wrap_for_the_device(world: World) -> None:
    """The newcomer's device gets the rotation after its join; the creator's gets both; each opens."""
    thread_id, first_key = open_thread(world.fr, world.case)
    add(world.fr, thread_id, world.de)
    second_key = rotate(world.fr, thread_id)
    de = verified_client(world.de.user).get(f"/api/v1/threads/{thread_id}/keys?device={world.de.device.id}").json()
    assert [(p["seq"], p["epoch"]) for p in de] == [(4, 2)]
    assert open_key_package(de[0]["package"], world.de.device, world.fr.device.sig_public_key) == second_key
    fr = verified_client(world.fr.user).get(f"/api/v1/threads/{thread_id}/keys?device={world.fr.device.id}").json()
    assert [(p["seq"], p["epoch"]) for p in fr] == [(2, 1), (4, 2)]
    opened = [open_key_package(p["package"], world.fr.device, world.fr.device.sig_public_key) for p in fr]
    assert opened == [first_key, second_key]
    late = world.fr.add_device()
    assert verified_client(world.fr.user).get(f"/api/v1/threads/{thread_id}/keys?device={late.id}").json() == []


def test_keys__another_users_or_a_revoked_device_is_404(world: World) -> None:
    """Only my own unrevoked devices may be named: others are 404 like an unknown id."""
    thread_id, _ = open_thread(world.fr, world.case)
    add(world.fr, thread_id, world.de)
    rotate(world.fr, thread_id)
    de = verified_client(world.de.user)
    path = f"/api/v1/threads/{thread_id}/keys?device="
    missing = de.get(path + "AAAAAAAAAAAAAAAAAAAAAA")
    theirs = de.get(path + world.fr.device.id)
    assert theirs.status_code == missing.status_code == 404 and theirs.content == missing.content
    assert de.delete(f"/api/v1/devices/{world.de.device.id}").status_code == 204
    assert de.get(path + world.de.device.id).status_code == 404
    outsider = verified_client(world.outsider.user).get(path + world.outsider.device.id)
    assert outsider.status_code == 404


# --- revoking an invitation ----------------------------------------------------


def test_revoke__officer_revokes_a_liaison_with_a_serverside_expiry_entry(world: World) -> None:
    """The revocation is an ``expiry`` entry without actor; the old epoch is closed; the liaison is out."""
    thread_id, _ = open_thread(world.fr, world.case)
    invite_liaison(world, thread_id)
    rotate(world.fr, thread_id)
    liaison = str(world.liaison.user.pk)
    response = verified_client(world.fr.user).delete(f"/api/v1/threads/{thread_id}/members/{liaison}")
    assert response.status_code == 200
    seq = response.json()["seq"]
    entry = verified_client(world.fr.user).get(f"/api/v1/threads/{thread_id}/entries?after={seq - 1}").json()
    assert len(entry) == 1
    assert entry[0]["entry"]["kind"] == "expiry"
    assert entry[0]["entry"]["actor"] == {"user": None, "device": None}
    assert entry[0]["entry"]["body"] == {"user": liaison, "reason": "revoked"}
    membership = Membership.objects.get(thread_id=thread_id, user=world.liaison.user)
    assert membership.ended_at is not None and membership.end_reason == "revoked"
    thread = Thread.objects.get(pk=thread_id)
    assert thread.min_epoch == thread.epoch + 1
    assert verified_client(world.liaison.user).get(f"/api/v1/threads/{thread_id}").status_code == 404


def test_revoke__a_member_without_an_end_date_is_removed_only_by_a_signed_change(world: World) -> None:
    """Revocation ends invitations; it cannot put the counterpart's officer out unsigned: 409, nothing recorded."""
    thread_id, _ = open_thread(world.fr, world.case)
    add(world.fr, thread_id, world.de)
    before = stored()
    response = verified_client(world.fr.user).delete(f"/api/v1/threads/{thread_id}/members/{world.de.user.pk}")
    assert response.status_code == 409 and response.json()["error"] == "conflict"
    assert stored() == before
    assert Membership.objects.get(thread_id=thread_id, user=world.de.user).ended_at is None


def test_revoke__a_liaison_cannot_revoke(world: World) -> None:
    """A liaison may leave, not manage members: 403, nothing recorded."""
    thread_id, _ = open_thread(world.fr, world.case)
    add(world.fr, thread_id, world.de)
    invite_liaison(world, thread_id)
    before = stored()
    response = verified_client(world.liaison.user).delete(f"/api/v1/threads/{thread_id}/members/{world.de.user.pk}")
    assert response.status_code == 403 and response.json()["error"] == "forbidden"
    assert stored() == before
    assert Membership.objects.get(thread_id=thread_id, user=world.de.user).ended_at is None


def test_revoke__outsiders_and_non_members_get_404(world: World) -> None:
    """Outsiders see nothing; revoking someone who is not a member is 404; nothing recorded."""
    thread_id, _ = open_thread(world.fr, world.case)
    invite_liaison(world, thread_id)
    before = stored()
    liaison = world.liaison.user.pk
    outsider = verified_client(world.outsider.user, raise_request_exception=False)
    hidden = outsider.delete(f"/api/v1/threads/{thread_id}/members/{liaison}")
    missing = outsider.delete(f"/api/v1/threads/{uuid.uuid4()}/members/{liaison}")
    assert hidden.status_code == missing.status_code == 404 and hidden.content == missing.content
    fr = verified_client(world.fr.user, raise_request_exception=False)
    assert fr.delete(f"/api/v1/threads/{thread_id}/members/{world.de.user.pk}").status_code == 404
    assert fr.delete(f"/api/v1/threads/{thread_id}/members/{uuid.uuid4()}").status_code == 404
    assert stored() == before


def test_revoke__a_thread_id_that_is_not_a_uuid_is_404(world: World) -> None:
    """Junk in the path is answered like a missing thread (DESIGN §9), not with a server error."""
    client = verified_client(world.fr.user, raise_request_exception=False)
    response = client.delete(f"/api/v1/threads/not-a-uuid/members/{world.de.user.pk}")
    assert response.status_code == 404, response.status_code
    assert response.json() == {"error": "not_found", "detail": "Not found."}


# --- CSRF ----------------------------------------------------------------------


def _with_token(client: Client) -> dict[str, str]:
    token = get_random_string(32)
    client.cookies["csrftoken"] = token
    return {"X-CSRFToken": token}


def test_csrf__creating_a_thread_needs_the_token(world: World) -> None:
    """Without the token: 403 and nothing stored; with cookie and header: 201."""
    client = verified_client(world.fr.user, enforce_csrf_checks=True)
    path = f"/api/v1/cases/{world.case.pk}/threads"
    body = creation(world.fr, str(world.case.pk))
    refused = client.post(path, body, content_type=JSON)
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    assert stored() == (0, 0, 0)
    wrong = client.post(path, body, content_type=JSON, headers={"X-CSRFToken": get_random_string(32)})
    assert wrong.status_code == 403
    assert client.post(path, body, content_type=JSON, headers=_with_token(client)).status_code == 201


def test_csrf__revoking_needs_the_token_but_reading_does_not(world: World) -> None:
    """GET works without a token; DELETE without it is 403 and revokes nothing; with it, 200."""
    thread_id, _ = open_thread(world.fr, world.case)
    invite_liaison(world, thread_id)
    client = verified_client(world.fr.user, enforce_csrf_checks=True)
    assert client.get(f"/api/v1/threads/{thread_id}/entries").status_code == 200
    path = f"/api/v1/threads/{thread_id}/members/{world.liaison.user.pk}"
    before = stored()
    assert client.delete(path).status_code == 403
    assert stored() == before
    assert Membership.objects.get(thread_id=thread_id, user=world.liaison.user).ended_at is None
    assert client.delete(path, headers=_with_token(client)).status_code == 200
