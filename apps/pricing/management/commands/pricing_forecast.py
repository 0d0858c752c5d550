"""python manage.py pricing_forecast [--date YYYY-MM-DD] [--station OCPP_ID ...] — what the daily job does."""
from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.pricing.services.forecast import forecast_compute
from apps.pricing.services.occupancy import station_occupancy_learn
from apps.stations.models import ChargingStation


class Command(BaseCommand):
    help = "Learn occupancy and store the hourly price forecast (today and tomorrow, or --date) of every station."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="site-local day (YYYY-MM-DD); default today and tomorrow")
        parser.add_argument("--station", action="append", help="OCPP id (repeatable); default every station")

    def handle(self, *args, **options):
        day = None
        if options["date"]:
            try:
                day = date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(f"“{options['date']}” is not a date (YYYY-MM-DD).")
        station_ids = None
        if options["station"]:
            found = dict(ChargingStation.objects.filter(ocpp_id__in=options["station"]).values_list("ocpp_id", "pk"))
            unknown = sorted(set(options["station"]) - set(found))
            if unknown:
                raise CommandError(f"Unknown station(s): {', '.join(unknown)}")
            station_ids = list(found.values())
        now = timezone.now()
        learned = station_occupancy_learn(now=now, station_ids=station_ids)
        run = forecast_compute(now=now, day=day, station_ids=station_ids)
        self.stdout.write(f"occupancy learned for {learned} station(s); forecast stored for {run.stations} "
                          f"station(s): {run.rows} hourly prices")
        for ocpp_id, problem in sorted(run.skipped.items()):
            self.stderr.write(f"skipped {ocpp_id}: {problem}")
