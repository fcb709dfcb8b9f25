"""Round trips through the Python reference client (``consult.client``)."""

import copy
import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from consult.client import (
    BackupKey,
    ChainError,
    ChainHead,
    ChainWriter,
    ClientError,
    Device,
    Identity,
    RecordsCertificate,
    RecordsKey,
    VerificationError,
    build_acknowledgement,
    build_key_package,
    build_membership_change,
    build_thread_creation,
    check_signed_object,
    format_timestamp,
    make_payload,
    new_epoch_key,
    new_thread_id,
    open_envelope,
    open_key_package,
    public_key_from_b64u,
    seal_envelope,
    verify_chain,
    verify_envelope,
    verify_signed_object,
)
from consult.lib.crypto import CryptoError, b64u, generate_private_key, public_key_bytes, unb64u
from consult.lib.protocol import envelope_signed_bytes, safety_number, signed_object_bytes

ALICE = "0a1b2c3d-0000-4000-8000-00000000000a"
BRUNO = "0a1b2c3d-0000-4000-8000-00000000000b"
THREAD = "5f0c7a3e-9b1d-4c2a-8e6f-0123456789ab"


def _flip_b64u(text: str, index: int = 0) -> str:
    """``text``'s bytes with one bit flipped, re-encoded."""
    data = bytearray(unb64u(text))
    data[index] ^= 0x01
    return b64u(bytes(data))


# --- keys and certificates -----------------------------------------------------


def test_identity__certifies_own_device() -> None:
    """An identity's device certificate verifies under that identity only."""
    identity, device = Identity.generate(ALICE), Device.generate(ALICE)
    cert = identity.certify_device(device)
    assert cert.verify(identity.private_key.public_key())
    assert not cert.verify(Identity.generate(ALICE).private_key.public_key())
    assert cert.to_json() == {
        "v": 1,
        "user": ALICE,
        "device": device.id,
        "dh": device.dh_public,
        "sig": device.sig_public,
        "certificate": cert.signature,
    }
    assert len(unb64u(device.id)) == 16


def test_device_certificate__tampering_detected() -> None:
    """Swapping a key, the user or the device id, or a bad signature, fails."""
    identity, device, other = Identity.generate(ALICE), Device.generate(ALICE), Device.generate(ALICE)
    cert = identity.certify_device(device)
    public = identity.private_key.public_key()
    for forged in (
        dataclasses.replace(cert, dh=other.dh_public),
        dataclasses.replace(cert, sig=other.sig_public),
        dataclasses.replace(cert, user=BRUNO),
        dataclasses.replace(cert, device=other.id),
        dataclasses.replace(cert, signature=_flip_b64u(cert.signature, 5)),
        dataclasses.replace(cert, signature="not base64!"),
        dataclasses.replace(cert, dh="AAAA"),
    ):
        assert not forged.verify(public)


def test_identity__refuses_to_certify_foreign_device() -> None:
    """A user cannot certify another user's device."""
    with pytest.raises(ClientError):
        Identity.generate(ALICE).certify_device(Device.generate(BRUNO))


def test_identity__records_certificate() -> None:
    """A supervisor certifies the authority's records key; a changed field fails."""
    supervisor, records = Identity.generate(ALICE), RecordsKey.generate("FR-MJ")
    cert = supervisor.certify_records_key(records)
    public = supervisor.private_key.public_key()
    assert cert.verify(public)
    assert cert.to_json()["dh"] == records.public
    assert not RecordsCertificate("DE-BMJ", ALICE, records.public, cert.signature).verify(public)
    assert not RecordsCertificate("FR-MJ", BRUNO, records.public, cert.signature).verify(public)


def test_wrapped_keys__round_trip_and_bind_owner() -> None:
    """Identity, backup and records keys unwrap with their passphrase and owner only."""
    identity = Identity.generate(ALICE)
    restored = Identity.unwrap(ALICE, identity.wrap("recovery words"), "recovery words")
    assert restored.public == identity.public
    backup = BackupKey.generate(ALICE)
    wrapped = backup.wrap("recovery words")
    assert BackupKey.unwrap(ALICE, wrapped, "recovery words").public == backup.public
    with pytest.raises(CryptoError):
        BackupKey.unwrap(BRUNO, wrapped, "recovery words")
    with pytest.raises(CryptoError):
        Identity.unwrap(ALICE, wrapped, "recovery words")  # purpose is bound too
    records = RecordsKey.generate("FR-MJ")
    wrapped = records.wrap("records passphrase")
    assert RecordsKey.unwrap("FR-MJ", wrapped, "records passphrase").public == records.public
    with pytest.raises(CryptoError):
        RecordsKey.unwrap("FR-MJ", wrapped, "wrong passphrase")


