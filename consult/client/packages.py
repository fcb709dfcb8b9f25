"""Key packages: distributing an epoch key to a thread's recipients (DESIGN §4).

A package carries one wrap of the epoch key per recipient (member devices,
both authorities' records keys, backup keys), all derived from one
ephemeral ECDH key, and is signed by the sending device::

    {"v":1, "type":"keys", "thread":T, "epoch":E, "reason":..., "prev":...,
     "history":..., "members":[{"user":U,"devices":[D,...]}, ...],
     "sender_device":D, "eph":<pub>,
     "recipients":[{"id":R,"kind":..,"iv":..,"ct":..}, ...], "sig":..}

Checking that ``members`` and ``recipients`` match the replayed membership is
the caller's job (it needs the thread's history); this module builds, signs,
verifies signatures and opens wraps.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from cryptography.hazmat.primitives.asymmetric import ec

from consult.client.errors import ClientError, VerificationError
from consult.client.keys import Device, Recipient, public_key_from_b64u
from consult.client.objects import HistoryPolicy, sign_object, verify_signed_object
from consult.lib.crypto import (
    AES_KEY_LENGTH,
    GCM_IV_LENGTH,
    CryptoError,
    b64u,
    generate_private_key,
    public_key_bytes,
    random_bytes,
    unb64u,
)
from consult.lib.protocol import unwrap_epoch_key, wrap_epoch_key

__all__ = [
    "KeyHolder",
    "KeyReason",
    "build_key_package",
    "new_epoch_key",
    "open_key_package",
]

KeyReason = Literal["create", "rotate", "history"]
_REASONS = frozenset({"create", "rotate", "history"})
_HISTORY_POLICIES = frozenset({"shared", "from_join"})


class KeyHolder(Protocol):
    """Anything that can open a wrap: a device, a records key or a backup key."""

    @property
    def recipient_id(self) -> str:
        """The id the wrap is addressed to."""
        ...

    @property
    def dh_key(self) -> ec.EllipticCurvePrivateKey:
        """The ECDH private key."""
        ...


def new_epoch_key() -> bytes:
    """A fresh epoch key: 32 random bytes, an AES-256-GCM key (DESIGN §4)."""
    return random_bytes(AES_KEY_LENGTH)


def build_key_package(
    sender: Device,
    *,
    thread: str,
    epoch: int,
    reason: KeyReason,
    history: HistoryPolicy,
    members: Mapping[str, Sequence[str]],
    recipients: Sequence[Recipient],
    epoch_key: bytes,
    prev: str | None = None,
) -> dict[str, Any]:
    """Build and sign a key package wrapping ``epoch_key`` for each recipient.

    Args:
        sender: the device that signs the package.
        thread: the thread id.
        epoch: the epoch the key belongs to (from 1).
        reason: ``create``, ``rotate`` or ``history``.
        history: the thread's history policy.
        members: user id → that user's device ids, in the order to list them.
        recipients: who receives a wrap; ids must be distinct.
        epoch_key: the 32-byte key to distribute.
        prev: base64url hash of the entry holding the previous epoch's
            package, or ``None`` for epoch 1.

    Returns:
        The signed package, ready to send.
    """
    if reason not in _REASONS:
        raise ClientError(f"unknown key-package reason {reason!r}")
    if history not in _HISTORY_POLICIES:
        raise ClientError(f"unknown history policy {history!r}")
    if epoch < 1:
        raise ClientError("epochs start at 1")
    ids = [recipient.id for recipient in recipients]
    if len(set(ids)) != len(ids):
        raise ClientError("a recipient is listed twice")
    # One ephemeral key per package; each wrap still gets its own key via the
    # recipient id in HKDF info and its own random IV (DESIGN §4).
    eph = generate_private_key()
    wraps = []
    for recipient in recipients:
        iv = random_bytes(GCM_IV_LENGTH)
        ct = wrap_epoch_key(eph, recipient.id, recipient.public_key, thread, epoch, epoch_key, iv)
        wraps.append({"id": recipient.id, "kind": recipient.kind, "iv": b64u(iv), "ct": b64u(ct)})
    package = {
        "v": 1,
        "type": "keys",
        "thread": thread,
        "epoch": epoch,
        "reason": reason,
        "prev": prev,
        "history": history,
        "members": [{"user": user, "devices": list(devices)} for user, devices in members.items()],
        "sender_device": sender.id,
        "eph": b64u(public_key_bytes(eph)),
        "recipients": wraps,
    }
    return sign_object(sender, package)


def open_key_package(
    package: Mapping[str, Any],
    holder: KeyHolder,
    sender_sig_key: ec.EllipticCurvePublicKey,
) -> bytes:
    """Verify a package's signature and recover the epoch key from ``holder``'s wrap.

    Args:
        package: the signed key package.
        holder: the device, records key or backup key opening its wrap.
        sender_sig_key: the certified ECDSA key of ``package["sender_device"]``.

    Returns:
        The 32-byte epoch key.

    Raises:
        VerificationError: if the signature or the wrap does not verify.
        ClientError: if the package is malformed or has no wrap for ``holder``.
    """
    if not verify_signed_object(package, sender_sig_key):
        raise VerificationError("key package signature does not verify")
    if package.get("v") != 1 or package.get("type") != "keys":
        raise ClientError("not a comity/v1 key package")
    thread, epoch = package.get("thread"), package.get("epoch")
    if not isinstance(thread, str) or type(epoch) is not int:
        raise ClientError("key package lacks thread or epoch")
    recipients = package.get("recipients")
    if not isinstance(recipients, list):
        raise ClientError("key package lacks recipients")
    mine = [r for r in recipients if isinstance(r, dict) and r.get("id") == holder.recipient_id]
    if len(mine) != 1:
        raise ClientError(f"key package has no single wrap for {holder.recipient_id!r}")
    try:
        eph = public_key_from_b64u(package.get("eph", ""))
        iv, ct = unb64u(mine[0].get("iv", "")), unb64u(mine[0].get("ct", ""))
    except (CryptoError, TypeError) as exc:
        raise ClientError(f"malformed key package: {exc}") from exc
    try:
        return unwrap_epoch_key(holder.dh_key, holder.recipient_id, eph, thread, epoch, iv, ct)
    except CryptoError as exc:
        raise VerificationError(f"wrap for {holder.recipient_id!r} does not open") from exc
