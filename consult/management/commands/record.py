"""``record verify FILE`` and ``record open FILE --key KEYFILE…``: the record, offline (DESIGN §5)."""

import getpass
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management.base import BaseCommand, CommandError, CommandParser

from consult.client.keys import RecordsKey
from consult.lib.bundle import BundleError, read_bundle, verify_bundle
from consult.lib.protocol import fingerprint_digits
from consult.lib.record_html import render_pdf


def load_records_key(path: Path, authority: str, passphrase_file: Path | None) -> RecordsKey:
    """A records key from a PEM file, or from its passphrase-wrapped JSON (asking for the passphrase)."""
    raw = path.read_bytes()
    if raw.lstrip().startswith(b"-----BEGIN"):
        key = serialization.load_pem_private_key(raw, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise CommandError(f"{path} is not an EC private key")
        return RecordsKey(private_key=key, authority=authority)
    wrapped = json.loads(raw)
    passphrase = passphrase_file.read_text().strip() if passphrase_file else getpass.getpass("Records passphrase: ")
    try:
        return RecordsKey.unwrap(authority, wrapped, passphrase)
    except Exception as exc:
        raise CommandError(f"cannot unwrap the records key: {exc}") from None


class Command(BaseCommand):
    help = "Verify a comity-record/v1 bundle offline, or open a ciphertext-only one with a records key."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="check every hash, signature, certificate and file digest")
        verify.add_argument("file", type=Path)
        opener = sub.add_parser("open", help="decrypt with the records key; write record.html and record.pdf")
        opener.add_argument("file", type=Path)
        opener.add_argument(
            "--key",
            type=Path,
            action="append",
            required=True,
            help="records key: PEM, or wrapped JSON; repeat for each key (current and retired) the authority had",
        )
        opener.add_argument("--authority", help="authority code of the key (default: the exporter's)")
        opener.add_argument("--passphrase-file", type=Path)
        opener.add_argument("--out", type=Path, help="output folder (default: next to FILE)")

    def handle(self, *args: Any, **options: Any) -> None:
        data = options["file"].read_bytes()
        try:
            bundle = read_bundle(data)
            summary = verify_bundle(bundle)
        except BundleError as exc:
            raise CommandError(f"BROKEN: {exc}") from None
        if options["action"] == "verify":
            self._print_summary(bundle.manifest, summary)
            return
        self._open(data, bundle.manifest, options)

    def _print_summary(self, manifest: dict[str, Any], summary: Any) -> None:
        out = self.stdout
        out.write(self.style.SUCCESS("OK: the record verifies."))
        out.write(f"Thread   {manifest['thread']['id']} — {manifest['thread'].get('subject')}")
        out.write(
            f"Entries  {summary.entries} ({summary.purged} with content purged), "
            f"{summary.first_at} to {summary.last_at}"
        )
        out.write(f"Head     entry {summary.head[0]}, {summary.head[1]}")
        out.write(f"Files    {summary.files}")
        out.write("Members:")
        for member in summary.members:
            out.write(f"  {member}")
        out.write("Acknowledgements:")
        for ack in summary.acknowledgements or ["  (none)"]:
            out.write(f"  {ack}")
        out.write("Identity fingerprints (compare with each person out of band):")
        for user, keys in sorted(manifest.get("identities", {}).items()):
            for key in keys:
                from consult.lib.crypto import unb64u

                out.write(f"  {user}  {fingerprint_digits(unb64u(key))}")

    def _open(self, data: bytes, manifest: dict[str, Any], options: dict[str, Any]) -> None:
        from consult.client.record import open_bundle

        authority = options["authority"] or manifest["exporter"]["authority"]
        keys = [load_records_key(path, authority, options["passphrase_file"]) for path in options["key"]]
        try:
            bundle, warnings = open_bundle(data, keys)
        except Exception as exc:
            raise CommandError(f"cannot decrypt with these keys: {exc}") from None
        for warning in warnings:  # each names its entry; the rest of the record is still written
            self.stderr.write(f"warning: {warning}")
        out_dir = options["out"] or options["file"].parent
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "record.html").write_text(bundle.html or "")
        (out_dir / "record.pdf").write_bytes(render_pdf(bundle.manifest, bundle.items))
        for path, content in bundle.files.items():
            target = out_dir / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        self.stdout.write(self.style.SUCCESS(f"Decrypted {len(bundle.items)} entries and {len(bundle.files)} files"))
        self.stdout.write(f"Wrote {out_dir / 'record.html'} and {out_dir / 'record.pdf'}")
