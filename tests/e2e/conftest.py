"""End-to-end tests: the real client in headless Chromium against a real daphne server.

The server is one ``daphne`` process on the test database (PostgreSQL; Redis
when configured), started per test; the browser is Debian's Chromium driven
by Playwright's Python package. Tests are marked ``browser`` and
``postgres``: they skip with a reason when either is missing, and fail
under ``COMITY_REQUIRE_SERVICES=1`` (CI).
"""

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django_otp.oath import totp

from tests.helpers import verified_client
from tests.servers import ROOT, _database_url, _wait_listening, free_port

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("COMITY_CHROMIUM", "/usr/bin/chromium")
PASSPHRASE = "orange kettle migrates quietly 42"
TIMEOUT_MS = 20_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-dev-shm-usage"]  # fmt: skip
# Records CSP violations and dialogs before any page script runs.
WATCH_SCRIPT = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
window.__dialogs = 0;
for (const name of ['alert', 'confirm', 'prompt', 'print']) {
  window[name] = function () {
    window.__dialogs++;
    return name === 'confirm';  // the client's own confirmations (remove a member…) say yes
  };
}
"""

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _fast_password_hashing() -> None:
    """Overrides the suite's MD5 hasher: the server process checks passwords with the real ones."""


@contextmanager
def daphne_server(log: Path, **extra_env: str) -> Iterator[str]:
    """One daphne worker on the test database, its output in ``log``; yield its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "consult.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "COMITY_DEBUG": "1",  # serves the static files
        **extra_env,
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "consult.asgi:application"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            _wait_listening(port, process)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def server(_services: None, tmp_path: Path) -> Iterator[str]:
    with daphne_server(tmp_path / "daphne.log", COMITY_BLOB_DIR=str(tmp_path / "blobs")) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Chromium for one test module. Module-scoped fixtures run before the
    function-scoped ``_services`` check, so this one checks for its services
    itself, and it leaves no browser (or event loop) behind for other modules."""
    if not shutil.which(CHROMIUM) or connection.vendor != "postgresql":
        reason = "needs Chromium (apt-get install chromium) and PostgreSQL (DATABASE_URL)"
        if os.environ.get("COMITY_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} (COMITY_REQUIRE_SERVICES=1)", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; Django's ORM
    # refuses to run beside one unless told that this test process knows.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@dataclass
class Tab:
    """One browser context (a person's browser) with one page, and what it saw."""

    page: Any
    base: str
    errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)

    def csp_violations(self) -> list[str]:
        return list(self.page.evaluate("window.__csp || []"))

    def dialogs(self) -> int:
        return int(self.page.evaluate("window.__dialogs || 0"))


@pytest.fixture
def open_tab(chromium: Any, server: str) -> Iterator[Any]:
    """``open_tab(user=None, viewport=None)``: a new browser context, signed in as ``user`` if given."""
    contexts = []

    def make(user: Any = None, viewport: dict[str, int] | None = None) -> Tab:
        context = chromium.new_context(viewport=viewport or {"width": 1280, "height": 900}, accept_downloads=True)
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(WATCH_SCRIPT)
        contexts.append(context)
        if user is not None:
            cookie = verified_client(user).cookies["sessionid"].value
            context.add_cookies([{"name": "sessionid", "value": cookie, "url": server}])
        tab = Tab(context.new_page(), server)
        tab.page.on("pageerror", lambda exc: tab.errors.append(str(exc)))
        # "Failed to load resource" is the browser noting an HTTP error status (e.g. the 404 that says
        # "no keys yet"); the client handles those. Anything else logged as an error is a fault.
        tab.page.on(
            "console",
            lambda msg: (
                msg.type == "error"
                and not msg.text.startswith("Failed to load resource")
                and tab.errors.append(msg.text)
            ),
        )
        return tab

    yield make
    for context in contexts:
        context.close()


# --- steps a person takes -----------------------------------------------------


