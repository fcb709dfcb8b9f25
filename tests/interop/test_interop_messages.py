"""Python <-> JavaScript interop for content: message envelopes, files and signed objects.

Each test makes an object with one implementation and opens or verifies it
with the other (DESIGN §4; STYLE rule 21, cross-implementation round trips).
The JavaScript side is ``tests/interop/js_peer.mjs`` over the browser's
crypto facade, reached through the ``js`` fixture.
"""

import copy
import os
import uuid
from typing import Any

import pytest

from consult.client import (
    Device,
    VerificationError,
    build_acknowledgement,
    build_membership_change,
    build_thread_creation,
    check_signed_object,
    make_payload,
    new_epoch_key,
    open_envelope,
    public_key_from_b64u,
    seal_envelope,
    verify_envelope,
    verify_signed_object,
)
from consult.lib.crypto import (
    CryptoError,
    b64u,
    generate_private_key,
    private_key_to_pkcs8,
    public_key_bytes,
    random_bytes,
    sha256,
    unb64u,
)
from consult.lib.protocol import FILE_CHUNK_SIZE, decrypt_file, encrypt_file, envelope_signed_bytes, signed_object_bytes

ALICE = "0a1b2c3d-0000-4000-8000-00000000000a"
BRUNO = "0a1b2c3d-0000-4000-8000-00000000000b"
CASE = "7d3e2f10-4b5a-4c6d-9e8f-00000000c001"
THREAD = "5f0c7a3e-9b1d-4c2a-8e6f-0123456789ab"
# Text that canonical JSON must carry byte for byte on both sides: escapes,
# a line separator, non-BMP characters and combining marks.
TRICKY_TEXT = 'Demande d\'extradition — **urgent** ✓\n\t"cité" \\ \u2028 \u0007 𝄞 e\u0301 日本'
FILE_OVERHEAD = 12 + 16  # IV and tag stored per chunk (DESIGN §4 "Files")


def _flip_b64u(text: str, index: int = 0) -> str:
    """``text``'s bytes with one bit flipped at ``index``, re-encoded."""
    data = bytearray(unb64u(text))
    data[index] ^= 0x01
    return b64u(bytes(data))


def _value(outcome: dict[str, Any]) -> Any:
    """The value of a JS outcome, failing the test if JS refused."""
    assert "error" not in outcome, f"JS refused: {outcome['error']}"
    return outcome["value"]


def _error_code(outcome: dict[str, Any]) -> str:
    """The ComityCryptoError code of a JS outcome that must be a refusal."""
    assert "error" in outcome, f"JS accepted what it should refuse: {outcome.get('value')!r}"
    return outcome["error"]["code"]


def _payload() -> dict[str, Any]:
    """A payload with every member set, including one attachment."""
    attachment = {
        "blob": str(uuid.uuid4()),
        "name": "mandat d'arrêt.pdf",
        "mime": "application/pdf",
        "size": 48_213,
        "key": b64u(random_bytes(32)),
        "sha256": b64u(random_bytes(32)),
    }
    return make_payload(TRICKY_TEXT, reply_to=41, edits=None, files=[attachment])


def _resigned(device: Device, envelope: dict[str, Any]) -> dict[str, Any]:
    """``envelope`` signed again by ``device``, so only AES-GCM can catch a change."""
    return {**envelope, "sig": device.sign(envelope_signed_bytes(envelope))}


# --- 4. message envelopes ------------------------------------------------------------


def test_envelope__python_sealed_opens_in_js(js: Any) -> None:
    """An envelope sealed by Python verifies and opens in JS to the same payload."""
    device, epoch_key, payload = Device.generate(ALICE), new_epoch_key(), _payload()
    envelope = seal_envelope(
        device, epoch_key, thread=THREAD, epoch=2, kind="clarification", payload=payload, meta={"due": "2026-12-01"}
    )
    results = js("open_envelopes", envelopes=[envelope], epoch_key=b64u(epoch_key), sender_sig=device.sig_public)
    assert _value(results[0]["verified"]) is True
    assert _value(results[0]["opened"]) == payload


