"""Python <-> JavaScript interop for keys: certificates, key packages, wrapped keys, safety numbers.

Each test makes an object with one implementation and opens or verifies it
with the other (DESIGN §4; STYLE rule 21, cross-implementation round trips).
The JavaScript side is ``tests/interop/js_peer.mjs`` over the browser's
crypto facade, reached through the ``js`` fixture.
"""

import dataclasses
from typing import Any

import pytest

from consult.client import (
    BackupKey,
    Device,
    DeviceCertificate,
    Identity,
    RecordsCertificate,
    RecordsKey,
    VerificationError,
    build_key_package,
    new_epoch_key,
    open_key_package,
    public_key_from_b64u,
    sign_object,
    verify_signed_object,
)
from consult.lib.crypto import (
    CryptoError,
    b64u,
    ecdh,
    ecdsa_sign,
    ecdsa_verify,
    generate_private_key,
    private_key_to_pkcs8,
    public_key_bytes,
    random_bytes,
    sha256,
    unb64u,
)
from consult.lib.protocol import PBKDF2_ITERATIONS, fingerprint_digits, safety_number

ALICE = "0a1b2c3d-0000-4000-8000-00000000000a"
BRUNO = "0a1b2c3d-0000-4000-8000-00000000000b"
THREAD = "5f0c7a3e-9b1d-4c2a-8e6f-0123456789ab"
# Non-ASCII on purpose: both sides must UTF-8 encode it as typed.
PASSPHRASE = "correct horse — bâton de berger 🐎"
MESSAGE = b"comity interop: prove the unwrapped key is the wrapped key"


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


def _pkcs8(key: Any) -> str:
    """A private key as base64url PKCS#8 DER, for handing to JS (test-only)."""
    return b64u(private_key_to_pkcs8(key))


# --- 1. device certificates ----------------------------------------------------------


def test_device_certificate__python_issued_verifies_in_js(js: Any) -> None:
    """A device certificate from the Python client verifies in JS; each tampered field fails."""
    identity, device, other = Identity.generate(ALICE), Device.generate(ALICE), Device.generate(ALICE)
    cert = identity.certify_device(device).to_json()
    candidates = [
        cert,
        {**cert, "user": BRUNO},
        {**cert, "device": other.id},
        {**cert, "dh": other.dh_public},
        {**cert, "sig": other.sig_public},
        {**cert, "certificate": _flip_b64u(cert["certificate"], 7)},
    ]
    results = js("verify_device_certificates", identity=identity.public, certificates=candidates)
    assert [_value(r) for r in results] == [True, False, False, False, False, False]


def test_device_certificate__python_issued_fails_in_js_under_another_identity(js: Any) -> None:
    """JS refuses a valid certificate checked against someone else's identity key, or a v 2 one."""
    cert = Identity.generate(ALICE).certify_device(Device.generate(ALICE)).to_json()
    results = js("verify_device_certificates", identity=Identity.generate(ALICE).public, certificates=[cert])
    assert _value(results[0]) is False
    results = js(
        "verify_device_certificates", identity=Identity.generate(ALICE).public, certificates=[{**cert, "v": 2}]
    )
    assert _error_code(results[0]) == "format"


def test_device_certificate__js_issued_verifies_in_python(js: Any) -> None:
    """A device certificate from JS has the Python JSON form and verifies; tampering fails."""
    made = js("make_device_certificate", user=ALICE)
    json_form = made["certificate"]
    cert = DeviceCertificate(
        user=json_form["user"],
        device=json_form["device"],
        dh=json_form["dh"],
        sig=json_form["sig"],
        signature=json_form["certificate"],
    )
    identity = public_key_from_b64u(made["identity"])
    assert cert.to_json() == json_form
    assert len(unb64u(cert.device)) == 16
    assert cert.verify(identity)
    other = Device.generate(ALICE)
    for forged in (
        dataclasses.replace(cert, user=BRUNO),
        dataclasses.replace(cert, device=other.id),
        dataclasses.replace(cert, dh=other.dh_public),
        dataclasses.replace(cert, sig=other.sig_public),
        dataclasses.replace(cert, signature=_flip_b64u(cert.signature, 40)),
    ):
        assert not forged.verify(identity), forged
    assert not cert.verify(Identity.generate(ALICE).private_key.public_key())


# --- 2. records-key certificates -----------------------------------------------------


