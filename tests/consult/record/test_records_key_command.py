"""``records_key generate``: an off-line records key, certified and published (DESIGN §4)."""

import io
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.management import CommandError, call_command

from consult.actions.devices import check_publish_identity, current_records_key
from consult.client import BackupKey, Identity
from consult.lib.crypto import b64u, public_key_bytes
from consult.models import User
from tests.helpers import make_authority, make_user

pytestmark = pytest.mark.django_db
PASSPHRASE = "correct horse battery staple supervisor"


@pytest.fixture
def supervisor(tmp_path: Path) -> User:
    user = make_user(make_authority("FR-MJ"), User.Role.SUPERVISOR, email="head@fr-mj.example")
    identity, backup = Identity.generate(str(user.pk)), BackupKey.generate(str(user.pk))
    check_publish_identity(user, {
        "identity": identity.public, "backup": backup.public,
        "identity_wrapped": identity.wrap(PASSPHRASE), "backup_wrapped": backup.wrap(PASSPHRASE),
    })  # fmt: skip
    (tmp_path / "pass").write_text(PASSPHRASE)
    return user


def test_records_key__generated_to_a_private_file_and_published(supervisor: User, tmp_path: Path) -> None:
    out = tmp_path / "keys" / "fr-mj.pem"
    call_command("records_key", "generate", "--supervisor", supervisor.email, "--out", str(out),
                 "--passphrase-file", str(tmp_path / "pass"), stdout=io.StringIO())  # fmt: skip
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    private = serialization.load_pem_private_key(out.read_bytes(), password=None)
    published = current_records_key(supervisor.authority_id)  # type: ignore[arg-type]
    assert published is not None and published.wrapped is None
    assert published.dh_public == b64u(public_key_bytes(private.public_key()))  # type: ignore[arg-type]


def test_records_key__rotation_retires_the_previous_key(supervisor: User, tmp_path: Path) -> None:
    for name in ("one.pem", "two.pem"):
        call_command("records_key", "generate", "--supervisor", supervisor.email, "--out", str(tmp_path / name),
                     "--passphrase-file", str(tmp_path / "pass"), stdout=io.StringIO())  # fmt: skip
    assert supervisor.authority.records_keys.filter(retired_at__isnull=False).count() == 1  # type: ignore[union-attr]


def test_records_key__wrong_passphrase_changes_nothing(supervisor: User, tmp_path: Path) -> None:
    (tmp_path / "wrong").write_text("not the passphrase")
    with pytest.raises(CommandError, match="does not unlock"):
        call_command("records_key", "generate", "--supervisor", supervisor.email, "--out", str(tmp_path / "k.pem"),
                     "--passphrase-file", str(tmp_path / "wrong"), stdout=io.StringIO())  # fmt: skip
    assert not (tmp_path / "k.pem").exists()
    assert current_records_key(supervisor.authority_id) is None  # type: ignore[arg-type]
