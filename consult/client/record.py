"""Building and opening ``comity-record/v1`` bundles (DESIGN §5), as an exporting client does.

:func:`build_bundle` turns the server's record data (``POST threads/{id}/record``)
into the signed ZIP: with a records key it decrypts every message and file
(a plaintext bundle); without one it keeps ciphertext (the bundle
``record open --key`` decrypts later). :func:`open_bundle` is that later step.
"""

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from consult.client.chain import format_timestamp
from consult.client.envelopes import open_envelope
from consult.client.errors import ClientError
from consult.client.keys import Device, RecordsKey, public_key_from_b64u
from consult.client.objects import sign_object
from consult.client.packages import open_key_package
from consult.lib.bundle import FORMAT, Bundle, entries_jsonl, file_digest, read_bundle, signing_key, write_bundle
from consult.lib.crypto import CryptoError, unb64u
from consult.lib.protocol import decrypt_file
from consult.lib.record_html import attachments, entry_number, render_html

__all__ = ["build_bundle", "epoch_keys", "open_bundle"]


def _sender_key(data: Mapping[str, Any], entry: Mapping[str, Any], device: str) -> Any:
    """The certified key of ``device``, the entry's own actor device (as ``record verify`` requires)."""
    where = f"entry {entry['seq']} ({entry['kind']})"
    return public_key_from_b64u(signing_key(data, entry, device, where))


def epoch_keys(data: Mapping[str, Any], records_keys: Sequence[RecordsKey], warnings: list[str]) -> dict[int, bytes]:
    """Every epoch key of the thread, unwrapped from the packages with whichever records key opens each.

    An authority that rotated its records key holds several: the packages
    written before the rotation are wrapped to the retired one. A package that
    none opens is named in ``warnings``; if none opens at all, raises
    :class:`ClientError`.
    """
    recipient = records_keys[0].recipient_id
    keys: dict[int, bytes] = {}
    addressed = 0
    for item in data["items"]:
        entry = item["entry"]
        if entry["kind"] == "keys" and any(r["id"] == recipient for r in entry["body"]["recipients"]):
            addressed += 1
            package = entry["body"]
            sender = _sender_key(data, entry, package["sender_device"])
            for records_key in records_keys:
                try:
                    keys[package["epoch"]] = open_key_package(package, records_key, sender)
                    break
                except ClientError:
                    continue
            else:
                opened = f"none of the records keys given opens the keys of epoch {package['epoch']}"
                warnings.append(f"entry {entry['seq']}: {opened}")
    if addressed and not keys:
        raise ClientError(f"none of the records keys given opens a key package for {recipient}")
    return keys


def _safe_name(name: str) -> str:
    """A file name safe in any archive and folder (the browser's ``safeName``): no separators, and
    no leading dot, so never ``.`` or ``..`` (nor a hidden file)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".")[:80] or "file"


def _payload_problems(payload: Mapping[str, Any]) -> list[str]:
    """What in a payload is not as the protocol has it: a member's client can write anything there."""
    problems = [
        f"{key} {payload[key]!r:.60} is not an entry number; not shown"
        for key in ("reply_to", "edits")
        if payload.get(key) is not None and entry_number(payload[key]) is None
    ]
    if not isinstance(payload.get("text"), str):
        problems.append("its text is not a string")
    files = payload.get("files", [])
    if not isinstance(files, list) or len(attachments(payload)) != len(files):
        problems.append("its files are not a list of attachments; what is not one is left out")
    return problems


def _open_message(
    data: Mapping[str, Any], keys: Mapping[int, bytes], entry: Mapping[str, Any], warnings: list[str]
) -> dict[str, Any] | None:
    """The payload of a message, or None (named in ``warnings``) if it does not open."""
    envelope, where = entry["body"], f"entry {entry['seq']}"
    epoch = envelope["header"]["epoch"]
    if epoch not in keys:
        warnings.append(f"{where}: no records key opened epoch {epoch}; left encrypted")
        return None
    sender = _sender_key(data, entry, envelope["header"]["sender_device"])
    try:
        return open_envelope(envelope, keys[epoch], sender)
    except ClientError as exc:
        warnings.append(f"{where}: does not open ({exc}); left encrypted")
        return None


def _attachment(attachment: Mapping[str, Any], blobs: Mapping[str, bytes]) -> tuple[str, bytes]:
    """The path and decrypted content of one attachment; raises ValueError saying what is wrong with it."""
    blob_id, name = attachment.get("blob"), attachment.get("name")
    if not isinstance(blob_id, str) or blob_id not in blobs:
        raise ValueError(f"names blob {blob_id!r:.60}, which the record does not hold")
    if not isinstance(name, str):
        raise ValueError(f"has no file name ({name!r:.60})")
    blob = blobs[blob_id]
    if file_digest(blob) != attachment.get("sha256"):
        raise ValueError(f"blob {blob_id!r} does not match its SHA-256")
    key = attachment.get("key")
    try:
        content = decrypt_file(unb64u(key if isinstance(key, str) else ""), blob)
    except (CryptoError, ValueError, TypeError):
        raise ValueError(f"blob {blob_id!r} does not decrypt with its key") from None
    return f"files/{_safe_name(blob_id)}/{_safe_name(name)}", content


