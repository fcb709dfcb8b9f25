"""``manage.py demo`` makes both records keys so that threads can be opened at once."""

import io

import pytest
from django.core.management import call_command

from consult.client import Identity, RecordsCertificate, RecordsKey, public_key_from_b64u
from consult.management.commands.demo import DEMO_RECORDS_PASSPHRASE, DEMO_RECOVERY_PASSPHRASE
from consult.models import IdentityKey
from consult.models import RecordsKey as StoredRecordsKey

pytestmark = pytest.mark.django_db


def test_demo__records_keys_certified_and_wrapped_under_the_printed_passphrase() -> None:
    """Both central authorities get one records key, certified by their supervisor, openable offline."""
    out = io.StringIO()
    call_command("demo", stdout=out)
    keys = {k.authority.code: k for k in StoredRecordsKey.objects.select_related("authority", "certified_by")}
    assert set(keys) == {"FR-MJ", "DE-BFJ"}
    for code, key in keys.items():
        assert key.certified_by.role == "supervisor"
        identity = IdentityKey.objects.get(user=key.certified_by)
        Identity.unwrap(str(key.certified_by.pk), identity.identity_wrapped, DEMO_RECOVERY_PASSPHRASE)
        certificate = RecordsCertificate(code, str(key.certified_by.pk), key.dh_public, key.certificate)
        assert certificate.verify(public_key_from_b64u(identity.identity_public))
        assert key.wrapped is not None
        assert RecordsKey.unwrap(code, key.wrapped, DEMO_RECORDS_PASSPHRASE).public == key.dh_public
    assert DEMO_RECORDS_PASSPHRASE in out.getvalue() and DEMO_RECOVERY_PASSPHRASE in out.getvalue()
    call_command("demo", stdout=io.StringIO())  # a second run keeps the keys
    assert StoredRecordsKey.objects.count() == 2
