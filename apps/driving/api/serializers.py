"""Output of the driver API's stations and sessions. Station lists are built as plain dicts (`station_json`): a
search answers 50 stations × 25 hourly prices, and DRF field objects per value would cost more than the search
itself. The serializers below describe the same shapes for the OpenAPI schema and are used for single objects."""
from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone
from decimal import ROUND_HALF_UP, Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.fields import MoneyField
from apps.rating.formatting import kwh
from apps.stations.selectors import connector_status_text

FOUR = Decimal("0.0001")
TWO = Decimal("0.01")


def iso_utc(at: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z."""
    if at is None:
        return None
    return at.astimezone(dt_timezone.utc).isoformat().replace("+00:00", "Z")


def money(amount: Decimal, currency: str, places: Decimal = FOUR) -> dict:
    return {"amount": str(amount.quantize(places, rounding=ROUND_HALF_UP)), "currency": currency}


class UnitPricesSerializer(serializers.Serializer):
    energy_per_kwh = MoneyField(decimal_places=4, help_text="Per kWh, incl. VAT.")
    time_per_hour = MoneyField(decimal_places=4, help_text="Per hour of charging, incl. VAT.")
    session_fee = MoneyField(decimal_places=4, help_text="Once per session, incl. VAT.")
    idle_per_hour = MoneyField(decimal_places=4, help_text="Per hour plugged in after charging (after any grace "
                                                           "period), incl. VAT.")


class PriceNowSerializer(UnitPricesSerializer):
    at = serializers.DateTimeField()


class PriceHourSerializer(UnitPricesSerializer):
    start_at = serializers.DateTimeField(help_text="Start of the hour, UTC.")
    local_start = serializers.CharField(help_text="The same moment in the site's time zone (ISO 8601 with offset).")


class PricesSerializer(serializers.Serializer):
    currency = serializers.CharField()
    user_group = serializers.CharField(help_text="The price group the prices are for (your card's).")
    now = PriceNowSerializer(allow_null=True)
    hours = PriceHourSerializer(many=True, help_text="24 entries: the current hour and the 23 after it.")


class ConnectorSerializer(serializers.Serializer):
    connector_id = serializers.IntegerField()
    type = serializers.CharField()
    max_power_w = serializers.IntegerField()
    status = serializers.CharField(help_text="OCPP 1.6 ChargePointStatus as last reported.")
    status_text = serializers.CharField(help_text='e.g. "Car disconnected", "Charging at 2.4 kW of 4.6 kW allocated".')
    power_w = serializers.IntegerField(help_text="Power now (W).")
    status_at = serializers.DateTimeField(allow_null=True)


class SiteSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    address = serializers.CharField()
    city = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()
    latitude = serializers.CharField(help_text="Decimal degrees (WGS 84), as a string.")
    longitude = serializers.CharField(help_text="Decimal degrees (WGS 84), as a string.")
    time_zone = serializers.CharField()


class StationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ocpp_id = serializers.CharField()
    parking_spot = serializers.CharField()
    site = SiteSerializer()
    current_type = serializers.CharField()
    max_power_w = serializers.IntegerField(allow_null=True)
    access_mode = serializers.CharField()
    online = serializers.BooleanField()
    distance_km = serializers.FloatField(allow_null=True, help_text="From the searched point (near= only).")
    connector_types = serializers.ListField(child=serializers.CharField())
    connectors = ConnectorSerializer(many=True)
    prices = PricesSerializer(allow_null=True, help_text="Null when no tariff applies to you here.")


def prices_json(prices) -> dict | None:
    if prices is None:
        return None
    now = None
    if prices.now is not None:
        now = {"at": iso_utc(prices.now["at"]), **prices.now["prices"]}
    hours = [{"start_at": iso_utc(hour["start_at"]), "local_start": hour["local_start"].isoformat(), **hour["prices"]}
             for hour in prices.hours if hour["prices"] is not None]
    return {"currency": prices.currency, "user_group": prices.user_group, "now": now, "hours": hours}


def station_json(station, *, distance_km: float | None, prices_json_value: dict | None) -> dict:
    site = station.site
    connectors = [{
        "connector_id": c.connector_id, "type": c.connector_type, "max_power_w": c.max_power_w, "status": c.status,
        "status_text": connector_status_text(connector=c), "power_w": c.power_w, "status_at": iso_utc(c.status_at),
    } for c in station.live_connectors]
    return {
        "id": station.pk, "ocpp_id": station.ocpp_id, "parking_spot": station.parking_spot,
        "site": {"id": site.pk, "name": site.name, "address": site.address, "city": site.city,
                 "postal_code": site.postal_code, "country": site.country, "latitude": str(site.latitude),
                 "longitude": str(site.longitude), "time_zone": site.time_zone},
        "current_type": station.current_type, "max_power_w": station.max_power_w,
        "access_mode": station.access_mode, "online": station.is_connected,
        "distance_km": None if distance_km is None else round(distance_km, 3),
        "connector_types": sorted({c["type"] for c in connectors}),
        "connectors": connectors,
        "prices": prices_json_value,
    }


class PriceSerializer(serializers.Serializer):
    total_excl_vat = MoneyField(decimal_places=2)
    total_vat = MoneyField(decimal_places=2)
    total_incl_vat = MoneyField(decimal_places=2)
    tariff = serializers.CharField(source="tariff_label")
    rated_at = serializers.DateTimeField()


@extend_schema_field(MoneyField(decimal_places=2))
class _RunningCostField(serializers.Field):
    def to_representation(self, value):
        return None if value is None else money(value.total_incl_vat, value.currency, TWO)


class SessionSerializer(serializers.Serializer):
    """A session of the driver, live: used by GET /sessions/{id}/ and the WebSocket stream."""

    id = serializers.IntegerField(source="session.pk", help_text="The evnet session id (OCPP transactionId).")
    station_id = serializers.IntegerField(source="session.station_id")
    station = serializers.CharField(source="session.station.ocpp_id")
    site = serializers.CharField(source="session.station.site.name")
    connector_id = serializers.IntegerField(source="session.connector_number")
    card_id = serializers.IntegerField(source="session.id_tag_id", allow_null=True)
    state = serializers.CharField(source="session.state")
    started_at = serializers.DateTimeField(source="session.started_at")
    stopped_at = serializers.DateTimeField(source="session.stopped_at", allow_null=True)
    stop_reason = serializers.CharField(source="session.stop_reason")
    energy_wh = serializers.IntegerField(source="session.energy_wh")
    energy_kwh = serializers.SerializerMethodField(help_text="Display only: energy_wh in kWh, 3 decimals.")
    power_w = serializers.IntegerField(help_text="Power last reported (0 once stopped).")
    soc_percent = serializers.IntegerField(allow_null=True, help_text="State of charge last reported, if the car "
                                                                      "tells.")
    running_cost = _RunningCostField(allow_null=True, help_text="Cost so far incl. VAT (null once priced or "
                                                                "without tariff).")
    price = PriceSerializer(allow_null=True, help_text="The final price, once the session is closed and rated.")
    receipt_url = serializers.SerializerMethodField()

    def get_energy_kwh(self, live) -> str:
        return kwh(live["session"].energy_wh)

    def get_receipt_url(self, live) -> str | None:
        if live["price"] is None:
            return None
        return f"/api/v1/sessions/{live['session'].pk}/receipt.pdf"


class SessionListItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    station_id = serializers.IntegerField()
    station = serializers.CharField(source="station.ocpp_id")
    site = serializers.CharField(source="station.site.name")
    connector_id = serializers.IntegerField(source="connector_number")
    card_id = serializers.IntegerField(source="id_tag_id", allow_null=True)
    state = serializers.CharField()
    started_at = serializers.DateTimeField()
    stopped_at = serializers.DateTimeField(allow_null=True)
    energy_wh = serializers.IntegerField()
    total_incl_vat = serializers.SerializerMethodField()

    @extend_schema_field(MoneyField(decimal_places=2, allow_null=True))
    def get_total_incl_vat(self, session) -> dict | None:
        price = getattr(session, "price", None)
        if price is None:
            return None
        return money(price.total_incl_vat.amount, str(price.total_incl_vat.currency), TWO)


class RemoteStartSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The start request (poll /api/v1/sessions/starts/{id}/).")
    status = serializers.CharField()
    detail = serializers.CharField()
    station_id = serializers.IntegerField()
    connector_id = serializers.IntegerField(source="connector_number")
    card_id = serializers.IntegerField(source="id_tag_id")
    session_id = serializers.IntegerField(allow_null=True, help_text="Known once the charger started.")
    requested_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
