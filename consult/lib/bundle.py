"""The exported record, ``comity-record/v1`` (DESIGN §5), and its offline verification.

A bundle is one ZIP::

    manifest.json   case, thread, members over time, identities, device and
                    records-key certificates, server key, head, files, the
                    digests of entries.jsonl and record.html, exporter and
                    time; signed by the exporter's device
    entries.jsonl   one chain item per line: {"seq","entry","hash","server_sig",
                    "payload"?, "digest"?}  ("digest" only where content was purged)
    files/…         attachments: decrypted (plaintext bundle) or as blobs
    record.html     a self-contained rendering, with no script

:func:`verify_bundle` trusts nothing in the ZIP but the server key pinned by
the thread's creation and the identity keys it names (whose fingerprints the
reader compares out of band); it raises :class:`BundleError` at the first break.
"""

import hashlib
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from consult.lib.canonical import CanonicalJSONError, canonical_json, parse_json
from consult.lib.crypto import CryptoError, b64u, ecdsa_verify, load_public_key, sha256, unb64u
from consult.lib.protocol import (
    device_certificate_bytes,
    envelope_signed_bytes,
    genesis_hash,
    records_certificate_bytes,
    server_signed_bytes,
    signed_object_bytes,
)

FORMAT = "comity-record/v1"
DIGESTED = ("entries.jsonl", "record.html")  # what a reader is shown beside the chain, covered by the manifest
SIGNED_KINDS = {"create": "sender_device", "keys": "sender_device", "member": "sender_device", "receipt": "device"}


class BundleError(Exception):
    """The first thing in a bundle that does not verify."""


@dataclass
class Bundle:
    manifest: dict[str, Any]
    items: list[dict[str, Any]]
    files: dict[str, bytes]
    html: str | None = None
    digests: dict[str, str] = field(default_factory=dict)  # of DIGESTED as read from the ZIP


@dataclass
class Summary:
    entries: int = 0
    first_at: str | None = None
    last_at: str | None = None
    members: list[str] = field(default_factory=list)
    head: tuple[int, str] = (0, "")
    acknowledgements: list[str] = field(default_factory=list)
    files: int = 0
    purged: int = 0


def file_digest(content: bytes) -> str:
    """SHA-256, base64url: how the manifest names a file's content."""
    return b64u(hashlib.sha256(content).digest())


def entries_jsonl(items: list[dict[str, Any]]) -> bytes:
    """``entries.jsonl`` as an exporter writes it: one canonical JSON item a line."""
    return b"\n".join(canonical_json(i) for i in items) + b"\n"


def read_bundle(data: bytes) -> Bundle:
    """Parse a bundle ZIP; raises :class:`BundleError` if it is not one."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        manifest = parse_json(archive.read("manifest.json"))
        lines = archive.read("entries.jsonl").decode().splitlines()
        items = [parse_json(line) for line in lines if line.strip()]
        files = {n: archive.read(n) for n in archive.namelist() if n.startswith("files/") and not n.endswith("/")}
        html = archive.read("record.html").decode() if "record.html" in archive.namelist() else None
        digests = {name: file_digest(archive.read(name)) for name in DIGESTED if name in archive.namelist()}
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, CanonicalJSONError) as exc:
        raise BundleError(f"not a {FORMAT} bundle: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"manifest.json is not {FORMAT}")
    return Bundle(manifest, items, files, html, digests)


def write_bundle(bundle: Bundle) -> bytes:
    """The ZIP bytes of a bundle (entries as canonical JSON lines)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", canonical_json(bundle.manifest))
        archive.writestr("entries.jsonl", entries_jsonl(bundle.items))
        for name, content in sorted(bundle.files.items()):
            archive.writestr(name, content)
        if bundle.html is not None:
            archive.writestr("record.html", bundle.html)
    return out.getvalue()


def _key(text: Any, what: str) -> Any:
    try:
        return load_public_key(unb64u(text))
    except (CryptoError, ValueError, TypeError):
        raise BundleError(f"{what} is not a P-256 public key") from None


def _signed(signature: Any, data: bytes, public: str, what: str) -> None:
    try:
        raw = unb64u(signature)
    except (CryptoError, TypeError):
        raise BundleError(f"{what}: signature is not base64url") from None
    if not ecdsa_verify(_key(public, what), raw, data):
        raise BundleError(f"{what}: signature does not verify")


