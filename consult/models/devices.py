"""Public keys the server holds: identities, devices, records keys (DESIGN §4).

Private keys reach the server only wrapped under a passphrase the server
never sees. Binary values are kept as the base64url text the protocol uses,
so what a client uploaded is what another client downloads.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class IdentityKey(models.Model):
    """A user's identity (ECDSA) and backup (ECDH) keys, with their wrapped backups."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="identity"
    )
    identity_public = models.CharField(max_length=87)
    backup_public = models.CharField(max_length=87)
    identity_wrapped = models.JSONField()
    backup_wrapped = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)


class ReplacedIdentity(models.Model):
    """An identity key its user replaced by starting over, vouched for by the key that replaced it.

    Devices the old key certified signed parts of the record (a thread's
    creation, membership changes, key packages); clients check their
    certificates against the old key only when this chain of signatures leads
    back to it from the user's current identity (docs/protocol.md).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="replaced_identities")
    identity_public = models.CharField(max_length=87)
    successor_public = models.CharField(max_length=87)
    successor_sig = models.CharField(max_length=86)  # the successor's signature over protocol.succession_bytes
    replaced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user", "replaced_at"])]


class Device(models.Model):
    """A browser (or reference client) of a user, certified by the user's identity."""

    id = models.CharField(primary_key=True, max_length=22)  # 16 random bytes, base64url
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devices")
    dh_public = models.CharField(max_length=87)
    sig_public = models.CharField(max_length=87)
    certificate = models.CharField(max_length=86)  # identity signature over the canonical certificate
    # The identity key that signed the certificate: identities can be replaced,
    # and an exported record must still verify devices certified by an old one.
    identity_public = models.CharField(max_length=87, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"])]


class DeviceSession(models.Model):
    """A sign-in session that acted as a device: revoking the device ends the session.

    Revocation is for a lost or handed-back browser. Closing its sockets is
    not enough: its session could still read new entries over HTTP and fetch
    the epoch-key wraps to the backup key, whose private half that browser
    holds.
    """

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="sessions")
    session = models.ForeignKey("sessions.Session", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "session"], name="device_session_once")]


class RecordsKey(models.Model):
    """An authority's records key: recipient ``records:<code>`` of every package."""

    authority = models.ForeignKey("consult.Authority", on_delete=models.CASCADE, related_name="records_keys")
    dh_public = models.CharField(max_length=87)
    certified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    certificate = models.CharField(max_length=86)
    wrapped = models.JSONField(null=True, blank=True)  # absent for keys kept off-line
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["authority"], condition=Q(retired_at__isnull=True), name="one_current_records_key"
            )
        ]
