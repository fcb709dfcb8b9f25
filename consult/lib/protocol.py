"""The byte-exact constructions of protocol ``comity/v1`` (DESIGN §4-§5).

Each function here turns protocol values into the exact bytes that are
encrypted, signed or hashed, so that the server, the Python reference client
and the browser agree byte for byte (``shared/testdata/comity-v1``). Key
handling and transport live elsewhere; this module only builds bytes and
applies :mod:`consult.lib.crypto`.
"""

from collections.abc import Mapping
from typing import Any, TypeGuard

from cryptography.hazmat.primitives.asymmetric import ec

from consult.lib.canonical import canonical_json
from consult.lib.crypto import (
    AES_KEY_LENGTH,
    GCM_IV_LENGTH,
    GCM_TAG_LENGTH,
    CryptoError,
    aes_gcm_decrypt,
    aes_gcm_encrypt,
    b64u,
    ecdh,
    hkdf_sha256,
    pbkdf2_sha256,
    private_key_from_pkcs8,
    private_key_to_pkcs8,
    public_key_bytes,
    random_bytes,
    sha256,
    unb64u,
)

__all__ = [
    "FILE_CHUNK_SIZE",
    "PBKDF2_ITERATIONS",
    "PROTOCOL",
    "allowed_iterations",
    "decrypt_file",
    "device_certificate_bytes",
    "encrypt_file",
    "entry_digest",
    "envelope_aad",
    "envelope_signed_bytes",
    "fingerprint_digits",
    "genesis_hash",
    "link_hash",
    "private_key_aad",
    "records_certificate_bytes",
    "safety_number",
    "server_signed_bytes",
    "signed_object_bytes",
    "unwrap_epoch_key",
    "unwrap_private_key",
    "wrap_aad",
    "wrap_epoch_key",
    "wrap_info",
    "wrap_key",
    "wrap_private_key",
    "wrap_salt",
]

PROTOCOL = "comity/v1"
# DESIGN §4: passphrase-wrapped private keys use 600,000 iterations, and no
# wrapped key with fewer is made or opened (as the browser and the server hold
# too); the upper bound keeps a forged blob from stalling a client.
PBKDF2_ITERATIONS = 600_000
MAX_PBKDF2_ITERATIONS = 10_000_000
PBKDF2_SALT_LENGTH = 16
FILE_CHUNK_SIZE = 1024 * 1024  # DESIGN §4: files are cut in 1 MiB chunks
FILE_PREFIX_LENGTH = 8  # random per-file IV prefix; IV = prefix ‖ chunk index
_HASH_LENGTH = 32

# --- key wrap for one key-package recipient (DESIGN §4 "Key package") ------


def wrap_salt(thread: str, epoch: int) -> bytes:
    """HKDF salt: ``SHA-256(canonical({"epoch":E,"thread":T}))``."""
    return sha256(canonical_json({"epoch": epoch, "thread": thread}))


def wrap_info(recipient: str) -> bytes:
    """HKDF info: ``UTF-8("comity/v1/wrap:" + R)``, binding the key to its recipient."""
    return f"{PROTOCOL}/wrap:{recipient}".encode()


def wrap_aad(thread: str, epoch: int, recipient: str) -> bytes:
    """AES-GCM AAD of a wrap: ``canonical({"epoch":E,"recipient":R,"thread":T})``."""
    return canonical_json({"epoch": epoch, "recipient": recipient, "thread": thread})


def wrap_key(z: bytes, thread: str, epoch: int, recipient: str) -> bytes:
    """Derive the 32-byte wrap key ``k = HKDF(z, salt, info, 32)``."""
    return hkdf_sha256(z, wrap_salt(thread, epoch), wrap_info(recipient), AES_KEY_LENGTH)


def wrap_epoch_key(
    eph_priv: ec.EllipticCurvePrivateKey,
    recipient_id: str,
    recipient_pub: ec.EllipticCurvePublicKey,
    thread: str,
    epoch: int,
    epoch_key: bytes,
    iv: bytes,
) -> bytes:
    """Encrypt ``epoch_key`` for one recipient of a key package.

    ``z = ECDH(eph_priv, R.dh)``, ``k = HKDF(z, salt, info)``,
    ``ct = AES-GCM(k, iv, epoch_key, aad)``; thread, epoch and recipient are
    bound into salt, info and AAD so a wrap cannot be replayed elsewhere.

    Returns:
        ``ct`` (48 bytes: 32-byte key ‖ 16-byte tag).
    """
    if len(epoch_key) != AES_KEY_LENGTH:
        raise CryptoError("epoch key must be 32 bytes")
    k = wrap_key(ecdh(eph_priv, recipient_pub), thread, epoch, recipient_id)
    return aes_gcm_encrypt(k, iv, epoch_key, wrap_aad(thread, epoch, recipient_id))