def sign_in_and_enrol(tab: Tab, email: str, password: str) -> None:
    """Password, then a real TOTP code computed from the secret the enrolment page shows."""
    tab.goto("/login/")
    tab.page.fill("#id_email", email)
    tab.page.fill("#id_password", password)
    tab.page.click("main form button[type=submit]")
    tab.page.wait_for_url(re.compile(r"/account/second-factor/"))
    secret = tab.page.inner_text("code.secret").replace(" ", "")
    import base64

    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    tab.page.fill("#id_code", f"{totp(key):06d}")
    tab.page.click("main form button[type=submit]")
    tab.page.wait_for_selector("text=Your backup codes")
    tab.page.click("a.button.primary")


def set_up_keys(tab: Tab, passphrase: str = PASSPHRASE) -> None:
    tab.goto("/keys/")
    tab.page.wait_for_selector("#create-keys:not([hidden])")
    tab.page.fill("#create-passphrase", passphrase)
    tab.page.fill("#create-confirm", passphrase)
    tab.page.click("#create-form button[type=submit]")
    tab.page.wait_for_selector("#devices:not([hidden])", timeout=60_000)


def restore_keys(tab: Tab, passphrase: str = PASSPHRASE) -> None:
    tab.goto("/keys/")
    tab.page.wait_for_selector("#restore-keys:not([hidden])")
    tab.page.fill("#restore-passphrase", passphrase)
    tab.page.click("#restore-form button[type=submit]")
    tab.page.wait_for_selector("#devices:not([hidden])", timeout=60_000)


def open_thread(tab: Tab, case_id: str, subject: str, history: str = "shared") -> str:
    """Open a thread from the case page; return its id once epoch 1's keys are in."""
    tab.goto(f"/cases/{case_id}/")
    tab.page.fill("#thread-subject", subject)
    tab.page.check(f"input[name=history][value={history}]")
    tab.page.click("#new-thread button[type=submit]")
    tab.page.wait_for_url(re.compile(r"/threads/[0-9a-f-]{36}/$"))
    wait_ready(tab)
    wait_js(tab, "window.comityThread.state.epoch >= 1")
    return tab.page.url.rstrip("/").rsplit("/", 1)[1]


def wait_js(tab: Tab, expression: str, timeout: float = TIMEOUT_MS / 1000) -> Any:
    """Poll a JS expression until it is truthy (``wait_for_function`` needs eval, which the CSP forbids)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = tab.page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout} s: {expression}")
        time.sleep(0.05)


def wait_ready(tab: Tab) -> None:
    """The thread page has loaded, verified the record and connected."""
    wait_js(tab, "Boolean(window.comityThread && window.comityThread.loaded)")
    tab.page.wait_for_selector("#connection[data-state=open]")


def invite(tab: Tab, name: str) -> None:
    options = tab.page.locator("#invite-user option", has_text=name)
    tab.page.select_option("#invite-user", value=options.first.get_attribute("value"))
    tab.page.click("#invite button[type=submit]")
    tab.page.wait_for_selector("#invite-status[data-tone=ok]")


def compose(tab: Tab, text: str, kind: str = "text") -> None:
    if kind != "text":
        tab.page.select_option("#compose-kind", kind)
    tab.page.fill("#compose-text", text)


STATUS_TONE = "document.getElementById('composer-status').getAttribute('data-tone')"


def send(tab: Tab) -> None:
    """Press Send and wait for "Sent." (fails with the composer's own message otherwise)."""
    tab.page.evaluate("document.getElementById('composer-status').removeAttribute('data-tone')")
    tab.page.click("#send-button")
    tone = wait_js(tab, f"{STATUS_TONE} || ''", timeout=60)
    status = tab.page.inner_text("#composer-status")
    while tone == "info":
        tone = wait_js(tab, f"{STATUS_TONE} !== 'info' && {STATUS_TONE}", timeout=60)
        status = tab.page.inner_text("#composer-status")
    assert tone == "ok", status


def send_text(tab: Tab, text: str) -> None:
    compose(tab, text)
    send(tab)


def entry_with(tab: Tab, text: str) -> Any:
    """The timeline entry holding ``text``, once it is there."""
    messages = tab.page.locator("#entries > li.message:not(.pending)")
    locator = messages.filter(has=tab.page.locator(".body", has_text=text)).last
    locator.wait_for()
    return locator


def screenshot(tab: Tab, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    tab.page.screenshot(path=str(path), full_page=True)
    return path
