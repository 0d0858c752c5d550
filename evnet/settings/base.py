"""Settings shared by every environment. Everything that differs between machines comes from the environment
(12-factor): DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS and the EVNET_* variables documented in README.md.

Without any of them evnet runs on embedded defaults: SQLite in var/, the in-memory channel layer and a Celery
broker kept in files under var/ (no external service)."""
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("EVNET_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()

SECRET_KEY = env.str("SECRET_KEY", default="evnet-insecure-development-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "djmoney",
    "django_celery_beat",
    # evnet, lowest layer first (see STYLE.md "Who imports whom").
    "apps.core",
    "apps.organizations",
    "apps.users",
    "apps.sites",
    "apps.circuits",
    "apps.stations",
    "apps.tariffs",
    "apps.charging",
    "apps.rating",
    "apps.ocpp",
    "apps.operations",
    "apps.billing",
    "apps.invoices",
    "apps.fleets",
    "apps.pricing",
    "apps.simulator",
    "apps.provisioning",
    "apps.demo",
    "apps.driving",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "evnet.urls"
WSGI_APPLICATION = "evnet.wsgi.application"
ASGI_APPLICATION = "evnet.asgi.application"

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
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'evnet.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("EVNET_DB_CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (daphne, Celery worker) share one SQLite file in the embedded setup: wait for locks
    # instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"

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
STATIC_ROOT = Path(env.str("EVNET_STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("EVNET_MEDIA_ROOT", default=str(VAR_DIR / "media")))

# --- Channels: Redis in production (several daphne processes share groups), in memory for one process. ---
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # Three redis-py 8 defaults break channels_redis (the first two found by bench/ocpp_load.py):
            # - a pool holds at most 100 connections, then raises MaxConnectionsError; every socket opening or
            #   closing takes one for group_send/group_add, so a reconnect storm of a few hundred chargers killed
            #   consumers: size the pool for the herd;
            # - socket_timeout is 5 s, exactly channels_redis's BZPOPMIN block (brpop_timeout = 5 s), so an idle
            #   receive loop times out and takes the consumers waiting on it down;
            # - any socket_timeout makes redis-py send every command through asyncio.wait_for, which on Python
            #   3.11 swallows a cancellation that lands while the write completes (CPython gh-86296, fixed in
            #   3.12). A cancelled receive() (a consumer closing, command_send giving up at its deadline) then
            #   blocks in BZPOPMIN forever and whoever awaits it hangs: the intermittent CI hang of
            #   tests/operations/test_command_send.py. So no socket timeout at all: BZPOPMIN returns by itself
            #   every 5 s, the connect is bounded on its own, and TCP keepalive finds a dead Redis host.
            "CONFIG": {"hosts": [{"address": REDIS_URL,
                                  "max_connections": env.int("EVNET_REDIS_MAX_CONNECTIONS", default=2000),
                                  "socket_timeout": None, "socket_connect_timeout": 10,
                                  "socket_keepalive": True}],
                       "capacity": 5000, "expiry": 60},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery: Redis broker in production; a file-system broker under var/ when no broker is configured, so the
# embedded setup runs a real worker and beat without any external service. ---
CELERY_BROKER_URL = env.str("EVNET_CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _celery_dir = VAR_DIR / "celery"
    for _sub in ("out", "processed", "control"):
        (_celery_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "out"),
        "data_folder_out": str(_celery_dir / "out"),
        "data_folder_processed": str(_celery_dir / "processed"),
        # Broadcast exchanges (worker remote control); kombu's default is ./control in the working directory.
        "control_folder": str(_celery_dir / "control"),
    }
CELERY_RESULT_BACKEND = env.str("EVNET_CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ALWAYS_EAGER = env.bool("EVNET_CELERY_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- Money ---
CURRENCIES = ("EUR", "BRL")
CURRENCY_CHOICES = [("EUR", "Euro"), ("BRL", "Brazilian real")]

# --- REST framework ---
REST_FRAMEWORK = {
    # Apps send "Authorization: Token <key>" (POST /api/v1/auth/token/); the browsable API and the docs use the
    # admin's session cookie.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "apps.core.api.schema.EvnetAutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "evnet.exceptions.api_exception_handler",
    # Per-user throttling (per IP for anonymous callers: only the token endpoint and the schema are open).
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("EVNET_API_THROTTLE_ANON", default="60/min"),
        "user": env.str("EVNET_API_THROTTLE_USER", default="600/min"),
        "token": env.str("EVNET_API_THROTTLE_TOKEN", default="10/min"),
    },
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "evnet API",
    "DESCRIPTION": (
        "Drivers, fleet managers and integrators of the evnet charging network. Authenticate with "
        "`Authorization: Token <key>` (POST /api/v1/auth/token/). Money is {\"amount\": \"12.34\", \"currency\": "
        "\"EUR\"}; timestamps are ISO 8601 in UTC; every error is {\"error\": {\"code\", \"message\", \"fields\"}}."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the drf-spectacular-sidecar package: the docs work without any CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- evnet itself ---
EVNET_OCPP_MESSAGE_LOG_DAYS = env.int("EVNET_OCPP_MESSAGE_LOG_DAYS", default=30)
EVNET_OCPP_HEARTBEAT_INTERVAL_S = env.int("EVNET_OCPP_HEARTBEAT_INTERVAL_S", default=300)
EVNET_OCPP_COMMAND_TIMEOUT_S = env.int("EVNET_OCPP_COMMAND_TIMEOUT_S", default=30)
# Driver API: how long POST /api/v1/sessions/ waits for the charger's answer to RemoteStartTransaction, then for
# its StartTransaction (after that it answers 202 with a start request the app polls). Both hold a worker thread.
EVNET_API_COMMAND_TIMEOUT_S = env.float("EVNET_API_COMMAND_TIMEOUT_S", default=10.0)
EVNET_API_START_WAIT_S = env.float("EVNET_API_START_WAIT_S", default=5.0)
# Group-commit writer (apps/ocpp/writer.py): lanes = batches in flight at once, each on its own connection
# (PostgreSQL only; SQLite always 1); the gathering window after the first queued operation.
EVNET_OCPP_WRITER_LANES = env.int("EVNET_OCPP_WRITER_LANES", default=1)
EVNET_OCPP_WRITER_MAX_DELAY_S = env.float("EVNET_OCPP_WRITER_MAX_DELAY_S", default=0.002)
# One INFO line per process every so many seconds on how the OCPP writer keeps up (0: none).
EVNET_OCPP_WRITER_REPORT_INTERVAL_S = env.float("EVNET_OCPP_WRITER_REPORT_INTERVAL_S", default=60)
# How many OCPP connections of one process run their connect phase (channel layer + connection_open) at once.
EVNET_OCPP_CONNECT_CONCURRENCY = env.int("EVNET_OCPP_CONNECT_CONCURRENCY", default=64)
EVNET_PUBLIC_URL = env.str("EVNET_PUBLIC_URL", default="http://127.0.0.1:8000")
EVNET_DEMO_STATION_PASSWORD = env.str("EVNET_DEMO_STATION_PASSWORD", default="evnet-demo-station")
# Billing: HMAC-SHA256 secret per payment gateway for its signed webhooks; VAT rate per site country.
EVNET_PAYMENT_WEBHOOK_SECRETS = {
    "simulated": env.str("EVNET_SIMULATED_GATEWAY_SECRET", default="evnet-simulated-gateway-secret"),
}
EVNET_VAT_RATES = {"PT": "0.23", "BR": "0.00"}
# The simulated payment provider's checkout page (/billing/simulated-checkout/<intent>): anyone holding an intent's
# link can "pay" it, so it exists only where money is not real (development, tests, the demo).
EVNET_SIMULATED_CHECKOUT = env.bool("EVNET_SIMULATED_CHECKOUT", default=True)

EMAIL_BACKEND = env.str("EVNET_EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("EVNET_DEFAULT_FROM_EMAIL", default="evnet <no-reply@evnet.local>")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("EVNET_LOG_LEVEL", default="INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}, "daphne": {"level": "WARNING"}},
}
