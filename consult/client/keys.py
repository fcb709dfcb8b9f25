"""The long-lived keys of protocol ``comity/v1`` and their certificates (DESIGN §4).

* :class:`Identity` — per user, ECDSA; certifies the user's devices and, for
  a supervisor, the authority's records key.
* :class:`BackupKey` — per user, ECDH; recipient ``"backup:"+U``.
* :class:`Device` — per browser: an ECDH ``dh`` key and an ECDSA ``sig`` key,
  id = 16 random bytes in base64url; recipient id = the device id.
* :class:`RecordsKey` — per authority, ECDH; recipient ``"records:"+A``.

Identity, backup and records keys can be wrapped under a passphrase
(:func:`consult.lib.protocol.wrap_private_key`) for storage on the server.
"""

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Self

from cryptography.hazmat.primitives.asymmetric import ec

from consult.client.errors import ClientError
from consult.lib import protocol
from consult.lib.crypto import (
    CryptoError,
    b64u,
    ecdsa_sign,
    ecdsa_verify,
    generate_private_key,
    load_public_key,
    public_key_bytes,
    random_bytes,
    unb64u,
)

__all__ = [
    "DEVICE_ID_LENGTH",
    "BackupKey",
    "Device",
    "DeviceCertificate",
    "Identity",
    "Recipient",
    "RecipientKind",
    "RecordsCertificate",
    "RecordsKey",
    "public_key_from_b64u",
]

DEVICE_ID_LENGTH = 16  # DESIGN §4: a device id is 16 random bytes, base64url
RecipientKind = Literal["device", "records", "backup"]


def public_key_from_b64u(text: str) -> ec.EllipticCurvePublicKey:
    """Load a P-256 public key from the base64url of its uncompressed point.

    Raises:
        CryptoError: on bad base64url or an invalid point.
    """
    return load_public_key(unb64u(text))


@dataclass(frozen=True)
class Recipient:
    """One recipient of a key package: who, what kind, and its ECDH public key."""

    id: str
    kind: RecipientKind
    public_key: ec.EllipticCurvePublicKey


@dataclass(frozen=True, kw_only=True)
class _WrappableKey:
    """A P-256 key that is stored on the server wrapped under a passphrase."""

    purpose: ClassVar[str]
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)

    @property
    def owner(self) -> str:
        """The ``owner`` bound into the wrap's AAD (user id or authority code)."""
        raise NotImplementedError

    @property
    def public_bytes(self) -> bytes:
        """The 65-byte uncompressed public point."""
        return public_key_bytes(self.private_key)

    @property
    def public(self) -> str:
        """The public point, base64url (its JSON form)."""
        return b64u(self.public_bytes)

    def wrap(self, passphrase: str, iterations: int = protocol.PBKDF2_ITERATIONS) -> dict[str, Any]:
        """Wrap the private key under ``passphrase`` (DESIGN §4 wrapped private keys)."""
        return protocol.wrap_private_key(self.private_key, passphrase, self.owner, self.purpose, iterations=iterations)


@dataclass(frozen=True, kw_only=True)
class Identity(_WrappableKey):
    """A user's identity key (ECDSA P-256), which certifies their devices."""

    purpose: ClassVar[str] = "identity"
    user: str

    @classmethod
    def generate(cls, user: str) -> Self:
        """Make a fresh identity key for ``user``."""
        return cls(private_key=generate_private_key(), user=user)

    @classmethod
    def unwrap(cls, user: str, wrapped: dict[str, Any], passphrase: str) -> Self:
        """Restore an identity from its wrapped form (raises CryptoError on failure)."""
        key = protocol.unwrap_private_key(wrapped, passphrase, user, cls.purpose)
        return cls(private_key=key, user=user)

    @property
    def owner(self) -> str:
        """The user id."""
        return self.user

    @property
    def fingerprint(self) -> str:
        """This identity's 30 safety-number digits."""
        return protocol.fingerprint_digits(self.public_bytes)

    def certify_device(self, device: "Device") -> "DeviceCertificate":
        """Sign ``device``'s public keys, binding them to this user."""
        if device.user != self.user:
            raise ClientError("a user certifies only their own devices")
        cert = DeviceCertificate(user=self.user, device=device.id, dh=device.dh_public, sig=device.sig_public)
        return cert.signed_with(self.private_key)

    def vouch_for(self, previous: str) -> str:
        """Sign the identity key (base64url) this one replaces; the ``succession`` of ``PUT identity``."""
        return b64u(ecdsa_sign(self.private_key, protocol.succession_bytes(self.user, previous, self.public)))

    def certify_records_key(self, records: "RecordsKey") -> "RecordsCertificate":
        """Sign an authority's records key as its supervisor."""
        cert = RecordsCertificate(authority=records.authority, certified_by=self.user, dh=records.public)
        return cert.signed_with(self.private_key)


