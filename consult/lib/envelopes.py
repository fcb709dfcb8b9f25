"""Checking signed protocol objects before anything is stored (DESIGN §4, §9).

Each ``check_*_shape`` function verifies the exact set of fields, their
types, encodings and sizes, and raises :class:`~consult.exceptions.BadInput`
naming the first fault. Signatures are checked with :func:`check_signature`
once the caller knows the signer's key. Ciphertext stays opaque: nothing here
decrypts or logs it.
"""

import datetime as dt
import functools
import re
import uuid
from collections.abc import Mapping
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric import ec

from consult.exceptions import BadInput, BadSignature
from consult.lib.canonical import CanonicalJSONError
from consult.lib.crypto import CryptoError, ecdsa_verify, load_public_key, unb64u
from consult.lib.protocol import envelope_signed_bytes, signed_object_bytes

KINDS = frozenset({"text", "clarification", "answer", "assurance", "document", "note"})
ASSURANCE_TYPES = frozenset(
    {"death_penalty", "torture", "fair_trial", "prison_conditions", "speciality", "re_extradition",
     "life_sentence", "other"}
)  # fmt: skip
ASSURANCE_STATUSES = frozenset({"requested", "offered", "accepted", "declined", "withdrawn"})
DOC_TYPES = frozenset({"request", "supplementary", "translation", "warrant", "judgment", "assurance_letter", "other"})
HANDLING_CODES = frozenset({"no_judicial_disclosure", "no_onward_transmission", "information_only"})
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
IV_BYTES = 12  # AES-GCM 96-bit IV (DESIGN §4)
TAG_BYTES = 16
WRAPPED_KEY_BYTES = 32 + TAG_BYTES  # an epoch key under AES-GCM
SIGNATURE_BYTES = 64  # P1363 r‖s
POINT_BYTES = 65
DEVICE_ID_BYTES = 16


def fail(field: str, message: str) -> BadInput:
    return BadInput(f"{field}: {message}", fields={field: [message]})


def exact_fields(obj: Any, name: str, fields: frozenset[str] | set[str]) -> Mapping[str, Any]:
    if not isinstance(obj, dict):
        raise fail(name, "must be an object")
    if set(obj) != set(fields):
        missing, unknown = set(fields) - set(obj), set(obj) - set(fields)
        what = f"missing {sorted(missing)}" if missing else f"unknown {sorted(unknown)}"
        raise fail(name, what)
    return obj


def integer(value: Any, field: str, minimum: int = 0) -> int:
    if type(value) is not int or value < minimum:
        raise fail(field, f"must be an integer ≥ {minimum}")
    return value


def text(value: Any, field: str, max_length: int = 200) -> str:
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise fail(field, f"must be a string of 1 to {max_length} characters")
    return value


def uuid_text(value: Any, field: str) -> str:
    """A lowercase hyphenated UUID, the protocol's form of ids (DESIGN §4)."""
    if not isinstance(value, str) or not _UUID.match(value):
        raise fail(field, "must be a lowercase hyphenated UUID")
    return value


