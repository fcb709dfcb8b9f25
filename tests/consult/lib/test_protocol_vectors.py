"""Every section of ``comity-v1/vectors.json``, byte for byte, plus tampering.

The vectors are shared with the browser client: reproducing them here is what
makes the Python reference client and the browser interoperate (DESIGN §4-§5).
"""

from typing import Any

import pytest

from consult.lib.canonical import canonical_json
from consult.lib.crypto import (
    CryptoError,
    aes_gcm_decrypt,
    aes_gcm_encrypt,
    b64u,
    ecdh,
    ecdsa_sign,
    ecdsa_verify,
    generate_private_key,
    hkdf_sha256,
    load_public_key,
    private_key_from_pkcs8,
    private_key_from_scalar,
    private_key_to_pkcs8,
    private_scalar,
    public_key_bytes,
    sha256,
    unb64u,
)
from consult.lib.protocol import (
    FILE_CHUNK_SIZE,
    decrypt_file,
    encrypt_file,
    entry_digest,
    envelope_aad,
    envelope_signed_bytes,
    fingerprint_digits,
    genesis_hash,
    link_hash,
    private_key_aad,
    safety_number,
    server_signed_bytes,
    signed_object_bytes,
    unwrap_epoch_key,
    unwrap_private_key,
    wrap_aad,
    wrap_epoch_key,
    wrap_info,
    wrap_key,
    wrap_private_key,
    wrap_salt,
)
from tests.testdata import load_vectors

VECTORS = load_vectors()


def _scalar_key(hex_scalar: str) -> Any:
    """The private key ``d = int(hex_scalar)`` (the vectors' convention)."""
    return private_key_from_scalar(int(hex_scalar, 16))


def _flip(data: bytes, index: int = 0) -> bytes:
    """``data`` with one bit flipped at ``index``."""
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


# --- encodings (DESIGN §4) ---------------------------------------------------


@pytest.mark.parametrize("length", range(0, 9))
def test_b64u__round_trips_without_padding(length: int) -> None:
    """Every length encodes without '=' and decodes back to the same bytes."""
    data = bytes(range(250, 250 - length, -1))
    text = b64u(data)
    assert "=" not in text and "+" not in text and "/" not in text
    assert unb64u(text) == data


@pytest.mark.parametrize(
    "text",
    ["AA==", "AA=", "A", "AAAAA", "+/8", "AA AA", "AA\n", " AA", "AB", "AAB", "AAAB_", "é", "AA\x00"],
    ids=[
        "padding",
        "partial-padding",
        "length-1",
        "length-5",
        "standard-alphabet",
        "space",
        "newline",
        "leading-space",
        "trailing-bits-1",
        "trailing-bits-2",
        "length-5-underscore",
        "non-ascii",
        "nul",
    ],
)
def test_unb64u__refuses_non_canonical(text: str) -> None:
    """Padding, foreign characters, white space and set trailing bits are refused."""
    with pytest.raises(CryptoError):
        unb64u(text)


def test_load_public_key__round_trips_uncompressed_point() -> None:
    """A generated key exports 65 bytes starting 0x04 and loads back identically."""
    raw = public_key_bytes(generate_private_key())
    assert len(raw) == 65 and raw[0] == 0x04
    assert public_key_bytes(load_public_key(raw)) == raw


@pytest.mark.parametrize(
    "mutate",
    [
        lambda raw: raw[:33].replace(b"\x04", b"\x02", 1),
        lambda raw: raw[:-1],
        lambda raw: raw + b"\x00",
        lambda raw: b"\x00",
        lambda raw: b"\x04" + b"\x00" * 64,
        lambda raw: raw[:-1] + bytes([raw[-1] ^ 1]),
        lambda raw: b"\x04" + b"\xff" * 64,
        lambda raw: b"\x06" + raw[1:],
    ],
    ids=["compressed", "short", "long", "infinity", "zero-point", "off-curve", "coordinates-over-p", "hybrid"],
)
def test_load_public_key__refuses_invalid_points(mutate: Any) -> None:
    """Only a valid 65-byte uncompressed P-256 point loads."""
    raw = public_key_bytes(generate_private_key())
    with pytest.raises(CryptoError):
        load_public_key(mutate(raw))


