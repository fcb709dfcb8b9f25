"""A sender retracts a message: its ciphertext goes, its entry and hash stay (DESIGN §5)."""

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from consult.actions.retention import check_lift_legal_hold, check_retract_message, check_set_legal_hold
from consult.exceptions import BadInput, Conflict, Forbidden, NotFound
from consult.lib.bundle import read_bundle, verify_bundle
from consult.lib.entries import entry_item, load_frames
from consult.models import Entry
from tests.helpers import verified_client
from tests.realtime import Peer, World, make_world, open_thread, rotate
from tests.record_helpers import Story, change, export, say

pytestmark = pytest.mark.django_db


@dataclass
class Talk:
    thread_id: str
    fr_message: int  # sent by world.fr
    de_message: int  # sent by world.de
    liaison_message: int  # sent by world.liaison, who has left since


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def talk(world: World) -> Talk:
    thread_id, _ = open_thread(world.fr, world.case)
    change(world.fr, thread_id, "add", world.de)
    key = rotate(world.fr, thread_id)
    fr_message = say(world.fr, thread_id, key, "Please send the **warrant**.")
    de_message = say(world.de, thread_id, key, "It is on its way.")
    change(world.fr, thread_id, "add", world.liaison, expires=(timezone.now() + timedelta(days=2)).isoformat())
    key = rotate(world.fr, thread_id)
    liaison_message = say(world.liaison, thread_id, key, "Hearing on Monday.")
    change(world.liaison, thread_id, "leave", world.liaison)
    return Talk(thread_id, fr_message, de_message, liaison_message)


def _url(thread_id: str, seq: int | str) -> str:
    return f"/api/v1/threads/{thread_id}/entries/{seq}/retract"


def _retract(client: Client, thread_id: str, seq: int | str, body: object = None):  # type: ignore[no-untyped-def]
    if body is None:
        return client.post(_url(thread_id, seq))
    return client.post(_url(thread_id, seq), json.dumps(body), content_type="application/json")


def _entries(thread_id: str) -> list[Entry]:
    return list(Entry.objects.filter(thread_id=thread_id).order_by("seq"))


def _snapshot(thread_id: str) -> list[tuple[int, str, bool]]:
    return [(e.seq, e.canonical, e.purged_at is not None) for e in _entries(thread_id)]


def test_retract__sender_drops_the_content_and_the_exported_chain_verifies(world: World, talk: Talk) -> None:
    count = Entry.objects.filter(thread_id=talk.thread_id).count()
    response = _retract(verified_client(world.fr.user), talk.thread_id, talk.fr_message)
    assert response.status_code == 200, response.content
    assert response.json() == {"seq": count + 1, "retracted": talk.fr_message}

    message = Entry.objects.get(thread_id=talk.thread_id, seq=talk.fr_message)
    assert message.purged_at is not None and '"ct"' not in message.canonical
    assert '"iv"' in message.canonical  # only the ciphertext goes; the rest of the envelope stays
    purge = Entry.objects.get(thread_id=talk.thread_id, seq=count + 1)
    assert purge.kind == "purge"
    assert json.loads(purge.canonical)["body"] == {"seq": talk.fr_message, "reason": "retracted"}
    assert purge.actor_user == world.fr.user and purge.actor_device is None
    assert Entry.objects.get(thread_id=talk.thread_id, seq=talk.de_message).purged_at is None

    story = Story(talk.thread_id, [], {}, {})
    bundle = read_bundle(export(world, world.fr_supervisor, story))
    summary = verify_bundle(bundle)
    assert summary.purged == 1
    texts = [i["payload"]["text"] for i in bundle.items if i.get("payload")]
    assert texts == ["It is on its way.", "Hearing on Monday."]
    today = timezone.now().date().isoformat()
    assert f"Content retracted by its sender on {today}." in (bundle.html or "")
    assert "under retention" not in (bundle.html or "")


def test_retract__the_action_and_an_empty_json_body_work_alike(world: World, talk: Talk) -> None:
    response = _retract(verified_client(world.de.user), talk.thread_id, talk.de_message, body={})
    assert response.status_code == 200, response.content
    purge = check_retract_message(world.fr.user, talk.thread_id, talk.fr_message)
    assert purge.seq == response.json()["seq"] + 1
    assert Entry.objects.filter(thread_id=talk.thread_id, purged_at__isnull=False).count() == 2


