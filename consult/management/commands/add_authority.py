from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from consult.actions.accounts import do_create_authority
from consult.exceptions import BadInput
from consult.models import Authority


class Command(BaseCommand):
    help = "Add an authority, e.g. add_authority FR-MJ FR 'Ministère de la Justice'."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("code", help="Protocol code, COUNTRY-NAME, e.g. FR-MJ")
        parser.add_argument("country", help="ISO 3166-1 alpha-2 country code")
        parser.add_argument("name")
        parser.add_argument("--kind", choices=Authority.Kind.values, default=Authority.Kind.CENTRAL)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            authority = do_create_authority(options["code"], options["country"], options["name"], options["kind"])
        except BadInput as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.fields.items())) from None
        self.stdout.write(self.style.SUCCESS(f"Added {authority}"))
