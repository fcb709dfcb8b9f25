"""The keys API over HTTP (DESIGN §4, §7, §9): server key, identities, devices,
who may fetch whose keys, records keys and backup wraps."""

import os
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils.crypto import get_random_string

from consult.actions.records import format_at
from consult.client import BackupKey, DeviceCertificate, Identity, build_thread_creation, public_key_from_b64u
from consult.client import Device as ClientDevice
from consult.client import RecordsKey as ClientRecordsKey
from consult.lib.crypto import b64u, ecdsa_verify, generate_private_key, public_key_bytes, unb64u
from consult.lib.protocol import server_signed_bytes, succession_bytes
from consult.lib.server_key import server_public_key_b64u
from consult.models import BackupWrap, Device, IdentityKey, RecordsKey, ReplacedIdentity, User
from tests.helpers import make_authority, make_user, verified_client
from tests.realtime import Peer, World, make_peer, make_world, opaque_wrapped, open_thread, rotate

pytestmark = pytest.mark.django_db
JSON = "application/json"


@pytest.fixture
def world() -> World:
    return make_world()


def point() -> str:
    """A fresh, valid P-256 public point in base64url."""
    return b64u(public_key_bytes(generate_private_key()))


def identity_body(identity: str | None = None) -> dict[str, Any]:
    return {
        "identity": identity or point(),
        "backup": point(),
        "identity_wrapped": opaque_wrapped(),
        "backup_wrapped": opaque_wrapped(),
    }


def replacement_body(new: Identity, previous: str) -> dict[str, Any]:
    """Starting over: a new identity key that vouches for the one it replaces."""
    return {**identity_body(new.public), "succession": new.vouch_for(previous)}


def not_found_body(client: Client) -> bytes:
    """What any 404 of the API looks like: a random id's answer."""
    response = client.get(f"/api/v1/users/{uuid.uuid4()}/keys")
    assert response.status_code == 404
    return response.content


def active_devices(user: User) -> list[str]:
    return sorted(Device.objects.filter(user=user, revoked_at__isnull=True).values_list("id", flat=True))


# --- server key ----------------------------------------------------------------


def test_server_key__alg_and_key_verify_an_entry_signature(world: World) -> None:
    """GET server-key names the algorithm, and its key verifies an entry's server_sig."""
    from consult.models import Entry

    body = verified_client(world.fr.user).get("/api/v1/server-key").json()
    assert body["alg"] == "ECDSA-P256-SHA256"
    thread_id, _ = open_thread(world.fr, world.case)
    key = public_key_from_b64u(body["key"])
    for entry in Entry.objects.filter(thread_id=thread_id):
        signed = server_signed_bytes(thread_id, entry.seq, bytes(entry.hash))
        assert ecdsa_verify(key, bytes(entry.server_sig), signed)
        assert not ecdsa_verify(key, bytes(entry.server_sig), server_signed_bytes(thread_id, entry.seq + 1, b"x" * 32))


# --- identity ------------------------------------------------------------------


def test_identity__put_then_get_returns_the_wrapped_keys() -> None:
    """PUT identity stores my public keys and wraps; GET returns them to restore a device."""
    user = make_user(make_authority())
    client = verified_client(user)
    assert client.get("/api/v1/identity").status_code == 404
    body = identity_body()
    put = client.put("/api/v1/identity", body, content_type=JSON)
    assert put.status_code == 200
    assert put.json() == {"identity": body["identity"], "backup": body["backup"]}
    assert client.get("/api/v1/identity").json() == body


def _drop(field: str) -> Callable[[dict[str, Any]], Any]:
    return lambda body: {k: v for k, v in body.items() if k != field}


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    def change(body: dict[str, Any]) -> Any:
        *parents, last = path.split(".")
        target = body
        for part in parents:
            target = target[part]
        target[last] = value
        return body

    return change


OFF_CURVE = b64u(b"\x04" + b"\x00" * 32 + b"\x01" * 32)
BAD_IDENTITIES = {
    "missing backup": _drop("backup"),
    "unknown field": lambda body: {**body, "devices": []},
    "identity not a string": _set("identity", 5),
    "identity bad base64": _set("identity", "not base64!"),
    "identity padded base64": lambda body: _set("identity", body["identity"] + "=")(body),
    "identity too short": _set("identity", b64u(os.urandom(33))),
    "identity off the curve": _set("identity", OFF_CURVE),
    "backup null": _set("backup", None),
    "wrapped not an object": _set("identity_wrapped", "secret"),
    "wrapped kdf": _set("identity_wrapped.kdf", "scrypt"),
    "wrapped too few iterations": _set("backup_wrapped.iter", 1000),
    "wrapped iterations as text": _set("backup_wrapped.iter", "600000"),
    "wrapped iterations true": _set("backup_wrapped.iter", True),
    "wrapped short salt": _set("identity_wrapped.salt", b64u(os.urandom(8))),
    "wrapped short iv": _set("identity_wrapped.iv", b64u(os.urandom(8))),
    "wrapped ct too short": _set("identity_wrapped.ct", b64u(os.urandom(16))),
    "wrapped unknown field": _set("identity_wrapped.hint", "my cat"),
    "body is a list": lambda body: [body],
    "body is a JSON string": lambda body: '"identity"',  # the test client sends str as is
}


