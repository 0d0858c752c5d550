"""Production: PostgreSQL, Redis (channel layer and Celery broker), several daphne processes behind a proxy."""
from .base import *  # noqa: F401,F403
from .base import DATABASES, env

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("EVNET_DB_CONN_MAX_AGE", default=60)
# No simulated "Pay" button where money is real.
EVNET_SIMULATED_CHECKOUT = env.bool("EVNET_SIMULATED_CHECKOUT", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("EVNET_SECURE_COOKIES", default=True)
CSRF_COOKIE_SECURE = env.bool("EVNET_SECURE_COOKIES", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
