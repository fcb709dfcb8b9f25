"""Building and opening ``comity-record/v1`` bundles (DESIGN §5), as an exporting client does.

:func:`build_bundle` turns the server's record data (``POST threads/{id}/record``)
into the signed ZIP: with a records key it decrypts every message and file
(a plaintext bundle); without one it keeps ciphertext (the bundle
``record open --key`` decrypts later). :func:`open_bundle` is that later step.
"""

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from consult.client.chain import format_timestamp
from consult.client.envelopes import open_envelope
from consult.client.keys import Device, RecordsKey, public_key_from_b64u
from consult.client.objects import sign_object
from consult.client.packages import open_key_package
from consult.lib.bundle import FORMAT, Bundle, entries_jsonl, file_digest, read_bundle, signing_key, write_bundle
from consult.lib.crypto import b64u, unb64u
from consult.lib.protocol import decrypt_file
from consult.lib.record_html import render_html

__all__ = ["build_bundle", "epoch_keys", "open_bundle"]


def _sender_key(data: Mapping[str, Any], entry: Mapping[str, Any], device: str) -> Any:
    """The certified key of ``device``, the entry's own actor device (as ``record verify`` requires)."""
    where = f"entry {entry['seq']} ({entry['kind']})"
    return public_key_from_b64u(signing_key(data, entry, device, where))


def epoch_keys(data: Mapping[str, Any], records_key: RecordsKey) -> dict[int, bytes]:
    """Every epoch key of the thread, unwrapped from the packages with the records key."""
    keys: dict[int, bytes] = {}
    for item in data["items"]:
        entry = item["entry"]
        if entry["kind"] == "keys" and any(r["id"] == records_key.recipient_id for r in entry["body"]["recipients"]):
            package = entry["body"]
            sender = _sender_key(data, entry, package["sender_device"])
            keys[package["epoch"]] = open_key_package(package, records_key, sender)
    return keys


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:80] or "file"


def _decrypt_items(
    data: Mapping[str, Any], keys: Mapping[int, bytes], blobs: Mapping[str, bytes]
) -> tuple[list[dict[str, Any]], dict[str, bytes], list[dict[str, Any]]]:
    items, files, listed = [], {}, []
    for item in data["items"]:
        item = dict(item)
        entry = item["entry"]
        if entry["kind"] == "message" and "ct" in entry["body"]:
            envelope = entry["body"]
            sender = _sender_key(data, entry, envelope["header"]["sender_device"])
            payload = open_envelope(envelope, keys[envelope["header"]["epoch"]], sender)
            item["payload"] = payload
            for attachment in payload.get("files", []):
                blob = blobs[attachment["blob"]]
                if b64u(hashlib.sha256(blob).digest()) != attachment["sha256"]:
                    raise ValueError(f"blob {attachment['blob']} does not match its SHA-256")
                content = decrypt_file(unb64u(attachment["key"]), blob)
                path = f"files/{attachment['blob']}/{_safe_name(attachment['name'])}"
                files[path] = content
                listed.append(_file(path, content, attachment))
        items.append(item)
    return items, files, listed


def _file(path: str, content: bytes, attachment: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        "path": path,
        "sha256": b64u(hashlib.sha256(content).digest()),
        "blob": attachment["blob"] if attachment else path.split("/")[1].removesuffix(".blob"),
        "blob_sha256": attachment["sha256"] if attachment else b64u(hashlib.sha256(content).digest()),
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
        items, files, listed = _decrypt_items(data, epoch_keys(data, records_key), blobs)
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


def open_bundle(data: bytes, records_key: RecordsKey) -> Bundle:
    """Decrypt a ciphertext-only bundle with the authority's records key (for ``record open``)."""
    bundle = read_bundle(data)
    source = {"items": bundle.items, "devices": bundle.manifest["devices"], "identities": bundle.manifest["identities"]}
    blobs = {path.split("/")[1].removesuffix(".blob"): content for path, content in bundle.files.items()}
    items, files, _ = _decrypt_items(source, epoch_keys(source, records_key), blobs)
    return Bundle(bundle.manifest, items, files, render_html(bundle.manifest, items))
