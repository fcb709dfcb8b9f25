"""Operators' admin: authorities and accounts. Operators never see content."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from consult.actions.accounts import do_create_user
from consult.actions.auth import do_close_account_sockets
from consult.models import AuthFailure, Authority, User


@admin.register(Authority)
class AuthorityAdmin(admin.ModelAdmin[Authority]):
    list_display = ("code", "name", "country", "kind")
    search_fields = ("code", "name")
    list_filter = ("kind", "country")


@admin.register(User)
class UserAdmin(admin.ModelAdmin[User]):
    list_display = ("email", "display_name", "authority", "role", "is_active", "locked_until")
    list_filter = ("role", "authority", "is_active")
    search_fields = ("email", "display_name")
    fields = ("email", "display_name", "authority", "role", "is_active", "locked_until")
    readonly_fields = ("locked_until",)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        # An account acts for one authority for good: its entries and register items name that
        # authority, and its memberships were granted as a party's officer. Someone who moves to
        # another authority gets a new account there; this one is deactivated.
        return ("authority", "locked_until") if obj is not None else ("locked_until",)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if change:
            obj.is_staff = obj.role == User.Role.ADMIN
            super().save_model(request, obj, form, change)
            if "is_active" in form.changed_data and not obj.is_active:
                do_close_account_sockets(obj)  # HTTP already refuses the account; its sockets close too
            elif "role" in form.changed_data:
                do_close_account_sockets(obj, "role")  # what a socket may do follows from the role it opened with
        else:
            created = do_create_user(obj.email, obj.display_name, obj.role, obj.authority)
            obj.pk = created.pk


@admin.register(AuthFailure)
class AuthFailureAdmin(admin.ModelAdmin[AuthFailure]):
    list_display = ("at", "account", "ip", "kind")
    list_filter = ("kind",)
    search_fields = ("account",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# django-otp's own admins show every user's TOTP secret (and a QR code of it)
# and backup codes, and let an operator add a device to anyone: a second
# factor the operator holds too. Operators reset a lost one with an enrolment
# link (``manage.py add_user --reset``), which removes the old devices.
for second_factor in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(second_factor):
        admin.site.unregister(second_factor)