def test_envelope__python_sealed_tampered_refused_by_js(js: Any) -> None:
    """JS refuses a Python envelope with an altered ct or header: by signature, or by AES-GCM if re-signed."""
    device, epoch_key = Device.generate(ALICE), new_epoch_key()
    meta = {"type": "fair_trial", "status": "offered"}
    envelope = seal_envelope(device, epoch_key, thread=THREAD, epoch=1, kind="assurance", payload=_payload(), meta=meta)
    bad_ct = {**envelope, "ct": _flip_b64u(envelope["ct"], 3)}
    bad_header = {**envelope, "header": {**envelope["header"], "meta": {"type": "torture", "status": "offered"}}}
    bad_epoch = {**envelope, "header": {**envelope["header"], "epoch": 2}}
    candidates = [
        bad_ct,
        bad_header,
        _resigned(device, bad_ct),
        _resigned(device, bad_header),
        _resigned(device, bad_epoch),
    ]
    results = js("open_envelopes", envelopes=candidates, epoch_key=b64u(epoch_key), sender_sig=device.sig_public)
    assert [_value(r["verified"]) for r in results] == [False, False, True, True, True]
    assert [_error_code(r["opened"]) for r in results] == ["signature", "signature", "auth", "auth", "auth"]
    results = js("open_envelopes", envelopes=[envelope], epoch_key=b64u(new_epoch_key()), sender_sig=device.sig_public)
    assert _error_code(results[0]["opened"]) == "auth"


def test_envelope__js_sealed_opens_in_python(js: Any) -> None:
    """An envelope sealed by JS (device key from Python) verifies and opens in Python to the same payload."""
    device, epoch_key, payload = Device.generate(BRUNO), new_epoch_key(), _payload()
    header = {
        "v": 1,
        "thread": THREAD,
        "epoch": 4,
        "sender_device": device.id,
        "client_id": str(uuid.uuid4()),
        "kind": "document",
        "meta": {"doc_type": "warrant"},
    }
    envelope = js(
        "seal_envelope",
        header=header,
        payload=payload,
        epoch_key=b64u(epoch_key),
        sig_pkcs8=b64u(private_key_to_pkcs8(device.sig_key)),
    )
    assert envelope["header"] == header and len(unb64u(envelope["iv"])) == 12
    assert verify_envelope(envelope, device.sig_public_key)
    assert open_envelope(envelope, epoch_key, device.sig_public_key) == payload


def test_envelope__js_sealed_tampered_refused_by_python(js: Any) -> None:
    """Python refuses a JS envelope with an altered ct or header: by signature, or by AES-GCM if re-signed."""
    device, epoch_key = Device.generate(BRUNO), new_epoch_key()
    header = {
        "v": 1,
        "thread": THREAD,
        "epoch": 1,
        "sender_device": device.id,
        "client_id": str(uuid.uuid4()),
        "kind": "text",
        "meta": {},
    }
    envelope = js(
        "seal_envelope",
        header=header,
        payload=_payload(),
        epoch_key=b64u(epoch_key),
        sig_pkcs8=b64u(private_key_to_pkcs8(device.sig_key)),
    )
    bad_ct = {**envelope, "ct": _flip_b64u(envelope["ct"], 0)}
    bad_header = {**envelope, "header": {**header, "kind": "note"}}
    for tampered in (bad_ct, bad_header):
        assert not verify_envelope(tampered, device.sig_public_key)
        with pytest.raises(VerificationError, match="signature"):
            open_envelope(tampered, epoch_key, device.sig_public_key)
        with pytest.raises(VerificationError, match="does not decrypt"):
            open_envelope(_resigned(device, tampered), epoch_key, device.sig_public_key)
    with pytest.raises(VerificationError, match="does not decrypt"):
        open_envelope(envelope, new_epoch_key(), device.sig_public_key)
    with pytest.raises(VerificationError, match="signature"):
        open_envelope(envelope, epoch_key, Device.generate(BRUNO).sig_public_key)


# --- 5. files ------------------------------------------------------------------------

FILE_SIZES = [
    pytest.param(FILE_CHUNK_SIZE + 123, id="1MiB_plus_123"),
    pytest.param(0, id="empty"),
]


