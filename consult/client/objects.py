"""Device-signed protocol objects (DESIGN §4 "Other signed objects").

Each object is signed by a device over its canonical form without ``sig``
(:func:`consult.lib.protocol.signed_object_bytes`): thread creations,
membership changes and formal acknowledgements here; key packages in
:mod:`consult.client.packages`.
"""

import uuid
from collections.abc import Mapping
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec

from consult.client.errors import ClientError, VerificationError
from consult.client.keys import Device
from consult.lib.crypto import CryptoError, b64u, ecdsa_verify, unb64u
from consult.lib.protocol import signed_object_bytes

__all__ = [
    "HistoryPolicy",
    "MembershipAction",
    "build_acknowledgement",
    "build_membership_change",
    "build_thread_creation",
    "check_signed_object",
    "new_thread_id",
    "sign_object",
    "verify_signed_object",
]

HistoryPolicy = Literal["shared", "from_join"]
MembershipAction = Literal["add", "remove", "leave"]
_HISTORY_POLICIES = frozenset({"shared", "from_join"})
_MEMBERSHIP_ACTIONS = frozenset({"add", "remove", "leave"})


def new_thread_id() -> str:
    """A fresh thread id: a lowercase hyphenated UUID chosen by the client (DESIGN §4)."""
    return str(uuid.uuid4())


def sign_object(device: Device, obj: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``obj`` with ``"sig"``: the device's signature over it without ``sig``."""
    unsigned = {key: value for key, value in obj.items() if key != "sig"}
    return {**unsigned, "sig": device.sign(signed_object_bytes(unsigned))}


def verify_signed_object(obj: Mapping[str, Any], signer: ec.EllipticCurvePublicKey) -> bool:
    """Whether ``obj["sig"]`` is ``signer``'s signature over ``obj`` without ``sig``.

    Never raises: a missing, non-string or malformed signature, or an object
    that is not canonical-JSON serialisable, is simply not verified.
    """
    sig = obj.get("sig")
    if not isinstance(sig, str):
        return False
    try:
        return ecdsa_verify(signer, unb64u(sig), signed_object_bytes(obj))
    except (CryptoError, ValueError):
        return False


def check_signed_object(obj: Mapping[str, Any], signer: ec.EllipticCurvePublicKey) -> None:
    """Raise :class:`VerificationError` unless :func:`verify_signed_object` holds."""
    if not verify_signed_object(obj, signer):
        raise VerificationError("signature does not verify")


def build_thread_creation(
    device: Device,
    *,
    thread: str,
    case: str,
    subject: str,
    history: HistoryPolicy,
    server_key: str,
) -> dict[str, Any]:
    """The signed thread creation, the thread's first entry.

    It pins ``server_key`` (base64url public point), so a history re-signed
    with another key fails verification (DESIGN §4).
    """
    if history not in _HISTORY_POLICIES:
        raise ClientError(f"unknown history policy {history!r}")
    return sign_object(
        device,
        {
            "v": 1,
            "thread": thread,
            "case": case,
            "subject": subject,
            "history": history,
            "server_key": server_key,
            "sender_device": device.id,
        },
    )


def build_membership_change(
    device: Device,
    *,
    thread: str,
    action: MembershipAction,
    user: str,
    expires: str | None = None,
) -> dict[str, Any]:
    """A signed membership change (``add`` / ``remove`` / ``leave``).

    Args:
        device: the acting member's device, which signs.
        thread: the thread id.
        action: what happens to ``user``.
        user: whom the change concerns.
        expires: ISO-8601 end of a (liaison) membership, or ``None``.
    """
    if action not in _MEMBERSHIP_ACTIONS:
        raise ClientError(f"unknown membership action {action!r}")
    return sign_object(
        device,
        {
            "v": 1,
            "thread": thread,
            "action": action,
            "user": user,
            "expires": expires,
            "sender_device": device.id,
        },
    )


def build_acknowledgement(device: Device, *, thread: str, seq: int, hash_: bytes) -> dict[str, Any]:
    """A signed formal acknowledgement: the device held the record up to ``seq``.

    Args:
        device: the acknowledging device.
        thread: the thread id.
        seq: the last entry acknowledged.
        hash_: that entry's 32-byte chain hash.
    """
    if seq < 1:
        raise ClientError("seq starts at 1")
    return sign_object(
        device,
        {"v": 1, "thread": thread, "seq": seq, "hash": b64u(hash_), "device": device.id},
    )