def binary(value: Any, field: str, length: int | None = None, minimum: int = 0, maximum: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise fail(field, "must be base64url text")
    try:
        raw = unb64u(value)
    except CryptoError:
        raise fail(field, "is not valid base64url without padding") from None
    if length is not None and len(raw) != length:
        raise fail(field, f"must be {length} bytes")
    if len(raw) < minimum or (maximum is not None and len(raw) > maximum):
        raise fail(field, "has the wrong size")
    return raw


def device_id(value: Any, field: str) -> str:
    binary(value, field, DEVICE_ID_BYTES)
    return str(value)


@functools.lru_cache(maxsize=4096)
def public_key(value: str) -> ec.EllipticCurvePublicKey:
    """Parse (and cache) a base64url P-256 point; raises BadInput."""
    try:
        return load_public_key(unb64u(value))
    except (CryptoError, ValueError):
        raise fail("key", "is not a P-256 public key") from None


def point(value: Any, field: str) -> str:
    binary(value, field, POINT_BYTES)
    try:
        public_key(value)
    except BadInput:
        raise fail(field, "is not a P-256 public key") from None
    return str(value)


def timestamp(value: Any, field: str) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail(field, "must be an ISO-8601 time or null")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise fail(field, "must be an ISO-8601 time") from None
    if moment.tzinfo is None:
        raise fail(field, "needs a time zone")
    return moment


def check_signature(signed: bytes, signature_b64: Any, signer_b64: str) -> None:
    signature = binary(signature_b64, "sig", SIGNATURE_BYTES)
    if not ecdsa_verify(public_key(signer_b64), signature, signed):
        raise BadSignature


def check_object_signature(obj: Mapping[str, Any], signer_b64: str) -> None:
    """Verify a device or identity signature over the canonical object without ``sig``."""
    try:
        signed = signed_object_bytes(obj)
    except (CanonicalJSONError, CryptoError) as exc:
        raise fail("sig", f"the object cannot be signed: {exc}") from None
    check_signature(signed, obj.get("sig"), signer_b64)


def check_envelope_signature(envelope: Mapping[str, Any], signer_b64: str) -> None:
    try:
        signed = envelope_signed_bytes(envelope)
    except (CanonicalJSONError, CryptoError) as exc:
        raise fail("sig", f"the envelope cannot be signed: {exc}") from None
    check_signature(signed, envelope.get("sig"), signer_b64)


def _one_of(value: Any, allowed: frozenset[str]) -> bool:
    return isinstance(value, str) and value in allowed  # a list or object is not hashable: refuse, don't crash


def check_meta(kind: str, meta: Any) -> dict[str, Any]:
    """The server-visible workflow fields of an item (DESIGN §6).

    Besides §6's fields, every kind may carry a ``handling`` code, an answer
    the ``clarification`` (seq) it closes and an assurance the ``ref`` (seq)
    of the assurance it moves (docs/protocol.md, "Workflow metadata").
    """
    required = {"clarification": {"due"}, "assurance": {"type", "status"}, "document": {"doc_type"}}.get(kind, set())
    optional = {"handling"} | {"answer": {"clarification"}, "assurance": {"ref"}}.get(kind, set())
    meta = exact_fields(meta, "header.meta", required | (set(meta) & optional) if isinstance(meta, dict) else required)
    if "handling" in meta and not _one_of(meta["handling"], HANDLING_CODES):
        raise fail("header.meta.handling", "is not a handling code")
    for pointer in ("clarification", "ref"):
        if pointer in meta:
            integer(meta[pointer], f"header.meta.{pointer}", 1)
    if kind == "clarification":
        if not isinstance(meta["due"], str) or not _DATE.match(meta["due"]):
            raise fail("header.meta.due", "must be YYYY-MM-DD")
        try:
            dt.date.fromisoformat(meta["due"])
        except ValueError:
            raise fail("header.meta.due", "is not a date") from None
    elif kind == "assurance":
        if not _one_of(meta["type"], ASSURANCE_TYPES):
            raise fail("header.meta.type", "is not an assurance type")
        if not _one_of(meta["status"], ASSURANCE_STATUSES):
            raise fail("header.meta.status", "is not an assurance status")
    elif kind == "document":
        if not _one_of(meta["doc_type"], DOC_TYPES):
            raise fail("header.meta.doc_type", "is not a document type")
    return dict(meta)


def check_envelope_shape(envelope: Any, thread_id: str) -> Mapping[str, Any]:
    """Check an envelope's structure; return its header.

    ::

        envelope = {"header": {v, thread, epoch, sender_device, client_id, kind, meta},
                    "iv": 12 bytes, "ct": ≥ 16 bytes (ciphertext ‖ tag), "sig": 64 bytes}
    """
    envelope = exact_fields(envelope, "envelope", {"header", "iv", "ct", "sig"})
    header = exact_fields(
        envelope["header"], "header", {"v", "thread", "epoch", "sender_device", "client_id", "kind", "meta"}
    )
    if header["v"] != 1 or type(header["v"]) is not int:
        raise fail("header.v", "must be 1")
    if uuid_text(header["thread"], "header.thread") != thread_id:
        raise fail("header.thread", "does not match the frame's thread")
    integer(header["epoch"], "header.epoch", 1)
    device_id(header["sender_device"], "header.sender_device")
    client_id = uuid_text(header["client_id"], "header.client_id")
    if uuid.UUID(client_id).version != 4:
        raise fail("header.client_id", "must be a UUID v4")
    if not _one_of(header["kind"], KINDS):
        raise fail("header.kind", "is not a kind of item")
    check_meta(header["kind"], header["meta"])
    binary(envelope["iv"], "iv", IV_BYTES)
    binary(envelope["ct"], "ct", minimum=TAG_BYTES)
    binary(envelope["sig"], "sig", SIGNATURE_BYTES)
    return header


def check_package_shape(package: Any, thread_id: str) -> Mapping[str, Any]:
    """Check a key package's structure (signature and membership are checked later)."""
    package = exact_fields(
        package,
        "package",
        {"v", "type", "thread", "epoch", "reason", "prev", "history", "members", "sender_device", "eph",
         "recipients", "sig"},
    )  # fmt: skip
    if type(package["v"]) is not int or package["v"] != 1 or package["type"] != "keys":
        raise fail("package.type", "must be a v1 keys package")
    if uuid_text(package["thread"], "package.thread") != thread_id:
        raise fail("package.thread", "does not match the frame's thread")
    integer(package["epoch"], "package.epoch", 1)
    if package["reason"] not in ("create", "rotate", "history"):
        raise fail("package.reason", "must be create, rotate or history")
    if package["prev"] is not None:
        binary(package["prev"], "package.prev", 32)
    if package["history"] not in ("shared", "from_join"):
        raise fail("package.history", "must be shared or from_join")
    device_id(package["sender_device"], "package.sender_device")
    point(package["eph"], "package.eph")
    binary(package["sig"], "package.sig", SIGNATURE_BYTES)
    if not isinstance(package["members"], list) or len(package["members"]) > 1000:
        raise fail("package.members", "must be a list")
    for member in package["members"]:
        member = exact_fields(member, "package.members[]", {"user", "devices"})
        uuid_text(member["user"], "package.members[].user")
        if not isinstance(member["devices"], list):
            raise fail("package.members[].devices", "must be a list")
        for device in member["devices"]:
            device_id(device, "package.members[].devices[]")
    if not isinstance(package["recipients"], list) or len(package["recipients"]) > 5000:
        raise fail("package.recipients", "must be a list")
    for recipient in package["recipients"]:
        recipient = exact_fields(recipient, "package.recipients[]", {"id", "kind", "iv", "ct"})
        if recipient["kind"] not in ("device", "records", "backup"):
            raise fail("package.recipients[].kind", "must be device, records or backup")
        text(recipient["id"], "package.recipients[].id", 64)
        binary(recipient["iv"], "package.recipients[].iv", IV_BYTES)
        binary(recipient["ct"], "package.recipients[].ct", WRAPPED_KEY_BYTES)
    return cast(Mapping[str, Any], package)


def check_change_shape(change: Any, thread_id: str) -> Mapping[str, Any]:
    """A membership change ``{v, thread, action, user, expires, sender_device, sig}``."""
    change = exact_fields(change, "change", {"v", "thread", "action", "user", "expires", "sender_device", "sig"})
    if change["v"] != 1 or type(change["v"]) is not int:
        raise fail("change.v", "must be 1")
    if uuid_text(change["thread"], "change.thread") != thread_id:
        raise fail("change.thread", "does not match the frame's thread")
    if change["action"] not in ("add", "remove", "leave"):
        raise fail("change.action", "must be add, remove or leave")
    uuid_text(change["user"], "change.user")
    timestamp(change["expires"], "change.expires")
    device_id(change["sender_device"], "change.sender_device")
    binary(change["sig"], "change.sig", SIGNATURE_BYTES)
    return cast(Mapping[str, Any], change)


def check_receipt_shape(receipt: Any, thread_id: str) -> Mapping[str, Any]:
    """A formal acknowledgement ``{v, thread, seq, hash, device, sig}``."""
    receipt = exact_fields(receipt, "receipt", {"v", "thread", "seq", "hash", "device", "sig"})
    if receipt["v"] != 1 or type(receipt["v"]) is not int:
        raise fail("receipt.v", "must be 1")
    if uuid_text(receipt["thread"], "receipt.thread") != thread_id:
        raise fail("receipt.thread", "does not match the frame's thread")
    integer(receipt["seq"], "receipt.seq", 1)
    binary(receipt["hash"], "receipt.hash", 32)
    device_id(receipt["device"], "receipt.device")
    binary(receipt["sig"], "receipt.sig", SIGNATURE_BYTES)
    return cast(Mapping[str, Any], receipt)


def check_creation_shape(creation: Any) -> Mapping[str, Any]:
    """A thread creation ``{v, thread, case, subject, history, server_key, sender_device, sig}``."""
    creation = exact_fields(
        creation, "creation", {"v", "thread", "case", "subject", "history", "server_key", "sender_device", "sig"}
    )
    if creation["v"] != 1 or type(creation["v"]) is not int:
        raise fail("creation.v", "must be 1")
    uuid_text(creation["thread"], "creation.thread")
    uuid_text(creation["case"], "creation.case")
    text(creation["subject"], "creation.subject", 200)
    if creation["history"] not in ("shared", "from_join"):
        raise fail("creation.history", "must be shared or from_join")
    point(creation["server_key"], "creation.server_key")
    device_id(creation["sender_device"], "creation.sender_device")
    binary(creation["sig"], "creation.sig", SIGNATURE_BYTES)
    return cast(Mapping[str, Any], creation)