@dataclass(frozen=True, kw_only=True)
class _RecipientKey(_WrappableKey):
    """A wrappable ECDH key that also receives key-package wraps (backup and records keys)."""

    kind: ClassVar[RecipientKind]

    @property
    def recipient_id(self) -> str:
        """The id wraps to this key are addressed to."""
        raise NotImplementedError

    @property
    def dh_key(self) -> ec.EllipticCurvePrivateKey:
        """The ECDH private key that opens wraps."""
        return self.private_key

    def as_recipient(self) -> Recipient:
        """This key as a key-package recipient."""
        return Recipient(self.recipient_id, self.kind, self.private_key.public_key())


@dataclass(frozen=True, kw_only=True)
class BackupKey(_RecipientKey):
    """A user's backup key (ECDH P-256): every device wraps epoch keys to it."""

    purpose: ClassVar[str] = "backup"
    kind: ClassVar[RecipientKind] = "backup"
    user: str

    @classmethod
    def generate(cls, user: str) -> Self:
        """Make a fresh backup key for ``user``."""
        return cls(private_key=generate_private_key(), user=user)

    @classmethod
    def unwrap(cls, user: str, wrapped: dict[str, Any], passphrase: str) -> Self:
        """Restore a backup key from its wrapped form."""
        key = protocol.unwrap_private_key(wrapped, passphrase, user, cls.purpose)
        return cls(private_key=key, user=user)

    @property
    def owner(self) -> str:
        """The user id."""
        return self.user

    @property
    def recipient_id(self) -> str:
        """``"backup:"+U`` (DESIGN §4)."""
        return f"backup:{self.user}"


@dataclass(frozen=True, kw_only=True)
class RecordsKey(_RecipientKey):
    """An authority's records key (ECDH P-256): the party's own archive."""

    purpose: ClassVar[str] = "records"
    kind: ClassVar[RecipientKind] = "records"
    authority: str

    @classmethod
    def generate(cls, authority: str) -> Self:
        """Make a fresh records key for ``authority`` (e.g. ``"FR-MJ"``)."""
        return cls(private_key=generate_private_key(), authority=authority)

    @classmethod
    def unwrap(cls, authority: str, wrapped: dict[str, Any], passphrase: str) -> Self:
        """Restore a records key from its wrapped form."""
        key = protocol.unwrap_private_key(wrapped, passphrase, authority, cls.purpose)
        return cls(private_key=key, authority=authority)

    @property
    def owner(self) -> str:
        """The authority code."""
        return self.authority

    @property
    def recipient_id(self) -> str:
        """``"records:"+A`` (DESIGN §4)."""
        return f"records:{self.authority}"


