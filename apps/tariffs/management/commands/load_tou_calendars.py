"""(Re)load time-of-use calendars from a JSON file ({"calendars": [...]}, default: the shipped
apps/tariffs/data/calendars.json). Each calendar is validated (every day of every season covered exactly once)
and replaces the stored calendar with the same code. Published tariff versions keep their own snapshot.

    python manage.py load_tou_calendars [file.json]"""
from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from evnet.exceptions import DomainError

from ...services import tou_calendar_import

DEFAULT = Path(__file__).resolve().parents[2] / "data" / "calendars.json"


class Command(BaseCommand):
    help = "Load retailer time-of-use calendars from JSON."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=str(DEFAULT))

    def handle(self, *args, **options):
        try:
            data = json.loads(Path(options["file"]).read_text(encoding="utf-8"))
            calendars = data["calendars"]
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise CommandError(f"Cannot read calendars from {options['file']}: {exc}", returncode=2) from exc
        try:
            with transaction.atomic():
                loaded = [tou_calendar_import(data=c) for c in calendars]
        except DomainError as exc:
            raise CommandError(exc.message, returncode=2) from exc
        for calendar in loaded:
            self.stdout.write(f"{calendar.code}: {calendar.windows.count()} windows")