@pytest.mark.parametrize("size", FILE_SIZES)
def test_file__python_encrypted_decrypts_in_js(js: Any, size: int) -> None:
    """A file encrypted by Python decrypts in JS with the blob's SHA-256 checked; tampering is refused."""
    plaintext, key = os.urandom(size), random_bytes(32)
    blob = encrypt_file(key, plaintext)
    assert len(blob) == size + FILE_OVERHEAD * max(1, -(-size // FILE_CHUNK_SIZE))
    digest = b64u(sha256(blob))
    altered = bytearray(blob)
    altered[-1] ^= 0x01  # last chunk's tag
    files = [
        {"blob": b64u(blob), "key": b64u(key), "sha256": digest},
        {"blob": b64u(bytes(altered)), "key": b64u(key)},
        {"blob": b64u(bytes(altered)), "key": b64u(key), "sha256": digest},
    ]
    results = js("decrypt_files", files=files)
    assert _value(results[0]) == {"size": size, "plaintext_sha256": b64u(sha256(plaintext))}
    assert [_error_code(r) for r in results[1:]] == ["auth", "integrity"]


@pytest.mark.parametrize("size", FILE_SIZES)
def test_file__js_encrypted_decrypts_in_python(js: Any, size: int) -> None:
    """A file encrypted by JS decrypts in Python; its reported SHA-256 is the blob's; tampering is refused."""
    plaintext = os.urandom(size)
    made = js("encrypt_file", plaintext=b64u(plaintext))
    blob, key = unb64u(made["blob"]), unb64u(made["key"])
    chunks = max(1, -(-size // FILE_CHUNK_SIZE))
    assert made["size"] == size and len(blob) == size + FILE_OVERHEAD * chunks
    assert made["sha256"] == b64u(sha256(blob))
    assert decrypt_file(key, blob) == plaintext
    for index in (0, 12, len(blob) - 1):  # IV, first ciphertext (or tag) byte, last tag byte
        altered = bytearray(blob)
        altered[index] ^= 0x01
        with pytest.raises(CryptoError):
            decrypt_file(key, bytes(altered))
    with pytest.raises(CryptoError):
        decrypt_file(random_bytes(32), blob)
    if chunks > 1:
        first_chunk = 12 + FILE_CHUNK_SIZE + 16
        with pytest.raises(CryptoError):  # truncated at a chunk boundary
            decrypt_file(key, blob[:first_chunk])


# --- 8. signed objects ---------------------------------------------------------------


def _unsigned_objects(sender_device: str) -> list[dict[str, Any]]:
    """A thread creation, two membership changes and an acknowledgement, without ``sig``."""
    return [
        {
            "v": 1,
            "thread": THREAD,
            "case": CASE,
            "subject": TRICKY_TEXT,
            "history": "shared",
            "server_key": b64u(public_key_bytes(generate_private_key())),
            "sender_device": sender_device,
        },
        {
            "v": 1,
            "thread": THREAD,
            "action": "add",
            "user": BRUNO,
            "expires": "2027-01-31T23:59:59.000Z",
            "sender_device": sender_device,
        },
        {"v": 1, "thread": THREAD, "action": "leave", "user": ALICE, "expires": None, "sender_device": sender_device},
        {
            "v": 1,
            "thread": THREAD,
            "seq": 9_007_199_254_740_991,
            "hash": b64u(sha256(b"head")),
            "device": sender_device,
        },
    ]


def test_signed_object__python_built_verifies_in_js(js: Any) -> None:
    """Thread creation, membership changes and an acknowledgement built in Python verify in JS, byte for byte."""
    device = Device.generate(ALICE)
    server_key = b64u(public_key_bytes(generate_private_key()))
    objects = [
        build_thread_creation(
            device, thread=THREAD, case=CASE, subject=TRICKY_TEXT, history="from_join", server_key=server_key
        ),
        build_membership_change(device, thread=THREAD, action="add", user=BRUNO, expires="2027-01-31T23:59:59.000Z"),
        build_membership_change(device, thread=THREAD, action="remove", user=BRUNO),
        build_acknowledgement(device, thread=THREAD, seq=42, hash_=sha256(b"head at 42")),
    ]
    tampered = [
        {**objects[0], "subject": TRICKY_TEXT + " "},
        {**objects[1], "expires": None},
        {**objects[2], "action": "leave"},
        {**objects[3], "seq": 43},
        {**objects[3], "sig": _flip_b64u(objects[3]["sig"], 10)},
    ]
    results = js("verify_objects", signer=device.sig_public, objects=objects + tampered)
    assert [_value(r["verified"]) for r in results] == [True] * 4 + [False] * 5
    assert [r["signed_bytes"] for r in results] == [b64u(signed_object_bytes(obj)) for obj in objects + tampered]
    other = js("verify_objects", signer=Device.generate(ALICE).sig_public, objects=objects[:1])
    assert _value(other[0]["verified"]) is False


def test_signed_object__js_signed_verifies_in_python(js: Any) -> None:
    """The same objects signed in JS verify in Python; JS adds only ``sig``; tampering fails."""
    sender_device = b64u(random_bytes(16))
    unsigned = _unsigned_objects(sender_device)
    made = js("sign_objects", objects=unsigned)
    signer = public_key_from_b64u(made["signer"])
    for before, after in zip(unsigned, made["objects"], strict=True):
        assert {key: value for key, value in after.items() if key != "sig"} == before
        assert len(unb64u(after["sig"])) == 64
        assert verify_signed_object(after, signer)
    for obj in made["objects"]:
        key = "thread"  # present in every kind, and signed
        forged = copy.deepcopy(obj)
        forged[key] = "00000000-0000-4000-8000-000000000000"
        assert not verify_signed_object(forged, signer)
    assert not verify_signed_object(made["objects"][0], Device.generate(ALICE).sig_public_key)
    with pytest.raises(VerificationError):
        check_signed_object({**made["objects"][0], "subject": TRICKY_TEXT[:-1]}, signer)
