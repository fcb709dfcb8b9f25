"""Opening a thread in the browser: fetch, verify, decrypt, render the newest page (issue 4).

``python -m bench.open_thread [--entries 10000] [--runs 5]``

Builds, in a scratch SQLite database, a thread whose record holds
``--entries`` entries (messages sealed by a reference-client peer, key
rotations every 1,000 messages as the server demands) and a baseline thread
of 100 entries, both readable by a browser device made through the real key
set-up page. Then it opens each thread ``--runs`` times in headless Chromium
(Debian's ``/usr/bin/chromium`` through Playwright) and reads the client's
own performance marks:

- ``load``: from the thread page's first script line to the newest page in the
  DOM (fetch every entry, verify every link and server signature, replay
  membership, open the key packages, decrypt and render the newest 50);
- ``page``: the same from the navigation's start (HTML, modules, device check).

Results: a table on stdout and ``bench/results/open_thread.json``; the
figures are percentiles of one run, and the ratio to the 100-entry baseline
measured in the same run (STYLE §22). Not a test: nothing here gates CI.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "open_thread.json"
CHROMIUM = os.environ.get("COMITY_CHROMIUM", "/usr/bin/chromium")
PASSPHRASE = "bench passphrase with several words 7"  # noqa: S105 - a throwaway key for the benchmark


def setup_django(database: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "consult.settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API keeps a loop in this thread
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build_threads(entries: int) -> tuple[Any, Any, str, str]:
    """Users, records keys, a case; return (browser user, peer, big thread id, baseline thread id)."""
    from consult.models import User
    from tests.helpers import assign, make_authority, make_case, make_user
    from tests.realtime import make_peer, make_records_key

    fr_mj, de_bfj = make_authority("FR-MJ", "FR"), make_authority("DE-BFJ", "DE")
    for authority in (fr_mj, de_bfj):
        make_records_key(make_peer(make_user(authority, User.Role.SUPERVISOR)))
    reader = make_user(fr_mj, email="reader@fr-mj.example")
    peer = make_peer(make_user(de_bfj, email="writer@de-bfj.example"))
    case = make_case(reader, de_bfj)
    assign(peer.user, case, peer.user)
    return reader, peer, str(case.pk), ""


def fill_thread(peer: Any, case_id: str, reader: Any, entries: int) -> str:
    """A thread with ``reader`` as member and ``entries`` entries in all, written by ``peer``."""
    from cases.models import Case
    from consult.actions.messages import check_send_message
    from consult.actions.threads import check_membership_change
    from consult.client import build_membership_change, make_payload, seal_envelope
    from consult.exceptions import StaleEpoch
    from consult.models import Thread
    from tests.realtime import open_thread, rotate

    case = Case.objects.get(pk=case_id)
    thread_id, key = open_thread(peer, case, subject=f"{entries} entries")
    change = build_membership_change(peer.device, thread=thread_id, action="add", user=str(reader.pk))
    check_membership_change(peer.user, peer.server_device(), thread_id, change)
    key = rotate(peer, thread_id)
    device = peer.server_device()
    n = 0
    while Thread.objects.get(pk=thread_id).head_seq < entries:
        n += 1
        epoch = Thread.objects.only("epoch").get(pk=thread_id).epoch
        text = f"Message {n}: **the surrender** is planned for *day {n % 30 + 1}*; see Article {n % 40 + 1}."
        envelope = seal_envelope(
            peer.device, key, thread=thread_id, epoch=epoch, kind="text", payload=make_payload(text)
        )
        try:
            check_send_message(peer.user, device, thread_id, envelope)
        except StaleEpoch:
            key = rotate(peer, thread_id)  # 1,000 messages close an epoch (DESIGN §4)
    return thread_id


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(page: Any, base: str, thread: str, runs: int) -> dict[str, list[float]]:
    marks: dict[str, list[float]] = {"load": [], "page": [], "verify": [], "wait": [], "ingest": []}
    for _ in range(runs):
        page.goto(f"{base}/threads/{thread}/")
        deadline = time.monotonic() + 120
        while not page.evaluate("performance.getEntriesByName('comity:rendered').length && !!window.comityThread"):
            if time.monotonic() > deadline:
                raise TimeoutError(page.inner_text("#timeline-status"))
            time.sleep(0.05)
        timing = page.evaluate(
            "(() => { const m = (n) => performance.getEntriesByName(n)[0].startTime;"
            " return {load: m('comity:rendered') - m('comity:load'), page: m('comity:rendered'),"
            " verify: m('comity:verified') - m('comity:load'), wait: window.comityThread.timing.wait,"
            " ingest: window.comityThread.timing.ingest}; })()"
        )
        rendered = page.locator("#entries > li").count()
        assert rendered >= 50, rendered
        assert page.locator("#entries .undecryptable, #entries .alert-inline").count() == 0
        for name in marks:
            marks[name].append(float(timing[name]))
    return marks


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="comity-bench-"))
    setup_django(scratch / "bench.sqlite3")

    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS, Tab, daphne_server, set_up_keys
    from tests.helpers import verified_client

    reader, peer, case_id, _ = build_threads(args.entries)
    with (
        daphne_server(
            scratch / "daphne.log", DATABASE_URL=os.environ["DATABASE_URL"], COMITY_BLOB_DIR=str(scratch / "blobs")
        ) as base,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": "sessionid", "value": verified_client(reader).cookies["sessionid"].value,
                              "url": base}])  # fmt: skip
        page = context.new_page()
        set_up_keys(Tab(page, base), PASSPHRASE)
        started = time.monotonic()
        # Actions publish events with async_to_sync, which refuses to run beside Playwright's loop.
        with ThreadPoolExecutor(1) as pool:
            big = pool.submit(fill_thread, peer, case_id, reader, args.entries).result()
            small = pool.submit(fill_thread, peer, case_id, reader, args.baseline).result()
        built = time.monotonic() - started
        results = {"baseline": measure(page, base, small, args.runs), "thread": measure(page, base, big, args.runs)}
        browser.close()

    summary: dict[str, Any] = {"entries": args.entries, "baseline_entries": args.baseline, "runs": args.runs,
                               "build_seconds": round(built, 1)}  # fmt: skip
    print(f"Opening a thread in headless Chromium ({args.runs} runs; ms)")
    print(f"{'thread':<18}{'load p50':>10}{'load max':>10}{'page p50':>10}{'verify p50':>12}{'wait':>8}{'ingest':>8}")
    for name, marks in results.items():
        entries = args.entries if name == "thread" else args.baseline
        row = {
            "load_p50_ms": round(statistics.median(marks["load"])),
            "load_max_ms": round(max(marks["load"])),
            "page_p50_ms": round(statistics.median(marks["page"])),
            "verify_p50_ms": round(statistics.median(marks["verify"])),
            "wait_p50_ms": round(statistics.median(marks["wait"])),
            "ingest_p50_ms": round(statistics.median(marks["ingest"])),
        }
        summary[name] = row
        print(f"{entries:>6} entries     {row['load_p50_ms']:>10}{row['load_max_ms']:>10}{row['page_p50_ms']:>10}"
              f"{row['verify_p50_ms']:>12}{row['wait_p50_ms']:>8}{row['ingest_p50_ms']:>8}")  # fmt: skip
    summary["ratio_load_p50"] = round(summary["thread"]["load_p50_ms"] / max(1, summary["baseline"]["load_p50_ms"]), 1)
    print(f"ratio {args.entries} / {args.baseline} entries (load p50): {summary['ratio_load_p50']}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
