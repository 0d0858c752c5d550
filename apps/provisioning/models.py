"""Proxy models that give the CSV imports their own pages in the admin (no table of their own)."""
from apps.stations.models import ChargingStation
from apps.users.models import IdTag


class StationImport(ChargingStation):
    class Meta:
        proxy = True
        verbose_name = "station import (CSV)"
        verbose_name_plural = "station imports (CSV)"


class CardImport(IdTag):
    class Meta:
        proxy = True
        verbose_name = "RFID card import (CSV)"
        verbose_name_plural = "RFID card imports (CSV)"
