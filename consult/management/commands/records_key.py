"""``records_key``: make an authority's records key off-line and publish its public half (DESIGN §4).

For authorities that keep the records key off the browser: the supervisor runs
this on a machine they trust. Their identity key (published, passphrase-wrapped)
is unwrapped here with their recovery passphrase to certify the new key; the
private key goes to a file readable by its owner only, and optionally also to
the server wrapped under a records passphrase so other supervisors can unlock
it in the browser. Publishing a new key retires the previous one.
"""

import getpass
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from django.core.management.base import BaseCommand, CommandError, CommandParser

from consult.actions.devices import check_publish_records_key
from consult.client import Identity, RecordsKey
from consult.exceptions import ComityError
from consult.lib.protocol import fingerprint_digits
from consult.models import IdentityKey, User


def _secret(path: Path | None, prompt: str) -> str:
    return path.read_text().strip() if path else getpass.getpass(prompt)


class Command(BaseCommand):
    help = "Generate an authority's records key to a file and publish its certified public half."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["generate"])
        parser.add_argument("--supervisor", required=True, help="e-mail of the certifying supervisor")
        parser.add_argument("--out", type=Path, required=True, help="where to write the private key (PEM)")
        parser.add_argument("--passphrase-file", type=Path, help="the supervisor's recovery passphrase")
        parser.add_argument(
            "--records-passphrase-file", type=Path, help="also store the key on the server, wrapped under this"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        supervisor = User.objects.filter(email=options["supervisor"].lower(), role=User.Role.SUPERVISOR).first()
        if supervisor is None or supervisor.authority is None:
            raise CommandError("No supervisor with that e-mail address.")
        published = IdentityKey.objects.filter(user=supervisor).first()
        if published is None:
            raise CommandError("The supervisor has no identity key yet: sign in once in the browser first.")
        if options["out"].exists():
            raise CommandError(f"{options['out']} exists: refusing to overwrite a key.")
        passphrase = _secret(options["passphrase_file"], "Supervisor's recovery passphrase: ")
        try:
            identity = Identity.unwrap(str(supervisor.pk), published.identity_wrapped, passphrase)
        except Exception:
            raise CommandError("The recovery passphrase does not unlock the supervisor's identity key.") from None
        authority = supervisor.authority
        records = RecordsKey.generate(authority.code)
        wrapped = None
        if options["records_passphrase_file"]:
            wrapped = records.wrap(_secret(options["records_passphrase_file"], ""))
        self._write_private_key(options["out"], records)
        try:
            check_publish_records_key(
                supervisor, authority, {**identity.certify_records_key(records).to_json(), "wrapped": wrapped}
            )
        except ComityError as exc:
            options["out"].unlink()
            raise CommandError(f"The server refused the key: {exc.detail}") from None
        self.stdout.write(
            self.style.SUCCESS(f"Records key of {authority.code} published; private key in {options['out']}")
        )
        self.stdout.write(f"Public key  {records.public}")
        self.stdout.write(f"Fingerprint {fingerprint_digits(records.public_bytes)}")

    @staticmethod
    def _write_private_key(path: Path, records: RecordsKey) -> None:
        pem = records.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            handle.write(pem)
