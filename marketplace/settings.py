"""Settings, read from the environment.

With nothing set the site runs embedded on one machine (SQLite, Celery over kombu's filesystem transport,
files under var/, console email, built-in test payments); each variable below switches one concern to its
production engine. docs/operations.md lists them all.
"""

import secrets
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
env.smart_cast = False

# Everything the embedded default writes (database, broker queue, media, generated keys) lives here.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_from_var_file(name: str) -> str:
    """Read a generated secret from var/, creating it on first run (embedded default only)."""
    path = VAR_DIR / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or _secret_from_var_file("secret_key")
# Ed25519 private key, PKCS#8 PEM ("\n" escapes allowed), signing bundle checksums; when empty,
# datasets.signing_key generates one into VAR_DIR (embedded default only).
SIGNING_KEY = env.str("SIGNING_KEY", default="", multiline=True)
# The public halves (PEM, one block after another) of keys SIGNING_KEY held before: still published, so what
# they signed keeps verifying after a rotation (docs/operations.md).
SIGNING_KEYS_RETIRED = env.str("SIGNING_KEYS_RETIRED", default="", multiline=True)
# The C2PA credential every delivered file is signed with: a certificate chain (PEM, end entity first) from a
# certificate authority C2PA readers trust, and its private key (PKCS#8 PEM). When empty, a chain is made
# from SIGNING_KEY itself, which readers report as untrusted but which buyers can match to the published key.
C2PA_CERTIFICATE_CHAIN = env.str("C2PA_CERTIFICATE_CHAIN", default="", multiline=True)
C2PA_PRIVATE_KEY = env.str("C2PA_PRIVATE_KEY", default="", multiline=True)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_NAME = env.str("SITE_NAME", default="Datamarket")
# Where emails sent outside a request (by the worker) point people to.
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here: no CDN
    "axes",
    "marketplace",
    "datasets",
    "licensing",
    "creators",
    "core.outbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so the static files it answers carry the policy too.
    "marketplace.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "marketplace.middleware.RejectNulBytesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a lockout raised during authentication into a 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"
ASGI_APPLICATION = "marketplace.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "marketplace.context_processors.site",
            ],
        },
    },
]

# Form fields render through templates/django/forms/, so the site can lay out label, input, help and errors.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

# --- Database -------------------------------------------------------------------------------------------
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and IMMEDIATE transactions let the web process and the worker write to one SQLite file without
    # "database is locked" errors under ordinary load.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A server that does not answer (a restart, a lost host) fails the request within seconds, as a 503
    # (marketplace/views/errors.py), instead of holding a web worker until the client gives up.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
# Reusing connections saves a connect (and SQLite's PRAGMAs) on every request; the health check finds a
# connection that a database restart broke and opens a new one, so no process needs restarting after it.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (login throttling, API throttling) ------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Nothing is kept only here (sessions and login lockouts are in the database), so while Redis is away
    # the cache degrades instead of failing pages: a read is a miss, a write does nothing, each within half
    # a second, and the API's throttles let requests through uncounted (marketplace/api/throttling.py).
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Accounts ---------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "marketplace.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3

# How many reverse proxies stand in front of the site. Each appends the address it was reached from to
# X-Forwarded-For; the client is read that many entries from the right, and with none (the default) the
# header is ignored, since a client can send any (core/client_identity.py).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Login brute force: five failures for one email (from any address), or from one address (for any email),
# lock that email, or that address, out for 15 minutes. The email is counted case-folded and trimmed, so
# its spellings share one count.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "core.client_identity.login_email"
AXES_CLIENT_IP_CALLABLE = "core.client_identity.client_address"

# --- Internationalisation ---------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Files ------------------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"

S3_BUCKET = env.str("S3_BUCKET", default="")
if S3_BUCKET:
    default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("S3_REGION", default="") or None,
            "access_key": env.str("S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("S3_SECRET_ACCESS_KEY", default="") or None,
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
            # Presigned links expire within 15 minutes (DESIGN.md, invariant 5).
            "querystring_expire": 15 * 60,
            "signature_version": "s3v4",
            # An object opened for reading is spooled to a temporary file past 8 MB: the default (0) keeps
            # it all in memory, which a multi-gigabyte video read into a bundle cannot afford.
            "max_memory_size": 8 * 1024 * 1024,
        },
    }
else:
    default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": f"/{MEDIA_URL}"},
    }
