"""Django settings for Comity, chosen by environment variables.

Everything that differs between a laptop and a deployment comes from the
environment (see README "Configuration"):

- ``COMITY_ENV``: ``development`` (default) or ``production``.
- ``SECRET_KEY``: required in production; the development default is refused.
- ``DATABASE_URL``: PostgreSQL in production and CI; SQLite file by default.
- ``REDIS_URL``: selects the Redis channel layer; in-memory otherwise.
- ``ALLOWED_HOSTS``: comma-separated host names.
"""

import os
from pathlib import Path

import dj_database_url
import django_stubs_ext
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

# Lets admin and manager classes be subscripted for type checking.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

COMITY_ENV = os.environ.get("COMITY_ENV", "development")
PRODUCTION = COMITY_ENV == "production"

# A well-known key that is only ever acceptable on a developer's machine.
DEVELOPMENT_SECRET_KEY = "comity-development-only-secret-key-never-use-in-production-0000"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
if PRODUCTION and (SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("COMITY_ENV=production needs SECRET_KEY set to a random value of 50+ characters.")

DEBUG = not PRODUCTION and os.environ.get("COMITY_DEBUG", "1") == "1"
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost").split(",")
    if h.strip()
]
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("COMITY_ENV=production needs ALLOWED_HOSTS.")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "channels",
    "consult",
    "cases",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "consult.middleware.RequireVerifiedMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "consult.urls"
ASGI_APPLICATION = "consult.asgi.application"
AUTH_USER_MODEL = "consult.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "case-list"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        # Keep connections: opening one costs more than the queries of a message.
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        # No health check: it costs a round trip before every socket frame's
        # queries; a connection that broke fails one call and is replaced.
        conn_health_checks=False,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The send path's few fixed statements bind on the server and are prepared
    # after this many uses per connection (consult.lib.rows.statement_cursor);
    # every other query keeps Django's client-side binding. Empty turns
    # preparing off, for a pooler that cannot keep prepared statements.
    threshold = os.environ.get("DATABASE_PREPARE_THRESHOLD", "2")
    DATABASES["default"]["OPTIONS"] = {"prepare_threshold": int(threshold) if threshold else None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                # redis-py 8 otherwise times idle pub/sub reads out after ~5 s
                # and the layer closes the socket (channels_redis#422).
                "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Where encrypted file blobs are kept (default: var/blobs, see consult/conf.py).
if os.environ.get("COMITY_BLOB_DIR"):
    COMITY_BLOB_DIR = Path(os.environ["COMITY_BLOB_DIR"])

# Frames per second per socket (default 50, see consult/conf.py): a gateway
# that multiplexes many people, or a load test, may need more.
if os.environ.get("COMITY_RATE_PER_SECOND"):
    COMITY_RATE_PER_SECOND = float(os.environ["COMITY_RATE_PER_SECOND"])

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- Second factor (django-otp) -------------------------------------------
OTP_TOTP_ISSUER = "Comity"
# Account-wide lockout (consult.actions.auth) replaces django-otp's per-device
# exponential throttle, so that password and code failures share one budget.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0

# --- Sessions and cookies ---------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 60 * 60
CSRF_COOKIE_HTTPONLY = False  # the browser client reads it for API calls

# --- Security headers -------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

if PRODUCTION:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 63072000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = [f"https://{h}" for h in ALLOWED_HOSTS]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"comity": {"handlers": ["console"], "level": "INFO", "propagate": True}},
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
