"""Start evnet the way `make run` does: daphne (HTTP, admin, API, OCPP WebSockets) plus a Celery worker with beat,
as child processes, until Ctrl-C."""
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run daphne and a Celery worker with beat (embedded defaults need no external service)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-celery", action="store_true", help="Only run daphne.")

    def handle(self, *args, **options):
        env = dict(os.environ)
        env.setdefault("DJANGO_SETTINGS_MODULE", "evnet.settings.dev")
        # Links evnet hands out (a top-up's checkout page, firmware and diagnostics URLs) point at this server
        # unless a public URL is configured.
        public_host = "127.0.0.1" if options["host"] in ("0.0.0.0", "::") else options["host"]
        env.setdefault("EVNET_PUBLIC_URL", f"http://{public_host}:{options['port']}")
        bin_dir = os.path.dirname(sys.executable)
        # evnet's daphne (apps/ocpp/server.py): daphne plus the WebSocket Denial Response extension, so a charger
        # with a wrong password gets HTTP 401, and a flush of the OCPP writer on shutdown.
        commands = [[sys.executable, "-m", "apps.ocpp.server", "-b", options["host"], "-p", str(options["port"]),
                     "evnet.asgi:application"]]
        if not options["no_celery"]:
            commands.append([os.path.join(bin_dir, "celery"), "-A", "evnet", "worker", "--beat", "--pool", "solo",
                             "--loglevel", "INFO", "--schedule", str(settings.VAR_DIR / "celerybeat-schedule")])
        children = [subprocess.Popen(cmd, env=env) for cmd in commands]
        url = f"http://{options['host']}:{options['port']}"
        self.stdout.write(self.style.SUCCESS(
            f"evnet is starting on {url} — admin {url}/admin/, health {url}/healthz, "
            f"OCPP ws://{options['host']}:{options['port']}/ocpp/<station_id>. Ctrl-C stops it."
        ))
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
        failed = [c.returncode for c in children if c.returncode not in (0, -signal.SIGTERM, None)]
        if failed:
            raise SystemExit(failed[0])