@pytest.mark.parametrize("mutate", BAD_IDENTITIES.values(), ids=BAD_IDENTITIES.keys())
def test_identity__bad_shape_is_400_with_fields_and_stores_nothing(mutate: Callable[[dict[str, Any]], Any]) -> None:
    """Every malformed identity is refused naming the field; no key is stored."""
    user = make_user(make_authority())
    response = verified_client(user).put("/api/v1/identity", mutate(identity_body()), content_type=JSON)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "bad_request" and body["fields"], body
    assert not IdentityKey.objects.filter(user=user).exists()


@pytest.mark.parametrize("mutate", list(BAD_IDENTITIES.values())[:6], ids=list(BAD_IDENTITIES)[:6])
def test_identity__bad_replacement_keeps_the_old_key_and_devices(
    world: World, mutate: Callable[[dict[str, Any]], Any]
) -> None:
    """A refused replacement changes nothing: same identity, devices still certified."""
    before = IdentityKey.objects.get(user=world.fr.user).identity_public
    response = verified_client(world.fr.user).put("/api/v1/identity", mutate(identity_body()), content_type=JSON)
    assert response.status_code == 400 and response.json()["fields"]
    assert IdentityKey.objects.get(user=world.fr.user).identity_public == before
    assert active_devices(world.fr.user) == [world.fr.device.id]


def test_identity__malformed_json_is_400_and_stores_nothing() -> None:
    """A body that is not JSON at all is a 400 and stores nothing."""
    user = make_user(make_authority())
    response = verified_client(user).put("/api/v1/identity", "{nope", content_type=JSON)
    assert response.status_code == 400 and response.json()["error"] == "bad_request"
    assert not IdentityKey.objects.filter(user=user).exists()


def test_identity__replacing_the_key_revokes_every_device(world: World) -> None:
    """A new identity key no longer certifies the old devices: they are revoked."""
    world.fr.add_device()
    client = verified_client(world.fr.user)
    new = Identity.generate(str(world.fr.user.pk))
    body = replacement_body(new, world.fr.identity.public)
    assert client.put("/api/v1/identity", body, content_type=JSON).status_code == 200
    assert active_devices(world.fr.user) == []
    keys = verified_client(world.de.user).get(f"/api/v1/users/{world.fr.user.pk}/keys").json()
    assert keys["identity"] == new.public and keys["devices"] == []


def test_identity__starting_over_keeps_this_session_and_signs_out_the_old_devices_others(world: World) -> None:
    """After a lost passphrase the browser replaces the identity, then certifies a new device in the same session."""
    thread_id, _ = open_thread(world.fr, world.case)
    here, elsewhere = verified_client(world.fr.user), verified_client(world.fr.user)
    for session in (here, elsewhere):  # both acted as the old device
        assert session.get(f"/api/v1/threads/{thread_id}/keys?device={world.fr.device.id}").status_code == 200
    new = Identity.generate(str(world.fr.user.pk))
    body = replacement_body(new, world.fr.identity.public)
    assert here.put("/api/v1/identity", body, content_type=JSON).status_code == 200
    device = ClientDevice.generate(str(world.fr.user.pk))
    certificate = new.certify_device(device).to_json()
    assert here.post("/api/v1/devices", certificate, content_type=JSON).status_code == 201
    assert elsewhere.get("/api/v1/me").status_code == 401


def test_identity__replacement_is_listed_with_the_new_key_vouching_for_the_old(world: World) -> None:
    """Each start-over is kept, newest first, signed by the key that replaced it, for counterparts to check."""
    client, user = verified_client(world.fr.user), str(world.fr.user.pk)
    first, second = Identity.generate(user), Identity.generate(user)
    for new, previous in ((first, world.fr.identity.public), (second, first.public)):
        assert client.put("/api/v1/identity", replacement_body(new, previous), content_type=JSON).status_code == 200
    replaced = verified_client(world.de.user).get(f"/api/v1/users/{user}/keys").json()["replaced"]
    chain = [(first.public, second.public), (world.fr.identity.public, first.public)]
    assert [(r["identity"], r["by"]) for r in replaced] == chain
    for r in replaced:
        signed = succession_bytes(user, r["identity"], r["by"])
        assert ecdsa_verify(public_key_from_b64u(r["by"]), unb64u(r["sig"]), signed)
        assert r["replaced_at"].endswith("Z")