def _device_key(manifest: Mapping[str, Any], device: Any, user: Any, where: str) -> str:
    """The signing key of ``device``, after checking its certificate by ``user``'s identity."""
    cert = manifest.get("devices", {}).get(device)
    if not isinstance(cert, dict) or cert.get("identity") not in (manifest.get("identities", {}).get(user) or []):
        raise BundleError(f"{where}: no certificate for device {device} by an identity of user {user}")
    identity = cert["identity"]
    if cert.get("user") != user or cert.get("device") != device:
        raise BundleError(f"{where}: the certificate of device {device} names someone else")
    try:
        signed = device_certificate_bytes(user, device, cert["dh"], cert["sig"])
    except (KeyError, CanonicalJSONError):
        raise BundleError(f"{where}: malformed certificate for device {device}") from None
    _signed(cert.get("certificate"), signed, identity, f"{where}: certificate of device {device}")
    return str(cert["sig"])


def signing_key(manifest: Mapping[str, Any], entry: Mapping[str, Any], device: Any, where: str) -> str:
    """The key of ``device``, which signed ``entry``'s body: the entry's own actor device, certified
    by its actor's identity. The server records who sent what; a signature by any other device
    would show one member's words as another's (or as coming from a browser that did not send them)."""
    actor = entry.get("actor") or {}
    if device != actor.get("device"):
        raise BundleError(f"{where}: signed by device {device}, not by the entry's actor device {actor.get('device')}")
    return _device_key(manifest, device, actor.get("user"), where)


def _check_entry_signature(manifest: Mapping[str, Any], seq: int, entry: Mapping[str, Any], purged: bool) -> None:
    kind, body = entry.get("kind"), entry.get("body")
    where = f"entry {seq} ({kind})"
    if not isinstance(body, dict):
        return
    if kind == "message":
        if purged:
            return  # the signed ciphertext is gone; the chain still binds the entry
        header = body.get("header") or {}
        key = signing_key(manifest, entry, header.get("sender_device"), where)
        _signed(body.get("sig"), envelope_signed_bytes(body), key, where)
    elif kind in SIGNED_KINDS:
        key = signing_key(manifest, entry, body.get(SIGNED_KINDS[kind]), where)
        _signed(body.get("sig"), signed_object_bytes(body), key, where)


def _verify_chain(bundle: Bundle, summary: Summary) -> dict[int, str]:
    """Links, server signatures, device signatures; returns each seq's hash."""
    manifest, thread = bundle.manifest, str(bundle.manifest.get("thread", {}).get("id"))
    server_key = str(manifest.get("server_key"))
    previous, hashes = genesis_hash(thread), {}
    purged_seqs: set[int] = set()
    recorded_purges: set[Any] = set()
    for index, item in enumerate(bundle.items, start=1):
        entry = item.get("entry")
        if not isinstance(entry, dict) or entry.get("seq") != index or item.get("seq") != index:
            raise BundleError(f"entry {index}: missing, out of order or renumbered")
        if entry.get("thread") != thread:
            raise BundleError(f"entry {index}: belongs to another thread")
        purged = "digest" in item
        try:
            digest = unb64u(item["digest"]) if purged else sha256(canonical_json(entry))
            claimed, signature = unb64u(str(item.get("hash"))), item.get("server_sig")
        except (CryptoError, CanonicalJSONError, TypeError) as exc:
            raise BundleError(f"entry {index}: malformed ({exc})") from None
        if purged and (entry.get("kind") != "message" or "ct" in (entry.get("body") or {}) or len(digest) != 32):
            # Only a message's content is ever dropped; a digest anywhere else would let the entry be rewritten.
            raise BundleError(f"entry {index}: claims a purge but is not a message whose content is gone")
        computed = sha256(previous + digest)
        if claimed != computed:
            raise BundleError(f"entry {index}: hash does not match its content and predecessor")
        _signed(signature, server_signed_bytes(thread, index, computed), server_key, f"entry {index}: server")
        if index == 1 and (entry.get("kind") != "create" or entry["body"].get("server_key") != server_key):
            raise BundleError("entry 1: the thread creation does not pin this server key")
        _check_entry_signature(manifest, index, entry, purged)
        previous, hashes[index] = computed, b64u(computed)
        summary.purged += purged
        purged_seqs.update([index] if purged else ())
        if entry.get("kind") == "purge" and isinstance(entry.get("body"), dict):
            recorded_purges.add(entry["body"].get("seq"))
        summary.first_at = summary.first_at or entry.get("at")
        summary.last_at = entry.get("at")
    unrecorded = sorted(purged_seqs - recorded_purges)
    if unrecorded:
        # A message without its content and no purge entry for it would hide a rewrite of what remains.
        raise BundleError(f"entry {unrecorded[0]}: its content is gone but no purge entry records that")
    summary.entries = len(bundle.items)
    return hashes