def test_records_certificate__python_issued_verifies_in_js(js: Any) -> None:
    """A supervisor's records-key certificate from Python verifies in JS; each tampered field fails."""
    supervisor, records = Identity.generate(ALICE), RecordsKey.generate("FR-MJ")
    cert = supervisor.certify_records_key(records).to_json()
    candidates = [
        cert,
        {**cert, "authority": "DE-BMJ"},
        {**cert, "certified_by": BRUNO},
        {**cert, "dh": RecordsKey.generate("FR-MJ").public},
        {**cert, "certificate": _flip_b64u(cert["certificate"], 0)},
    ]
    results = js("verify_records_certificates", identity=supervisor.public, certificates=candidates)
    assert [_value(r) for r in results] == [True, False, False, False, False]


def test_records_certificate__js_issued_verifies_in_python(js: Any) -> None:
    """A records-key certificate from JS has the Python JSON form and verifies; tampering fails."""
    made = js("make_records_certificate", authority="FR-MJ", certified_by=ALICE)
    json_form = made["certificate"]
    cert = RecordsCertificate(
        authority=json_form["authority"],
        certified_by=json_form["certified_by"],
        dh=json_form["dh"],
        signature=json_form["certificate"],
    )
    supervisor = public_key_from_b64u(made["identity"])
    assert cert.to_json() == json_form
    assert cert.verify(supervisor)
    for forged in (
        dataclasses.replace(cert, authority="DE-BMJ"),
        dataclasses.replace(cert, certified_by=BRUNO),
        dataclasses.replace(cert, dh=RecordsKey.generate("FR-MJ").public),
        dataclasses.replace(cert, signature=_flip_b64u(cert.signature, 63)),
    ):
        assert not forged.verify(supervisor), forged
    assert not cert.verify(Identity.generate(ALICE).private_key.public_key())


# --- 3. key packages -----------------------------------------------------------------


def _package_holders() -> tuple[list[Device], list[Any]]:
    """Three devices of two users, both authorities' records keys and Alice's backup key."""
    devices = [Device.generate(ALICE), Device.generate(ALICE), Device.generate(BRUNO)]
    others: list[Any] = [RecordsKey.generate("FR-MJ"), RecordsKey.generate("DE-BMJ"), BackupKey.generate(ALICE)]
    return devices, [*devices, *others]


def _members(devices: list[Device]) -> dict[str, list[str]]:
    """The ``members`` mapping of a package for ``devices``."""
    members: dict[str, list[str]] = {}
    for device in devices:
        members.setdefault(device.user, []).append(device.id)
    return members


def test_key_package__python_built_opens_in_js_for_every_recipient(js: Any) -> None:
    """Every one of six recipients opens its wrap of a Python package in JS and gets the same epoch key."""
    devices, holders = _package_holders()
    epoch_key = new_epoch_key()
    package = build_key_package(
        devices[0],
        thread=THREAD,
        epoch=3,
        reason="rotate",
        history="shared",
        members=_members(devices),
        recipients=[holder.as_recipient() for holder in holders],
        epoch_key=epoch_key,
        prev=b64u(sha256(b"entry holding epoch 2")),
    )
    result = js(
        "open_key_package",
        package=package,
        sender_sig=devices[0].sig_public,
        holders=[{"id": h.recipient_id, "dh_pkcs8": _pkcs8(h.dh_key)} for h in holders],
    )
    assert _value(result["verified"]) is True
    expected = {"thread": THREAD, "epoch": 3, "epoch_key": b64u(epoch_key)}
    assert [_value(opened) for opened in result["opened"]] == [expected] * 6
    assert sorted(r["kind"] for r in package["recipients"]) == [
        "backup",
        "device",
        "device",
        "device",
        "records",
        "records",
    ]


