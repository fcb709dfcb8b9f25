"""Test factories for keys and threads: peers hold reference-client keys as a browser would."""

import os
import uuid
from dataclasses import dataclass, field

from cases.models import Case
from consult.actions.devices import check_publish_identity, check_publish_records_key, check_register_device
from consult.actions.keys import check_key_package, expected_members
from consult.actions.threads import check_create_thread
from consult.client import (
    BackupKey,
    Identity,
    Recipient,
    build_key_package,
    build_thread_creation,
    new_epoch_key,
    public_key_from_b64u,
)
from consult.client import Device as ClientDevice
from consult.client import RecordsKey as ClientRecordsKey
from consult.lib.crypto import b64u
from consult.lib.server_key import server_public_key_b64u
from consult.models import Device, Entry, RecordsKey, Thread, User


def opaque_wrapped() -> dict[str, object]:
    """A wrapped-private-key blob of the right shape.

    The server never opens these (it cannot: the passphrase stays in the
    browser), so server-side tests store random bytes instead of spending
    600,000 PBKDF2 rounds per key.
    """
    return {"kdf": "PBKDF2-SHA256", "iter": 600_000, "salt": b64u(os.urandom(16)), "iv": b64u(os.urandom(12)),
            "ct": b64u(os.urandom(138))}  # fmt: skip


@dataclass
class Peer:
    """A user with a reference-client identity and devices, as a browser would hold them."""

    user: User
    identity: Identity
    backup: BackupKey
    devices: list[ClientDevice] = field(default_factory=list)

    @property
    def device(self) -> ClientDevice:
        return self.devices[0]

    def add_device(self) -> ClientDevice:
        device = ClientDevice.generate(str(self.user.pk))
        check_register_device(self.user, self.identity.certify_device(device).to_json())
        self.devices.append(device)
        return device

    def server_device(self, index: int = 0) -> Device:
        return Device.objects.get(pk=self.devices[index].id)


def make_peer(user: User, devices: int = 1) -> Peer:
    peer = Peer(user, Identity.generate(str(user.pk)), BackupKey.generate(str(user.pk)))
    check_publish_identity(user, {
        "identity": peer.identity.public, "backup": peer.backup.public,
        "identity_wrapped": opaque_wrapped(), "backup_wrapped": opaque_wrapped(),
    })  # fmt: skip
    for _ in range(devices):
        peer.add_device()
    return peer


def make_records_key(supervisor: Peer) -> ClientRecordsKey:
    authority = supervisor.user.authority
    assert authority is not None
    records = ClientRecordsKey.generate(authority.code)
    certificate = supervisor.identity.certify_records_key(records).to_json()
    check_publish_records_key(supervisor.user, authority, {**certificate, "wrapped": None})
    return records


def package_recipients(thread: Thread) -> tuple[dict[str, list[str]], list[Recipient]]:
    """Members and recipients for a create/rotate package, read from the server's keys."""
    members = {user: sorted(devices) for user, devices in expected_members(thread).items()}
    recipients = [
        Recipient(d.pk, "device", public_key_from_b64u(d.dh_public))
        for d in Device.objects.filter(pk__in=[d for ds in members.values() for d in ds])
    ]
    for authority_id in thread.case.party_ids():
        key = RecordsKey.objects.get(authority_id=authority_id, retired_at__isnull=True)
        recipients.append(Recipient(f"records:{key.authority.code}", "records", public_key_from_b64u(key.dh_public)))
    return members, recipients


def rotate(peer: Peer, thread_id: str, device_index: int = 0) -> bytes:
    """Send the next epoch's package from ``peer``; return the new epoch key."""
    thread = Thread.objects.get(pk=thread_id)
    members, recipients = package_recipients(thread)
    prev = None
    if thread.epoch:
        prev = b64u(bytes(Entry.objects.get(thread=thread, seq=thread.epoch_seq).hash))
    key = new_epoch_key()
    package = build_key_package(
        peer.devices[device_index], thread=thread_id, epoch=thread.epoch + 1,
        reason="rotate" if thread.epoch else "create", history=thread.history,  # type: ignore[arg-type]
        members=members, recipients=recipients, epoch_key=key, prev=prev,
    )  # fmt: skip
    check_key_package(peer.user, peer.server_device(device_index), thread_id, package)
    return key


def open_thread(
    peer: Peer, case: Case, history: str = "shared", subject: str = "Dual criminality"
) -> tuple[str, bytes]:
    """Create a thread and its first epoch; return the thread id and epoch key."""
    thread_id = str(uuid.uuid4())
    creation = build_thread_creation(
        peer.device, thread=thread_id, case=str(case.pk), subject=subject,
        history=history, server_key=server_public_key_b64u(),  # type: ignore[arg-type]
    )  # fmt: skip
    check_create_thread(peer.user, peer.server_device(), str(case.pk), creation)
    return thread_id, rotate(peer, thread_id)


@dataclass
class World:
    """Two ministries with records keys, an officer each on one case, a liaison, an outsider."""

    case: Case
    fr: Peer
    de: Peer
    fr_supervisor: Peer
    de_supervisor: Peer
    liaison: Peer
    outsider: Peer
    records: dict[str, ClientRecordsKey]


def make_world() -> World:
    from tests.helpers import assign, make_authority, make_case, make_user

    supervisor, liaison = User.Role.SUPERVISOR, User.Role.LIAISON

    fr_mj, de_bfj = make_authority("FR-MJ", "FR"), make_authority("DE-BFJ", "DE")
    liaison_office, third = make_authority("FR-ML", "FR"), make_authority("IT-MG", "IT")
    fr_sup, de_sup = make_peer(make_user(fr_mj, supervisor)), make_peer(make_user(de_bfj, supervisor))
    records = {"FR-MJ": make_records_key(fr_sup), "DE-BFJ": make_records_key(de_sup)}
    fr, de = make_peer(make_user(fr_mj)), make_peer(make_user(de_bfj))
    case = make_case(fr.user, de_bfj)
    assign(de.user, case, de.user)
    return World(
        case=case, fr=fr, de=de, fr_supervisor=fr_sup, de_supervisor=de_sup,
        liaison=make_peer(make_user(liaison_office, liaison)),
        outsider=make_peer(make_user(third)), records=records,
    )  # fmt: skip
