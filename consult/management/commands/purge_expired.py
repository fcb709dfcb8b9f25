from typing import Any

from django.core.management.base import BaseCommand

from consult.actions.retention import do_purge_expired


class Command(BaseCommand):
    help = "Drop the content of closed cases past their retention period (not on legal hold). Run daily."

    def handle(self, *args: Any, **options: Any) -> None:
        done = do_purge_expired()
        total = sum(done.values())
        self.stdout.write(f"Purged {total} entries in {len(done)} threads.")