def test_ecdsa_verify__never_raises_on_malformed_signatures() -> None:
    """Wrong lengths, zero and oversized r or s simply do not verify."""
    key = generate_private_key()
    good = ecdsa_sign(key, b"data")
    assert ecdsa_verify(key.public_key(), good, b"data")
    assert not ecdsa_verify(key.public_key(), good, b"Data")
    for sig in (b"", good[:63], good + b"\x00", b"\x00" * 64, b"\xff" * 64, good[:32] + b"\x00" * 32):
        assert not ecdsa_verify(key.public_key(), sig, b"data")


def test_pkcs8__round_trips_and_refuses_garbage() -> None:
    """PKCS#8 DER export imports to the same scalar; other bytes are refused."""
    key = private_key_from_scalar(0x1234)
    assert private_scalar(private_key_from_pkcs8(private_key_to_pkcs8(key))) == 0x1234
    with pytest.raises(CryptoError):
        private_key_from_pkcs8(b"\x30\x03\x02\x01\x00")
    with pytest.raises(CryptoError):
        private_key_from_scalar(0)


# --- key wrap (DESIGN §4 "Key package") --------------------------------------

KW = VECTORS["key_wrap"]


def test_key_wrap__vector_intermediates() -> None:
    """z, HKDF salt and info, k and the AAD are exactly the vector's."""
    eph, recipient = _scalar_key(KW["eph_private_scalar_hex"]), _scalar_key(KW["recipient_private_scalar_hex"])
    assert b64u(public_key_bytes(eph)) == KW["eph_public"]
    assert b64u(public_key_bytes(recipient)) == KW["recipient_public"]
    z = ecdh(eph, load_public_key(unb64u(KW["recipient_public"])))
    assert z.hex() == KW["z_hex"]
    assert ecdh(recipient, load_public_key(unb64u(KW["eph_public"]))) == z
    assert wrap_salt(KW["thread"], KW["epoch"]).hex() == KW["salt_hex"]
    assert wrap_info(KW["recipient"]) == KW["info_utf8"].encode()
    assert wrap_key(z, KW["thread"], KW["epoch"], KW["recipient"]).hex() == KW["k_hex"]
    assert hkdf_sha256(z, bytes.fromhex(KW["salt_hex"]), KW["info_utf8"].encode(), 32).hex() == KW["k_hex"]
    assert wrap_aad(KW["thread"], KW["epoch"], KW["recipient"]) == KW["aad_utf8"].encode()


def test_key_wrap__vector_ct_and_unwrap() -> None:
    """Wrapping gives the vector's ct; the recipient unwraps it to the epoch key."""
    eph, recipient = _scalar_key(KW["eph_private_scalar_hex"]), _scalar_key(KW["recipient_private_scalar_hex"])
    epoch_key = bytes.fromhex(KW["epoch_key_hex"])
    ct = wrap_epoch_key(
        eph, KW["recipient"], recipient.public_key(), KW["thread"], KW["epoch"], epoch_key, unb64u(KW["iv"])
    )
    assert b64u(ct) == KW["ct"]
    opened = unwrap_epoch_key(
        recipient, KW["recipient"], eph.public_key(), KW["thread"], KW["epoch"], unb64u(KW["iv"]), ct
    )
    assert opened == epoch_key


@pytest.mark.parametrize(
    "change",
    [
        {"ct": _flip(unb64u(KW["ct"]), 5)},
        {"ct": _flip(unb64u(KW["ct"]), 47)},
        {"iv": _flip(unb64u(KW["iv"]))},
        {"recipient_id": "records:DE-BMJ"},
        {"thread": "5f0c7a3e-9b1d-4c2a-8e6f-0123456789ac"},
        {"epoch": 4},
        {"recipient_priv": private_key_from_scalar(0x2223)},
    ],
    ids=["ct-body", "ct-tag", "iv", "recipient-id", "thread", "epoch", "wrong-key"],
)
def test_unwrap_epoch_key__refuses_tampering(change: dict[str, Any]) -> None:
    """A wrap opens only with its own ct, IV, recipient, thread, epoch and key."""
    args: dict[str, Any] = {
        "recipient_priv": _scalar_key(KW["recipient_private_scalar_hex"]),
        "recipient_id": KW["recipient"],
        "eph_pub": load_public_key(unb64u(KW["eph_public"])),
        "thread": KW["thread"],
        "epoch": KW["epoch"],
        "iv": unb64u(KW["iv"]),
        "ct": unb64u(KW["ct"]),
    }
    with pytest.raises(CryptoError):
        unwrap_epoch_key(**{**args, **change})


