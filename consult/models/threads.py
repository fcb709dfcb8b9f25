"""Case threads and who is in them (DESIGN §1, §4)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Thread(models.Model):
    """A consultation thread of a case, with the head of its record.

    The row is the lock every writer of the thread takes (``select_for_update``)
    so that ``seq`` stays gapless and the chain never forks across workers.
    """

    class History(models.TextChoices):
        SHARED = "shared", _("Newcomers read earlier messages")
        FROM_JOIN = "from_join", _("Newcomers read from when they join")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)  # chosen by the creating client
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="threads")
    subject = models.CharField(max_length=200)
    history = models.CharField(max_length=16, choices=History.choices)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # The record's head.
    head_seq = models.PositiveBigIntegerField(default=0)
    head_hash = models.BinaryField(max_length=32)
    # Epochs: ``epoch`` is the newest with a key package; messages under an
    # epoch below ``min_epoch`` are stale (after a removal, expiry, ...).
    epoch = models.PositiveIntegerField(default=0)
    min_epoch = models.PositiveIntegerField(default=1)
    epoch_seq = models.PositiveBigIntegerField(default=0)  # seq of the current epoch's package
    epoch_started_at = models.DateTimeField(null=True, blank=True)
    epoch_messages = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]


class Membership(models.Model):
    """A user's time in a thread: from the entry that added them to the one that ended it."""

    class End(models.TextChoices):
        REMOVED = "removed"
        LEFT = "left"
        EXPIRED = "expired"
        REVOKED = "revoked"

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    joined_seq = models.PositiveBigIntegerField()
    expires_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_seq = models.PositiveBigIntegerField(null=True, blank=True)  # the entry that ended it
    end_reason = models.CharField(max_length=16, choices=End.choices, blank=True)
    read_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["thread", "user"], condition=Q(ended_at__isnull=True), name="one_membership"
            )
        ]
        indexes = [models.Index(fields=["expires_at"], condition=Q(ended_at__isnull=True), name="open_expiring")]
