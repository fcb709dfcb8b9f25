"""The Python reference client of protocol ``comity/v1`` (DESIGN §4-§5).

Used by tests, benchmarks and operators' scripts to speak the protocol
exactly as the browser does: keys and certificates (:mod:`.keys`), signed
objects (:mod:`.objects`), key packages (:mod:`.packages`), message
envelopes (:mod:`.envelopes`) and the record's hash chain (:mod:`.chain`).
"""

from consult.client.chain import ChainHead, ChainWriter, format_timestamp, verify_chain
from consult.client.envelopes import make_payload, open_envelope, seal_envelope, verify_envelope
from consult.client.errors import ChainError, ClientError, VerificationError
from consult.client.keys import (
    BackupKey,
    Device,
    DeviceCertificate,
    Identity,
    Recipient,
    RecordsCertificate,
    RecordsKey,
    public_key_from_b64u,
)
from consult.client.objects import (
    build_acknowledgement,
    build_membership_change,
    build_thread_creation,
    check_signed_object,
    new_thread_id,
    sign_object,
    verify_signed_object,
)
from consult.client.packages import build_key_package, new_epoch_key, open_key_package

__all__ = [
    "BackupKey",
    "ChainError",
    "ChainHead",
    "ChainWriter",
    "ClientError",
    "Device",
    "DeviceCertificate",
    "Identity",
    "Recipient",
    "RecordsCertificate",
    "RecordsKey",
    "VerificationError",
    "build_acknowledgement",
    "build_key_package",
    "build_membership_change",
    "build_thread_creation",
    "check_signed_object",
    "format_timestamp",
    "make_payload",
    "new_epoch_key",
    "new_thread_id",
    "open_envelope",
    "open_key_package",
    "public_key_from_b64u",
    "seal_envelope",
    "sign_object",
    "verify_chain",
    "verify_envelope",
    "verify_signed_object",
]