# --- message envelope (DESIGN §4) --------------------------------------------

ENV = VECTORS["envelope"]
ENV_KEY = bytes.fromhex(ENV["epoch_key_hex"])


def test_envelope__vector_aad_plaintext_and_ct() -> None:
    """AAD is the canonical header, plaintext the canonical payload, ct exact."""
    assert envelope_aad(ENV["header"]) == ENV["aad_utf8"].encode()
    assert canonical_json(ENV["payload"]) == ENV["plaintext_utf8"].encode()
    ct = aes_gcm_encrypt(ENV_KEY, unb64u(ENV["iv"]), canonical_json(ENV["payload"]), envelope_aad(ENV["header"]))
    assert b64u(ct) == ENV["ct"]
    assert aes_gcm_decrypt(ENV_KEY, unb64u(ENV["iv"]), ct, ENV["aad_utf8"].encode()) == ENV["plaintext_utf8"].encode()


def test_envelope__vector_signed_bytes_and_signature() -> None:
    """The signed bytes are canonical {ct, header, iv} and the vector's sig verifies."""
    envelope = {"header": ENV["header"], "iv": ENV["iv"], "ct": ENV["ct"], "sig": ENV["sig"]}
    signed = envelope_signed_bytes(envelope)
    assert signed == ENV["signed_bytes_utf8"].encode()
    assert signed == signed_object_bytes(envelope)
    assert ecdsa_verify(load_public_key(unb64u(ENV["device_sig_public"])), unb64u(ENV["sig"]), signed)


def test_envelope__tampered_ct_or_aad_fails_decryption() -> None:
    """A flipped ciphertext byte, tag byte or header field fails AES-GCM."""
    iv, ct = unb64u(ENV["iv"]), unb64u(ENV["ct"])
    aad = envelope_aad(ENV["header"])
    for bad_ct in (_flip(ct, 0), _flip(ct, len(ct) - 1), ct[:-1]):
        with pytest.raises(CryptoError):
            aes_gcm_decrypt(ENV_KEY, iv, bad_ct, aad)
    other_header = {**ENV["header"], "meta": {"type": "death_penalty", "status": "accepted"}}
    with pytest.raises(CryptoError):
        aes_gcm_decrypt(ENV_KEY, iv, ct, envelope_aad(other_header))


def test_envelope__tampered_signature_or_signed_fields_fail() -> None:
    """The signature fails over a changed header, ct or iv, and when flipped."""
    public = load_public_key(unb64u(ENV["device_sig_public"]))
    sig = unb64u(ENV["sig"])
    base = {"header": ENV["header"], "iv": ENV["iv"], "ct": ENV["ct"]}
    assert not ecdsa_verify(public, _flip(sig, 10), envelope_signed_bytes(base))
    for changed in (
        {**base, "header": {**ENV["header"], "epoch": 4}},
        {**base, "ct": b64u(_flip(unb64u(ENV["ct"]), 3))},
        {**base, "iv": b64u(_flip(unb64u(ENV["iv"])))},
    ):
        assert not ecdsa_verify(public, sig, envelope_signed_bytes(changed))


def test_envelope_signed_bytes__refuses_missing_member() -> None:
    """An envelope without ct, header or iv has no signed bytes."""
    with pytest.raises(CryptoError):
        envelope_signed_bytes({"header": ENV["header"], "iv": ENV["iv"]})


# --- files (DESIGN §4 "Files") ------------------------------------------------

FILES = VECTORS["files"]
FILE_KEY = bytes.fromhex(FILES["key_hex"])
FILE_PREFIX = bytes.fromhex(FILES["prefix_hex"])


def _plaintext(length: int) -> bytes:
    """The vectors' plaintext: ``bytes(i % 251 for i in range(length))``."""
    return bytes(i % 251 for i in range(length))


@pytest.mark.parametrize("case", FILES["cases"], ids=[f"len-{c['length']}" for c in FILES["cases"]])
def test_encrypt_file__vector(case: dict[str, Any]) -> None:
    """Blob length, SHA-256, head and tail match; the blob decrypts back."""
    assert FILES["chunk"] == FILE_CHUNK_SIZE
    plaintext = _plaintext(case["length"])
    blob = encrypt_file(FILE_KEY, plaintext, FILE_PREFIX)
    assert len(blob) == case["blob_length"]
    assert b64u(sha256(blob)) == case["blob_sha256"]
    assert blob[:48].hex() == case["blob_head_hex"]
    assert blob[-48:].hex() == case["blob_tail_hex"]
    assert decrypt_file(FILE_KEY, blob) == plaintext


