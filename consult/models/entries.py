"""The record: every accepted item of a thread, hash-chained and server-signed (DESIGN §5)."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Entry(models.Model):
    """One entry. ``canonical`` is the exact canonical JSON that was hashed.

    Stored as text so that serving an entry never re-serialises it: the bytes a
    client hashes are the bytes the server hashed.
    """

    # No index of its own: the (thread, seq) constraint's index serves every
    # lookup by thread, and each index is one more write per message.
    thread = models.ForeignKey("consult.Thread", on_delete=models.CASCADE, related_name="entries", db_index=False)
    seq = models.PositiveBigIntegerField()
    at = models.DateTimeField()
    kind = models.CharField(max_length=16)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    actor_device = models.CharField(max_length=22, null=True)  # noqa: DJ001 - null: the server acted
    epoch = models.PositiveIntegerField(null=True)
    client_id = models.UUIDField(null=True)
    canonical = models.TextField()
    digest = models.BinaryField(max_length=32)  # SHA-256(canonical): kept if content is ever purged
    purged_at = models.DateTimeField(null=True, blank=True)  # the envelope's ct was dropped under retention
    hash = models.BinaryField(max_length=32)
    server_sig = models.BinaryField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "seq"], name="entry_seq_once"),
            models.UniqueConstraint(
                fields=["thread", "client_id"], condition=Q(client_id__isnull=False), name="entry_client_id_once"
            ),
        ]
        indexes = [models.Index(fields=["thread", "kind", "seq"])]


class BackupWrap(models.Model):
    """An epoch key wrapped to its user's backup key, stored by one of their devices."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey("consult.Thread", on_delete=models.CASCADE, related_name="+")
    epoch = models.PositiveIntegerField()
    eph = models.CharField(max_length=87)
    iv = models.CharField(max_length=16)
    ct = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "thread", "epoch"], name="backup_wrap_once")]
