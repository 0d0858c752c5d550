"""The test suite. DATABASE_URL and REDIS_URL select PostgreSQL and Redis (as CI does); without them the suite runs
on SQLite and the in-memory channel layer. EVNET_REQUIRE_SERVICES=1 (set by .ci/run) turns an unreachable
PostgreSQL or Redis into a failure instead of a fallback."""
from .base import *  # noqa: F401,F403
from .base import env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
EVNET_REQUIRE_SERVICES = env.bool("EVNET_REQUIRE_SERVICES", default=False)
CELERY_BROKER_URL = env.str("EVNET_CELERY_BROKER_URL", default=env.str("REDIS_URL", default="") or "memory://")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
# Throttling is tested on its own (tests/api): the rest of the suite must not trip over it.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "100000/min", "user": "100000/min",  # noqa: F405
                                                             "token": "100000/min"}}