def _three_chunk_blob() -> tuple[bytes, list[bytes]]:
    """A 2 MiB + 5 file's blob and its three stored chunks."""
    blob = encrypt_file(FILE_KEY, _plaintext(2 * FILE_CHUNK_SIZE + 5), FILE_PREFIX)
    full = 12 + FILE_CHUNK_SIZE + 16
    return blob, [blob[:full], blob[full : 2 * full], blob[2 * full :]]


def test_decrypt_file__refuses_truncation() -> None:
    """A blob cut at a chunk boundary or inside a chunk does not decrypt."""
    blob, chunks = _three_chunk_blob()
    for truncated in (chunks[0], chunks[0] + chunks[1], blob[:-1], blob[:-17], blob[:20], b""):
        with pytest.raises(CryptoError):
            decrypt_file(FILE_KEY, truncated)


def test_decrypt_file__refuses_reordering() -> None:
    """Swapped or duplicated chunks do not decrypt."""
    _, (first, second, third) = _three_chunk_blob()
    for reordered in (second + first + third, first + first + third, first + second + second):
        with pytest.raises(CryptoError):
            decrypt_file(FILE_KEY, reordered)


def test_decrypt_file__refuses_extension() -> None:
    """Chunks appended after the last chunk, even validly encrypted, are refused."""
    one_chunk = encrypt_file(FILE_KEY, _plaintext(FILE_CHUNK_SIZE), FILE_PREFIX)
    two_chunks = encrypt_file(FILE_KEY, _plaintext(FILE_CHUNK_SIZE + 5), FILE_PREFIX)
    tail = two_chunks[len(one_chunk) :]
    with pytest.raises(CryptoError):
        decrypt_file(FILE_KEY, one_chunk + tail)
    with pytest.raises(CryptoError):
        decrypt_file(FILE_KEY, two_chunks + tail)


def test_decrypt_file__refuses_empty_trailing_chunk() -> None:
    """A full chunk followed by an empty last chunk is not what encrypt_file makes."""
    iv0, iv1 = FILE_PREFIX + b"\x00\x00\x00\x00", FILE_PREFIX + b"\x00\x00\x00\x01"
    blob = (
        iv0
        + aes_gcm_encrypt(FILE_KEY, iv0, _plaintext(FILE_CHUNK_SIZE), b"\x00\x00\x00\x00\x00")
        + iv1
        + aes_gcm_encrypt(FILE_KEY, iv1, b"", b"\x00\x00\x00\x01\x01")
    )
    with pytest.raises(CryptoError):
        decrypt_file(FILE_KEY, blob)


def test_decrypt_file__refuses_flipped_byte_and_wrong_key() -> None:
    """Any modified byte, or another key, fails authentication."""
    blob = encrypt_file(FILE_KEY, _plaintext(5), FILE_PREFIX)
    for index in (0, 8, 11, 12, len(blob) - 1):
        with pytest.raises(CryptoError):
            decrypt_file(FILE_KEY, _flip(blob, index))
    with pytest.raises(CryptoError):
        decrypt_file(bytes(32), blob)


def test_encrypt_file__random_prefix_differs() -> None:
    """Without a fixed prefix, two encryptions of one file differ and both decrypt."""
    first, second = encrypt_file(FILE_KEY, b"same"), encrypt_file(FILE_KEY, b"same")
    assert first != second
    assert decrypt_file(FILE_KEY, first) == decrypt_file(FILE_KEY, second) == b"same"


# --- chain (DESIGN §5) ---------------------------------------------------------

CHAIN = VECTORS["chain"]
STEPS = CHAIN["steps"][1:]


def test_chain__vector_genesis() -> None:
    """hash_0 = SHA-256("comity/v1/genesis:" + T)."""
    assert b64u(genesis_hash(CHAIN["thread"])) == CHAIN["steps"][0]["genesis"]


def test_chain__vector_steps() -> None:
    """Each step's entry digest, chain hash, server-signed bytes and signature match."""
    server = load_public_key(unb64u(CHAIN["server_public"]))
    previous = genesis_hash(CHAIN["thread"])
    for step in STEPS:
        entry = step["entry"]
        assert b64u(entry_digest(entry)) == step["entry_canonical_sha256"]
        current = link_hash(previous, entry)
        assert b64u(current) == step["hash"]
        signed = server_signed_bytes(CHAIN["thread"], entry["seq"], current)
        assert signed == step["server_signed_utf8"].encode()
        assert ecdsa_verify(server, unb64u(step["server_sig"]), signed)
        previous = current