STORAGES = {
    "default": default_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Ingest and bundle builds that find storage unavailable try again after up to 5, 10, 20... seconds (each wait
# drawn at random below that, so workers do not all come back at once), at most STORAGE_RETRY_MAX times, then
# fail with the reason.
STORAGE_RETRY_MAX = env.int("STORAGE_RETRY_MAX", default=8)
STORAGE_RETRY_BACKOFF_SECONDS = env.int("STORAGE_RETRY_BACKOFF_SECONDS", default=5)
STORAGE_RETRY_BACKOFF_MAX_SECONDS = env.int("STORAGE_RETRY_BACKOFF_MAX_SECONDS", default=300)

# What creators may upload (creators/ingest/limits.py holds the same defaults for the pipeline itself).
MEDIA_MAX_IMAGE_BYTES = env.int("MEDIA_MAX_IMAGE_BYTES", default=200 * 1024 * 1024)
MEDIA_MAX_VIDEO_BYTES = env.int("MEDIA_MAX_VIDEO_BYTES", default=4 * 1024 * 1024 * 1024)
MEDIA_MAX_IMAGE_PIXELS = env.int("MEDIA_MAX_IMAGE_PIXELS", default=250_000_000)
# The memory a photo may take once decoded (all its frames and pages), counted from its headers before any pixel
# is decoded; a photo over it is refused at upload. 512 MB holds a 130-megapixel colour photo.
MEDIA_IMAGE_DECODE_BUDGET_BYTES = env.int("MEDIA_IMAGE_DECODE_BUDGET_BYTES", default=512 * 1024 * 1024)
MEDIA_MAX_VIDEO_SECONDS = env.int("MEDIA_MAX_VIDEO_SECONDS", default=60 * 60)
MEDIA_WATERMARK_TEXT = env.str("MEDIA_WATERMARK_TEXT", default="Datamarket preview")
# Chunked uploads gather here until complete; several web processes must share this folder.
UPLOAD_CHUNK_DIR = Path(env.str("UPLOAD_CHUNK_DIR", default=str(VAR_DIR / "uploads")))
UPLOAD_CHUNK_BYTES = 8 * 1024 * 1024
# What one creator may have under way at once: open uploads, and the bytes they announce (held on the web
# servers' disk or in the bucket until completed or expired).
UPLOAD_MAX_OPEN_SESSIONS = env.int("UPLOAD_MAX_OPEN_SESSIONS", default=10)
UPLOAD_MAX_RESERVED_BYTES = env.int("UPLOAD_MAX_RESERVED_BYTES", default=16 * 1024 * 1024 * 1024)
# The upload page sends files larger than this in chunks, so a dropped connection resumes instead of restarting.
UPLOAD_CHUNKED_ABOVE_BYTES = 32 * 1024 * 1024
# A chunked upload not finished within this many hours is dropped with its part file.
UPLOAD_SESSION_HOURS = 24
# Uploads larger than this are spooled to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default="") or None

# Dataset bundles: shards roll over at this size; a build is written in BUILD_DIR (local disk, one shard at a
# time) and each finished file goes to storage. A build that has shown no progress for BUILD_LEASE_SECONDS is
# taken to be dead (its worker was killed) and may be resumed by another worker.
DATASET_SHARD_BYTES = env.int("DATASET_SHARD_BYTES", default=1_000_000_000)
DATASET_BUILD_DIR = Path(env.str("DATASET_BUILD_DIR", default=str(VAR_DIR / "builds")))
DATASET_BUILD_LEASE_SECONDS = env.int("DATASET_BUILD_LEASE_SECONDS", default=10 * 60)

# --- Task queue -------------------------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": 60 * 60}
else:
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Exchange bindings; kombu would otherwise write them to ./control in the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Tasks report their outcome through the rows they write, never through a result backend.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="marketplace")
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "sessions-clear-expired": {"task": "marketplace.tasks.sessions_clear_expired", "schedule": 60 * 60 * 6},
    "assets-requeue-stalled": {"task": "creators.tasks.assets_requeue_stalled", "schedule": 60 * 5},
    "upload-sessions-expire": {"task": "creators.tasks.upload_sessions_expire", "schedule": 60 * 60},
    "versions-resume-stalled": {"task": "datasets.tasks.versions_resume_stalled", "schedule": 60 * 5},
    "versions-supersede-missed": {"task": "datasets.tasks.versions_supersede_missed", "schedule": 60 * 5},
    # An erasure purges the bundles right after it commits; this catches anything a failure left, within the hour.
    "versions-purge-erased": {"task": "datasets.tasks.versions_purge_erased", "schedule": 60 * 60},
    "checkouts-reconcile": {"task": "marketplace.tasks.stripe_checkouts_reconcile", "schedule": 60 * 5},
    "revocations-catch-up": {"task": "marketplace.tasks.revocations_catch_up", "schedule": 60},
    "payouts-send": {"task": "marketplace.tasks.payouts_send", "schedule": 60 * 15},
    # Daily; each run acts on every release due, so a missed day is caught up by the next.
    "biometric-retention-notify": {
        "task": "licensing.tasks.releases_biometric_notify_due",
        "schedule": 60 * 60 * 24,
    },
    "biometric-retention-end": {
        "task": "licensing.tasks.releases_biometric_end_due",
        "schedule": 60 * 60 * 24,
    },
    # Tasks queued while the broker was unreachable (core/outbox) run within this long of its return.
    "outbox-relay": {"task": "core.outbox.tasks.outbox_relay", "schedule": 20},
}
CELERY_TIMEZONE = TIME_ZONE