SUCCESSIONS: dict[str, Callable[[Identity, str], dict[str, Any]]] = {
    "missing": lambda new, previous: identity_body(new.public),
    "signed by the old key's holder's other key": lambda new, previous: {
        **identity_body(new.public),
        "succession": Identity.generate(new.user).vouch_for(previous),
    },
    "naming another previous key": lambda new, previous: {
        **identity_body(new.public),
        "succession": new.vouch_for(point()),
    },
    "not base64url": lambda new, previous: {**identity_body(new.public), "succession": "not a signature!"},
    "too short": lambda new, previous: {**identity_body(new.public), "succession": b64u(os.urandom(32))},
}


@pytest.mark.parametrize("body", SUCCESSIONS.values(), ids=SUCCESSIONS.keys())
def test_identity__replacement_without_a_good_succession_changes_nothing(
    world: World, body: Callable[[Identity, str], dict[str, Any]]
) -> None:
    """A new key that does not vouch for the one it replaces is refused: old key, devices and history unchanged."""
    new = Identity.generate(str(world.fr.user.pk))
    response = verified_client(world.fr.user).put(
        "/api/v1/identity", body(new, world.fr.identity.public), content_type=JSON
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"] in {"bad_request", "bad_signature"}
    assert IdentityKey.objects.get(user=world.fr.user).identity_public == world.fr.identity.public
    assert active_devices(world.fr.user) == [world.fr.device.id]
    assert not ReplacedIdentity.objects.filter(user=world.fr.user).exists()


def test_identity__first_publication_has_nothing_to_succeed() -> None:
    """A succession on a first identity names a key that never was the user's: refused."""
    user = make_user(make_authority())
    new = Identity.generate(str(user.pk))
    response = verified_client(user).put("/api/v1/identity", replacement_body(new, point()), content_type=JSON)
    assert response.status_code == 400 and "succession" in response.json()["fields"]
    assert not IdentityKey.objects.filter(user=user).exists()


def test_identity__a_retried_replacement_changes_nothing_more(world: World) -> None:
    """The same start-over sent twice (its answer lost on the way): the second is accepted and adds nothing."""
    client, new = verified_client(world.fr.user), Identity.generate(str(world.fr.user.pk))
    body = replacement_body(new, world.fr.identity.public)
    for _ in range(2):
        assert client.put("/api/v1/identity", body, content_type=JSON).status_code == 200
    assert ReplacedIdentity.objects.filter(user=world.fr.user).count() == 1


def test_identity__republishing_the_same_key_keeps_devices(world: World) -> None:
    """Re-uploading the same identity (e.g. a new passphrase wrap) revokes nothing."""
    client = verified_client(world.fr.user)
    body = identity_body(world.fr.identity.public)
    assert client.put("/api/v1/identity", body, content_type=JSON).status_code == 200
    assert active_devices(world.fr.user) == [world.fr.device.id]
    assert client.get("/api/v1/identity").json()["identity_wrapped"] == body["identity_wrapped"]


# --- devices -------------------------------------------------------------------


def new_certificate(peer: Peer, signer: Identity | None = None) -> tuple[ClientDevice, dict[str, Any]]:
    """A fresh reference-client device and its certificate (by ``signer``, default the peer's identity)."""
    device = ClientDevice.generate(str(peer.user.pk))
    certificate = DeviceCertificate(
        user=device.user, device=device.id, dh=device.dh_public, sig=device.sig_public
    ).signed_with((signer or peer.identity).private_key)
    return device, certificate.to_json()


def test_devices__register_with_a_reference_client_certificate(world: World) -> None:
    """POST devices with a certificate the identity signed: 201, listed for counterparts."""
    device, certificate = new_certificate(world.fr)
    response = verified_client(world.fr.user).post("/api/v1/devices", certificate, content_type=JSON)
    assert response.status_code == 201
    assert response.json() == certificate
    assert Device.objects.get(pk=device.id).user == world.fr.user
    listed = verified_client(world.de.user).get(f"/api/v1/users/{world.fr.user.pk}/keys").json()["devices"]
    assert certificate in listed


def _swap_dh(certificate: dict[str, Any]) -> dict[str, Any]:
    return {**certificate, "dh": point()}


def _other_signature(certificate: dict[str, Any]) -> dict[str, Any]:
    other = Identity.generate(certificate["user"])
    cert = DeviceCertificate(certificate["user"], certificate["device"], certificate["dh"], certificate["sig"])
    return cert.signed_with(other.private_key).to_json()


FORGERIES = {
    "signed by another identity": _other_signature,
    "dh swapped after signing": _swap_dh,
    "sig key swapped after signing": lambda c: {**c, "sig": point()},
    "device id swapped after signing": lambda c: {**c, "device": b64u(os.urandom(16))},
    "signature bytes flipped": lambda c: {
        **c,
        "certificate": ("B" if c["certificate"][0] == "A" else "A") + c["certificate"][1:],
    },
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_devices__forged_certificate_is_bad_signature_and_stores_nothing(
    world: World, forge: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    """A certificate the user's identity did not sign is refused; no device is stored."""
    _, certificate = new_certificate(world.fr)
    forged = forge(certificate)
    before = Device.objects.count()
    response = verified_client(world.fr.user).post("/api/v1/devices", forged, content_type=JSON)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_signature"
    assert Device.objects.count() == before
    assert not Device.objects.filter(pk=forged["device"]).exists()


def test_devices__certificate_naming_another_user_is_refused(world: World) -> None:
    """I cannot register a device for someone else, even with their valid certificate."""
    _, certificate = new_certificate(world.de)
    response = verified_client(world.fr.user).post("/api/v1/devices", certificate, content_type=JSON)
    assert response.status_code == 400 and response.json()["fields"]
    assert not Device.objects.filter(pk=certificate["device"]).exists()


def test_devices__v_must_be_the_integer_1__boolean_true(world: World) -> None:
    """``"v": true`` is a wrong type (DESIGN §4, §9), not the protocol version 1."""
    _, certificate = new_certificate(world.fr)
    response = verified_client(world.fr.user).post("/api/v1/devices", {**certificate, "v": True}, content_type=JSON)
    assert response.status_code == 400, response.content
    assert not Device.objects.filter(pk=certificate["device"]).exists()


def test_devices__registering_before_the_identity_is_refused() -> None:
    """Without a published identity there is nothing to check a certificate against: 400."""
    user = make_user(make_authority())
    peer = Peer(user, Identity.generate(str(user.pk)), BackupKey.generate(str(user.pk)))
    _, certificate = new_certificate(peer)
    response = verified_client(user).post("/api/v1/devices", certificate, content_type=JSON)
    assert response.status_code == 400
    assert not Device.objects.filter(user=user).exists()


def test_devices__duplicate_id_is_conflict(world: World) -> None:
    """A device id is registered once: again (by anyone, even after revocation) is 409."""
    client = verified_client(world.fr.user)
    _, certificate = new_certificate(world.fr)
    assert client.post("/api/v1/devices", certificate, content_type=JSON).status_code == 201
    again = client.post("/api/v1/devices", certificate, content_type=JSON)
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    theirs = DeviceCertificate(str(world.de.user.pk), certificate["device"], point(), point()).signed_with(
        world.de.identity.private_key
    )
    taken = verified_client(world.de.user).post("/api/v1/devices", theirs.to_json(), content_type=JSON)
    assert taken.status_code == 409
    assert Device.objects.get(pk=certificate["device"]).user == world.fr.user
    assert client.delete(f"/api/v1/devices/{certificate['device']}").status_code == 204
    assert client.post("/api/v1/devices", certificate, content_type=JSON).status_code == 409


def test_devices__delete_revokes_and_unlists(world: World) -> None:
    """DELETE devices/{id}: 204; the device is no longer among my keys and cannot be revoked twice."""
    second = world.fr.add_device()
    client = verified_client(world.fr.user)
    response = client.delete(f"/api/v1/devices/{second.id}")
    assert response.status_code == 204 and response.content == b""
    assert Device.objects.get(pk=second.id).revoked_at is not None
    listed = verified_client(world.de.user).get(f"/api/v1/users/{world.fr.user.pk}/keys").json()["devices"]
    assert [d["device"] for d in listed] == [world.fr.device.id]
    assert client.delete(f"/api/v1/devices/{second.id}").status_code == 404


@pytest.mark.parametrize("acted_as", ["registered", "read its keys", "opened a thread"])
def test_devices__revoking_one_signs_out_the_sessions_that_acted_as_it(world: World, acted_as: str) -> None:
    """A lost laptop's session reads no new entries and fetches no backup wraps once its device is revoked."""
    laptop, desk = verified_client(world.fr.user), verified_client(world.fr.user)
    device = ClientDevice.generate(str(world.fr.user.pk))
    certificate = world.fr.identity.certify_device(device).to_json()
    assert laptop.post("/api/v1/devices", certificate, content_type=JSON).status_code == 201
    if acted_as == "registered":
        thread_id, _ = open_thread(world.fr, world.case)
    else:  # the session registered nothing, but used the device in one of the other ways
        laptop = verified_client(world.fr.user)
        if acted_as == "read its keys":
            thread_id, _ = open_thread(world.fr, world.case)
            assert laptop.get(f"/api/v1/threads/{thread_id}/keys?device={device.id}").status_code == 200
        else:
            thread_id = str(uuid.uuid4())
            creation = build_thread_creation(
                device, thread=thread_id, case=str(world.case.pk), subject="Assurances", history="shared",
                server_key=server_public_key_b64u(),
            )  # fmt: skip
            assert laptop.post(f"/api/v1/cases/{world.case.pk}/threads", creation, content_type=JSON).status_code == 201
    entries, backup = f"/api/v1/threads/{thread_id}/entries", f"/api/v1/key-backup?thread={thread_id}"
    assert laptop.get(entries).status_code == 200
    assert desk.delete(f"/api/v1/devices/{device.id}").status_code == 204
    assert laptop.get(entries).status_code == laptop.get(backup).status_code == 401
    assert desk.get(entries).status_code == 200  # the session that revoked it acted as no such device


def test_devices__deleting_another_users_device_is_not_found(world: World) -> None:
    """Someone else's device answers exactly like a device that does not exist, and stays."""
    client = verified_client(world.fr.user)
    theirs = client.delete(f"/api/v1/devices/{world.de.device.id}")
    missing = client.delete(f"/api/v1/devices/{b64u(os.urandom(16))}")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content
    assert active_devices(world.de.user) == [world.de.device.id]


# --- who may fetch whose keys --------------------------------------------------


def _unassigned_counterpart(world: World) -> Peer:
    assert world.de.user.authority is not None
    return make_peer(make_user(world.de.user.authority))


VISIBLE = {
    "colleague": ("fr", "fr_supervisor"),
    "counterpart in a visible case": ("fr", "de"),
    "counterpart the other way": ("de", "fr"),
    "supervisor of a party sees the counterpart": ("de_supervisor", "fr"),
    "liaison officer": ("fr", "liaison"),
}


@pytest.mark.parametrize(("viewer", "target"), VISIBLE.values(), ids=VISIBLE.keys())
def test_user_keys__visible_to_whom_may_include_them(world: World, viewer: str, target: str) -> None:
    """Identity, backup key and certified devices whose certificates verify with the identity."""
    peer: Peer = getattr(world, target)
    body = verified_client(getattr(world, viewer).user).get(f"/api/v1/users/{peer.user.pk}/keys").json()
    assert body["user"] == str(peer.user.pk)
    assert (body["identity"], body["backup"]) == (peer.identity.public, peer.backup.public)
    assert [d["device"] for d in body["devices"]] == [d.id for d in peer.devices]
    identity = public_key_from_b64u(body["identity"])
    for device in body["devices"]:
        cert = DeviceCertificate(device["user"], device["device"], device["dh"], device["sig"], device["certificate"])
        assert cert.verify(identity)


HIDDEN = {
    "third authority": ("fr", "outsider"),
    "third authority looking in": ("outsider", "fr"),
    "unassigned officer of the counterpart": ("unassigned", "fr"),
    "liaison sharing no thread": ("liaison", "de"),
}


@pytest.mark.parametrize(("viewer", "target"), HIDDEN.values(), ids=HIDDEN.keys())
def test_user_keys__no_shared_case_or_thread_is_404_like_a_random_id(world: World, viewer: str, target: str) -> None:
    """Someone with no shared case or thread gets the very 404 a random UUID (or junk) gets."""
    viewer_peer = _unassigned_counterpart(world) if viewer == "unassigned" else getattr(world, viewer)
    client = verified_client(viewer_peer.user)
    hidden = client.get(f"/api/v1/users/{getattr(world, target).user.pk}/keys")
    assert hidden.status_code == 404
    assert hidden.content == not_found_body(client) == client.get("/api/v1/users/not-a-uuid/keys").content


def test_user_keys__revoked_devices_are_listed_apart_with_their_revocation_time(world: World) -> None:
    """Revoked devices come under ``revoked``, never among the usable ``devices``, so that clients can check
    what they signed before their revocation; who may fetch them does not change."""
    second = world.fr.add_device()
    assert verified_client(world.fr.user).delete(f"/api/v1/devices/{second.id}").status_code == 204
    revoked_at = Device.objects.get(pk=second.id).revoked_at
    assert revoked_at is not None
    body = verified_client(world.de.user).get(f"/api/v1/users/{world.fr.user.pk}/keys").json()
    assert [d["device"] for d in body["devices"]] == [world.fr.device.id]
    [listed] = body["revoked"]
    assert listed["device"] == second.id
    assert listed["revoked_at"] == format_at(revoked_at)
    cert = DeviceCertificate(listed["user"], listed["device"], listed["dh"], listed["sig"], listed["certificate"])
    assert cert.verify(public_key_from_b64u(body["identity"]))
    assert verified_client(world.de.user).get(f"/api/v1/users/{world.de.user.pk}/keys").json()["revoked"] == []
    outsider = verified_client(world.outsider.user)
    hidden = outsider.get(f"/api/v1/users/{world.fr.user.pk}/keys")
    assert hidden.status_code == 404 and hidden.content == not_found_body(outsider)


def test_user_keys__a_shared_thread_makes_a_member_visible(world: World) -> None:
    """A liaison officer sees the keys of the people of a thread they were invited to."""
    from datetime import timedelta

    from django.utils import timezone

    from consult.actions.threads import check_membership_change
    from consult.client import build_membership_change

    client = verified_client(world.liaison.user)
    assert client.get(f"/api/v1/users/{world.fr.user.pk}/keys").status_code == 404
    thread_id, _ = open_thread(world.fr, world.case)
    expires = (timezone.now() + timedelta(days=1)).isoformat()
    change = build_membership_change(
        world.fr.device, thread=thread_id, action="add", user=str(world.liaison.user.pk), expires=expires
    )
    check_membership_change(world.fr.user, world.fr.server_device(), thread_id, change)
    assert client.get(f"/api/v1/users/{world.fr.user.pk}/keys").json()["identity"] == world.fr.identity.public


def test_user_keys__the_certifier_of_a_partys_records_key_is_visible_to_a_threads_members(world: World) -> None:
    """Clients check a records key's certificate before wrapping to it: a liaison, and anyone after the
    certifying supervisor's account is closed, can still fetch that supervisor's identity key."""
    from datetime import timedelta

    from django.utils import timezone

    from consult.actions.threads import check_membership_change
    from consult.client import build_membership_change

    certifier = f"/api/v1/users/{world.de_supervisor.user.pk}/keys"
    liaison = verified_client(world.liaison.user)
    assert liaison.get(certifier).status_code == 404  # no thread of that case yet
    thread_id, _ = open_thread(world.fr, world.case)
    expires = (timezone.now() + timedelta(days=1)).isoformat()
    change = build_membership_change(
        world.fr.device, thread=thread_id, action="add", user=str(world.liaison.user.pk), expires=expires
    )
    check_membership_change(world.fr.user, world.fr.server_device(), thread_id, change)
    assert liaison.get(certifier).json()["identity"] == world.de_supervisor.identity.public
    User.objects.filter(pk=world.de_supervisor.user.pk).update(is_active=False)
    assert verified_client(world.fr.user).get(certifier).json()["authority"] == "DE-BFJ"
    assert verified_client(world.outsider.user).get(certifier).status_code == 404


# --- records keys --------------------------------------------------------------


def records_body(supervisor: Peer, authority: str = "FR-MJ", wrapped: Any = None) -> dict[str, Any]:
    records = ClientRecordsKey.generate(authority)
    certificate = supervisor.identity.certify_records_key(records).to_json()
    return {**certificate, "wrapped": opaque_wrapped() if wrapped is None else wrapped}


def test_records_key__wrapped_only_for_that_authoritys_supervisors(world: World) -> None:
    """Everyone gets the public key and certificate; only FR supervisors get FR's wrapped key."""
    body = records_body(world.fr_supervisor)
    put = verified_client(world.fr_supervisor.user).put(
        "/api/v1/authorities/FR-MJ/records-key", body, content_type=JSON
    )
    assert put.status_code == 200 and put.json()["dh"] == body["dh"]
    own = verified_client(world.fr_supervisor.user).get("/api/v1/authorities/FR-MJ/records-key").json()
    assert own["wrapped"] == body["wrapped"]
    assert (own["id"], own["dh"], own["certificate"]) == ("records:FR-MJ", body["dh"], body["certificate"])
    for peer in (world.fr, world.de_supervisor, world.liaison, world.outsider):
        seen = verified_client(peer.user).get("/api/v1/authorities/FR-MJ/records-key")
        assert seen.status_code == 200
        assert "wrapped" not in seen.json() and seen.json()["dh"] == body["dh"]


def test_records_key__only_a_supervisor_of_that_authority_may_put(world: World) -> None:
    """Officers, liaisons and other authorities' supervisors get the 404 of an unknown authority."""
    current = RecordsKey.objects.get(authority__code="FR-MJ", retired_at__isnull=True)
    unknown = verified_client(world.fr_supervisor.user).put(
        "/api/v1/authorities/ZZ-NONE/records-key", records_body(world.fr_supervisor, "ZZ-NONE"), content_type=JSON
    )
    assert unknown.status_code == 404
    for peer in (world.fr, world.de_supervisor, world.liaison, world.outsider):
        response = verified_client(peer.user).put(
            "/api/v1/authorities/FR-MJ/records-key", records_body(peer), content_type=JSON
        )
        assert response.status_code == 404, peer.user.role
        assert response.content == unknown.content
    assert list(RecordsKey.objects.filter(authority__code="FR-MJ").values_list("pk", "retired_at")) == [
        (current.pk, None)
    ]


def test_records_key__rotation_retires_the_old_key(world: World) -> None:
    """A new records key becomes current; the old one is retired, not deleted."""
    old = RecordsKey.objects.get(authority__code="FR-MJ", retired_at__isnull=True)
    client = verified_client(world.fr_supervisor.user)
    body = records_body(world.fr_supervisor)
    assert client.put("/api/v1/authorities/FR-MJ/records-key", body, content_type=JSON).status_code == 200
    old.refresh_from_db()
    assert old.retired_at is not None
    current = RecordsKey.objects.get(authority__code="FR-MJ", retired_at__isnull=True)
    assert current.dh_public == body["dh"] and current.pk != old.pk
    assert verified_client(world.de.user).get("/api/v1/authorities/FR-MJ/records-key").json()["dh"] == body["dh"]


REFUSED_RECORDS = {
    "forged certificate": (lambda b: {**b, "dh": point()}, "bad_signature"),
    "another certifier": (lambda b: {**b, "certified_by": str(uuid.uuid4())}, "bad_request"),
    "another authority": (lambda b: {**b, "authority": "DE-BFJ"}, "bad_request"),
    "bad wrapped key": (lambda b: {**b, "wrapped": {"kdf": "none"}}, "bad_request"),
    "missing wrapped": (lambda b: {k: v for k, v in b.items() if k != "wrapped"}, "bad_request"),
}


@pytest.mark.parametrize(("mutate", "code"), REFUSED_RECORDS.values(), ids=REFUSED_RECORDS.keys())
def test_records_key__refused_put_keeps_the_current_key(
    world: World, mutate: Callable[[dict[str, Any]], dict[str, Any]], code: str
) -> None:
    """A forged or malformed records key is refused with its code; the current key stays current."""
    current = RecordsKey.objects.get(authority__code="FR-MJ", retired_at__isnull=True)
    response = verified_client(world.fr_supervisor.user).put(
        "/api/v1/authorities/FR-MJ/records-key", mutate(records_body(world.fr_supervisor)), content_type=JSON
    )
    assert response.status_code == 400 and response.json()["error"] == code
    assert RecordsKey.objects.get(authority__code="FR-MJ", retired_at__isnull=True).pk == current.pk
    assert RecordsKey.objects.filter(authority__code="FR-MJ").count() == 1


# --- backup wraps --------------------------------------------------------------


def wrap_body(thread_id: str, epoch: int) -> dict[str, Any]:
    """A wrap of the right shape (the server cannot open it, so random bytes will do)."""
    return {"thread": thread_id, "epoch": epoch, "eph": point(), "iv": b64u(os.urandom(12)), "ct": b64u(os.urandom(48))}


def test_key_backup__member_stores_a_wrap_and_a_repeat_is_a_no_op(world: World) -> None:
    """The first wrap for (me, thread, epoch) wins; repeating answers 201 and changes nothing."""
    thread_id, _ = open_thread(world.fr, world.case)
    client = verified_client(world.fr.user)
    first, second = wrap_body(thread_id, 1), wrap_body(thread_id, 1)
    response = client.post("/api/v1/key-backup", first, content_type=JSON)
    assert response.status_code == 201 and response.json() == {"thread": thread_id, "epoch": 1}
    assert client.post("/api/v1/key-backup", second, content_type=JSON).status_code == 201
    stored = BackupWrap.objects.get(user=world.fr.user, thread_id=thread_id, epoch=1)
    assert (stored.eph, stored.iv, stored.ct) == (first["eph"], first["iv"], first["ct"])
    assert BackupWrap.objects.count() == 1


def test_key_backup__only_for_an_existing_epoch(world: World) -> None:
    """A wrap for an epoch the thread has not reached is 404; epoch 0 is malformed (400)."""
    thread_id, _ = open_thread(world.fr, world.case)
    client = verified_client(world.fr.user)
    future = client.post("/api/v1/key-backup", wrap_body(thread_id, 2), content_type=JSON)
    assert future.status_code == 404
    zero = client.post("/api/v1/key-backup", wrap_body(thread_id, 0), content_type=JSON)
    assert zero.status_code == 400 and "epoch" in zero.json()["fields"]
    assert not BackupWrap.objects.exists()


@pytest.mark.parametrize("who", ["outsider", "de", "fr_supervisor", "liaison"])
def test_key_backup__non_member_gets_the_404_of_a_missing_thread(world: World, who: str) -> None:
    """Not a member (third authority, a party's officer or supervisor, a liaison): 404, nothing stored."""
    thread_id, _ = open_thread(world.fr, world.case)
    client = verified_client(getattr(world, who).user)
    refused = client.post("/api/v1/key-backup", wrap_body(thread_id, 1), content_type=JSON)
    missing = client.post("/api/v1/key-backup", wrap_body(str(uuid.uuid4()), 1), content_type=JSON)
    assert refused.status_code == missing.status_code == 404
    assert refused.content == missing.content
    assert not BackupWrap.objects.exists()


BAD_WRAPS = {
    "ct of 47 bytes": ("ct", b64u(os.urandom(47))),
    "iv of 16 bytes": ("iv", b64u(os.urandom(16))),
    "eph off the curve": ("eph", OFF_CURVE),
    "epoch as text": ("epoch", "1"),
    "thread in upper case": ("thread", None),
}


@pytest.mark.parametrize(("field", "value"), BAD_WRAPS.values(), ids=BAD_WRAPS.keys())
def test_key_backup__bad_shape_is_400_with_fields(world: World, field: str, value: Any) -> None:
    """Wrong sizes, points, types or id forms are 400 naming the field; nothing is stored."""
    thread_id, _ = open_thread(world.fr, world.case)
    body = wrap_body(thread_id, 1)
    body[field] = thread_id.upper() if value is None else value
    response = verified_client(world.fr.user).post("/api/v1/key-backup", body, content_type=JSON)
    assert response.status_code == 400 and field in response.json()["fields"]
    assert not BackupWrap.objects.exists()


def test_key_backup__get_returns_only_my_wraps(world: World) -> None:
    """Two members back up the same epochs; each reads back only their own, in epoch order."""
    from consult.actions.threads import check_membership_change
    from consult.client import build_membership_change

    thread_id, _ = open_thread(world.fr, world.case)
    change = build_membership_change(world.fr.device, thread=thread_id, action="add", user=str(world.de.user.pk))
    check_membership_change(world.fr.user, world.fr.server_device(), thread_id, change)
    rotate(world.fr, thread_id)
    fr, de = verified_client(world.fr.user), verified_client(world.de.user)
    mine = [wrap_body(thread_id, 2), wrap_body(thread_id, 1)]
    theirs = wrap_body(thread_id, 2)
    for body in mine:
        assert fr.post("/api/v1/key-backup", body, content_type=JSON).status_code == 201
    assert de.post("/api/v1/key-backup", theirs, content_type=JSON).status_code == 201
    assert fr.get(f"/api/v1/key-backup?thread={thread_id}").json() == [mine[1], mine[0]]
    assert de.get(f"/api/v1/key-backup?thread={thread_id}").json() == [theirs]
    assert verified_client(world.outsider.user).get(f"/api/v1/key-backup?thread={thread_id}").json() == []
    assert fr.get("/api/v1/key-backup?thread=nope").status_code == 400


# --- CSRF ----------------------------------------------------------------------


def _unsafe_requests(world: World) -> dict[str, tuple[str, str, Any]]:
    return {
        "put identity": ("put", "/api/v1/identity", identity_body()),
        "post device": ("post", "/api/v1/devices", new_certificate(world.fr)[1]),
        "delete device": ("delete", f"/api/v1/devices/{world.fr.device.id}", None),
        "put records key": ("put", "/api/v1/authorities/FR-MJ/records-key", records_body(world.fr_supervisor)),
        "post key backup": ("post", "/api/v1/key-backup", wrap_body(str(uuid.uuid4()), 1)),
    }


def _snapshot() -> tuple[Any, ...]:
    return (
        list(IdentityKey.objects.order_by("pk").values_list("pk", "identity_public")),
        list(Device.objects.order_by("pk").values_list("pk", "revoked_at")),
        list(RecordsKey.objects.order_by("pk").values_list("pk", "retired_at")),
        BackupWrap.objects.count(),
    )


@pytest.mark.parametrize("name", ["put identity", "post device", "delete device", "put records key", "post key backup"])
def test_csrf__unsafe_methods_without_a_token_are_refused(world: World, name: str) -> None:
    """With CSRF enforced, a verified session without the token changes nothing (403)."""
    method, path, body = _unsafe_requests(world)[name]
    user = world.fr_supervisor.user if "records" in name else world.fr.user
    client = verified_client(user, enforce_csrf_checks=True)
    before = _snapshot()
    response = getattr(client, method)(path, body, content_type=JSON)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert _snapshot() == before


def test_csrf__the_token_lets_the_same_request_through(world: World) -> None:
    """Safe methods need no token; an unsafe one with cookie and header is accepted."""
    client = verified_client(world.fr.user, enforce_csrf_checks=True)
    assert client.get("/api/v1/server-key").status_code == 200
    token = get_random_string(32)
    client.cookies["csrftoken"] = token
    body = identity_body(world.fr.identity.public)
    response = client.put("/api/v1/identity", body, content_type=JSON, headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert IdentityKey.objects.get(user=world.fr.user).identity_wrapped == body["identity_wrapped"]