def _verify_receipts(bundle: Bundle, hashes: dict[int, str], summary: Summary) -> None:
    listed = {a.get("seq") for a in bundle.manifest.get("acknowledgements", [])}
    found = set()
    for item in bundle.items:
        entry = item["entry"]
        if entry.get("kind") != "receipt":
            continue
        body, seq = entry["body"], entry["seq"]
        if hashes.get(body.get("seq")) != body.get("hash"):
            raise BundleError(f"entry {seq}: acknowledgement of seq {body.get('seq')} names another hash")
        found.add(seq)
        summary.acknowledgements.append(f"{entry['actor']['user']} up to {body['seq']} (entry {seq})")
    if listed != found:
        raise BundleError(f"manifest lists acknowledgements {sorted(listed)}, the record has {sorted(found)}")


def _verify_files(bundle: Bundle, summary: Summary) -> None:
    for listed in bundle.manifest.get("files", []):
        path = listed.get("path")
        content = bundle.files.get(path)
        if content is None:
            raise BundleError(f"{path}: missing")
        if file_digest(content) != listed.get("sha256"):
            raise BundleError(f"{path}: SHA-256 does not match the manifest (changed or truncated)")
        summary.files += 1
    if set(bundle.files) != {f.get("path") for f in bundle.manifest.get("files", [])}:
        raise BundleError("files/ holds files the manifest does not list")


def _verify_digests(bundle: Bundle) -> None:
    """What a readable bundle shows (payloads, record.html) is not in the chain: the manifest covers it."""
    listed = bundle.manifest.get("digests")
    if not isinstance(listed, dict):
        raise BundleError("manifest: no digests of entries.jsonl and record.html")
    for name in DIGESTED:
        if name not in bundle.digests:
            raise BundleError(f"{name}: missing")
        if bundle.digests[name] != listed.get(name):
            raise BundleError(f"{name}: SHA-256 does not match the manifest (changed or truncated)")


def _verify_end(bundle: Bundle) -> None:
    """The record ends with the export entry of the exporter the manifest names (DESIGN §5):
    an exporter cannot leave out what the thread said after some earlier point."""
    exporter = (bundle.manifest.get("exporter") or {}).get("user")
    last = bundle.items[-1]["entry"]
    actor = (last.get("actor") or {}).get("user")
    if last.get("kind") != "export" or last.get("body") != {"by": exporter, "format": FORMAT} or actor != exporter:
        raise BundleError(
            f"entry {last.get('seq')}: the record does not end with the export entry of its exporter {exporter} "
            f"(this last entry is {last.get('kind')} by {actor})"
        )


def _verify_manifest(bundle: Bundle, hashes: dict[int, str]) -> None:
    manifest = bundle.manifest
    head = manifest.get("head") or {}
    if not hashes or head.get("seq") != max(hashes) or head.get("hash") != hashes[max(hashes)]:
        raise BundleError("manifest: head does not match the last entry")
    exporter = manifest.get("exporter") or {}
    key = _device_key(manifest, exporter.get("device"), exporter.get("user"), "manifest")
    _signed(manifest.get("sig"), signed_object_bytes(manifest), key, "manifest (exporter's signature)")
    for cert in manifest.get("records_keys", []):
        what = f"records key of {cert.get('authority')}"
        try:
            signed = records_certificate_bytes(cert.get("authority"), cert.get("certified_by"), cert.get("dh"))
            signature = unb64u(cert.get("certificate"))
        except (CanonicalJSONError, CryptoError, TypeError):
            raise BundleError(f"{what}: malformed certificate") from None
        identities = manifest.get("identities", {}).get(cert.get("certified_by")) or []
        if not any(ecdsa_verify(_key(i, what), signature, signed) for i in identities):
            raise BundleError(f"{what}: certificate does not verify with the certifier's identity")


def verify_bundle(bundle: Bundle) -> Summary:
    """Check every hash, signature, certificate, acknowledgement and file digest, and the record's end.

    Raises:
        BundleError: naming the first break.
    """
    summary = Summary()
    hashes = _verify_chain(bundle, summary)
    _verify_manifest(bundle, hashes)
    _verify_end(bundle)
    _verify_receipts(bundle, hashes, summary)
    _verify_files(bundle, summary)
    _verify_digests(bundle)
    summary.members = [
        f"{m.get('display_name')} ({m.get('authority')}, {m.get('role')}) from entry {m.get('joined_seq')}"
        + (f" to {m.get('ended_seq')} ({m.get('end_reason')})" if m.get("ended_seq") else "")
        for m in bundle.manifest.get("members", [])
    ]
    summary.head = (max(hashes), hashes[max(hashes)])
    return summary
