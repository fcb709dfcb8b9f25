"""Cryptographic primitives of protocol ``comity/v1`` (DESIGN §4).

Thin, strict wrappers over ``cryptography``, fixed to the algorithms and sizes
the protocol uses so that the browser (WebCrypto) and Python interoperate:

* base64url without padding, decoded strictly (one encoding per byte string);
* P-256 public keys as the 65-byte uncompressed SEC1 point ``04 ‖ x ‖ y``;
* ECDSA P-256 / SHA-256 signatures in IEEE P1363 form ``r ‖ s`` (64 bytes),
  the form WebCrypto produces (``cryptography`` speaks DER, so we convert);
* ECDH P-256 (32-byte shared secret), HKDF-SHA-256, PBKDF2-HMAC-SHA-256;
* AES-256-GCM with a 12-byte IV, ``ct = ciphertext ‖ 16-byte tag``.

Every failure on untrusted input raises :class:`CryptoError`, except
:func:`ecdsa_verify`, which answers ``False`` so a caller cannot forget to
catch it.
"""

import base64
import binascii
import hashlib
import re
import secrets

from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

__all__ = [
    "AES_KEY_LENGTH",
    "GCM_IV_LENGTH",
    "GCM_TAG_LENGTH",
    "POINT_LENGTH",
    "SIGNATURE_LENGTH",
    "CryptoError",
    "aes_gcm_decrypt",
    "aes_gcm_encrypt",
    "b64u",
    "ecdh",
    "ecdsa_sign",
    "ecdsa_verify",
    "generate_private_key",
    "hkdf_sha256",
    "load_public_key",
    "pbkdf2_sha256",
    "private_key_from_pkcs8",
    "private_key_from_scalar",
    "private_key_to_pkcs8",
    "private_scalar",
    "public_key_bytes",
    "random_bytes",
    "sha256",
    "unb64u",
]

# DESIGN §4 sizes, named so that each check says why it exists.
AES_KEY_LENGTH = 32  # AES-256: epoch keys, file keys, wrap keys
GCM_IV_LENGTH = 12  # 96-bit IV: the only size WebCrypto and GCM treat natively
GCM_TAG_LENGTH = 16  # full 128-bit tag, appended to the ciphertext as WebCrypto does
POINT_LENGTH = 65  # uncompressed SEC1 point: 0x04 ‖ x (32) ‖ y (32)
SIGNATURE_LENGTH = 64  # IEEE P1363: r (32) ‖ s (32)
_COORDINATE_LENGTH = 32
_CURVE = ec.SECP256R1()

# The base64url alphabet only: no padding, no white space, no '+' or '/'.
_B64U_RE = re.compile(r"[A-Za-z0-9_-]*")


class CryptoError(ValueError):
    """Malformed input, a failed decryption or an unusable key."""


# --- encodings --------------------------------------------------------------


def b64u(data: bytes) -> str:
    """Encode bytes as base64url without padding (DESIGN §4 binary values)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64u(text: str) -> bytes:
    """Decode base64url without padding, accepting only the canonical form.

    Refusing padding, foreign characters and non-zero trailing bits means
    each byte string has exactly one text form, so two parties comparing or
    hashing encoded values cannot be fooled by an alternative spelling.

    Raises:
        CryptoError: if ``text`` is not canonical unpadded base64url.
    """
    if not isinstance(text, str) or not _B64U_RE.fullmatch(text):
        raise CryptoError("not base64url without padding")
    if len(text) % 4 == 1:
        raise CryptoError("impossible base64url length")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - regex guards
        raise CryptoError("not base64url") from exc
    # Non-canonical: the unused low bits of the last character were not zero.
    if b64u(data) != text:
        raise CryptoError("non-canonical base64url (trailing bits set)")
    return data


def sha256(data: bytes) -> bytes:
    """Return the 32-byte SHA-256 digest of ``data``."""
    return hashlib.sha256(data).digest()


def random_bytes(length: int) -> bytes:
    """Return ``length`` bytes from the operating system's CSPRNG."""
    return secrets.token_bytes(length)


# --- P-256 keys --------------------------------------------------------------


def generate_private_key() -> ec.EllipticCurvePrivateKey:
    """Generate a fresh P-256 private key (for ECDH or ECDSA)."""
    return ec.generate_private_key(_CURVE)


def private_key_from_scalar(scalar: int) -> ec.EllipticCurvePrivateKey:
    """Build the P-256 private key ``d = scalar`` (test vectors give small ones).

    Raises:
        CryptoError: if ``scalar`` is not in ``[1, n-1]``.
    """
    try:
        return ec.derive_private_key(scalar, _CURVE)
    except (ValueError, TypeError) as exc:
        raise CryptoError("private scalar out of range") from exc


def private_scalar(private_key: ec.EllipticCurvePrivateKey) -> int:
    """Return the secret scalar ``d`` of a P-256 private key."""
    return private_key.private_numbers().private_value


