from consult.models.auth import AuthFailure, EnrolmentToken
from consult.models.blobs import Blob
from consult.models.devices import Device, DeviceSession, IdentityKey, RecordsKey, ReplacedIdentity
from consult.models.entries import BackupWrap, Entry
from consult.models.people import Authority, User
from consult.models.retention import LegalHold
from consult.models.threads import Membership, Thread

__all__ = [
    "AuthFailure",
    "Authority",
    "BackupWrap",
    "Blob",
    "Device",
    "DeviceSession",
    "EnrolmentToken",
    "Entry",
    "IdentityKey",
    "LegalHold",
    "Membership",
    "RecordsKey",
    "ReplacedIdentity",
    "Thread",
    "User",
]
