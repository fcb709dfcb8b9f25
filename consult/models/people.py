"""Authorities and the people who work for them (DESIGN §1)."""

import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Authority(models.Model):
    """A central authority, prosecution service or liaison office.

    Its ``code`` (e.g. ``FR-MJ``) is its identifier in the protocol: records
    key recipients are ``"records:" + code`` (DESIGN §4).
    """

    class Kind(models.TextChoices):
        CENTRAL = "central", _("Central authority")
        PROSECUTION = "prosecution", _("Prosecution service")
        LIAISON = "liaison", _("Liaison office")
        OTHER = "other", _("Other")

    code = models.CharField(
        max_length=32,
        unique=True,
        validators=[RegexValidator(r"^[A-Z]{2}-[A-Z0-9]{1,29}$", _("Use COUNTRY-NAME, e.g. FR-MJ."))],
    )
    country = models.CharField(
        max_length=2,
        validators=[RegexValidator(r"^[A-Z]{2}$", _("Use an ISO 3166-1 alpha-2 code."))],
        help_text=_("ISO 3166-1 alpha-2"),
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CENTRAL)
    # Days after a case closes before its content may be purged; empty keeps it for ever.
    # The longer period of a case's two authorities applies.
    retention_days = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "authorities"

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class UserManager(BaseUserManager["User"]):
    """Users log in with their e-mail address."""

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> "User":
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> "User":
        fields.update(is_staff=True, is_superuser=True, role=User.Role.ADMIN)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """An account: officer, liaison or supervisor of one authority, or an admin.

    Admins are platform operators (Django staff) with no authority: they
    manage metadata and never read content (DESIGN §1).
    """

    class Role(models.TextChoices):
        OFFICER = "officer", _("Officer")
        LIAISON = "liaison", _("Liaison officer")
        SUPERVISOR = "supervisor", _("Supervisor")
        ADMIN = "admin", _("Platform administrator")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    display_name = models.CharField(max_length=150)
    authority = models.ForeignKey(Authority, null=True, blank=True, on_delete=models.PROTECT, related_name="users")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.OFFICER)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(auto_now_add=True)
    # Set when the lockout threshold is reached (consult.actions.auth).
    locked_until = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["display_name"]

    class Meta:
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role="admin") | models.Q(authority__isnull=False),
                name="user_authority_unless_admin",
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.email

    def is_verified(self) -> bool:
        """Whether this request's second factor is verified.

        django-otp's middleware replaces this on each request's user; anywhere
        it has not run, the answer is no.
        """
        return False

    @property
    def is_supervisor(self) -> bool:
        return self.role == self.Role.SUPERVISOR

    @property
    def is_liaison(self) -> bool:
        return self.role == self.Role.LIAISON