def unwrap_epoch_key(
    recipient_priv: ec.EllipticCurvePrivateKey,
    recipient_id: str,
    eph_pub: ec.EllipticCurvePublicKey,
    thread: str,
    epoch: int,
    iv: bytes,
    ct: bytes,
) -> bytes:
    """Recover the epoch key from a recipient's wrap (inverse of :func:`wrap_epoch_key`).

    Raises:
        CryptoError: if the wrap does not authenticate or is not a 32-byte key.
    """
    k = wrap_key(ecdh(recipient_priv, eph_pub), thread, epoch, recipient_id)
    epoch_key = aes_gcm_decrypt(k, iv, ct, wrap_aad(thread, epoch, recipient_id))
    if len(epoch_key) != AES_KEY_LENGTH:
        raise CryptoError("unwrapped epoch key is not 32 bytes")
    return epoch_key


# --- signed and authenticated bytes ------------------------------------------


def envelope_aad(header: Mapping[str, Any]) -> bytes:
    """AES-GCM AAD of a message envelope: ``canonical(header)`` (DESIGN §4)."""
    return canonical_json(dict(header))


def envelope_signed_bytes(envelope: Mapping[str, Any]) -> bytes:
    """Bytes a device signs for an envelope: ``canonical({"ct","header","iv"})``.

    Any ``sig`` (or other member) of ``envelope`` is ignored: exactly the
    three signed members are taken.

    Raises:
        CryptoError: if ``ct``, ``header`` or ``iv`` is missing.
    """
    try:
        signed = {"ct": envelope["ct"], "header": envelope["header"], "iv": envelope["iv"]}
    except KeyError as exc:
        raise CryptoError(f"envelope lacks {exc.args[0]!r}") from exc
    return canonical_json(signed)


def signed_object_bytes(obj: Mapping[str, Any]) -> bytes:
    """Bytes signed for an object: ``canonical(obj without "sig")``.

    Used for key packages, membership changes, acknowledgements (receipts)
    and thread creations (DESIGN §4 "Other signed objects").
    """
    return canonical_json({key: value for key, value in obj.items() if key != "sig"})


def device_certificate_bytes(user: str, device: str, dh: str, sig: str) -> bytes:
    """Bytes an identity key signs to certify a device (DESIGN §4 "Device keys").

    Args:
        user: the user id ``U``.
        device: the device id ``D``.
        dh: base64url of the device's ECDH public point.
        sig: base64url of the device's ECDSA public point.
    """
    return canonical_json({"device": device, "dh": dh, "sig": sig, "user": user, "v": 1})


def records_certificate_bytes(authority: str, certified_by: str, dh: str) -> bytes:
    """Bytes a supervisor's identity key signs to certify a records key (DESIGN §4).

    Args:
        authority: the authority code ``A`` (e.g. ``"FR-MJ"``).
        certified_by: the supervisor's user id.
        dh: base64url of the records key's ECDH public point.
    """
    return canonical_json({"authority": authority, "certified_by": certified_by, "dh": dh, "v": 1})


def succession_bytes(user: str, previous: str, identity: str) -> bytes:
    """Bytes a new identity key signs, naming the identity key it replaces.

    Starting over (a lost passphrase) replaces a user's identity key; the
    devices the old one certified signed parts of the record that must still
    verify. The new key vouches for the old one, so a client that trusts the
    current key can believe those old certificates without taking the
    server's word for the old key (docs/protocol.md, "Starting over").

    Args:
        user: the user id ``U``.
        previous: base64url of the identity public point being replaced.
        identity: base64url of the new identity public point, which signs.
    """
    return canonical_json({"identity": identity, "previous": previous, "user": user, "v": 1})


# --- the record's hash chain (DESIGN §5) -------------------------------------
#
#   hash_0 = SHA-256("comity/v1/genesis:" ‖ T)
#   hash_n = SHA-256(hash_{n-1} ‖ SHA-256(canonical(entry_n)))
#            └── 32 raw bytes ──┘ └──────── 32 raw bytes ─────┘


def genesis_hash(thread: str) -> bytes:
    """``hash_0 = SHA-256(UTF-8("comity/v1/genesis:" + T))``."""
    return sha256(f"{PROTOCOL}/genesis:{thread}".encode())


