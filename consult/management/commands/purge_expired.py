from typing import Any

from django.core.management.base import BaseCommand

from consult.actions.blobs import do_sweep_stray_files
from consult.actions.retention import do_purge_expired


class Command(BaseCommand):
    help = (
        "Drop the content of closed cases past their retention period (not on legal hold), "
        "and files no blob names any more. Run daily."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        done = do_purge_expired()
        total = sum(done.values())
        self.stdout.write(f"Purged {total} entries in {len(done)} threads.")
        self.stdout.write(f"Removed {do_sweep_stray_files()} stray files.")
