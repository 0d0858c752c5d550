"""Issue 8: a tariff whose energy component is dynamic (`evnet_dynamic`) is priced from the station's ANEEL price
schedule when the session is rated, and the stored price lines (what the receipt prints) show that price."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from apps.pricing.selectors import price_schedule_for
from apps.rating.services.prices import session_price_final
from tests.pricing.factories import figure2_station
from tests.rating.conftest import tariff_publish
from tests.rating.factories import session_with_readings

pytestmark = pytest.mark.django_db

DYNAMIC_TARIFF = {"id": "ANEEL-DYN", "currency": "BRL", "evnet_vat_rate": "0", "elements": [
    {"price_components": [{"type": "ENERGY", "price": "0.70", "step_size": 1, "evnet_dynamic": True}]}]}


def _session(station, start):
    # 3 kWh in 30 minutes, a reading every 5 minutes (500 Wh each).
    readings = [(start + timedelta(minutes=5 * i), 500 * i) for i in range(7)]
    return session_with_readings(station=station, readings=readings)


def test_dynamic_tariff_is_priced_from_the_published_schedule():
    station = figure2_station(ocpp_id="SP-DYN01", mode="at_start")
    tariff_publish(organization=station.site.organization, site=station.site, ocpi=DYNAMIC_TARIFF)
    start = datetime(2026, 3, 4, 21, 0, tzinfo=timezone.utc)  # 18:00 in São Paulo, a Wednesday: the utility peak
    session = _session(station, start)
    schedule = price_schedule_for(station=station, start_at=start, end_at=start + timedelta(minutes=30))
    published = schedule.hours[0].energy_per_kwh
    assert published != Decimal("0.70")  # the schedule, not the tariff's fallback price, must decide

    price = session_price_final(session_id=session.pk)

    energy_lines = [line for line in price.lines if line["dimension"] == "ENERGY"]
    assert [Decimal(line["unit_price"]) for line in energy_lines] == [published]
    # 3 kWh × the published price, rounded half-up to the centavo.
    assert price.total_excl_vat.amount == (3 * published).quantize(Decimal("0.01"))


def test_dynamic_tariff_without_dynamic_pricing_falls_back_to_the_tariff_price():
    station = figure2_station(ocpp_id="SP-DYN02")
    station.dynamic_pricing.delete()
    tariff_publish(organization=station.site.organization, site=station.site, ocpi=DYNAMIC_TARIFF)
    session = _session(station, datetime(2026, 3, 4, 21, 0, tzinfo=timezone.utc))

    price = session_price_final(session_id=session.pk)

    assert price.total_excl_vat.amount == Decimal("2.10")  # 3 kWh × 0.70