@pytest.mark.parametrize("iterations", [1000, 599_999, 10_000_001])
def test_wrapped_keys__out_of_range_iterations_are_neither_made_nor_opened(iterations: int) -> None:
    """DESIGN §4's 600,000 iterations are the least, as in the browser and the server: a weaker blob is refused."""
    identity = Identity.generate(ALICE)
    with pytest.raises(CryptoError, match="iteration count"):
        identity.wrap("recovery words", iterations=iterations)
    weak = {**identity.wrap("recovery words"), "iter": iterations}
    with pytest.raises(CryptoError, match="iteration count"):
        Identity.unwrap(ALICE, weak, "recovery words")


def test_identity__fingerprints_make_symmetric_safety_number() -> None:
    """The safety number is the two fingerprints joined lower first."""
    alice, bruno = Identity.generate(ALICE), Identity.generate(BRUNO)
    number = safety_number(alice.public_bytes, bruno.public_bytes)
    assert number == "".join(sorted((alice.fingerprint, bruno.fingerprint)))
    assert len(number) == 60 and number.isdigit()


# --- key packages -------------------------------------------------------------


def _package_setup() -> dict[str, Any]:
    """A sender and three recipients of different kinds, and a package for them."""
    sender, bruno_device = Device.generate(ALICE), Device.generate(BRUNO)
    records, backup = RecordsKey.generate("FR-MJ"), BackupKey.generate(ALICE)
    epoch_key = new_epoch_key()
    package = build_key_package(
        sender,
        thread=THREAD,
        epoch=1,
        reason="create",
        history="shared",
        members={ALICE: [sender.id], BRUNO: [bruno_device.id]},
        recipients=[bruno_device.as_recipient(), records.as_recipient(), backup.as_recipient()],
        epoch_key=epoch_key,
    )
    return {
        "sender": sender,
        "holders": [bruno_device, records, backup],
        "epoch_key": epoch_key,
        "package": package,
    }


def test_key_package__each_of_three_recipients_opens_its_wrap() -> None:
    """A device, a records key and a backup key each recover the epoch key."""
    setup = _package_setup()
    package, sender = setup["package"], setup["sender"]
    assert [r["kind"] for r in package["recipients"]] == ["device", "records", "backup"]
    assert [r["id"] for r in package["recipients"]][1:] == ["records:FR-MJ", f"backup:{ALICE}"]
    assert package["type"] == "keys" and package["prev"] is None
    assert verify_signed_object(package, sender.sig_public_key)
    for holder in setup["holders"]:
        assert open_key_package(package, holder, sender.sig_public_key) == setup["epoch_key"]


def test_key_package__outsider_has_no_wrap() -> None:
    """A device that is not a recipient cannot open the package."""
    setup = _package_setup()
    with pytest.raises(ClientError):
        open_key_package(setup["package"], Device.generate(BRUNO), setup["sender"].sig_public_key)


def test_key_package__tampering_detected() -> None:
    """Changed members, a swapped wrap or a wrong signer key are refused."""
    setup = _package_setup()
    package, sender, holder = setup["package"], setup["sender"], setup["holders"][0]
    added = {**package, "members": [*package["members"], {"user": "eve", "devices": ["x"]}]}
    with pytest.raises(VerificationError):
        open_key_package(added, holder, sender.sig_public_key)
    with pytest.raises(VerificationError):
        open_key_package(package, holder, Device.generate(ALICE).sig_public_key)
    # The sender itself moving the records wrap onto the device's id: the wrap
    # is bound to its recipient through HKDF info and the AAD.
    mine, records_wrap = package["recipients"][0], package["recipients"][1]
    swapped = {**package, "recipients": [{**records_wrap, "id": mine["id"], "kind": "device"}]}
    resigned = {**swapped, "sig": sender.sign(signed_object_bytes(swapped))}
    with pytest.raises(VerificationError):
        open_key_package(resigned, holder, sender.sig_public_key)


def test_key_package__refuses_bad_arguments() -> None:
    """Duplicate recipients, unknown reasons and epoch 0 are refused."""
    sender, other = Device.generate(ALICE), Device.generate(BRUNO)
    base: dict[str, Any] = {
        "thread": THREAD,
        "epoch": 1,
        "reason": "rotate",
        "history": "from_join",
        "members": {ALICE: [sender.id]},
        "recipients": [other.as_recipient()],
        "epoch_key": new_epoch_key(),
    }
    for change in (
        {"recipients": [other.as_recipient(), other.as_recipient()]},
        {"reason": "because"},
        {"history": "always"},
        {"epoch": 0},
        {"epoch_key": b"short"},
    ):
        with pytest.raises((ClientError, CryptoError)):
            build_key_package(sender, **{**base, **change})


