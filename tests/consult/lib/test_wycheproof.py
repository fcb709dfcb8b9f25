"""Wycheproof vectors against the primitives of ``consult.lib.crypto`` (STYLE 21).

Every ``valid`` case must give exactly the expected output and every
``invalid`` case must be rejected. Decisions on the rest:

* AES-GCM: the protocol uses only AES-256 with 12-byte IVs and 16-byte tags
  (DESIGN §4). Our wrapper runs the matching group and must *refuse* every
  other key or IV size; the other groups run against ``cryptography``'s
  ``AESGCM`` directly where it can express them (IVs of 8-128 bytes). Cases
  with 0-, 1-, 2-, 4-, 6- or 257-byte IVs cannot be expressed: the test
  checks that the library raises and our wrapper refuses.
* ECDH (raw points): the one ``acceptable`` case is a compressed point; the
  protocol fixes 65-byte uncompressed points, so our loader rejects it.
"""

from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import load_der_public_key

from consult.lib.crypto import (
    CryptoError,
    aes_gcm_decrypt,
    aes_gcm_encrypt,
    ecdh,
    ecdsa_verify,
    hkdf_sha256,
    load_public_key,
    pbkdf2_sha256,
    private_key_from_scalar,
    public_key_bytes,
)
from tests.testdata import load_wycheproof

Case = tuple[dict[str, Any], dict[str, Any]]


def _cases(name: str) -> list[Any]:
    """Every (group, test) of a Wycheproof file as pytest params with id tcId-N."""
    data = load_wycheproof(name)
    return [
        pytest.param(group, test, id=f"tcId-{test['tcId']}") for group in data["testGroups"] for test in group["tests"]
    ]


def _context(name: str, test: dict[str, Any]) -> str:
    """The case's comment and its flags' bug types, printed on failure."""
    notes = load_wycheproof(name)["notes"]
    flags = ", ".join(f"{flag} ({notes.get(flag, {}).get('bugType', '?')})" for flag in test["flags"])
    return f"tcId {test['tcId']} {test['result']}: {test['comment']!r} [{flags}]"


# --- AES-GCM -----------------------------------------------------------------

AES_GCM = "aes_gcm_test.json"
AES_GCM_CASES = _cases(AES_GCM)


def _is_protocol_group(group: dict[str, Any]) -> bool:
    """AES-256, 96-bit IV, 128-bit tag: the only parameters comity/v1 uses."""
    return bool(group["keySize"] == 256 and group["ivSize"] == 96 and group["tagSize"] == 128)


def _aes_inputs(test: dict[str, Any]) -> tuple[bytes, bytes, bytes, bytes, bytes]:
    """key, iv, aad, msg and ct ‖ tag of an AES-GCM case."""
    return (
        bytes.fromhex(test["key"]),
        bytes.fromhex(test["iv"]),
        bytes.fromhex(test["aad"]),
        bytes.fromhex(test["msg"]),
        bytes.fromhex(test["ct"] + test["tag"]),
    )


@pytest.mark.parametrize(("group", "test"), [p for p in AES_GCM_CASES if _is_protocol_group(p.values[0])])
def test_aes_gcm__protocol_wrapper(group: dict[str, Any], test: dict[str, Any]) -> None:
    """Our AES-256-GCM wrapper encrypts valid cases exactly and rejects invalid ones."""
    key, iv, aad, msg, ct = _aes_inputs(test)
    context = _context(AES_GCM, test)
    if test["result"] == "valid":
        assert aes_gcm_encrypt(key, iv, msg, aad) == ct, context
        assert aes_gcm_decrypt(key, iv, ct, aad) == msg, context
    else:
        assert test["result"] == "invalid", context
        with pytest.raises(CryptoError):
            aes_gcm_decrypt(key, iv, ct, aad)


def _expressible(test: dict[str, Any]) -> bool:
    """Whether cryptography's AESGCM accepts this nonce length (8..128 bytes)."""
    return 8 <= len(test["iv"]) // 2 <= 128


@pytest.mark.parametrize(("group", "test"), [p for p in AES_GCM_CASES if _expressible(p.values[1])])
def test_aes_gcm__library(group: dict[str, Any], test: dict[str, Any]) -> None:
    """cryptography's AESGCM agrees with every expressible case; our wrapper refuses non-protocol sizes."""
    key, iv, aad, msg, ct = _aes_inputs(test)
    context = _context(AES_GCM, test)
    cipher = AESGCM(key)
    if test["result"] == "valid":
        assert cipher.encrypt(iv, msg, aad) == ct, context
        assert cipher.decrypt(iv, ct, aad) == msg, context
    else:
        with pytest.raises(InvalidTag):
            cipher.decrypt(iv, ct, aad)
    if not _is_protocol_group(group):
        with pytest.raises(CryptoError):
            aes_gcm_decrypt(key, iv, ct, aad)
        with pytest.raises(CryptoError):
            aes_gcm_encrypt(key, iv, msg, aad)


