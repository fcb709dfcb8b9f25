"""Python <-> JavaScript interop for the record's hash chain (DESIGN §5).

A chain written by the Python ``ChainWriter`` is verified by the browser's
``verifyChain``, and chain items made with the JS facade (which has no chain
writer: only the server writes entries, so the items are built from
``genesisHash``/``nextHash``/``serverSignedBytes``/``sign``) are verified by
Python's ``verify_chain``. Both sides must name the same first broken ``seq``.
"""

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from consult.client import (
    BackupKey,
    ChainError,
    ChainHead,
    ChainWriter,
    Device,
    RecordsKey,
    build_acknowledgement,
    build_key_package,
    build_membership_change,
    build_thread_creation,
    format_timestamp,
    make_payload,
    new_epoch_key,
    seal_envelope,
    verify_chain,
)
from consult.lib.crypto import b64u, ecdsa_sign, generate_private_key, private_key_to_pkcs8, public_key_bytes, unb64u
from consult.lib.protocol import server_signed_bytes

ALICE = "0a1b2c3d-0000-4000-8000-00000000000a"
BRUNO = "0a1b2c3d-0000-4000-8000-00000000000b"
CASE = "7d3e2f10-4b5a-4c6d-9e8f-00000000c001"
THREAD = "5f0c7a3e-9b1d-4c2a-8e6f-0123456789ab"
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
CHAIN_LENGTH = 20

# JS ChainBreakReason -> the words of Python's ChainError for the same break.
PYTHON_REASON = {
    "hash": "hash does not match",
    "server_sig": "server signature does not verify",
    "seq": "gap or reorder",
    "thread": "another thread",
    "server_key": "pins a different server key",
}


def _write_chain(server_key: Any) -> tuple[ChainWriter, list[dict[str, Any]]]:
    """A 20-entry chain of every kind, as the server would write it, signed by ``server_key``."""
    alice, bruno = Device.generate(ALICE), Device.generate(BRUNO)
    epoch_key = new_epoch_key()
    writer = ChainWriter(THREAD, server_key)
    items: list[dict[str, Any]] = []

    def append(kind: str, body: Any, device: Device | None = None) -> None:
        at = START + timedelta(minutes=len(items), milliseconds=7 * len(items))
        user, device_id = (device.user, device.id) if device else (None, None)
        items.append(writer.append(kind, body, user=user, device=device_id, at=at))

    server_public = b64u(public_key_bytes(server_key))
    creation = build_thread_creation(
        alice,
        thread=THREAD,
        case=CASE,
        subject="Extradition — dossier nº 42",
        history="shared",
        server_key=server_public,
    )
    append("create", creation, alice)
    append("member", build_membership_change(alice, thread=THREAD, action="add", user=BRUNO), alice)
    package = build_key_package(
        alice,
        thread=THREAD,
        epoch=1,
        reason="create",
        history="shared",
        members={ALICE: [alice.id], BRUNO: [bruno.id]},
        recipients=[
            alice.as_recipient(),
            bruno.as_recipient(),
            RecordsKey.generate("FR-MJ").as_recipient(),
            RecordsKey.generate("DE-BMJ").as_recipient(),
            BackupKey.generate(ALICE).as_recipient(),
        ],
        epoch_key=epoch_key,
    )
    append("keys", package, alice)
    while len(items) < CHAIN_LENGTH - 4:
        sender = (alice, bruno)[len(items) % 2]
        payload = make_payload(f"message {len(items) + 1} — «ça va» 𝄞", reply_to=len(items))
        append(
            "message", seal_envelope(sender, epoch_key, thread=THREAD, epoch=1, kind="text", payload=payload), sender
        )
    hash_ = unb64u(items[-1]["hash"])
    append("receipt", build_acknowledgement(bruno, thread=THREAD, seq=len(items), hash_=hash_), bruno)
    append("status", {"case": CASE, "from": "open", "to": "awaiting_answer"}, alice)
    append("expiry", {"user": BRUNO, "reason": "expired"})
    append("export", {"by": ALICE, "format": "comity-record/v1"}, alice)
    assert len(items) == CHAIN_LENGTH
    return writer, items


def _server_key_b64u(writer: ChainWriter) -> str:
    """The writer's server public key as base64url."""
    return b64u(public_key_bytes(writer.server_key))


def _python_break(items: list[dict[str, Any]], server_key: Any, thread: str = THREAD) -> ChainError:
    """The ChainError Python's verify_chain raises for ``items`` (fails if it verifies)."""
    with pytest.raises(ChainError) as caught:
        verify_chain(thread, items, server_key)
    return caught.value