# --- envelopes ----------------------------------------------------------------


def _sealed() -> tuple[Device, bytes, dict[str, Any], dict[str, Any]]:
    """A device, an epoch key, a payload and its sealed envelope."""
    device, epoch_key = Device.generate(ALICE), new_epoch_key()
    payload = make_payload("Will the **death penalty** be sought?", reply_to=3)
    envelope = seal_envelope(
        device,
        epoch_key,
        thread=THREAD,
        epoch=2,
        kind="assurance",
        payload=payload,
        meta={"type": "death_penalty", "status": "requested"},
    )
    return device, epoch_key, payload, envelope


def test_envelope__seal_and_open_round_trip() -> None:
    """A sealed envelope verifies and opens to the same payload."""
    device, epoch_key, payload, envelope = _sealed()
    header = envelope["header"]
    assert set(envelope) == {"header", "iv", "ct", "sig"}
    assert header["sender_device"] == device.id and header["epoch"] == 2 and header["v"] == 1
    assert len(unb64u(envelope["iv"])) == 12
    assert verify_envelope(envelope, device.sig_public_key)
    assert open_envelope(envelope, epoch_key, device.sig_public_key) == payload


def test_envelope__tampering_detected() -> None:
    """Changed header, ct or sig, a wrong key or a wrong sender are all refused."""
    device, epoch_key, _, envelope = _sealed()
    public = device.sig_public_key
    forged_header = {**envelope, "header": {**envelope["header"], "meta": {"status": "accepted"}}}
    for forged in (
        forged_header,
        {**envelope, "ct": _flip_b64u(envelope["ct"], 2)},
        {**envelope, "sig": _flip_b64u(envelope["sig"], 40)},
        {key: value for key, value in envelope.items() if key != "sig"},
    ):
        assert not verify_envelope(forged, public)
        with pytest.raises(VerificationError):
            open_envelope(forged, epoch_key, public)
    with pytest.raises(VerificationError):
        open_envelope(envelope, epoch_key, Device.generate(ALICE).sig_public_key)
    with pytest.raises(VerificationError):
        open_envelope(envelope, new_epoch_key(), public)
    # The sender re-signing a changed header still fails: the header is the AAD.
    resigned = {**forged_header, "sig": device.sign(envelope_signed_bytes(forged_header))}
    assert verify_envelope(resigned, public)
    with pytest.raises(VerificationError):
        open_envelope(resigned, epoch_key, public)


def test_envelope__refuses_unknown_kind() -> None:
    """Only the kinds of DESIGN §4 can be sealed."""
    kind: Any = "gossip"
    with pytest.raises(ClientError):
        seal_envelope(Device.generate(ALICE), new_epoch_key(), thread=THREAD, epoch=1, kind=kind, payload={})


# --- other signed objects -----------------------------------------------------


def test_signed_objects__verify_and_detect_tampering() -> None:
    """Thread creation, membership change and acknowledgement verify; edits fail."""
    device = Device.generate(ALICE)
    server_key = b64u(public_key_bytes(generate_private_key()))
    thread = new_thread_id()
    objects = [
        build_thread_creation(
            device, thread=thread, case="c1", subject="Extradition of X", history="shared", server_key=server_key
        ),
        build_membership_change(device, thread=thread, action="add", user=BRUNO, expires="2026-12-31T00:00:00Z"),
        build_acknowledgement(device, thread=thread, seq=7, hash_=bytes(32)),
    ]
    assert objects[0]["server_key"] == server_key and objects[0]["sender_device"] == device.id
    assert objects[2]["device"] == device.id and objects[2]["hash"] == b64u(bytes(32))
    for obj in objects:
        check_signed_object(obj, device.sig_public_key)
        assert not verify_signed_object({**obj, "thread": THREAD}, device.sig_public_key)
        assert not verify_signed_object(obj, Device.generate(ALICE).sig_public_key)
        assert not verify_signed_object({**obj, "sig": 5}, device.sig_public_key)
        with pytest.raises(VerificationError):
            check_signed_object({**obj, "v": 2}, device.sig_public_key)


def test_signed_objects__refuse_bad_values() -> None:
    """Unknown actions or history policies and seq 0 are refused."""
    device = Device.generate(ALICE)
    action: Any = "promote"
    history: Any = "all"
    with pytest.raises(ClientError):
        build_membership_change(device, thread=THREAD, action=action, user=BRUNO)
    with pytest.raises(ClientError):
        build_thread_creation(device, thread=THREAD, case="c", subject="s", history=history, server_key="x")
    with pytest.raises(ClientError):
        build_acknowledgement(device, thread=THREAD, seq=0, hash_=bytes(32))


# --- the record's chain -------------------------------------------------------