def test_retract__only_the_sender_and_only_once(world: World, talk: Talk) -> None:
    before = _snapshot(talk.thread_id)
    response = _retract(verified_client(world.de.user), talk.thread_id, talk.fr_message)
    assert response.status_code == 403 and response.json()["error"] == "forbidden"
    for supervisor in (world.fr_supervisor, world.de_supervisor):  # not members: they may export, not retract
        assert _retract(verified_client(supervisor.user), talk.thread_id, talk.fr_message).status_code == 404
    assert _snapshot(talk.thread_id) == before

    client = verified_client(world.fr.user)
    assert _retract(client, talk.thread_id, talk.fr_message).status_code == 200
    after = _snapshot(talk.thread_id)
    again = _retract(client, talk.thread_id, talk.fr_message)
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    assert _snapshot(talk.thread_id) == after


def test_retract__outsiders_former_members_and_missing_things_get_the_same_404(world: World, talk: Talk) -> None:
    before = _snapshot(talk.thread_id)
    missing = _retract(verified_client(world.fr.user), str(uuid.uuid4()), 1)
    assert missing.status_code == 404
    cases: list[tuple[Peer, str, int | str]] = [
        (world.outsider, talk.thread_id, talk.fr_message),
        (world.liaison, talk.thread_id, talk.liaison_message),  # their own message, but they left
        (world.fr, talk.thread_id, 999),
        (world.fr, talk.thread_id, 0),
        (world.fr, talk.thread_id, "x1"),
        (world.fr, talk.thread_id, "99999999999999999999999"),
        (world.fr, "not-a-uuid", talk.fr_message),
    ]
    for peer, thread_id, seq in cases:
        response = _retract(verified_client(peer.user), thread_id, seq)
        assert (response.status_code, response.content) == (404, missing.content), (peer.user, thread_id, seq)
    with pytest.raises(NotFound):
        check_retract_message(world.outsider.user, talk.thread_id, talk.fr_message)
    assert _snapshot(talk.thread_id) == before


def test_retract__only_messages_and_no_unknown_fields(world: World, talk: Talk) -> None:
    before = _snapshot(talk.thread_id)
    client = verified_client(world.fr.user)
    for seq in (1, 2, 3):  # the creation, the first package and a membership change, all by fr
        response = _retract(client, talk.thread_id, seq)
        assert response.status_code == 400 and response.json()["error"] == "bad_request"
    with pytest.raises(BadInput):
        check_retract_message(world.fr.user, talk.thread_id, 1)
    assert _retract(client, talk.thread_id, talk.fr_message, body={"reason": "x"}).status_code == 400
    assert _retract(client, talk.thread_id, talk.fr_message, body=[]).status_code == 400
    url = f"/api/v1/threads/{talk.thread_id}/entries/{talk.fr_message}/retract"
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):  # a body is read whatever it claims
        assert client.post(url, '{"unknown": 1}', content_type=content_type).status_code == 400
    with pytest.raises(Forbidden):
        check_retract_message(world.de.user, talk.thread_id, talk.fr_message)
    assert _snapshot(talk.thread_id) == before


def test_retract__never_while_the_case_is_on_legal_hold(world: World, talk: Talk) -> None:
    check_set_legal_hold(world.de_supervisor.user, str(world.case.pk), "Appeal pending")
    before = _snapshot(talk.thread_id)
    response = _retract(verified_client(world.fr.user), talk.thread_id, talk.fr_message)
    assert response.status_code == 409
    assert response.json()["error"] == "conflict" and "legal hold" in response.json()["detail"]
    with pytest.raises(Conflict):
        check_retract_message(world.fr.user, talk.thread_id, talk.fr_message)
    assert _snapshot(talk.thread_id) == before
    check_lift_legal_hold(world.de_supervisor.user, str(world.case.pk))
    assert _retract(verified_client(world.fr.user), talk.thread_id, talk.fr_message).status_code == 200