# --- Email ------------------------------------------------------------------------------------------------
# EMAIL_BACKEND, EMAIL_HOST, ... (or EMAIL_FILE_PATH for filemail://) as django-environ parses them.
globals().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Datamarket <no-reply@datamarket.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where buyers write about a dataset; bundles' README and datasheet name it.
DATASET_CONTACT_EMAIL = env.str("DATASET_CONTACT_EMAIL", default="datasets@datamarket.localhost")

# --- Payments ---------------------------------------------------------------------------------------------
# Without a key the built-in test checkout drives the same fulfilment service.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
# Every price is in this currency's minor unit (cents).
MARKETPLACE_CURRENCY = "usd"
# The platform's cut of each sale, in percent (up to two decimals: the ledger splits in basis points); the
# rest goes to the creators whose assets are in the version sold.
PLATFORM_FEE_PERCENT = env.str("PLATFORM_FEE_PERCENT", default="20")
# Download links expire within 15 minutes (DESIGN.md, invariant 5). With nginx in front, set the internal
# location that serves var/media (e.g. "/protected-media/") and files go out through X-Accel-Redirect.
DOWNLOAD_LINK_SECONDS = 15 * 60
DOWNLOADS_ACCEL_REDIRECT_PREFIX = env.str("DOWNLOADS_ACCEL_REDIRECT_PREFIX", default="")
# Buyers' webhook endpoints must be https on public addresses, so that a registered URL cannot make the site
# probe its own machine or network. On (development and tests only), endpoints on loopback and private
# addresses are accepted, and plain http with them (docs/operations.md).
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)

# --- API --------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "marketplace.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["marketplace.api.renderers.FastJSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_THROTTLE_CLASSES": [
        "marketplace.api.throttling.AnonRateThrottle",
        "marketplace.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="1200/minute"),
    },
    "EXCEPTION_HANDLER": "marketplace.api.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "marketplace.api.schema.ScopedAutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": f"{SITE_NAME} API",
    "DESCRIPTION": "Licensed, consented photo and video datasets: browse, license, download. See docs/api.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The schema is checked by `manage.py spectacular --validate`, not on every `check --deploy`.
    "ENABLE_DJANGO_DEPLOY_CHECK": False,
    # Choice sets that share a field name get distinct names in the schema (else a warning).
    "ENUM_NAME_OVERRIDES": {
        "AssetKindEnum": "creators.models.MediaAsset.Kind",
        "ReleaseKindEnum": "licensing.models.Release.Kind",
        "ReleaseMethodEnum": "licensing.models.Release.Method",
        "OrderMethodEnum": "marketplace.models.Order.Method",
        "OrderStatusEnum": "marketplace.models.Order.Status",
    },
}

# --- Transport security -----------------------------------------------------------------------------------
# On by default whenever DEBUG is off; a deployment behind a TLS-terminating proxy sets
# DJANGO_SECURE_PROXY_SSL_HEADER so Django knows the original request was HTTPS.
HTTPS = env.bool("DJANGO_HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
# The orchestrator's health probes call the container directly over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=60 * 60 * 24 * 365) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS and env.bool("DJANGO_HSTS_PRELOAD", default=True)
if env.bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "marketplace.views.csrf_failure"

# --- Content Security Policy ----------------------------------------------------------------------------
# Pages run and style themselves only from the site's own files: no inline script, style attribute or
# handler, so a tag an attacker slips into a page does nothing. marketplace/checks.py keeps it that way, and
# marketplace/csp.py adds the media bucket's origin to img-src, media-src and connect-src.
# Buying and Stripe onboarding post to the site, which redirects to Stripe: browsers check form-action against
# where a form's redirects lead too.
_STRIPE_FORM_TARGETS = (
    ["https://checkout.stripe.com", "https://connect.stripe.com"] if STRIPE_SECRET_KEY else []
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # data: for the icons (chevrons, checkmarks) Pico's stylesheet draws as inline SVG.
        "img-src": [SELF, "data:"],
        "media-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF, *_STRIPE_FORM_TARGETS],
        "frame-ancestors": [NONE],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