def entry_digest(entry: Mapping[str, Any]) -> bytes:
    """``SHA-256(canonical(entry))``, the entry's own 32-byte digest."""
    return sha256(canonical_json(dict(entry)))


def link_hash(prev_hash: bytes, entry: Mapping[str, Any]) -> bytes:
    """``hash_n = SHA-256(hash_{n-1} ‖ SHA-256(canonical(entry_n)))``."""
    if len(prev_hash) != _HASH_LENGTH:
        raise CryptoError("previous hash must be 32 bytes")
    return sha256(prev_hash + entry_digest(entry))


def server_signed_bytes(thread: str, seq: int, hash_: bytes) -> bytes:
    """Bytes the server signs per entry: ``canonical({"hash","seq","thread"})``.

    The hash appears base64url-encoded (as every binary JSON value does,
    DESIGN §4), matching ``server_signed_utf8`` in the test vectors.
    """
    return canonical_json({"hash": b64u(hash_), "seq": seq, "thread": thread})


# --- passphrase-wrapped private keys (DESIGN §4) ------------------------------


def private_key_aad(owner: str, purpose: str) -> bytes:
    """AAD of a wrapped private key: ``canonical({"owner","purpose"})``."""
    return canonical_json({"owner": owner, "purpose": purpose})


def wrap_private_key(
    priv: ec.EllipticCurvePrivateKey,
    passphrase: str,
    owner: str,
    purpose: str,
    salt: bytes | None = None,
    iv: bytes | None = None,
    iterations: int = PBKDF2_ITERATIONS,
) -> dict[str, Any]:
    """Encrypt a private key's PKCS#8 DER under a passphrase.

    Returns:
        ``{"kdf":"PBKDF2-SHA256","iter":n,"salt":..,"iv":..,"ct":..}``, binary
        members base64url. Salt (16 bytes) and IV (12 bytes) are random unless
        given (tests pass fixed ones).
    """
    _check_iterations(iterations)
    salt = random_bytes(PBKDF2_SALT_LENGTH) if salt is None else salt
    iv = random_bytes(GCM_IV_LENGTH) if iv is None else iv
    if len(salt) != PBKDF2_SALT_LENGTH:
        raise CryptoError("salt must be 16 bytes")
    key = pbkdf2_sha256(passphrase.encode(), salt, iterations, AES_KEY_LENGTH)
    ct = aes_gcm_encrypt(key, iv, private_key_to_pkcs8(priv), private_key_aad(owner, purpose))
    return {"kdf": "PBKDF2-SHA256", "iter": iterations, "salt": b64u(salt), "iv": b64u(iv), "ct": b64u(ct)}


def allowed_iterations(iterations: object) -> TypeGuard[int]:
    """Whether a wrapped key's ``iter`` is one DESIGN §4 allows (the server, on storing, asks too)."""
    return type(iterations) is int and PBKDF2_ITERATIONS <= iterations <= MAX_PBKDF2_ITERATIONS


def _check_iterations(iterations: Any) -> int:
    if not allowed_iterations(iterations):
        raise CryptoError(f"iteration count must be {PBKDF2_ITERATIONS}..{MAX_PBKDF2_ITERATIONS}")
    return iterations


def unwrap_private_key(
    wrapped: Mapping[str, Any], passphrase: str, owner: str, purpose: str
) -> ec.EllipticCurvePrivateKey:
    """Decrypt a wrapped private key (inverse of :func:`wrap_private_key`).

    Raises:
        CryptoError: on an unknown KDF, an iteration count out of
            ``[600,000, 10,000,000]``, bad encodings, a wrong passphrase,
            owner or purpose, or content that is not a P-256 PKCS#8 key.
    """
    if wrapped.get("kdf") != "PBKDF2-SHA256":
        raise CryptoError("unknown key-derivation function")
    iterations = _check_iterations(wrapped.get("iter"))
    salt, iv, ct = (_field_bytes(wrapped, name) for name in ("salt", "iv", "ct"))
    if len(salt) != PBKDF2_SALT_LENGTH:
        raise CryptoError("salt must be 16 bytes")
    key = pbkdf2_sha256(passphrase.encode(), salt, iterations, AES_KEY_LENGTH)
    der = aes_gcm_decrypt(key, iv, ct, private_key_aad(owner, purpose))
    return private_key_from_pkcs8(der)


def _field_bytes(obj: Mapping[str, Any], name: str) -> bytes:
    """Decode the base64url member ``name`` of ``obj``, or raise CryptoError."""
    value = obj.get(name)
    if not isinstance(value, str):
        raise CryptoError(f"{name!r} must be a base64url string")
    return unb64u(value)