@dataclass(frozen=True)
class Device:
    """One browser of a user: an ECDH key for wraps, an ECDSA key for signatures."""

    kind: ClassVar[RecipientKind] = "device"
    user: str
    id: str
    dh_key: ec.EllipticCurvePrivateKey = field(repr=False)
    sig_key: ec.EllipticCurvePrivateKey = field(repr=False)

    @classmethod
    def generate(cls, user: str) -> Self:
        """Make a device with a fresh random id and fresh keys."""
        return cls(
            user=user,
            id=b64u(random_bytes(DEVICE_ID_LENGTH)),
            dh_key=generate_private_key(),
            sig_key=generate_private_key(),
        )

    @property
    def recipient_id(self) -> str:
        """A device's recipient id is its device id."""
        return self.id

    @property
    def dh_public(self) -> str:
        """The ECDH public point, base64url."""
        return b64u(public_key_bytes(self.dh_key))

    @property
    def sig_public(self) -> str:
        """The ECDSA public point, base64url."""
        return b64u(public_key_bytes(self.sig_key))

    @property
    def sig_public_key(self) -> ec.EllipticCurvePublicKey:
        """The ECDSA public key others verify this device's signatures with."""
        return self.sig_key.public_key()

    def sign(self, data: bytes) -> str:
        """Sign ``data`` with the device's ECDSA key; return base64url ``r ‖ s``."""
        return b64u(ecdsa_sign(self.sig_key, data))

    def as_recipient(self) -> Recipient:
        """This device as a key-package recipient."""
        return Recipient(self.recipient_id, self.kind, self.dh_key.public_key())


@dataclass(frozen=True)
class DeviceCertificate:
    """An identity's signature over ``{"device","dh","sig","user","v":1}``.

    JSON form (:meth:`to_json`): the five signed members plus
    ``"certificate"``, the base64url signature.
    """

    user: str
    device: str
    dh: str
    sig: str
    signature: str = ""

    def signed_bytes(self) -> bytes:
        """The canonical bytes the identity key signs."""
        return protocol.device_certificate_bytes(self.user, self.device, self.dh, self.sig)

    def signed_with(self, identity_key: ec.EllipticCurvePrivateKey) -> "DeviceCertificate":
        """Return a copy carrying ``identity_key``'s signature."""
        signature = b64u(ecdsa_sign(identity_key, self.signed_bytes()))
        return DeviceCertificate(self.user, self.device, self.dh, self.sig, signature)

    def verify(self, identity_public: ec.EllipticCurvePublicKey) -> bool:
        """Whether the signature is the identity's and the keys are valid points."""
        try:
            load_public_key(unb64u(self.dh))
            load_public_key(unb64u(self.sig))
            signature = unb64u(self.signature)
        except CryptoError:
            return False
        return ecdsa_verify(identity_public, signature, self.signed_bytes())

    def to_json(self) -> dict[str, Any]:
        """The certificate as sent to the server."""
        return {
            "v": 1,
            "user": self.user,
            "device": self.device,
            "dh": self.dh,
            "sig": self.sig,
            "certificate": self.signature,
        }


@dataclass(frozen=True)
class RecordsCertificate:
    """A supervisor's signature over ``{"authority","certified_by","dh","v":1}``."""

    authority: str
    certified_by: str
    dh: str
    signature: str = ""

    def signed_bytes(self) -> bytes:
        """The canonical bytes the supervisor's identity key signs."""
        return protocol.records_certificate_bytes(self.authority, self.certified_by, self.dh)

    def signed_with(self, identity_key: ec.EllipticCurvePrivateKey) -> "RecordsCertificate":
        """Return a copy carrying ``identity_key``'s signature."""
        signature = b64u(ecdsa_sign(identity_key, self.signed_bytes()))
        return RecordsCertificate(self.authority, self.certified_by, self.dh, signature)

    def verify(self, supervisor_identity: ec.EllipticCurvePublicKey) -> bool:
        """Whether the supervisor signed this records key."""
        try:
            load_public_key(unb64u(self.dh))
            signature = unb64u(self.signature)
        except CryptoError:
            return False
        return ecdsa_verify(supervisor_identity, signature, self.signed_bytes())

    def to_json(self) -> dict[str, Any]:
        """The certificate as sent to the server."""
        return {
            "v": 1,
            "authority": self.authority,
            "certified_by": self.certified_by,
            "dh": self.dh,
            "certificate": self.signature,
        }