def test_key_package__python_built_tampered_refused_by_js(js: Any) -> None:
    """JS refuses a Python package with an altered field, a swapped wrap, or a wrap opened with another key."""
    devices, holders = _package_holders()
    sender = devices[0]
    package = build_key_package(
        sender,
        thread=THREAD,
        epoch=1,
        reason="create",
        history="from_join",
        members=_members(devices),
        recipients=[holder.as_recipient() for holder in holders],
        epoch_key=new_epoch_key(),
    )
    altered = {**package, "epoch": 2}
    result = js(
        "open_key_package",
        package=altered,
        sender_sig=sender.sig_public,
        holders=[{"id": devices[1].id, "dh_pkcs8": _pkcs8(devices[1].dh_key)}],
    )
    assert _value(result["verified"]) is False
    assert _error_code(result["opened"][0]) == "signature"

    # Re-signed by the sender, so only the wrap's own binding can catch it:
    # devices[1]'s wrap moved to devices[2]'s entry, and a wrap opened with
    # the wrong ECDH key.
    recipients = [dict(r) for r in package["recipients"]]
    recipients[2]["iv"], recipients[2]["ct"] = recipients[1]["iv"], recipients[1]["ct"]
    swapped = sign_object(sender, {**package, "recipients": recipients})
    result = js(
        "open_key_package",
        package=swapped,
        sender_sig=sender.sig_public,
        holders=[
            {"id": devices[2].id, "dh_pkcs8": _pkcs8(devices[2].dh_key)},
            {"id": devices[1].id, "dh_pkcs8": _pkcs8(devices[0].dh_key)},
        ],
    )
    assert _value(result["verified"]) is True
    assert [_error_code(opened) for opened in result["opened"]] == ["auth", "auth"]


def test_key_package__js_built_opens_in_python_for_every_recipient(js: Any) -> None:
    """Every one of six recipients opens its wrap of a JS package in Python and gets the same epoch key."""
    devices, holders = _package_holders()
    sender_id = b64u(random_bytes(16))
    members = [{"user": user, "devices": ids} for user, ids in _members(devices).items()]
    members[0]["devices"].append(sender_id)
    fields = {
        "thread": THREAD,
        "epoch": 1,
        "reason": "create",
        "prev": None,
        "history": "shared",
        "members": members,
        "sender_device": sender_id,
    }
    recipients = [{"id": h.recipient_id, "kind": h.kind, "dh": b64u(public_key_bytes(h.dh_key))} for h in holders]
    made = js("build_key_package", fields=fields, recipients=recipients)
    package, sender = made["package"], public_key_from_b64u(made["sender_sig"])
    epoch_key = unb64u(made["epoch_key"])
    assert len(epoch_key) == 32
    assert {key: package[key] for key in fields} == fields
    assert [(r["id"], r["kind"]) for r in package["recipients"]] == [(r["id"], r["kind"]) for r in recipients]
    assert verify_signed_object(package, sender)
    assert [open_key_package(package, holder, sender) for holder in holders] == [epoch_key] * 6


def test_key_package__js_built_tampered_refused_by_python(js: Any) -> None:
    """Python refuses a JS package with an altered field, and a wrap opened with another key."""
    devices, holders = _package_holders()
    fields = {
        "thread": THREAD,
        "epoch": 1,
        "reason": "create",
        "prev": None,
        "history": "from_join",
        "members": [{"user": user, "devices": ids} for user, ids in _members(devices).items()],
        "sender_device": devices[0].id,
    }
    recipients = [{"id": h.recipient_id, "kind": h.kind, "dh": b64u(public_key_bytes(h.dh_key))} for h in holders]
    made = js("build_key_package", fields=fields, recipients=recipients)
    package, sender = made["package"], public_key_from_b64u(made["sender_sig"])
    for altered in (
        {**package, "thread": "00000000-0000-4000-8000-000000000000"},
        {**package, "members": package["members"][:1]},
        {**package, "history": "shared"},
    ):
        assert not verify_signed_object(altered, sender)
        with pytest.raises(VerificationError, match="signature"):
            open_key_package(altered, devices[0], sender)
    impostor = dataclasses.replace(devices[2], id=devices[1].id)  # devices[1]'s id, devices[2]'s keys
    with pytest.raises(VerificationError, match="does not open"):
        open_key_package(package, impostor, sender)


# --- 6. passphrase-wrapped private keys --------------------------------------------


def test_wrapped_private_key__python_wrapped_unwraps_in_js(js: Any) -> None:
    """Identity and records keys wrapped by Python unwrap in JS to the same keys; wrong context fails.

    Both clients accept only ``iter`` >= 600,000, the protocol's count.
    """
    identity, records = Identity.generate(ALICE), RecordsKey.generate("FR-MJ")
    identity_wrap, records_wrap = identity.wrap(PASSPHRASE), records.wrap(PASSPHRASE)
    assert identity_wrap["iter"] == records_wrap["iter"] == PBKDF2_ITERATIONS
    peer = generate_private_key()
    attempt = {"wrapped": identity_wrap, "passphrase": PASSPHRASE, "owner": ALICE, "purpose": "identity"}
    results = js(
        "unwrap_private_keys",
        attempts=[
            attempt,
            {**attempt, "passphrase": PASSPHRASE + " "},
            {**attempt, "owner": BRUNO},
            {**attempt, "purpose": "backup"},
            {"wrapped": records_wrap, "passphrase": PASSPHRASE, "owner": "FR-MJ", "purpose": "records"},
        ],
        message=b64u(MESSAGE),
        peer=b64u(public_key_bytes(peer)),
    )
    signature = unb64u(_value(results[0])["signature"])
    assert ecdsa_verify(identity.private_key.public_key(), signature, MESSAGE)
    assert [_error_code(r) for r in results[1:4]] == ["auth", "auth", "auth"]
    assert unb64u(_value(results[4])["z"]) == ecdh(peer, records.private_key.public_key())