def _decrypt_items(
    data: Mapping[str, Any], keys: Mapping[int, bytes], blobs: Mapping[str, bytes], warnings: list[str]
) -> tuple[list[dict[str, Any]], dict[str, bytes], list[dict[str, Any]]]:
    """Decrypt every message and attachment it can; what it cannot is named in ``warnings`` and
    left out (a message stays encrypted, a file unwritten), so one member's odd content does not
    stop the rest of the record."""
    items, files, listed = [], {}, []
    for item in data["items"]:
        item = dict(item)
        entry = item["entry"]
        payload = None
        if entry["kind"] == "message" and "ct" in entry["body"]:
            payload = _open_message(data, keys, entry, warnings)
        if payload is not None:
            item["payload"] = payload
            warnings.extend(f"entry {entry['seq']}: {problem}" for problem in _payload_problems(payload))
            for n, attachment in enumerate(attachments(payload), start=1):
                try:
                    path, content = _attachment(attachment, blobs)
                except ValueError as exc:
                    warnings.append(f"entry {entry['seq']}: attachment {n} {exc}; not written")
                    continue
                files[path] = content
                listed.append(_file(path, content, attachment))
        items.append(item)
    return items, files, listed


def _file(path: str, content: bytes, attachment: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        "path": path,
        "sha256": file_digest(content),
        "blob": attachment["blob"] if attachment else path.split("/")[1].removesuffix(".blob"),
        "blob_sha256": attachment["sha256"] if attachment else file_digest(content),
    }


def build_bundle(
    data: Mapping[str, Any],
    *,
    exporter: Device,
    exporter_authority: str,
    blobs: Mapping[str, bytes],
    records_key: RecordsKey | None = None,
    exported_at: datetime | None = None,
) -> bytes:
    """The signed ZIP: plaintext with ``records_key``, ciphertext-only without."""
    if records_key is not None:
        warnings: list[str] = []  # what does not open stays encrypted; record open names it
        items, files, listed = _decrypt_items(data, epoch_keys(data, [records_key], warnings), blobs, warnings)
    else:
        items = [dict(i) for i in data["items"]]
        files = {f"files/{blob_id}.blob": blob for blob_id, blob in blobs.items()}
        listed = [_file(path, content, None) for path, content in files.items()]
    acknowledgements = [
        {
            "seq": i["seq"],
            "by": i["entry"]["actor"]["user"],
            "up_to": i["entry"]["body"]["seq"],
            "hash": i["entry"]["body"]["hash"],
        }
        for i in items
        if i["entry"]["kind"] == "receipt"
    ]
    manifest = {
        "format": FORMAT, "thread": data["thread"], "case": data["case"], "server_key": data["server_key"],
        "head": {"seq": items[-1]["seq"], "hash": items[-1]["hash"]}, "members": data["members"],
        "identities": data["identities"], "devices": data["devices"], "records_keys": data["records_keys"],
        "acknowledgements": acknowledgements, "files": sorted(listed, key=lambda f: f["path"]),
        "contents": "plaintext" if records_key is not None else "ciphertext",
        "exporter": {"user": exporter.user, "device": exporter.id, "authority": exporter_authority},
        "exported_at": format_timestamp(exported_at or datetime.now(UTC)),
    }  # fmt: skip
    html = render_html(manifest, items)
    digests = {"entries.jsonl": file_digest(entries_jsonl(items)), "record.html": file_digest(html.encode())}
    signed = sign_object(exporter, {**manifest, "digests": digests})
    return write_bundle(Bundle(signed, items, files, html))


def open_bundle(data: bytes, records_keys: Sequence[RecordsKey]) -> tuple[Bundle, list[str]]:
    """Decrypt a ciphertext-only bundle with the authority's records keys (for ``record open``).

    Returns the opened bundle and what could not be opened or written, each
    naming its entry.
    """
    bundle = read_bundle(data)
    manifest = bundle.manifest
    source = {"items": bundle.items, "devices": manifest["devices"], "identities": manifest["identities"]}
    blobs = {path.split("/")[1].removesuffix(".blob"): content for path, content in bundle.files.items()}
    warnings: list[str] = []
    items, files, _ = _decrypt_items(source, epoch_keys(source, records_keys, warnings), blobs, warnings)
    return Bundle(manifest, items, files, render_html(manifest, items)), warnings
