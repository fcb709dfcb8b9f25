"""Message envelopes: encrypting, signing and opening messages (DESIGN §4).

::

    header   = {"v":1,"thread":T,"epoch":E,"sender_device":D,"client_id":<uuid4>,
                "kind":K,"meta":{...}}
    ct       = AES-GCM(epoch_key, iv, canonical(payload), aad=canonical(header))
    sig      = ECDSA(device sig key, canonical({"ct":ct,"header":header,"iv":iv}))
    envelope = {"header":header, "iv":iv, "ct":ct, "sig":sig}

The header is server-visible (it routes and carries workflow metadata, §6)
and authenticated twice: as AES-GCM AAD and under the device signature.
"""

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec

from consult.client.errors import ClientError, VerificationError
from consult.client.keys import Device
from consult.lib.canonical import CanonicalJSONError, canonical_json, parse_json
from consult.lib.crypto import (
    GCM_IV_LENGTH,
    CryptoError,
    aes_gcm_decrypt,
    aes_gcm_encrypt,
    b64u,
    ecdsa_verify,
    random_bytes,
    unb64u,
)
from consult.lib.protocol import envelope_aad, envelope_signed_bytes

__all__ = [
    "MessageKind",
    "make_payload",
    "open_envelope",
    "seal_envelope",
    "verify_envelope",
]

MessageKind = Literal["text", "clarification", "answer", "assurance", "document", "note"]
_KINDS = frozenset({"text", "clarification", "answer", "assurance", "document", "note"})


def make_payload(
    text: str,
    *,
    reply_to: int | None = None,
    edits: int | None = None,
    files: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The encrypted part of a message (DESIGN §4 ``payload``).

    Args:
        text: the message, in the Markdown subset.
        reply_to: ``seq`` of the entry answered, if any.
        edits: ``seq`` of the message this one edits, if any.
        files: attachments ``{"blob","name","mime","size","key","sha256"}``.
    """
    return {"text": text, "reply_to": reply_to, "edits": edits, "files": [dict(f) for f in files]}


def seal_envelope(
    device: Device,
    epoch_key: bytes,
    *,
    thread: str,
    epoch: int,
    kind: MessageKind,
    payload: Mapping[str, Any],
    meta: Mapping[str, Any] | None = None,
    client_id: str | None = None,
    iv: bytes | None = None,
) -> dict[str, Any]:
    """Encrypt ``payload`` under the epoch key and sign the envelope.

    Args:
        device: the sending device (signs; its id goes in the header).
        epoch_key: the thread's current 32-byte epoch key.
        thread: the thread id.
        epoch: the epoch of ``epoch_key``.
        kind: the message kind.
        payload: the content (see :func:`make_payload`).
        meta: server-visible workflow fields for ``kind`` (DESIGN §6).
        client_id: idempotency key; a fresh UUID4 unless given.
        iv: 12-byte IV; fresh and random unless given (only tests fix it).

    Returns:
        ``{"header","iv","ct","sig"}`` with binary members base64url.
    """
    if kind not in _KINDS:
        raise ClientError(f"unknown message kind {kind!r}")
    header = {
        "v": 1,
        "thread": thread,
        "epoch": epoch,
        "sender_device": device.id,
        "client_id": client_id or str(uuid.uuid4()),
        "kind": kind,
        "meta": dict(meta or {}),
    }
    iv = random_bytes(GCM_IV_LENGTH) if iv is None else iv
    ct = aes_gcm_encrypt(epoch_key, iv, canonical_json(dict(payload)), envelope_aad(header))
    envelope: dict[str, Any] = {"header": header, "iv": b64u(iv), "ct": b64u(ct)}
    envelope["sig"] = device.sign(envelope_signed_bytes(envelope))
    return envelope


def verify_envelope(envelope: Mapping[str, Any], sender_sig_key: ec.EllipticCurvePublicKey) -> bool:
    """Whether the envelope's ``sig`` is the sender device's; never raises."""
    sig = envelope.get("sig")
    if not isinstance(sig, str):
        return False
    try:
        return ecdsa_verify(sender_sig_key, unb64u(sig), envelope_signed_bytes(envelope))
    except (CryptoError, ValueError):
        return False


def open_envelope(
    envelope: Mapping[str, Any],
    epoch_key: bytes,
    sender_sig_key: ec.EllipticCurvePublicKey,
) -> dict[str, Any]:
    """Verify and decrypt an envelope; return its payload.

    Args:
        envelope: the received envelope.
        epoch_key: the key of ``envelope["header"]["epoch"]``.
        sender_sig_key: the certified ECDSA key of the header's ``sender_device``.

    Raises:
        VerificationError: if the signature or the AES-GCM tag does not verify.
        ClientError: if the envelope or the decrypted payload is malformed.
    """
    if not verify_envelope(envelope, sender_sig_key):
        raise VerificationError("envelope signature does not verify")
    header = envelope["header"]
    if not isinstance(header, dict) or header.get("v") != 1:
        raise ClientError("not a comity/v1 envelope header")
    try:
        iv, ct = unb64u(envelope["iv"]), unb64u(envelope["ct"])
    except CryptoError as exc:
        raise ClientError(f"malformed envelope: {exc}") from exc
    try:
        plaintext = aes_gcm_decrypt(epoch_key, iv, ct, envelope_aad(header))
    except CryptoError as exc:
        raise VerificationError("envelope does not decrypt under this epoch key") from exc
    try:
        payload = parse_json(plaintext)
    except CanonicalJSONError as exc:
        raise ClientError(f"payload is not strict JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise ClientError("payload is not a JSON object")
    return payload