def load_public_key(raw: bytes) -> ec.EllipticCurvePublicKey:
    """Load a P-256 public key from its 65-byte uncompressed SEC1 point.

    Compressed points, the point at infinity and points off the curve are
    refused: DESIGN §4 fixes the uncompressed form, and an off-curve point
    would enable invalid-curve attacks on ECDH.

    Raises:
        CryptoError: if ``raw`` is not a valid uncompressed P-256 point.
    """
    if len(raw) != POINT_LENGTH or raw[0] != 0x04:
        raise CryptoError("public key must be a 65-byte uncompressed P-256 point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, bytes(raw))
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CryptoError("point is not on P-256") from exc


def public_key_bytes(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> bytes:
    """Export the 65-byte uncompressed SEC1 point of a key (or of a private key's public half)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def private_key_to_pkcs8(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """Export a private key as unencrypted PKCS#8 DER (WebCrypto's ``pkcs8``).

    The result is only ever stored encrypted (see ``protocol.wrap_private_key``).
    """
    return private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def private_key_from_pkcs8(der: bytes) -> ec.EllipticCurvePrivateKey:
    """Import a P-256 private key from unencrypted PKCS#8 DER.

    Raises:
        CryptoError: if ``der`` is not a PKCS#8 P-256 private key.
    """
    try:
        key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise CryptoError("not a PKCS#8 private key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != _CURVE.name:
        raise CryptoError("PKCS#8 key is not a P-256 key")
    return key


# --- ECDSA (P1363) and ECDH --------------------------------------------------


def ecdsa_sign(private_key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """Sign ``data`` with ECDSA P-256 / SHA-256; return the 64-byte ``r ‖ s``."""
    der = private_key.sign(data, ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return r.to_bytes(_COORDINATE_LENGTH, "big") + s.to_bytes(_COORDINATE_LENGTH, "big")


def ecdsa_verify(public_key: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> bool:
    """Verify a P1363 ECDSA P-256 / SHA-256 signature; never raises.

    Returns:
        ``True`` only for a 64-byte ``r ‖ s`` that verifies over ``data``.
    """
    if len(signature) != SIGNATURE_LENGTH:
        return False
    r = int.from_bytes(signature[:_COORDINATE_LENGTH], "big")
    s = int.from_bytes(signature[_COORDINATE_LENGTH:], "big")
    try:
        public_key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, OverflowError):
        return False
    return True


def ecdh(private_key: ec.EllipticCurvePrivateKey, public_key: ec.EllipticCurvePublicKey) -> bytes:
    """Return the 32-byte ECDH P-256 shared secret ``z`` (the x coordinate).

    Raises:
        CryptoError: if the exchange fails (e.g. mismatched curves).
    """
    try:
        return private_key.exchange(ec.ECDH(), public_key)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CryptoError("ECDH failed") from exc


# --- key derivation ----------------------------------------------------------


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """Derive ``length`` bytes with HKDF-SHA-256 (RFC 5869).

    Raises:
        CryptoError: if ``length`` exceeds 255 * 32 bytes or is not positive.
    """
    try:
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)
    except (ValueError, TypeError) as exc:
        raise CryptoError(f"HKDF cannot produce {length} bytes") from exc


def pbkdf2_sha256(password: bytes, salt: bytes, iterations: int, length: int) -> bytes:
    """Derive ``length`` bytes with PBKDF2-HMAC-SHA-256.

    Raises:
        CryptoError: if ``iterations`` or ``length`` is out of range.
    """
    if iterations < 1 or length < 1:
        raise CryptoError("PBKDF2 needs at least one iteration and one byte")
    try:
        kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=length, salt=salt, iterations=iterations)
        return kdf.derive(password)
    except (ValueError, TypeError, OverflowError) as exc:
        raise CryptoError("PBKDF2 parameters out of range") from exc


# --- AES-256-GCM --------------------------------------------------------------


def _aes_gcm(key: bytes, iv: bytes) -> AESGCM:
    """Return an AES-256-GCM cipher after checking the DESIGN §4 sizes."""
    if len(key) != AES_KEY_LENGTH:
        raise CryptoError("AES-GCM key must be 32 bytes (AES-256)")
    if len(iv) != GCM_IV_LENGTH:
        raise CryptoError("AES-GCM IV must be 12 bytes")
    return AESGCM(key)


def aes_gcm_encrypt(key: bytes, iv: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt with AES-256-GCM; return ``ciphertext ‖ 16-byte tag``.

    The caller supplies a fresh random IV for each encryption under a key
    (or, for files, a counter construction that never repeats).

    Raises:
        CryptoError: if the key is not 32 bytes or the IV not 12 bytes.
    """
    return _aes_gcm(key, iv).encrypt(iv, plaintext, aad)


def aes_gcm_decrypt(key: bytes, iv: bytes, ct: bytes, aad: bytes) -> bytes:
    """Decrypt and authenticate AES-256-GCM ``ciphertext ‖ tag``.

    Raises:
        CryptoError: on a wrong key size or IV size, a ``ct`` shorter than the
            tag, or a failed authentication (wrong key, IV, AAD or tampering).
    """
    cipher = _aes_gcm(key, iv)
    if len(ct) < GCM_TAG_LENGTH:
        raise CryptoError("AES-GCM ciphertext shorter than its tag")
    try:
        return cipher.decrypt(iv, ct, aad)
    except InvalidTag as exc:
        raise CryptoError("AES-GCM authentication failed") from exc
