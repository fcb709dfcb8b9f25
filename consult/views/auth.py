"""Sign-in, second-factor verification and enrolment pages."""

import base64

import segno
from django import forms
from django.contrib import auth
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from consult.actions import accounts
from consult.actions.auth import (
    check_not_locked,
    check_password_login,
    check_second_factor,
    do_close_session_sockets,
    do_record_failure,
)
from consult.exceptions import BadInput, InvalidCredentials, LockedOut, NotFound
from consult.models import AuthFailure, User


class LoginForm(forms.Form):
    # The e-mail address is the account name: password managers file it as the username.
    email = forms.EmailField(
        label=gettext_lazy("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username"}),
    )
    password = forms.CharField(
        label=gettext_lazy("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code from your authenticator, or a backup code"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class PasswordForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    confirm = forms.CharField(
        label=gettext_lazy("Repeat the password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, str]:
        data = super().clean() or {}
        if data.get("password") != data.get("confirm"):
            self.add_error("confirm", _("The two passwords differ."))
        return data


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("case-list")


def _lockout_message(exc: LockedOut) -> str:
    minutes = max(1, (exc.retry_after + 59) // 60)
    return _("Too many failed attempts. Try again in %(minutes)d minutes.") % {"minutes": minutes}


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = check_password_login(request, form.cleaned_data["email"], form.cleaned_data["password"])
        except LockedOut as exc:
            form.add_error(None, _lockout_message(exc))
        except InvalidCredentials:
            form.add_error(None, _("The e-mail address or password is not correct."))
        else:
            auth.login(request, user)  # a new session key on every sign-in
            step = "verify" if accounts.has_second_factor(user) else "enrol-totp"
            return HttpResponseRedirect(f"{reverse(step)}?next={_next_url(request)}")
    status = 200 if not form.errors else 400
    return render(request, "comity/auth/login.html", {"form": form, "next": _next_url(request)}, status=status)


@require_http_methods(["GET", "POST"])
def verify_view(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("login")
    assert isinstance(request.user, User)
    if not accounts.has_second_factor(request.user):
        return redirect("enrol-totp")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            check_second_factor(request, request.user, form.cleaned_data["code"])
        except LockedOut as exc:
            form.add_error(None, _lockout_message(exc))
        except InvalidCredentials:
            form.add_error("code", _("This code is not valid. Codes work once only."))
        else:
            return HttpResponseRedirect(_next_url(request))
    status = 200 if not form.errors else 400
    return render(request, "comity/auth/verify.html", {"form": form, "next": _next_url(request)}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        do_close_session_sockets(request.user, request.session.session_key)  # type: ignore[arg-type]
    auth.logout(request)  # flushes the session: the old key is useless
    return redirect("login")


@require_http_methods(["GET", "POST"])
def enrol_link_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        enrolment = accounts.access_enrolment_token(token)
    except NotFound as exc:
        return render(request, "comity/auth/enrol_invalid.html", {"detail": exc.detail}, status=404)
    form = PasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = accounts.do_redeem_enrolment(token, form.cleaned_data["password"])
        except BadInput as exc:
            for message in exc.fields.get("password", []):
                form.add_error("password", message)
        else:
            auth.login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("enrol-totp")
    context = {"form": form, "account": enrolment.user}
    return render(request, "comity/auth/enrol_password.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def enrol_totp_view(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator: QR code, first code, then ten backup codes.

    Only for a signed-in user without a confirmed authenticator: someone who
    knows the password alone must not be able to replace the second factor.
    """
    if not request.user.is_authenticated:
        return redirect("login")
    user = request.user
    assert isinstance(user, User)
    if accounts.has_second_factor(user):
        return redirect("verify")
    device = accounts.do_start_totp(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            check_not_locked(User.objects.get(pk=user.pk))
        except LockedOut as exc:
            form.add_error(None, _lockout_message(exc))
        else:
            if device.verify_token("".join(form.cleaned_data["code"].split())):
                codes = accounts.do_confirm_totp(user, device)
                otp_login(request, device)
                return render(request, "comity/auth/backup_codes.html", {"codes": codes, "next": _next_url(request)})
            do_record_failure(request, user.email, user, AuthFailure.Kind.OTP)
            form.add_error("code", _("This code is not valid. Check the time on your phone and try again."))
    qr = segno.make(device.config_url, error="m")
    context = {
        "form": form,
        # segno renders the otpauth URL we made ourselves: no user content.
        "qr_svg": mark_safe(qr.svg_inline(scale=5, title=_("QR code to scan with your authenticator"))),  # noqa: S308
        "secret": _base32(device.bin_key),
        "next": _next_url(request),
    }
    return render(request, "comity/auth/enrol_totp.html", context, status=400 if form.errors else 200)


def _base32(key: bytes) -> str:
    """The TOTP secret for typing by hand, in groups of four."""
    text = base64.b32encode(key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))
