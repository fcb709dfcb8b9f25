"""Sign-in, verification, enrolment and sign-out as a person does them."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from consult.models import EnrolmentToken, User
from tests.helpers import PASSWORD, add_totp, make_authority, make_user, totp_now
from tests.markup import Page, assert_references_resolve

pytestmark = pytest.mark.django_db


def _enrolment_link(email: str, authority_code: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("add_user", email, "--name", "New Officer", "--authority", authority_code, stdout=out)
    match = re.search(r"https?://\S+(/enrol/\S+/)", out.getvalue())
    assert match, out.getvalue()
    return match.group(1)


def test_enrolment__link_password_totp_backup_codes_then_cases() -> None:
    """A new user follows the link, sets a password, scans the QR code and is in."""
    authority = make_authority("FR-ENROL")
    link = _enrolment_link("new@example.org", authority.code)
    client = Client()
    page = client.get(link)
    assert page.status_code == 200 and b"new@example.org" in page.content
    response = client.post(link, {"password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/account/second-factor/"
    setup = client.get("/account/second-factor/")
    assert setup.status_code == 200
    assert b"<svg" in setup.content and b"<title>" in setup.content  # server-rendered QR code
    device = TOTPDevice.objects.get(user__email="new@example.org", confirmed=False)
    done = client.post("/account/second-factor/", {"code": totp_now(device)})
    assert done.status_code == 200
    codes = re.findall(rb"<li><code>(\w+)</code></li>", done.content)
    assert len(codes) == 10
    assert client.get("/cases/").status_code == 200
    # The link worked once.
    assert Client().get(link).status_code == 404


def test_enrolment__expired_link_refused() -> None:
    link = _enrolment_link("late@example.org", make_authority("FR-LATE").code)
    EnrolmentToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Client().post(link, {"password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 404
    assert not User.objects.get(email="late@example.org").has_usable_password()


def test_enrolment__weak_password_changes_nothing() -> None:
    link = _enrolment_link("weak@example.org", make_authority("FR-WEAK").code)
    response = Client().post(link, {"password": "123", "confirm": "123"})
    assert response.status_code == 400
    assert not User.objects.get(email="weak@example.org").has_usable_password()
    assert EnrolmentToken.objects.get().used_at is None


def test_enrolment__password_alone_cannot_replace_an_enrolled_factor() -> None:
    """Someone with the password but not the phone is sent to verification."""
    user = make_user(make_authority())
    add_totp(user)
    client = Client()
    client.post("/login/", {"email": user.email, "password": PASSWORD})
    response = client.get("/account/second-factor/")
    assert response.status_code == 302 and response["Location"].startswith("/login/verify/")


def test_reset__an_operator_link_replaces_a_lost_authenticator_and_the_old_one_stops_working() -> None:
    """``manage.py enrolment_link EMAIL``: the operators' way to reset a lost phone (not the admin)."""
    from io import StringIO

    from django.core.management.base import CommandError

    user = make_user(make_authority())
    lost = add_totp(user)
    out = StringIO()
    call_command("enrolment_link", user.email.upper(), stdout=out)
    match = re.search(r"https?://\S+(/enrol/\S+/)", out.getvalue())
    assert match, out.getvalue()
    client = Client()
    assert (
        client.post(
            match.group(1),
            {"password": "a new passphrase after the loss", "confirm": "a new passphrase after the loss"},
        ).status_code
        == 302
    )
    assert not TOTPDevice.objects.filter(pk=lost.pk).exists()
    assert client.get("/account/second-factor/").status_code == 200  # enrols the new phone
    with pytest.raises(CommandError):
        call_command("enrolment_link", "nobody@example.org", stdout=StringIO())


def test_login__new_session_key_and_verification_required() -> None:
    user = make_user(make_authority())
    device = add_totp(user)
    client = Client()
    client.get("/login/")
    client.cookies["sessionid"] = "attacker-chosen-session-key"
    response = client.post("/login/", {"email": user.email, "password": PASSWORD, "next": "/cases/"})
    assert response.status_code == 302 and response["Location"].startswith("/login/verify/")
    assert client.cookies["sessionid"].value != "attacker-chosen-session-key"
    assert client.get("/cases/").status_code == 302
    response = client.post("/login/verify/?next=/cases/", {"code": totp_now(device), "next": "/cases/"})
    assert response.status_code == 302 and response["Location"] == "/cases/"
    assert client.get("/cases/").status_code == 200