def _chain(length: int = 20) -> tuple[ChainWriter, list[dict[str, Any]]]:
    """A chain of ``length`` entries of assorted kinds, signed by a fresh server key."""
    writer = ChainWriter(THREAD, generate_private_key())
    start = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    items = []
    for n in range(length):
        if n % 3 == 0:
            items.append(writer.append("status", {"case": "c1", "from": "open", "to": "open"}, user=ALICE, at=start))
        elif n % 3 == 1:
            items.append(writer.append("message", {"ct": "AA", "n": n}, user=ALICE, device="dev", at=start))
        else:
            items.append(writer.append("expiry", {"user": BRUNO, "reason": "expired"}, at=start))
    return writer, items


def test_verify_chain__twenty_entries() -> None:
    """A 20-entry chain verifies to the writer's head; resuming midway agrees."""
    writer, items = _chain()
    server = writer.server_key.public_key()
    head = verify_chain(THREAD, items, server)
    assert head == writer.head and head.seq == 20
    middle = verify_chain(THREAD, items[:8], server)
    assert verify_chain(THREAD, items[8:], server, after=middle) == head
    assert verify_chain(THREAD, [], server) == ChainHead.genesis(THREAD)


@pytest.mark.parametrize("seq", [1, 7, 20])
def test_verify_chain__flipped_byte_names_seq(seq: int) -> None:
    """A byte flipped in one entry's body is reported at that entry's seq."""
    writer, items = _chain()
    tampered = copy.deepcopy(items)
    body = tampered[seq - 1]["entry"]["body"]
    key = sorted(body)[0]  # a string member in every kind _chain writes
    body[key] = body[key][:-1] + chr(ord(body[key][-1]) ^ 1)
    with pytest.raises(ChainError, match=f"seq {seq}:") as caught:
        verify_chain(THREAD, tampered, writer.server_key.public_key())
    assert caught.value.seq == seq


def test_verify_chain__bad_hash_signature_gap_and_thread() -> None:
    """A flipped hash, a foreign signer, a gap and a foreign thread each name their seq."""
    writer, items = _chain()
    server = writer.server_key.public_key()
    cases: list[tuple[list[dict[str, Any]], int, str]] = [
        ([*items[:11], {**items[11], "hash": _flip_b64u(items[11]["hash"], 31)}], 12, "hash"),
        ([*items[:4], {**items[4], "server_sig": _flip_b64u(items[4]["server_sig"], 0)}], 5, "signature"),
        (items[:9] + items[10:], 10, "gap"),
        ([*items[:3], items[4], items[3]], 4, "gap"),
        ([*items[:2], {**items[2], "seq": 4}], 3, "gap"),
        ([*items[:5], {**items[5], "hash": "!!"}], 6, "malformed"),
        ([*items[:1], {"seq": 2}], 2, "entry"),
    ]
    for tampered, seq, reason in cases:
        with pytest.raises(ChainError, match=f"seq {seq}:.*{reason}"):
            verify_chain(THREAD, tampered, server)
    with pytest.raises(ChainError, match=r"seq 1:.*signature"):
        verify_chain(THREAD, items, generate_private_key().public_key())
    with pytest.raises(ChainError, match=r"seq 1:.*another thread"):
        verify_chain("00000000-0000-4000-8000-000000000000", items, server)


def test_verify_chain__foreign_or_spliced_chain_detected() -> None:
    """A chain signed by another key fails at seq 1; one spliced in at seq 5 fails at 5."""
    writer, items = _chain()
    other = ChainWriter(THREAD, generate_private_key())
    forged = [other.append("status", {"forged": n}) for n in range(20)]
    with pytest.raises(ChainError, match="seq 1:"):
        verify_chain(THREAD, forged, writer.server_key.public_key())
    mixed = items[:4] + forged[4:]
    with pytest.raises(ChainError) as caught:
        verify_chain(THREAD, mixed, writer.server_key.public_key())
    assert caught.value.seq == 5


def test_format_timestamp__millisecond_utc() -> None:
    """Entry times are UTC with milliseconds and Z; naive times are refused."""
    moment = datetime(2026, 11, 22, 11, 0, 1, 250_999, tzinfo=timezone(timedelta(hours=1)))
    assert format_timestamp(moment) == "2026-11-22T10:00:01.250Z"
    with pytest.raises(ValueError):
        format_timestamp(datetime(2026, 11, 22))


def test_public_key_from_b64u__loads_device_keys() -> None:
    """A device's published sig key loads back and verifies its signatures."""
    device = Device.generate(ALICE)
    loaded = public_key_from_b64u(device.sig_public)
    obj = build_acknowledgement(device, thread=THREAD, seq=1, hash_=bytes(32))
    assert verify_signed_object(obj, loaded)
