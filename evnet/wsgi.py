"""WSGI entry point (HTTP only; production serves everything, WebSockets included, through evnet.asgi)."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evnet.settings.dev")
application = get_wsgi_application()