def test_login__wrong_password_is_a_clear_error() -> None:
    user = make_user(make_authority())
    response = Client().post("/login/", {"email": user.email, "password": "nope"})
    assert response.status_code == 400
    assert b"not correct" in response.content


def test_login__open_redirect_refused() -> None:
    user = make_user(make_authority())
    add_totp(user)
    client = Client()
    response = client.post("/login/", {"email": user.email, "password": PASSWORD, "next": "https://evil.example/"})
    assert "evil.example" not in response["Location"]


def test_logout__ends_the_session() -> None:
    user = make_user(make_authority())
    device = add_totp(user)
    client = Client()
    client.post("/login/", {"email": user.email, "password": PASSWORD})
    client.post("/login/verify/", {"code": totp_now(device)})
    old_key = client.cookies["sessionid"].value
    assert client.get("/cases/").status_code == 200
    client.post("/logout/")
    replay = Client()
    replay.cookies["sessionid"] = old_key
    assert replay.get("/cases/").status_code == 302
    assert replay.get("/api/v1/me").status_code == 401


def test_sign_in_forms__tell_password_managers_what_each_field_is() -> None:
    """Account name, current and new passwords, and one-time codes carry their autocomplete tokens."""
    login = Page(Client().get("/login/").content.decode())
    assert login.find("input", name="email")["autocomplete"] == "username"
    assert login.find("input", name="password")["autocomplete"] == "current-password"
    link = _enrolment_link("fill@example.org", make_authority("FR-FILL").code)
    client = Client()
    enrol = Page(client.get(link).content.decode())
    assert enrol.find("input", name="password")["autocomplete"] == "new-password"
    assert enrol.find("input", name="confirm")["autocomplete"] == "new-password"
    account = enrol.find("input", autocomplete="username")  # which account the new password is for
    assert account["value"] == "fill@example.org" and "name" not in account and "hidden" in account
    client.post(link, {"password": PASSWORD, "confirm": PASSWORD})
    totp = Page(client.get("/account/second-factor/").content.decode())
    assert totp.find("input", name="code")["autocomplete"] == "one-time-code"
    user = make_user(make_authority())
    add_totp(user)
    verifier = Client()
    verifier.post("/login/", {"email": user.email, "password": PASSWORD})
    verify = Page(verifier.get("/login/verify/").content.decode())
    assert verify.find("input", name="code")["autocomplete"] == "one-time-code"


def test_second_factor__wrong_code_is_described_on_its_field() -> None:
    """The error the widget's aria-describedby names is the one shown, under that id."""
    user = make_user(make_authority())
    add_totp(user)
    client = Client()
    client.post("/login/", {"email": user.email, "password": PASSWORD})
    response = client.post("/login/verify/", {"code": "000000"})
    assert response.status_code == 400
    html = response.content.decode()
    page = assert_references_resolve(html)
    code = page.find("input", name="code")
    assert code["aria-describedby"] == "id_code_error" and code["aria-invalid"] == "true"
    error = re.search(r'<div class="error" id="id_code_error">(.*?)</div>', html, re.S)
    assert error and "This code is not valid" in error.group(1)


def test_enrolment__several_errors_on_one_field_share_one_description() -> None:
    """A weak password fails several validators: one element holds them all, ids stay unique."""
    link = _enrolment_link("many@example.org", make_authority("FR-MANY").code)
    response = Client().post(link, {"password": "123", "confirm": "123"})
    assert response.status_code == 400
    html = response.content.decode()
    page = assert_references_resolve(html)
    assert page.find("input", name="password")["aria-describedby"] == "id_password_error"
    error = re.search(r'<div class="error" id="id_password_error">(.*?)</div>', html, re.S)
    assert error and error.group(1).count("<p>") >= 2, html