# --- encrypted files (DESIGN §4 "Files") -------------------------------------
#
#   blob  = chunk_0 ‖ chunk_1 ‖ … ‖ chunk_last
#   chunk = IV (12) ‖ AES-GCM(key, IV, plaintext_i, AAD_i)   (ct incl. 16-byte tag)
#   IV    = prefix (8, random per file) ‖ i (4, big-endian)
#   AAD_i = i (4, big-endian) ‖ 0x01 if last else 0x00


def _chunk_aad(index: int, last: bool) -> bytes:
    """AAD of chunk ``index``: the index and whether it is the last chunk."""
    return index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def encrypt_file(key: bytes, plaintext: bytes, prefix: bytes | None = None) -> bytes:
    """Encrypt a file as a chunked blob; an empty file is one empty chunk.

    Args:
        key: the file's fresh 32-byte AES-256-GCM key.
        plaintext: the file's contents.
        prefix: 8-byte IV prefix; random unless given (tests fix it).
    """
    prefix = random_bytes(FILE_PREFIX_LENGTH) if prefix is None else prefix
    if len(prefix) != FILE_PREFIX_LENGTH:
        raise CryptoError("file IV prefix must be 8 bytes")
    count = max(1, -(-len(plaintext) // FILE_CHUNK_SIZE))
    parts: list[bytes] = []
    for index in range(count):
        chunk = plaintext[index * FILE_CHUNK_SIZE : (index + 1) * FILE_CHUNK_SIZE]
        iv = prefix + index.to_bytes(4, "big")
        parts.append(iv + aes_gcm_encrypt(key, iv, chunk, _chunk_aad(index, index == count - 1)))
    return b"".join(parts)


def decrypt_file(key: bytes, blob: bytes) -> bytes:
    """Decrypt a chunked blob, refusing truncation, reordering and extension.

    Every chunk but the last is full size; the chunk the blob ends with is
    decrypted as the last one, so a blob cut at a chunk boundary or extended
    by a chunk fails authentication, and an index that does not match the
    chunk's position fails the IV check.

    Raises:
        CryptoError: if any chunk fails to authenticate or the layout is wrong.
    """
    stored = GCM_IV_LENGTH + FILE_CHUNK_SIZE + GCM_TAG_LENGTH  # a full chunk's size
    if len(blob) < GCM_IV_LENGTH + GCM_TAG_LENGTH:
        raise CryptoError("blob too short for one chunk")
    prefix = blob[:FILE_PREFIX_LENGTH]
    parts: list[bytes] = []
    offset = index = 0
    while offset < len(blob):
        piece = blob[offset : offset + stored]
        last = offset + len(piece) == len(blob)
        if len(piece) < GCM_IV_LENGTH + GCM_TAG_LENGTH:
            raise CryptoError(f"chunk {index} is truncated")
        if last and index and len(piece) == GCM_IV_LENGTH + GCM_TAG_LENGTH:
            # encrypt_file never ends a non-empty file with an empty chunk.
            raise CryptoError(f"chunk {index} is an empty trailing chunk")
        iv = piece[:GCM_IV_LENGTH]
        if iv != prefix + index.to_bytes(4, "big"):
            raise CryptoError(f"chunk {index} is out of place")
        try:
            parts.append(aes_gcm_decrypt(key, iv, piece[GCM_IV_LENGTH:], _chunk_aad(index, last)))
        except CryptoError as exc:
            raise CryptoError(f"chunk {index} failed authentication") from exc
        offset += len(piece)
        index += 1
    return b"".join(parts)


# --- safety numbers (DESIGN §4) ----------------------------------------------


def fingerprint_digits(identity_pub: ec.EllipticCurvePublicKey | bytes) -> str:
    """30 digits for one identity key.

    ``f = SHA-256("comity/v1/fp" ‖ raw pub)``; group i is the big-endian
    integer of ``f[5i:5i+5]`` mod 100000, zero-padded to 5 digits.
    """
    raw = identity_pub if isinstance(identity_pub, bytes) else public_key_bytes(identity_pub)
    f = sha256(f"{PROTOCOL}/fp".encode() + raw)
    return "".join(f"{int.from_bytes(f[5 * i : 5 * i + 5], 'big') % 100_000:05d}" for i in range(6))


def safety_number(identity_a: ec.EllipticCurvePublicKey | bytes, identity_b: ec.EllipticCurvePublicKey | bytes) -> str:
    """The 60-digit safety number of two users: both halves, lower first."""
    return "".join(sorted((fingerprint_digits(identity_a), fingerprint_digits(identity_b))))