@pytest.mark.parametrize(("group", "test"), [p for p in AES_GCM_CASES if not _expressible(p.values[1])])
def test_aes_gcm__inexpressible_iv_refused(group: dict[str, Any], test: dict[str, Any]) -> None:
    """IVs AESGCM cannot take (0-7 or >128 bytes) raise there and are refused by our wrapper."""
    key, iv, aad, msg, ct = _aes_inputs(test)
    with pytest.raises(ValueError):
        AESGCM(key).decrypt(iv, ct, aad)
    with pytest.raises(CryptoError):
        aes_gcm_decrypt(key, iv, ct, aad)
    with pytest.raises(CryptoError):
        aes_gcm_encrypt(key, iv, msg, aad)


# --- ECDH P-256 with raw SEC1 points -----------------------------------------

ECDH = "ecdh_secp256r1_ecpoint_test.json"


@pytest.mark.parametrize(("group", "test"), _cases(ECDH))
def test_ecdh_p256_raw_point__wycheproof(group: dict[str, Any], test: dict[str, Any]) -> None:
    """Valid points give the shared secret; invalid and compressed points are rejected."""
    assert group["curve"] == "secp256r1" and group["encoding"] == "ecpoint"
    private = private_key_from_scalar(int(test["private"], 16))
    public = bytes.fromhex(test["public"])
    context = _context(ECDH, test)
    if test["result"] == "valid":
        assert ecdh(private, load_public_key(public)).hex() == test["shared"], context
    elif test["result"] == "acceptable":
        # Our decision: DESIGN §4 fixes 65-byte uncompressed points, so the
        # compressed form is refused even though Wycheproof allows it.
        assert "CompressedPoint" in test["flags"], context
        with pytest.raises(CryptoError):
            load_public_key(public)
    else:
        with pytest.raises(CryptoError):
            ecdh(private, load_public_key(public))


# --- ECDSA P-256 / SHA-256, IEEE P1363 signatures ----------------------------

ECDSA = "ecdsa_secp256r1_sha256_p1363_test.json"


@pytest.mark.parametrize(("group", "test"), _cases(ECDSA))
def test_ecdsa_p256_p1363__wycheproof(group: dict[str, Any], test: dict[str, Any]) -> None:
    """Valid r‖s signatures verify; every invalid one (any length, any value) is refused."""
    assert group["sha"] == "SHA-256" and group["publicKey"]["curve"] == "secp256r1"
    public = load_public_key(bytes.fromhex(group["publicKey"]["uncompressed"]))
    verified = ecdsa_verify(public, bytes.fromhex(test["sig"]), bytes.fromhex(test["msg"]))
    assert verified is (test["result"] == "valid"), _context(ECDSA, test)


@pytest.mark.parametrize(
    "group",
    load_wycheproof(ECDSA)["testGroups"],
    ids=[f"group-{i}" for i in range(len(load_wycheproof(ECDSA)["testGroups"]))],
)
def test_ecdsa_p256_p1363__raw_point_matches_der_key(group: dict[str, Any]) -> None:
    """The group's uncompressed point and its DER SubjectPublicKeyInfo are the same key."""
    raw = bytes.fromhex(group["publicKey"]["uncompressed"])
    der_key = load_der_public_key(bytes.fromhex(group["publicKeyDer"]))
    assert isinstance(der_key, ec.EllipticCurvePublicKey)
    assert public_key_bytes(der_key) == public_key_bytes(load_public_key(raw)) == raw


# --- HKDF-SHA-256 and PBKDF2-HMAC-SHA-256 ------------------------------------

HKDF = "hkdf_sha256_test.json"


@pytest.mark.parametrize(("group", "test"), _cases(HKDF))
def test_hkdf_sha256__wycheproof(group: dict[str, Any], test: dict[str, Any]) -> None:
    """Valid cases derive the expected key; oversized outputs raise CryptoError."""
    args = (bytes.fromhex(test["ikm"]), bytes.fromhex(test["salt"]), bytes.fromhex(test["info"]))
    if test["result"] == "valid":
        assert hkdf_sha256(*args, test["size"]).hex() == test["okm"], _context(HKDF, test)
    else:
        assert "SizeTooLarge" in test["flags"], _context(HKDF, test)
        with pytest.raises(CryptoError):
            hkdf_sha256(*args, test["size"])


PBKDF2 = "pbkdf2_hmacsha256_test.json"


@pytest.mark.parametrize(("group", "test"), _cases(PBKDF2))
def test_pbkdf2_sha256__wycheproof(group: dict[str, Any], test: dict[str, Any]) -> None:
    """Every case derives the expected key (the file has only valid cases)."""
    derived = pbkdf2_sha256(
        bytes.fromhex(test["password"]),
        bytes.fromhex(test["salt"]),
        test["iterationCount"],
        test["dkLen"],
    )
    assert test["result"] == "valid"
    assert derived.hex() == test["dk"], _context(PBKDF2, test)


@pytest.mark.parametrize(
    ("iterations", "length"), [(0, 32), (-1, 32), (1000, 0)], ids=["zero-iter", "neg-iter", "zero-len"]
)
def test_pbkdf2_sha256__refuses_degenerate_parameters(iterations: int, length: int) -> None:
    """PBKDF2 without iterations or output is refused, not silently weak."""
    with pytest.raises(CryptoError):
        pbkdf2_sha256(b"password", b"salt" * 4, iterations, length)