def _altered_entry(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entry 7's time moved by an hour."""
    items[6]["entry"]["at"] = format_timestamp(START + timedelta(hours=1))
    return items


def _altered_body(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entry 3's key package claims another epoch."""
    items[2]["entry"]["body"]["epoch"] = 2
    return items


def _foreign_signature(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entry 12 signed, over the right bytes, by another key."""
    item = items[11]
    signed = server_signed_bytes(THREAD, item["seq"], unb64u(item["hash"]))
    item["server_sig"] = b64u(ecdsa_sign(generate_private_key(), signed))
    return items


def _missing_entry(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entry 5 left out (a gap)."""
    del items[4]
    return items


def _swapped_entries(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries 9 and 10 swapped."""
    items[8], items[9] = items[9], items[8]
    return items


TAMPERINGS: list[Any] = [
    pytest.param(_altered_entry, 7, "hash", id="altered_entry"),
    pytest.param(_altered_body, 3, "hash", id="altered_body"),
    pytest.param(_foreign_signature, 12, "server_sig", id="foreign_signature"),
    pytest.param(_missing_entry, 5, "seq", id="missing_entry"),
    pytest.param(_swapped_entries, 9, "seq", id="swapped_entries"),
]


# --- Python writes, JS verifies ------------------------------------------------------


def test_chain__python_written_verifies_in_js(js: Any) -> None:
    """A 20-entry chain from ChainWriter verifies in JS to the same head; JS resumes from a Python head."""
    writer, items = _write_chain(generate_private_key())
    server = _server_key_b64u(writer)
    result = js("verify_chain", thread=THREAD, server_key=server, items=items)
    assert result == {"ok": True, "head": {"seq": CHAIN_LENGTH, "hash": b64u(writer.head.hash)}}
    middle = verify_chain(THREAD, items[:10], writer.server_key.public_key())
    resumed = js(
        "verify_chain",
        thread=THREAD,
        server_key=server,
        items=items[10:],
        after={"seq": middle.seq, "hash": b64u(middle.hash)},
    )
    assert resumed == result


@pytest.mark.parametrize(("tamper", "seq", "reason"), TAMPERINGS)
def test_chain__python_written_tampered_breaks_at_same_seq_on_both_sides(
    js: Any, tamper: Callable[[list[dict[str, Any]]], list[dict[str, Any]]], seq: int, reason: str
) -> None:
    """A tampered Python chain fails at the same seq, for the same reason, in JS and in Python."""
    writer, items = _write_chain(generate_private_key())
    tampered = tamper(copy.deepcopy(items))
    result = js("verify_chain", thread=THREAD, server_key=_server_key_b64u(writer), items=tampered)
    assert (result["ok"], result["seq"], result["reason"]) == (False, seq, reason)
    assert result["head"] == {"seq": seq - 1, "hash": items[seq - 2]["hash"]}
    error = _python_break(tampered, writer.server_key.public_key())
    assert error.seq == seq
    assert PYTHON_REASON[reason] in error.reason


def test_chain__python_written_for_another_thread_breaks_at_seq_1_on_both_sides(js: Any) -> None:
    """A chain checked as another thread's fails at seq 1 in JS and in Python."""
    writer, items = _write_chain(generate_private_key())
    other = "00000000-0000-4000-8000-000000000000"
    result = js("verify_chain", thread=other, server_key=_server_key_b64u(writer), items=items)
    assert (result["ok"], result["seq"], result["reason"]) == (False, 1, "thread")
    error = _python_break(items, writer.server_key.public_key(), thread=other)
    assert error.seq == 1 and PYTHON_REASON["thread"] in error.reason


def test_chain__history_resigned_with_another_server_key_breaks_at_seq_1_on_both_sides(js: Any) -> None:
    """A history re-signed with another server key fails at seq 1: the creation pins the original key.

    Every link and signature verifies under the rogue key; only the pin in
    the thread creation (DESIGN §4) exposes the re-signing.
    """
    _, items = _write_chain(generate_private_key())
    rogue = ChainWriter(THREAD, generate_private_key())
    resigned = [rogue.append(item["entry"]["kind"], item["entry"]["body"], **item["entry"]["actor"]) for item in items]
    result = js("verify_chain", thread=THREAD, server_key=_server_key_b64u(rogue), items=resigned)
    assert (result["ok"], result["seq"], result["reason"]) == (False, 1, "server_key")
    error = _python_break(resigned, rogue.server_key.public_key())
    assert error.seq == 1 and PYTHON_REASON["server_key"] in error.reason


# --- JS builds, Python verifies ------------------------------------------------------


def test_chain__js_built_verifies_in_python_with_identical_hashes(js: Any) -> None:
    """Chain items built with the JS facade verify in Python and hash exactly as ChainWriter does."""
    writer, items = _write_chain(generate_private_key())
    built = js(
        "build_chain",
        thread=THREAD,
        server_pkcs8=b64u(private_key_to_pkcs8(writer.server_key)),
        entries=[item["entry"] for item in items],
    )
    assert [item["hash"] for item in built] == [item["hash"] for item in items]
    assert [item["entry"] for item in built] == [item["entry"] for item in items]
    assert verify_chain(THREAD, built, writer.server_key.public_key()) == writer.head
    middle = ChainHead(10, unb64u(built[9]["hash"]))
    assert verify_chain(THREAD, built[10:], writer.server_key.public_key(), after=middle) == writer.head


@pytest.mark.parametrize(("tamper", "seq", "reason"), TAMPERINGS)
def test_chain__js_built_tampered_breaks_at_same_seq_on_both_sides(
    js: Any, tamper: Callable[[list[dict[str, Any]]], list[dict[str, Any]]], seq: int, reason: str
) -> None:
    """A tampered JS-built chain fails at the same seq, for the same reason, in Python and in JS."""
    server_key = generate_private_key()
    _, items = _write_chain(server_key)
    built = js(
        "build_chain",
        thread=THREAD,
        server_pkcs8=b64u(private_key_to_pkcs8(server_key)),
        entries=[item["entry"] for item in items],
    )
    tampered = tamper(copy.deepcopy(built))
    error = _python_break(tampered, server_key.public_key())
    assert error.seq == seq and PYTHON_REASON[reason] in error.reason
    result = js("verify_chain", thread=THREAD, server_key=b64u(public_key_bytes(server_key)), items=tampered)
    assert (result["ok"], result["seq"], result["reason"]) == (False, seq, reason)
