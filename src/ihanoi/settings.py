"""Django settings, read from environment variables (see docs/configuration in README).

Zero configuration gives the demo: SQLite under ``var/``, local media, console e-mail and
SMS, the database task queue and a database cache (so that rate limits hold across
processes). ``IHANOI_PRODUCTION=1`` turns on the production checks: the process refuses to
start with the development secret key or with DEBUG on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from ihanoi.lib.env import env_bool, env_choice, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("IHANOI_VAR_DIR", str(BASE_DIR / "var")))

DEV_SECRET_KEY = "dev-insecure-ihanoi-secret-key-change-me"  # noqa: S105 - refused in production
PRODUCTION = env_bool("IHANOI_PRODUCTION", False)
SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

if PRODUCTION:
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "IHANOI_PRODUCTION=1 needs SECRET_KEY set to a random value of 50+ characters."
        )
    if DEBUG:
        raise ImproperlyConfigured("IHANOI_PRODUCTION=1 refuses to run with DEBUG on.")

INSTALLED_APPS = [
    "ihanoi.accounts.admin_apps.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Our apps come before allauth so that our templates override its pages.
    "ihanoi.accounts",
    "ihanoi.places",
    "ihanoi.agencies",
    "ihanoi.workcalendar",
    "ihanoi.notifications",
    "ihanoi.feedback",
    "ihanoi.open311",
    "ihanoi.api",
    "ihanoi.oversight",
    "ihanoi.web",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "ihanoi.web.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "ihanoi.accounts.middleware.MFARequiredMiddleware",
]

ROOT_URLCONF = "ihanoi.urls"
WSGI_APPLICATION = "ihanoi.wsgi.application"
ASGI_APPLICATION = "ihanoi.asgi.application"

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
                "ihanoi.web.context_processors.header",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
_default_sqlite = f"sqlite:///{VAR_DIR / 'ihanoi.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", _default_sqlite),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0),
        conn_health_checks=True,
    )
}
_url_engine = DATABASES["default"]["ENGINE"]
if _url_engine == "django.db.backends.sqlite3":
    # WAL lets the web server and the task worker share the file without "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
elif env_bool("DATABASE_POOL", False):
    # psycopg's connection pool inside each web or worker process (Django >= 5.1): a request
    # borrows a connection instead of opening one. Django refuses CONN_MAX_AGE with a pool.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    if _url_engine == "django.db.backends.postgresql":
        # Django's backend, whose pool checks a connection before a loan mostly by its socket
        # instead of an empty query (ihanoi.lib.pgpool): one round trip less per request.
        DATABASES["default"]["ENGINE"] = "ihanoi.lib.pgpool"
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN", 2, minimum=1),
        "max_size": env_int("DATABASE_POOL_MAX", 4, minimum=1),
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 10, minimum=1),
    }
# A streaming replica for dashboards, exports and public lists (ihanoi.lib.dbrouter). In
# tests the alias mirrors default. After a write, the same browser reads from default for
# DATABASE_REPLICA_PIN_SECONDS, so that the next page shows it even if the replica lags.
DATABASE_REPLICA_PIN_SECONDS = env_int("DATABASE_REPLICA_PIN_SECONDS", 5, minimum=0)
_replica_url = env_str("DATABASE_REPLICA_URL", "").strip()
if _replica_url:
    try:
        _replica = dj_database_url.parse(
            _replica_url,
            conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
            conn_health_checks=True,
        )
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_REPLICA_URL is not a database URL: {exc}") from exc
    if _replica["ENGINE"] != _url_engine:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL must use the same database engine as DATABASE_URL "
            f"({_url_engine}), not {_replica['ENGINE']}."
        )
    if "pool" in DATABASES["default"].get("OPTIONS", {}):
        _replica["ENGINE"] = DATABASES["default"]["ENGINE"]  # the pooled backend, as above
        _replica["OPTIONS"] = {"pool": dict(DATABASES["default"]["OPTIONS"]["pool"])}
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
    DATABASE_ROUTERS = ["ihanoi.lib.dbrouter.ReplicaRouter"]
    MIDDLEWARE.append("ihanoi.lib.dbrouter.PinPrimaryAfterWriteMiddleware")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, sessions' helpers): shared across processes -------------------------
_redis_url = env_str("REDIS_URL", "")
CACHES: dict[str, dict[str, Any]]
# "public": the public list and map (feedback/public_cache.py), apart from the rest, so that
# the eviction of those pages can never take rate limits or used TOTP codes with them (the
# database cache deletes a third of its rows, in key order, when it is full).
if _redis_url:
    CACHES = {
        "default": {
            "BACKEND": "ihanoi.lib.rediscache.RedisCache",
            "LOCATION": _redis_url,
        },
        "public": {
            "BACKEND": "ihanoi.lib.rediscache.RedisCache",
            "LOCATION": _redis_url,
            "KEY_PREFIX": "public",
        },
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "ihanoi_cache",
        },
        "public": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "ihanoi_public_cache",
            "OPTIONS": {"MAX_ENTRIES": 1000},
        },
    }

# --- Background tasks -------------------------------------------------------------------------
TASKS: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": env_choice(
            "TASKS_BACKEND",
            "database",
            {
                "database": "django_tasks_db.DatabaseBackend",
                "immediate": "django_tasks.backends.immediate.ImmediateBackend",
                "dummy": "django_tasks.backends.dummy.DummyBackend",
                # Redis + RQ workers (`ihanoi rqworker --job-class django_tasks_rq.Job`).
                "rq": "django_tasks_rq.RQBackend",
            },
        ),
    }
}
if TASKS["default"]["BACKEND"] == "django_tasks_rq.RQBackend":
    if not _redis_url:
        raise ImproperlyConfigured("TASKS_BACKEND=rq needs REDIS_URL.")
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    TASKS["default"]["QUEUES"] = ["default"]
    RQ_QUEUES = {"default": {"URL": _redis_url, "DEFAULT_TIMEOUT": 300}}

# --- Accounts and sign-in ---------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:home"

# Residents: phone number + one-time code, no password. Staff: e-mail + password, then TOTP.
ACCOUNT_ADAPTER = "ihanoi.accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"phone", "email"}
ACCOUNT_FORMS = {
    "login": "ihanoi.accounts.forms.StaffLoginForm",
    "request_login_code": "ihanoi.accounts.forms.PhoneLoginCodeForm",
    "signup": "ihanoi.accounts.forms.ResidentSignupForm",
}
# "phone" without "*": allauth would otherwise refuse to sign in staff who have no phone
# number on file; the resident signup form makes the field required itself.
ACCOUNT_SIGNUP_FIELDS = ["phone"]
# allauth warns that no login method is a required signup field; ResidentSignupForm
# requires the phone number itself (tested in tests/accounts/test_resident_registration.py).
SILENCED_SYSTEM_CHECKS = ["account.W001"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PHONE_VERIFICATION_ENABLED = True
ACCOUNT_PHONE_VERIFICATION_MAX_ATTEMPTS = 3
ACCOUNT_PHONE_VERIFICATION_TIMEOUT = env_int("IHANOI_CODE_TIMEOUT", 300, minimum=30)
ACCOUNT_PHONE_VERIFICATION_SUPPORTS_RESEND = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
# Six digits, as every bank and telco in Vietnam sends them; a phone keypad types them.
_SMS_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
ACCOUNT_LOGIN_BY_CODE_FORMAT = _SMS_CODE_FORMAT
ACCOUNT_PHONE_VERIFICATION_CODE_FORMAT = _SMS_CODE_FORMAT
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 3
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = ACCOUNT_PHONE_VERIFICATION_TIMEOUT
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_RATE_LIMITS = {
    # A code costs an SMS: per phone number and per client address.
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_phone": "1/30s/key,5/h/key",
    "change_phone": "1/30s/key,5/h/key",
    "reauthenticate": "10/m/user",
}
# Behind a reverse proxy that overwrites this header with the client's address (nginx:
# X-Real-IP, see deploy/nginx.conf.template), per-address rate limits count the client, not
# the proxy. Never set it when clients can reach the application directly: they would choose
# their own address.
ALLAUTH_TRUSTED_CLIENT_IP_HEADER = env_str("TRUSTED_CLIENT_IP_HEADER", "") or None
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "iHaNoi"

SMS_BACKEND = env_choice(
    "SMS_BACKEND",
    "console",
    {
        "console": "ihanoi.accounts.sms.ConsoleSMSBackend",
        "locmem": "ihanoi.accounts.sms.LocMemSMSBackend",
    },
)

EMAIL_BACKEND = env_choice(
    "EMAIL_BACKEND",
    "console",
    {
        "console": "django.core.mail.backends.console.EmailBackend",
        "smtp": "django.core.mail.backends.smtp.EmailBackend",
        "locmem": "django.core.mail.backends.locmem.EmailBackend",
    },
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "iHaNoi <no-reply@localhost>")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
# The site's public address, for links in e-mail and SMS (no trailing slash).
IHANOI_SITE_URL = env_str("IHANOI_SITE_URL", "http://127.0.0.1:8000")
IHANOI_RATING_WINDOW_DAYS = env_int("IHANOI_RATING_WINDOW_DAYS", 7, minimum=1)
# How long the outbox sender's claim on a delivery lasts: a sender that dies leaves its row
# to another after this. Longer than EMAIL_TIMEOUT (a send must end inside its lease).
IHANOI_DELIVERY_LEASE_SECONDS = env_int("IHANOI_DELIVERY_LEASE_SECONDS", 300, minimum=5)
# How long the delivery task waits after its enqueue, where the queue can defer (RQ with
# --with-scheduler, the database queue), so that the commits in between share one sweep.
# 0: enqueued to run at once (an RQ setup without a scheduler needs it). At most 10 s: the
# "queued" mark that makes the commits share it lives 15 s (notifications/services.py).
IHANOI_DELIVERY_GATHER_MS = env_int("IHANOI_DELIVERY_GATHER_MS", 500, minimum=0, maximum=10_000)

# --- Languages and time -----------------------------------------------------------------------
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]
# Ours first; then Vietnamese for django-allauth, which ships no Vietnamese catalogue.
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale" / "allauth"]
USE_I18N = True
TIME_ZONE = env_str("TIME_ZONE", "Asia/Ho_Chi_Minh")
USE_TZ = True


# --- Static and media files -------------------------------------------------------------------
def _leaflet_dir() -> str:
    import xstatic.pkg.leaflet

    return str(xstatic.pkg.leaflet.BASE_DIR)


STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = env_str("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": env_choice(
            "MEDIA_STORAGE",
            "local",
            {"local": "django.core.files.storage.FileSystemStorage"},
        ),
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        ),
    },
}
STATICFILES_DIRS = [("leaflet", _leaflet_dir())]
# Outside production, serve static files straight from the apps (no collectstatic needed).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security ---------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = PRODUCTION and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Web Push (VAPID): without keys nothing is pushed; `ihanoi generate-vapid-keys` -------
VAPID_PUBLIC_KEY = env_str("VAPID_PUBLIC_KEY", "")
VAPID_PRIVATE_KEY = env_str("VAPID_PRIVATE_KEY", "")
VAPID_SUBJECT = env_str("VAPID_SUBJECT", "mailto:no-reply@localhost")
OPEN311_JURISDICTION_ID = env_str("OPEN311_JURISDICTION_ID", "hanoi.vn")

# --- Maps -------------------------------------------------------------------------------------
# No internet is assumed: without a tile server the maps draw the wards' own boundaries.
# Set a URL template such as https://tiles.example.vn/{z}/{x}/{y}.png for a city tile server.
IHANOI_MAP_TILES = env_str("IHANOI_MAP_TILES", "")
IHANOI_MAP_ATTRIBUTION = env_str("IHANOI_MAP_ATTRIBUTION", "")

# --- Places -----------------------------------------------------------------------------------
# The city whose units are loaded (official province code; "01" is Hanoi).
IHANOI_PROVINCE_CODE = env_str("IHANOI_PROVINCE_CODE", "01")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