def test_wrapped_private_key__both_refuse_a_low_iteration_count(js: Any) -> None:
    """A wrapped key claiming 1,000 iterations is refused by JS and by Python alike (DESIGN §4: 600,000)."""
    identity = Identity.generate(ALICE)
    low = {**identity.wrap(PASSPHRASE), "iter": 1000}
    with pytest.raises(CryptoError, match="600000"):
        Identity.unwrap(ALICE, low, PASSPHRASE)
    attempt = {"wrapped": low, "passphrase": PASSPHRASE, "owner": ALICE, "purpose": "identity"}
    results = js("unwrap_private_keys", attempts=[attempt], message=b64u(MESSAGE), peer="")
    assert _error_code(results[0]) == "format"
    assert "600000" in results[0]["error"]["message"]


def test_wrapped_private_key__js_wrapped_identity_unwraps_in_python(js: Any) -> None:
    """An identity key wrapped by JS unwraps in Python to the same key; wrong context fails."""
    made = js("wrap_private_key", passphrase=PASSPHRASE, owner=ALICE, purpose="identity", message=b64u(MESSAGE))
    wrapped = made["wrapped"]
    assert wrapped["kdf"] == "PBKDF2-SHA256" and wrapped["iter"] == PBKDF2_ITERATIONS
    js_public = public_key_from_b64u(made["public"])
    identity = Identity.unwrap(ALICE, wrapped, PASSPHRASE)
    assert identity.public == made["public"]
    # Each side's signature verifies under the other side's copy of the key.
    assert ecdsa_verify(js_public, ecdsa_sign(identity.private_key, MESSAGE), MESSAGE)
    assert ecdsa_verify(identity.private_key.public_key(), unb64u(made["signature"]), MESSAGE)
    with pytest.raises(CryptoError):
        Identity.unwrap(ALICE, wrapped, PASSPHRASE.upper())
    with pytest.raises(CryptoError):
        Identity.unwrap(BRUNO, wrapped, PASSPHRASE)
    with pytest.raises(CryptoError):
        BackupKey.unwrap(ALICE, wrapped, PASSPHRASE)


def test_wrapped_private_key__js_wrapped_backup_key_unwraps_in_python(js: Any) -> None:
    """A backup (ECDH) key wrapped by JS unwraps in Python and derives the same shared secret."""
    peer = generate_private_key()
    made = js(
        "wrap_private_key", passphrase=PASSPHRASE, owner=ALICE, purpose="backup", peer=b64u(public_key_bytes(peer))
    )
    backup = BackupKey.unwrap(ALICE, made["wrapped"], PASSPHRASE)
    assert backup.public == made["public"]
    assert (
        ecdh(backup.private_key, peer.public_key()) == unb64u(made["z"]) == ecdh(peer, backup.as_recipient().public_key)
    )
    with pytest.raises(CryptoError):
        RecordsKey.unwrap(ALICE, made["wrapped"], PASSPHRASE)


# --- 9. safety numbers ---------------------------------------------------------------


def test_safety_number__equal_on_both_sides(js: Any) -> None:
    """Python and JS compute the same fingerprints and safety number, in either order."""
    alice, bruno, carla = (Identity.generate(user) for user in (ALICE, BRUNO, ALICE))
    pairs = [(alice, bruno), (bruno, alice), (alice, carla)]
    results = js("safety_numbers", pairs=[[a.public, b.public] for a, b in pairs])
    for (a, b), result in zip(pairs, results, strict=True):
        expected = safety_number(a.public_bytes, b.public_bytes)
        assert result["number"] == expected and len(expected) == 60 and expected.isdigit()
        assert result["fingerprints"] == [fingerprint_digits(a.public_bytes), fingerprint_digits(b.public_bytes)]
    assert results[0]["number"] == results[1]["number"]
