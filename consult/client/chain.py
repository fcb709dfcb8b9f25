"""The record's hash chain: verifying it, and writing one for tests (DESIGN §5).

::

    hash_0       = SHA-256("comity/v1/genesis:" + T)
    hash_n       = SHA-256(hash_{n-1} ‖ SHA-256(canonical(entry_n)))
    server_sig_n = ECDSA(server key, canonical({"hash":b64u(hash_n),"seq":n,"thread":T}))

A chain item is what the server sends per entry (the WebSocket ``entry``
frame or a row of ``GET threads/{id}/entries``):
``{"seq":n, "entry":{...}, "hash":b64u, "server_sig":b64u}``.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from consult.client.errors import ChainError
from consult.lib.canonical import CanonicalJSONError
from consult.lib.crypto import CryptoError, b64u, ecdsa_sign, ecdsa_verify, public_key_bytes, sha256, unb64u
from consult.lib.protocol import genesis_hash, link_hash, server_signed_bytes

__all__ = ["ChainHead", "ChainWriter", "format_timestamp", "verify_chain"]


@dataclass(frozen=True)
class ChainHead:
    """The last verified position of a thread's chain (``seq`` 0 is genesis)."""

    seq: int
    hash: bytes

    @classmethod
    def genesis(cls, thread: str) -> "ChainHead":
        """The head before the first entry."""
        return cls(0, genesis_hash(thread))


def verify_chain(
    thread: str,
    items: Iterable[Mapping[str, Any]],
    server_key: ec.EllipticCurvePublicKey,
    *,
    after: ChainHead | None = None,
) -> ChainHead:
    """Recompute every link and check every server signature, in order.

    Args:
        thread: the thread the items must belong to.
        items: chain items in ``seq`` order, starting right after ``after``.
        server_key: the server's public key (pinned by the thread creation).
        after: a head verified earlier to resume from; genesis if ``None``.

    Returns:
        The new head (unchanged if ``items`` is empty).

    Raises:
        ChainError: naming the first ``seq`` whose entry is missing, out of
            order, of another thread, altered, or not signed by the server,
            or whose thread creation pins another server key.
    """
    head = after or ChainHead.genesis(thread)
    for item in items:
        head = _verify_item(thread, head, item, server_key)
    return head


def _verify_item(
    thread: str, head: ChainHead, item: Mapping[str, Any], server_key: ec.EllipticCurvePublicKey
) -> ChainHead:
    """Verify one item as the successor of ``head``; return the new head."""
    seq = head.seq + 1
    entry = item.get("entry")
    if not isinstance(entry, dict):
        raise ChainError(seq, "item has no entry object")
    given = entry.get("seq")
    if type(given) is not int or given != seq or item.get("seq", seq) != seq:
        raise ChainError(seq, f"expected seq {seq}, got {given!r} (gap or reorder)")
    if entry.get("thread") != thread:
        raise ChainError(seq, "entry belongs to another thread")
    try:
        computed = _link(head.hash, entry, item.get("digest"), seq)
        claimed = unb64u(item.get("hash", ""))
        signature = unb64u(item.get("server_sig", ""))
    except (CryptoError, CanonicalJSONError) as exc:
        raise ChainError(seq, f"malformed item: {exc}") from exc
    if claimed != computed:
        raise ChainError(seq, "hash does not match the entry and its predecessor")
    if not ecdsa_verify(server_key, signature, server_signed_bytes(thread, seq, computed)):
        raise ChainError(seq, "server signature does not verify")
    # The thread creation pins the server key (DESIGN §4): a history re-signed
    # with another key fails here when ``server_key`` was known beforehand. A
    # caller that took the key from the server itself must also check the
    # creation's device signature (as the browser and the bundle verifier do),
    # since a forger would rewrite the pin too.
    body = entry.get("body")
    if entry.get("kind") == "create" and (
        not isinstance(body, dict) or body.get("server_key") != b64u(public_key_bytes(server_key))
    ):
        raise ChainError(seq, "the thread creation pins a different server key")
    return ChainHead(seq, computed)


def _link(previous: bytes, entry: Mapping[str, Any], digest: Any, seq: int) -> bytes:
    """The chain hash; a purged message (no ``ct``) links through the digest it was written with."""
    if digest is None:
        return link_hash(previous, entry)
    body = entry.get("body")
    if entry.get("kind") != "message" or not isinstance(body, dict) or "ct" in body:
        raise ChainError(seq, "a digest is given for an entry whose content is not purged")
    raw = unb64u(digest)
    if len(raw) != 32:
        raise ChainError(seq, "the digest is not a SHA-256")
    return sha256(previous + raw)


def format_timestamp(moment: datetime) -> str:
    """An entry's ``at``: UTC, millisecond precision, ``Z`` suffix (DESIGN §5)."""
    if moment.tzinfo is None:
        raise ValueError("aware datetimes only")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class ChainWriter:
    """Appends signed entries as the server does — for tests, benchmarks and tools.

    Not the server's write path (that lives in ``consult.actions``); it
    produces the same bytes so clients can be exercised without a server.
    """

    def __init__(self, thread: str, server_key: ec.EllipticCurvePrivateKey, head: ChainHead | None = None) -> None:
        """Start a chain for ``thread`` at genesis, or continue from ``head``."""
        self.thread = thread
        self.server_key = server_key
        self.head = head or ChainHead.genesis(thread)

    def append(
        self,
        kind: str,
        body: Any,
        *,
        user: str | None = None,
        device: str | None = None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """Append one entry; return its chain item ``{"seq","entry","hash","server_sig"}``."""
        seq = self.head.seq + 1
        entry = {
            "thread": self.thread,
            "seq": seq,
            "at": format_timestamp(at or datetime.now(UTC)),
            "kind": kind,
            "actor": {"user": user, "device": device},
            "body": body,
        }
        hash_ = link_hash(self.head.hash, entry)
        signature = ecdsa_sign(self.server_key, server_signed_bytes(self.thread, seq, hash_))
        self.head = ChainHead(seq, hash_)
        return {"seq": seq, "entry": entry, "hash": b64u(hash_), "server_sig": b64u(signature)}