def test_chain__tampered_entry_or_context_breaks() -> None:
    """Changing an entry changes its hash; a signature does not carry to another seq."""
    server = load_public_key(unb64u(CHAIN["server_public"]))
    step = STEPS[0]
    genesis = genesis_hash(CHAIN["thread"])
    altered = {**step["entry"], "body": {**step["entry"]["body"], "to": "closed"}}
    assert b64u(link_hash(genesis, altered)) != step["hash"]
    other_seq = server_signed_bytes(CHAIN["thread"], 2, unb64u(step["hash"]))
    assert not ecdsa_verify(server, unb64u(step["server_sig"]), other_seq)
    with pytest.raises(CryptoError):
        link_hash(genesis[:31], step["entry"])


# --- safety number (DESIGN §4) ------------------------------------------------

SAFETY = VECTORS["safety_number"]


def test_safety_number__vector() -> None:
    """Both halves and the joined 60 digits match, whichever order keys are given."""
    a, b = unb64u(SAFETY["identity_a"]), unb64u(SAFETY["identity_b"])
    assert fingerprint_digits(a) == SAFETY["digits_a"]
    assert fingerprint_digits(load_public_key(b)) == SAFETY["digits_b"]
    assert safety_number(a, b) == safety_number(b, a) == SAFETY["safety_number"]


# --- wrapped private key (DESIGN §4) -----------------------------------------

WRAPPED = VECTORS["wrapped_private_key"]


def test_unwrap_private_key__vector() -> None:
    """The vector unwraps with its passphrase to the scalar 0x7777."""
    assert private_key_aad(WRAPPED["owner"], WRAPPED["purpose"]) == WRAPPED["aad_utf8"].encode()
    key = unwrap_private_key(WRAPPED["wrapped"], WRAPPED["passphrase"], WRAPPED["owner"], WRAPPED["purpose"])
    assert private_scalar(key) == int(WRAPPED["expect_private_scalar_hex"], 16)


def test_wrap_private_key__reproduces_vector() -> None:
    """With the vector's salt and IV, wrapping 0x7777 gives the vector's ct exactly."""
    wrapped = WRAPPED["wrapped"]
    ours = wrap_private_key(
        private_key_from_scalar(0x7777),
        WRAPPED["passphrase"],
        WRAPPED["owner"],
        WRAPPED["purpose"],
        salt=unb64u(wrapped["salt"]),
        iv=unb64u(wrapped["iv"]),
    )
    assert ours == wrapped


@pytest.mark.parametrize(
    "change",
    [
        {"passphrase": "correct horse battery stapler"},
        {"owner": "0a1b2c3d-0000-4000-8000-00000000000b"},
        {"purpose": "backup"},
        {"wrapped": {**WRAPPED["wrapped"], "iter": 599_999}},
        {"wrapped": {**WRAPPED["wrapped"], "iter": 10**9}},
        {"wrapped": {**WRAPPED["wrapped"], "iter": "600000"}},
        {"wrapped": {**WRAPPED["wrapped"], "kdf": "scrypt"}},
        {"wrapped": {**WRAPPED["wrapped"], "salt": "AAECAwQFBgcICQoLDA0O"}},
        {"wrapped": {**WRAPPED["wrapped"], "ct": WRAPPED["wrapped"]["ct"][:-2]}},
        {"wrapped": {**WRAPPED["wrapped"], "iv": None}},
    ],
    ids=[
        "passphrase",
        "owner",
        "purpose",
        "iterations",
        "huge-iterations",
        "string-iterations",
        "kdf",
        "short-salt",
        "truncated-ct",
        "missing-iv",
    ],
)
def test_unwrap_private_key__refuses(change: dict[str, Any]) -> None:
    """A wrong passphrase, owner, purpose or any altered member fails cleanly."""
    args = {
        "wrapped": WRAPPED["wrapped"],
        "passphrase": WRAPPED["passphrase"],
        "owner": WRAPPED["owner"],
        "purpose": WRAPPED["purpose"],
    }
    with pytest.raises(CryptoError):
        unwrap_private_key(**{**args, **change})