def test_purged_entries__carry_digest_and_date_over_http_and_the_socket(world: World, talk: Talk) -> None:
    check_retract_message(world.fr.user, talk.thread_id, talk.fr_message)
    stored = Entry.objects.get(thread_id=talk.thread_id, seq=talk.fr_message)
    expected = entry_item(stored)
    assert expected["digest"] and expected["purged_on"] == timezone.now().date().isoformat()

    items = verified_client(world.de.user).get(f"/api/v1/threads/{talk.thread_id}/entries").json()
    by_seq = {i["seq"]: i for i in items}
    assert by_seq[talk.fr_message] == expected
    assert "digest" not in by_seq[talk.de_message] and "purged_on" not in by_seq[talk.de_message]
    assert items == [entry_item(e) for e in _entries(talk.thread_id)]

    frames = dict(load_frames(talk.thread_id, talk.fr_message - 1, 2))
    frame = json.loads(frames[talk.fr_message])
    assert frame["type"] == "entry" and frame["digest"] == expected["digest"]
    assert frame["purged_on"] == expected["purged_on"] and frame["entry"] == expected["entry"]
    assert "digest" not in json.loads(frames[talk.fr_message + 1])


def test_reference_client__verifies_a_history_with_a_retracted_message_and_refuses_a_stray_digest(
    world: World, talk: Talk
) -> None:
    from consult.client.chain import verify_chain
    from consult.client.errors import ChainError
    from consult.client.keys import public_key_from_b64u
    from consult.lib.server_key import server_public_key_b64u

    check_retract_message(world.fr.user, talk.thread_id, talk.fr_message)
    items = json.loads(verified_client(world.de.user).get(f"/api/v1/threads/{talk.thread_id}/entries").content)
    server_key = public_key_from_b64u(server_public_key_b64u())
    assert "digest" in items[talk.fr_message - 1]
    assert verify_chain(talk.thread_id, items, server_key).seq == len(items)
    stray = [dict(i) for i in items]
    stray[talk.de_message - 1]["digest"] = items[talk.fr_message - 1]["digest"]  # content still there
    with pytest.raises(ChainError) as broken:
        verify_chain(talk.thread_id, stray, server_key)
    assert broken.value.seq == talk.de_message


def test_retract__removes_the_files_its_sender_names_and_no_one_elses(  # type: ignore[no-untyped-def]
    world: World, talk: Talk, settings, tmp_path, django_capture_on_commit_callbacks
) -> None:
    """The sender's browser names the message's attachments: the server deletes those the
    sender uploaded to this thread once the retraction commits, and leaves any other file."""
    from consult.actions.blobs import blob_path
    from consult.models.blobs import Blob
    from tests.record_helpers import _store_blob

    settings.COMITY_BLOB_DIR = tmp_path / "blobs"
    attached = _store_blob(world.fr, talk.thread_id, b"\x01" * 64)
    others = [_store_blob(world.de, talk.thread_id, b"\x02" * 64)]  # another member's upload
    elsewhere, _ = open_thread(world.fr, world.case)
    others.append(_store_blob(world.fr, elsewhere, b"\x03" * 64))  # the sender's, in another thread
    unknown = str(uuid.uuid4())
    body = {"blobs": [attached, *others, unknown]}
    with django_capture_on_commit_callbacks(execute=True):
        response = _retract(verified_client(world.fr.user), talk.thread_id, talk.fr_message, body=body)
    assert response.status_code == 200, response.content
    assert not Blob.objects.filter(pk=attached).exists() and not blob_path(attached).exists()
    assert all(Blob.objects.filter(pk=blob).exists() and blob_path(blob).exists() for blob in others)


def test_retract__refuses_a_malformed_list_of_files_and_changes_nothing(world: World, talk: Talk) -> None:
    before = _snapshot(talk.thread_id)
    client = verified_client(world.fr.user)
    for blobs in ("not a list", ["not-a-uuid"], [1], [str(uuid.uuid4())] * 1001):
        response = _retract(client, talk.thread_id, talk.fr_message, body={"blobs": blobs})
        assert response.status_code == 400 and "blobs" in response.json()["fields"], blobs
    assert _snapshot(talk.thread_id) == before
