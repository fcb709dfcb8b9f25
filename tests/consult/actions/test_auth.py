"""Account lockout, single-use codes and failure logging (issue: foundation §5)."""

import logging
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken

from consult.actions.accounts import do_confirm_totp, do_start_totp
from consult.actions.auth import check_password_login, check_second_factor
from consult.exceptions import InvalidCredentials, LockedOut
from consult.models import AuthFailure, User
from tests.helpers import PASSWORD, add_totp, make_authority, make_user, totp_now

pytestmark = pytest.mark.django_db


def _request(ip: str = "203.0.113.7"):  # type: ignore[no-untyped-def]
    request = RequestFactory().post("/login/", REMOTE_ADDR=ip)
    request.session = {}  # type: ignore[attr-defined]
    return request


def _fail_passwords(user: User, times: int) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            check_password_login(_request(), user.email, "wrong password")


def test_lockout__tenth_failure_locks_and_right_password_is_refused() -> None:
    """After 10 failures the right password is refused, without evaluation, for 15 minutes."""
    user = make_user(make_authority())
    _fail_passwords(user, 9)
    assert check_password_login(_request(), user.email, PASSWORD) == user
    _fail_passwords(user, 1)
    with pytest.raises(LockedOut) as locked:
        check_password_login(_request(), user.email, PASSWORD)
    assert 14 * 60 < locked.value.retry_after <= 15 * 60 + 1
    user.refresh_from_db()
    assert user.locked_until is not None


def test_lockout__refusal_does_not_evaluate_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """While locked, the password is never checked (no oracle for guessing)."""
    user = make_user(make_authority())
    _fail_passwords(user, 10)
    calls = []
    monkeypatch.setattr("consult.actions.auth.authenticate", lambda *a, **k: calls.append(1))
    with pytest.raises(LockedOut):
        check_password_login(_request(), user.email, PASSWORD)
    assert calls == []


def test_lockout__ends_after_fifteen_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    user = make_user(make_authority())
    _fail_passwords(user, 10)
    later = timezone.now() + timedelta(minutes=15, seconds=2)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    assert check_password_login(_request(), user.email, PASSWORD) == user


def test_lockout__failures_older_than_window_do_not_count() -> None:
    user = make_user(make_authority())
    _fail_passwords(user, 9)
    AuthFailure.objects.filter(user=user).update(at=timezone.now() - timedelta(minutes=16))
    _fail_passwords(user, 9)
    assert check_password_login(_request(), user.email, PASSWORD) == user


def test_lockout__otp_failures_share_the_budget() -> None:
    """Password and code failures count together towards the lock."""
    user = make_user(make_authority())
    device = add_totp(user)
    _fail_passwords(user, 5)
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            check_second_factor(_request(), user, "000000" if totp_now(device) != "000000" else "111111")
    with pytest.raises(LockedOut):
        check_second_factor(_request(), user, totp_now(device))


def test_totp__a_code_works_once_only() -> None:
    user = make_user(make_authority())
    device = add_totp(user)
    code = totp_now(device)
    check_second_factor(_request(), user, code)
    with pytest.raises(InvalidCredentials):
        check_second_factor(_request(), user, code)


def test_backup_codes__ten_issued_each_single_use() -> None:
    user = make_user(make_authority())
    codes = do_confirm_totp(user, do_start_totp(user))
    assert len(codes) == len(set(codes)) == 10
    check_second_factor(_request(), user, codes[3])
    with pytest.raises(InvalidCredentials):
        check_second_factor(_request(), user, codes[3])
    assert StaticToken.objects.filter(device__user=user).count() == 9


def test_failure_log__has_time_account_ip_never_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    user = make_user(make_authority())
    add_totp(user)
    with caplog.at_level(logging.WARNING, logger="comity.auth"):
        with pytest.raises(InvalidCredentials):
            check_password_login(_request("198.51.100.9"), user.email, "hunter2-secret-guess")
        with pytest.raises(InvalidCredentials):
            check_second_factor(_request("198.51.100.9"), user, "987654321")
    text = caplog.text
    assert user.email in text and "198.51.100.9" in text
    assert "Z" in text.split("at=")[1].split()[0]  # UTC timestamp
    assert "hunter2-secret-guess" not in text and "987654321" not in text
    assert AuthFailure.objects.filter(user=user).count() == 2


def test_unknown_account__logged_and_same_error() -> None:
    with pytest.raises(InvalidCredentials):
        check_password_login(_request(), "nobody@example.org", "whatever")
    assert AuthFailure.objects.filter(account="nobody@example.org", user=None).exists()
