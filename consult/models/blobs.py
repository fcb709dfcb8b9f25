"""Encrypted file blobs (DESIGN §4 "Files", §7 "POST blobs").

A blob is the ciphertext of one attachment, uploaded before the message that
carries its key. The server stores the bytes as they came, checks their
SHA-256 against what the uploader announced, and serves them to members of
the thread only. File names, types and keys travel inside the encrypted
payload: the server knows a blob's size, thread and uploader, nothing more.
"""

import uuid

from django.conf import settings
from django.db import models


class Blob(models.Model):
    """One uploaded ciphertext, kept as a file named by its id under ``COMITY_BLOB_DIR``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    thread = models.ForeignKey("consult.Thread", on_delete=models.PROTECT, related_name="blobs")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=43)  # base64url, as the payload's "sha256"
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["thread", "created_at"])]
