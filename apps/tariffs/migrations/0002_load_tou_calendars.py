"""Load the retailer time-of-use calendars shipped in apps/tariffs/data/calendars.json (ERSE BTN cycles, the
ChaZeMo retailer's periods, tarifa branca ENEL SP). Existing calendars (same code) are left as edited."""
import json
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "calendars.json"


def load(apps, schema_editor):
    TouCalendar = apps.get_model("tariffs", "TouCalendar")
    TouWindow = apps.get_model("tariffs", "TouWindow")
    for cal in json.loads(DATA.read_text(encoding="utf-8"))["calendars"]:
        holidays = cal.get("holidays") or {}
        obj, created = TouCalendar.objects.get_or_create(code=cal["code"], defaults={
            "name": cal["name"], "distributor": cal.get("distributor", ""), "country": cal["country"],
            "season_rule": cal.get("season_rule", "none"), "holiday_country": holidays.get("country") or "",
            "holiday_subdiv": holidays.get("subdiv") or "", "holiday_day_type": holidays.get("day_type") or ""})
        if created:
            TouWindow.objects.bulk_create([TouWindow(calendar=obj, season=w["season"], day_type=w["day_type"],
                                                     start=w["start"], end=w["end"], period=w["period"])
                                           for w in cal["windows"]])


class Migration(migrations.Migration):
    dependencies = [("tariffs", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
