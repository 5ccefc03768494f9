"""SigWeb settings: everything that differs between machines comes from the environment.

Embedded default (no environment at all): SQLite in the project folder, an in-memory
channel layer and Celery tasks executed in-process (eager) through the same task code.
Set ``DATABASE_URL`` for PostgreSQL and ``REDIS_URL`` for a real broker + channel layer.

Production (``DJANGO_ENV=production``, or ``DJANGO_DEBUG`` off) fails closed: it refuses to
start without ``DJANGO_SECRET_KEY`` and ``DJANGO_ALLOWED_HOSTS`` and turns on secure
cookies, HSTS and the SSL redirect.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from sigweb.queues import QUEUE_FOR_TASK, Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = env(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_float(name: str, default: float) -> float:
    value = env(name)
    return default if value is None else float(value)


def env_int(name: str, default: int) -> int:
    value = env(name)
    return default if value is None else int(value)


# ---------------------------------------------------------------- mode and security

DJANGO_ENV = env("DJANGO_ENV", "development")
DEBUG = env_bool("DJANGO_DEBUG", DJANGO_ENV != "production")
PRODUCTION = DJANGO_ENV == "production" or not DEBUG

SECRET_KEY = env("DJANGO_SECRET_KEY") or env("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production (DJANGO_ENV=production or DEBUG off)")
    SECRET_KEY = "django-insecure-sigweb-development-only-key-change-me-0123456789"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set in production (comma-separated host names)")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]  # probes and scrapers inside the network
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# ---------------------------------------------------------------- applications

INSTALLED_APPS = [
    "daphne",  # first: `runserver` then serves ASGI, websockets included
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "django_prometheus",
    "csp",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "axes",
    "verification",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # first: request latency covers everything
    "verification.middleware.QueryTokenMiddleware",  # no later layer, log or error page sees ?token=
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files from daphne in production too
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a locked-out login into the lockout page
    "django_prometheus.middleware.PrometheusAfterMiddleware",  # last
]

ROOT_URLCONF = "sigweb.urls"
WSGI_APPLICATION = "sigweb.wsgi.application"
ASGI_APPLICATION = "sigweb.asgi.application"

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
                "verification.web.context.sigweb_rules",
            ],
        },
    },
]

# ---------------------------------------------------------------- database

DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    # 0 by default: under ASGI (daphne) every request runs in a thread of its own, so a
    # persistent connection is left behind by each one until PostgreSQL refuses new clients
    # ("too many clients", seen under load). Celery workers keep their threads and may set it.
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0), conn_health_checks=True)
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SIGWEB_SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # WAL: readers never block the writer. IMMEDIATE: a transaction takes the write
            # lock when it begins, so concurrent writers wait for it (up to `timeout` seconds)
            # instead of failing at once with "database is locked" when a read lock would
            # have to be upgraded (SQLite cannot wait in that case).
            "OPTIONS": {
                "timeout": env_int("SIGWEB_SQLITE_BUSY_TIMEOUT", 20),
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
            },
            # Tests get a file too, not Django's default shared-cache in-memory database: there a
            # background job's write and a test's read lock whole tables, fail at once with
            # "database table is locked" and no timeout applies. One file per process (and per
            # pytest-xdist worker, which pytest-django suffixes), removed when the run ends.
            "TEST": {
                "NAME": env("SIGWEB_SQLITE_TEST_PATH", str(Path(tempfile.gettempdir()) / f"sigweb-test-{os.getpid()}.sqlite3"))
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("SIGWEB_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [p for p in [BASE_DIR / "static"] if p.is_dir()]
WHITENOISE_USE_FINDERS = DEBUG  # development serves straight from the apps' static folders
if WHITENOISE_USE_FINDERS:  # development serves from the finders: an empty STATIC_ROOT is expected, not worth a warning
    warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")
LOGIN_URL = "web:login"  # the app's own sign-in page (/login/), for analysts and admins alike

# ---------------------------------------------------------------- uploads and SigWeb

# A signature image larger than this is refused with 413 before it is decoded.
SIGWEB_MAX_UPLOAD_BYTES = env_int("SIGWEB_MAX_UPLOAD_BYTES", 5 * 1024 * 1024)
# Decoded images above this many pixels are refused (decompression bombs).
SIGWEB_MAX_IMAGE_PIXELS = env_int("SIGWEB_MAX_IMAGE_PIXELS", 0)  # 0: the engine's cap (ml.preprocess.MAX_PIXELS, 40 MP)
# The whole request body (JSON strokes included); files above the memory size spill to disk.
DATA_UPLOAD_MAX_MEMORY_SIZE = SIGWEB_MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = SIGWEB_MAX_UPLOAD_BYTES + 1024 * 1024

# Pad strokes: more points or strokes than this are refused (400) before any rendering, and a
# JSON signature body larger than these caps need is refused (413) before it is parsed.
SIGWEB_MAX_STROKE_POINTS = env_int("SIGWEB_MAX_STROKE_POINTS", 20_000)
SIGWEB_MAX_STROKES = env_int("SIGWEB_MAX_STROKES", 500)
# Stroke coordinates must be finite and at most this large in magnitude (pad pixels).
SIGWEB_MAX_STROKE_COORDINATE = env_float("SIGWEB_MAX_STROKE_COORDINATE", 1_000_000.0)

# None -> the checkpoint shipped in ml/weights/sigweb.pt
SIGWEB_MODEL_PATH = env("SIGWEB_MODEL_PATH")
SIGWEB_DEVICE = env("SIGWEB_DEVICE", "cpu")
# CPU threads torch uses for inference in this process (0: torch's default, all cores).
SIGWEB_TORCH_THREADS = env_int("SIGWEB_TORCH_THREADS", 1)
# score >= threshold: accept; score < threshold - margin: reject; otherwise review.
SIGWEB_REVIEW_MARGIN = env_float("SIGWEB_REVIEW_MARGIN", 0.15)
SIGWEB_MIN_REFERENCES = env_int("SIGWEB_MIN_REFERENCES", 3)
# 1:N identification: the most candidates returned, and how many writers the index short-lists
# before each writer's own decision re-scores them (the match margin is the model's, ml/identify_margins.json)
SIGWEB_IDENTIFICATION_MAX_TOP_K = env_int("SIGWEB_IDENTIFICATION_MAX_TOP_K", 20)
SIGWEB_IDENTIFICATION_SHORTLIST = env_int("SIGWEB_IDENTIFICATION_SHORTLIST", 50)
# Where reference embeddings are searched: "embedded" (in-process index) or "pgvector"
SIGWEB_VECTOR_ENGINE = env("SIGWEB_VECTOR_ENGINE", "embedded")
if SIGWEB_VECTOR_ENGINE not in ("embedded", "pgvector"):
    raise ImproperlyConfigured("SIGWEB_VECTOR_ENGINE must be embedded or pgvector")
# pgvector: the PostgreSQL (with the vector extension) that holds the index
SIGWEB_VECTOR_DATABASE_URL = env("SIGWEB_VECTOR_DATABASE_URL", DATABASE_URL if SIGWEB_VECTOR_ENGINE == "pgvector" else "")
# A model switch re-embeds references in chunks of this many, committing each
SIGWEB_REEMBED_CHUNK = env_int("SIGWEB_REEMBED_CHUNK", 256)
# ... and fans out one reembed_chunk job (long queue) per this many references
SIGWEB_REEMBED_REFS_PER_JOB = env_int("SIGWEB_REEMBED_REFS_PER_JOB", 100_000)
SIGWEB_MAX_WAIT_SECONDS = env_float("SIGWEB_MAX_WAIT_SECONDS", 30.0)
SIGWEB_SIGNING_TOKEN_TTL_HOURS = env_int("SIGWEB_SIGNING_TOKEN_TTL_HOURS", 24 * 7)
# Enroll links (single use) live shorter than verify links.
SIGWEB_ENROLL_TOKEN_TTL_HOURS = env_int("SIGWEB_ENROLL_TOKEN_TTL_HOURS", 24)
# Progress updates for one job are sent at most this often (status changes always go out).
SIGWEB_PROGRESS_MIN_INTERVAL = env_float("SIGWEB_PROGRESS_MIN_INTERVAL", 0.25)
SIGWEB_TRAIN_OUTPUT_DIR = Path(env("SIGWEB_TRAIN_OUTPUT_DIR", str(BASE_DIR / "runs" / "web")))

# Documents (POST /api/documents/): pages per PDF, files and bytes per upload (a zip counts
# its members and their uncompressed sizes), the detector's lowest kept box score, and the
# days a page attached to no verification is kept (0: kept until erased).
SIGWEB_DOCUMENT_MAX_PAGES = env_int("SIGWEB_DOCUMENT_MAX_PAGES", 50)
SIGWEB_DOCUMENT_MAX_FILES = env_int("SIGWEB_DOCUMENT_MAX_FILES", 200)
SIGWEB_DOCUMENT_MAX_BYTES = env_int("SIGWEB_DOCUMENT_MAX_BYTES", 100 * 1024 * 1024)
SIGWEB_DETECTION_MIN_SCORE = env_float("SIGWEB_DETECTION_MIN_SCORE", 0.15)  # benchmarks/detection_min_score.py
SIGWEB_DETECTOR_PATH = env("SIGWEB_DETECTOR_PATH")  # None: ml/weights/detector.pt
SIGWEB_DOCUMENT_RETENTION_DAYS = env_int("SIGWEB_DOCUMENT_RETENTION_DAYS", 30)
DATA_UPLOAD_MAX_NUMBER_FILES = SIGWEB_DOCUMENT_MAX_FILES + 1  # one more, so the service answers the 413

# ---------------------------------------------------------------- throttles, lockout, tokens

# DRF throttles (verification.api.throttles), per caller; "off" turns one off.
SIGWEB_THROTTLE_RATES = {
    "login": env("SIGWEB_THROTTLE_LOGIN", "20/min"),  # POST /login/, by address
    "token": env("SIGWEB_THROTTLE_TOKEN", "20/min"),  # POST /api/auth/token/, by address
    "verification": env("SIGWEB_THROTTLE_VERIFICATION", "60/min"),  # POST /api/verifications/
    "reference": env("SIGWEB_THROTTLE_REFERENCE", "60/min"),  # POST .../references/ and .../enrollment/
    "document": env("SIGWEB_THROTTLE_DOCUMENT", "30/min"),  # POST /api/documents/
}
# Verifications one customer may have per rolling hour, counted in the database (all
# processes, all channels); 0 turns the limit off.
SIGWEB_CUSTOMER_VERIFICATIONS_PER_HOUR = env_int("SIGWEB_CUSTOMER_VERIFICATIONS_PER_HOUR", 10)
# Back-office API tokens (POST /api/auth/token/) expire this many days after they were issued.
SIGWEB_API_TOKEN_TTL_DAYS = env_float("SIGWEB_API_TOKEN_TTL_DAYS", 30)

# django-axes: after this many failed logins (web form or /api/auth/token/) by one user name
# or from one address, that name or address is locked for the cool-off, whatever password comes next.
AXES_FAILURE_LIMIT = env_int("SIGWEB_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("SIGWEB_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locks
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "verification.web.views.auth.lockout_response"  # JSON under /api/
AXES_VERBOSE = False
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out user name or address
    "django.contrib.auth.backends.ModelBackend",
]

# DRF throttle counts: shared through Redis when there is one, process memory otherwise.
if env("REDIS_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env("REDIS_URL")}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "sigweb"}}

# ---------------------------------------------------------------- operations

# /metrics (Prometheus) answers these client addresses, or anyone sending
# "Authorization: Bearer <SIGWEB_METRICS_TOKEN>" when that is set; everyone else gets 403.
SIGWEB_METRICS_ALLOWED_IPS = env_list("SIGWEB_METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])
SIGWEB_METRICS_TOKEN = env("SIGWEB_METRICS_TOKEN")
PROMETHEUS_EXPORT_MIGRATIONS = False

# Content-Security-Policy (django-csp): scripts, fonts, images and connections from this
# origin only (websockets included), no inline or eval'd script, no plugins, no framing.
# Inline *styles* stay allowed: templates set widths in style attributes and ReDoc/Swagger
# inject their styles. Extra connect-src origins: SIGWEB_CSP_EXTRA_CONNECT (comma-separated).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'", *env_list("SIGWEB_CSP_EXTRA_CONNECT", [])],
        "worker-src": ["'self'", "blob:"],  # ReDoc's search worker
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# ---------------------------------------------------------------- REST framework

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous API call gets 401 with WWW-Authenticate: Token
        "verification.api.authentication.ExpiringTokenAuthentication",
        "verification.api.authentication.SigningTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "verification.api.pagination.Pagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PARSER_CLASSES": [
        "verification.api.parsers.JSONParser",  # DRF's, with a 400 for too deeply nested JSON
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["verification.api.throttles.ScopedPostThrottle"],  # views name a throttle_scope
    "DEFAULT_THROTTLE_RATES": SIGWEB_THROTTLE_RATES,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "verification.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "SigWeb API",
    "DESCRIPTION": "Offline handwritten-signature verification: customers, references, enrollment, verification, review.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # the schema and its docs pages are for the back office: a customer's signing token gets 403
    "SERVE_PERMISSIONS": ["verification.api.permissions.IsBackOffice"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {  # a document's kind and status share field names with the job's
        "DocumentKindEnum": "verification.models.documents.Document.Kind",
        "DocumentStatusEnum": "verification.models.documents.Document.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "verification.api.schema.add_error_responses",  # the error envelope and statuses, once for all
    ],
}

# ---------------------------------------------------------------- Redis: Celery + Channels

REDIS_URL = env("REDIS_URL")

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # channels-redis waits for messages with blocking reads of up to 5 s (BZPOPMIN);
            # redis-py 8's default 5 s socket timeout cuts them off, and the consumer dies
            # with TimeoutError (websocket close 1011). The socket timeout must exceed them.
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": env_float("SIGWEB_CHANNELS_SOCKET_TIMEOUT", 30.0),
                        "socket_connect_timeout": 5,
                        "socket_keepalive": True,
                        "health_check_interval": 30,
                    }
                ],
                "capacity": 1500,
                "expiry": 30,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Time limits (seconds) by task. Short jobs: a worker that died mid-job is detected by the
# job sweeper once the job's heartbeat is older than the short time limit (no live task can
# run longer), and the job is sent again; so it finishes within SIGWEB_SHORT_REDELIVERY_SECONDS.
SIGWEB_SHORT_REDELIVERY_SECONDS = env_int("SIGWEB_SHORT_REDELIVERY_SECONDS", 300)
# How often the job sweeper runs (in every Celery worker, and in the web process in embedded mode).
SIGWEB_SWEEP_INTERVAL_SECONDS = env_float("SIGWEB_SWEEP_INTERVAL_SECONDS", min(30.0, SIGWEB_SHORT_REDELIVERY_SECONDS / 10))
SIGWEB_TIME_LIMITS = {
    # default: the redelivery bound less two sweeps and a margin for the rerun itself
    "short": env_int(
        "SIGWEB_SHORT_TASK_TIME_LIMIT", max(20, int(SIGWEB_SHORT_REDELIVERY_SECONDS - 2 * SIGWEB_SWEEP_INTERVAL_SECONDS - 40))
    ),
    "reembed": env_int("SIGWEB_REEMBED_TIME_LIMIT", 2 * 3600),
    "train": env_int("SIGWEB_TRAIN_TIME_LIMIT", 12 * 3600),
}
if SIGWEB_TIME_LIMITS["short"] + SIGWEB_SWEEP_INTERVAL_SECONDS >= SIGWEB_SHORT_REDELIVERY_SECONDS:
    raise ImproperlyConfigured(
        "SIGWEB_SHORT_TASK_TIME_LIMIT + SIGWEB_SWEEP_INTERVAL_SECONDS must stay below SIGWEB_SHORT_REDELIVERY_SECONDS"
    )
# A queued job that no worker has started after this long is sent again (a lost message, a
# job whose start hit a locked database); after SIGWEB_JOB_MAX_ATTEMPTS sends or starts it fails.
SIGWEB_QUEUED_REDISPATCH_SECONDS = env_int("SIGWEB_QUEUED_REDISPATCH_SECONDS", 60)
SIGWEB_JOB_MAX_ATTEMPTS = env_int("SIGWEB_JOB_MAX_ATTEMPTS", 5)
# Embedded mode (no broker): long jobs (re-embed, train) run in a background thread of the
# web process, so the API answers 202 at once; short jobs run inline in the request.
SIGWEB_SWEEPER_ENABLED = env_bool("SIGWEB_SWEEPER_ENABLED", True)
# How long the signing page waits for a result before telling the customer to try again later.
SIGWEB_CLIENT_WAIT_SECONDS = env_int("SIGWEB_CLIENT_WAIT_SECONDS", 120)
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL  # no broker: run in-process, same task code
CELERY_TASK_EAGER_PROPAGATES = False  # a failed job is recorded on its row, not raised into the request
CELERY_TASK_IGNORE_RESULT = True  # results live in the Job table
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = Queue.SHORT.value  # there is no third queue to run
CELERY_TASK_ROUTES = {name: {"queue": queue.value} for name, queue in QUEUE_FOR_TASK.items()}
# Redis hands an unacknowledged message to another worker after this long. Short jobs do not
# rely on it (the sweeper resends them sooner); long jobs are acknowledged on receipt. It
# stays above the longest time limit so that no message is ever redelivered while it runs.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("SIGWEB_BROKER_VISIBILITY_TIMEOUT", SIGWEB_TIME_LIMITS["train"] + 3600),
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_SEND_SENT_EVENT = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # in-process (eager) mode would log every task; workers keep the default
        "celery.app.trace": {"level": "WARNING" if not REDIS_URL else "INFO"},
    },
}
