"""Sign-in bookkeeping: failed attempts and single-use enrolment links."""

import hashlib

from django.conf import settings
from django.db import models


class AuthFailure(models.Model):
    """One failed password or second-factor attempt (never the secret tried)."""

    class Kind(models.TextChoices):
        PASSWORD = "password"  # noqa: S105 - a kind of failure, not a secret
        OTP = "otp"
        LOCKED = "locked"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="auth_failures"
    )
    account = models.CharField(max_length=254, help_text="E-mail address as typed")
    ip = models.GenericIPAddressField(null=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["user", "at"])]


class EnrolmentToken(models.Model):
    """A single-use, expiring link to set a password and enrol a second factor.

    Only the SHA-256 of the token is stored, so a database dump yields no
    usable link.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
