"""The Celery application: worker and beat run the background jobs (rating, invoices, forecasts, retention)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evnet.settings.dev")

app = Celery("evnet")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
