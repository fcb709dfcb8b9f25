"""Storing and serving encrypted file blobs (DESIGN §4 "Files", §7).

The upload is streamed to a temporary file beside its final place while its
SHA-256 and size are computed, so a 50 MiB blob never sits in memory and a
refused upload leaves nothing behind. The bytes are never opened: the key
travels inside the (encrypted) message payload.
"""

import hashlib
import os
import stat
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from django.db import transaction
from django.db.models import QuerySet

from consult.actions.exports import access_record
from consult.actions.threads import end_due_memberships
from consult.conf import comity_settings
from consult.exceptions import BadInput, NotFound, TooLarge
from consult.lib import envelopes as check
from consult.lib.access import access_thread_member
from consult.lib.crypto import b64u
from consult.models import Blob, Membership, User

READ_CHUNK = 1024 * 1024
UPLOAD_PREFIX = ".upload-"
# Far longer than any upload takes, so a file being written or just renamed
# into place (its row about to commit) is never taken for a stray one.
STRAY_AFTER = timedelta(days=1)


def blob_dir() -> Path:
    path = Path(comity_settings.COMITY_BLOB_DIR)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def blob_path(blob_id: uuid.UUID | str) -> Path:
    return blob_dir() / uuid.UUID(str(blob_id)).hex


def _copy_limited(stream: BinaryIO, target: BinaryIO, limit: int) -> tuple[int, str]:
    """Copy at most ``limit`` bytes; return the size and base64url SHA-256."""
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"Files are at most {limit} bytes once encrypted.")
        digest.update(chunk)
        target.write(chunk)
    return size, b64u(digest.digest())


def check_store_blob(user: User, thread_id: str, sha256: str, stream: BinaryIO, declared_size: int | None) -> Blob:
    """Store an uploaded ciphertext for a thread ``user`` is a member of.

    Args:
        user: the uploader; must be a current member of the thread.
        thread_id: the thread the file is for.
        sha256: the base64url SHA-256 the client computed over the blob.
        stream: the request body.
        declared_size: the request's Content-Length, refused early when over the limit.

    Raises:
        NotFound: not a member (or no such thread).
        TooLarge: over ``COMITY_MAX_BLOB_BYTES``.
        BadInput: an empty body, a malformed hash, or one that does not match.
    """
    thread = access_thread_member(user, check.uuid_text(thread_id, "thread"))
    check.binary(sha256, "sha256", 32)
    limit = comity_settings.COMITY_MAX_BLOB_BYTES
    if declared_size is not None and declared_size > limit:
        raise TooLarge(f"Files are at most {limit} bytes once encrypted.")
    blob_id = uuid.uuid4()
    final = blob_path(blob_id)
    handle, temporary = tempfile.mkstemp(dir=final.parent, prefix=UPLOAD_PREFIX)
    try:
        with os.fdopen(handle, "wb") as target:
            size, actual = _copy_limited(stream, target, limit)
        if size < check.IV_BYTES + check.TAG_BYTES:
            raise BadInput("An encrypted file holds at least one chunk header and tag.")
        if actual != sha256:
            raise check.fail("sha256", "does not match the uploaded bytes")
        with transaction.atomic():
            blob = Blob.objects.create(id=blob_id, thread=thread, uploaded_by=user, size=size, sha256=sha256)
            os.replace(temporary, final)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return blob


def access_blob(user: User, blob_id: str) -> Blob:
    """A blob of a thread ``user`` is a current member of, or may export; outsiders get 404.

    Supervisors of the case's two authorities may export the thread's record
    (:func:`~consult.actions.exports.access_record`), and their browser fetches
    every blob of it to decrypt the attachments.
    """
    try:
        key = uuid.UUID(blob_id)
    except ValueError:
        raise NotFound from None
    blob = Blob.objects.filter(pk=key).first()
    if blob is None:
        raise NotFound
    end_due_memberships(blob.thread_id)
    if not Membership.objects.filter(thread_id=blob.thread_id, user=user, ended_at__isnull=True).exists():
        access_record(user, str(blob.thread_id))  # NotFound unless an exporting supervisor
    return blob


def read_blob(blob: Blob) -> bytes:
    """The stored ciphertext; :class:`NotFound` if a purge removed it since ``blob`` was read.

    A retention purge deletes the files once its transaction commits, so a
    download that found the row just before may find no file: that is the
    answer it would have had a moment later.
    """
    try:
        return blob_path(blob.pk).read_bytes()
    except FileNotFoundError:
        raise NotFound from None


def _stray_candidates(older_than: float) -> Iterator[Path]:
    """Uploads cut off midway, and files named as blobs: both last written before ``older_than``."""
    for path in blob_dir().iterdir():
        named_as_blob = len(path.name) == 32 and all(c in "0123456789abcdef" for c in path.name)
        if not (named_as_blob or path.name.startswith(UPLOAD_PREFIX)):
            continue
        try:
            written = path.lstat()
        except FileNotFoundError:  # deleted meanwhile (a purge committing, a failed upload cleaning up)
            continue
        if stat.S_ISREG(written.st_mode) and written.st_mtime < older_than:
            yield path


def do_sweep_stray_files() -> int:
    """Delete what the blob folder holds that no blob row names; return how many files.

    An upload cut off by a crash leaves its ``.upload-*`` file, and one whose
    transaction failed after the rename leaves a blob file without a row.
    Neither can be read by anyone. Run daily, with the retention purge.
    """
    removed = 0
    older_than = time.time() - STRAY_AFTER.total_seconds()
    for path in _stray_candidates(older_than):
        if path.name.startswith(UPLOAD_PREFIX) or not Blob.objects.filter(pk=uuid.UUID(path.name)).exists():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def do_delete_blobs(blobs: "QuerySet[Blob]") -> None:
    """Delete the rows now and their files once the transaction commits: one that rolls back keeps every file."""
    paths = [blob_path(pk) for pk in blobs.values_list("pk", flat=True)]
    blobs.delete()

    def delete_files() -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    transaction.on_commit(delete_files)
