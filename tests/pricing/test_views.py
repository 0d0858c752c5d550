"""The JSON forecast endpoint, the admin pages (panel, import, what-if, forecast action) and the what-if command,
as staff of the right and the wrong organization see them."""
from __future__ import annotations

from datetime import date, datetime
from datetime import timezone as dt_timezone
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from apps.pricing.models import LoadCurve, PriceForecast, PvCurve, StationPricing
from apps.pricing.services.forecast import forecast_compute
from tests.factories import OrganizationFactory, UserFactory, clerk_for

from .factories import figure2_station, pv_csv

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=dt_timezone.utc)
FIGURE2_CURVES = "hour,energy_tariff,f_load,f_occ,f_pv_local,f_pv_global\n" + "\n".join(
    f"{h},0.60,{load},{1 if h in {7, 8, 15, 16, 17, 18, 19, 20} else 0},{1 if 9 <= h <= 15 else 0},"
    f"{1 if 10 <= h <= 13 else 0}"
    for h, load in enumerate(["0.60", "0.57", "0.55", "0.55", "0.56", "0.60", "0.70", "0.80", "0.85", "0.82",
                              "0.80", "0.78", "0.76", "0.78", "0.80", "0.84", "0.88", "0.93", "1.00", "0.97",
                              "0.92", "0.80", "0.62", "0.61"]))


@pytest.fixture
def station():
    station = figure2_station()
    forecast_compute(now=NOW, day=date(2026, 12, 2))
    return station


def test_forecast_json_for_staff_of_the_station(client, station):
    client.force_login(clerk_for(station.site.organization, username="ana.bpo"))
    response = client.get(f"/pricing/stations/{station.ocpp_id}/forecast.json?date=2026-12-02")
    assert response.status_code == 200
    body = response.json()
    assert (body["station"], body["currency"], body["time_zone"], body["mode"]) == (
        "SP-DC01", "BRL", "America/Sao_Paulo", "at_start")
    assert len(body["hours"]) == 24
    noon = body["hours"][12]
    assert noon["start_at"] == "2026-12-02T15:00:00Z" and noon["local_hour"] == 12
    assert noon["variable_price_per_kwh"] == {"amount": "1.0600", "currency": "BRL"}
    assert noon["fixed_price"] == {"amount": "2.0000", "currency": "BRL"}
    assert noon["idle_fee_per_minute"] == {"amount": "0.5000", "currency": "BRL"}
    assert noon["factors"] == {"energy_tariff_per_kwh": "0.6000", "energy_period": "flat", "f_load": "0.7600",
                               "f_occ": 0, "f_pv_local": 1, "f_pv_global": 1, "dm": "1.0600",
                               "clamped_at_min_price": False, "occupancy_expected": "0.0000",
                               "occupancy_source": "default"}


def test_forecast_json_refuses_other_organizations_anonymous_and_bad_dates(client, station):
    response = client.get(f"/pricing/stations/{station.ocpp_id}/forecast.json")
    assert response.status_code == 401
    client.force_login(UserFactory(username="driver"))
    assert client.get(f"/pricing/stations/{station.ocpp_id}/forecast.json").status_code == 403
    client.force_login(clerk_for(OrganizationFactory(slug="other"), username="bruno.bpo"))
    response = client.get(f"/pricing/stations/{station.ocpp_id}/forecast.json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    response = client.get(f"/pricing/stations/{station.ocpp_id}/forecast.json?date=2026-02-30")
    assert response.status_code == 400 and "is not a date" in response.json()["error"]["message"]


def test_panel_page_shows_the_hours_and_is_scoped(client, station):
    pricing = StationPricing.objects.get(station=station)
    url = reverse("admin:pricing_stationpricing_panel", args=[pricing.pk])
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    response = client.get(url + "?date=2026-12-02")
    assert response.status_code == 200
    html = response.content.decode()
    assert "pricing/vendor/chart.umd.js" in html and 'id="panel-series"' in html
    assert "<td>1.0600</td>" in html and "<td>2.6000</td>" in html
    assert "panel-preview" not in html
    # A day not published yet is computed on the spot and said so.
    assert "panel-preview" in client.get(url + "?date=2026-12-03").content.decode()
    client.force_login(clerk_for(OrganizationFactory(slug="other"), username="bruno.bpo"))
    assert client.get(url).status_code in (403, 404)


def test_admin_action_computes_the_forecast(client, station):
    PriceForecast.objects.all().delete()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    pricing = StationPricing.objects.get(station=station)
    response = client.post(reverse("admin:pricing_stationpricing_changelist"),
                           {"action": "compute_forecast", "_selected_action": [pricing.pk]}, follow=True)
    assert response.status_code == 200
    assert "Forecast stored for 1 station(s): 48 hourly prices." in response.content.decode()
    assert PriceForecast.objects.filter(station=station).count() == 48


def test_admin_import_page_stores_a_good_file_and_shows_errors_of_a_bad_one(client, station):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = reverse("admin:pricing_import")
    good = SimpleUploadedFile("pv.csv", pv_csv(["0"] * 11 + ["20"] + ["0"] * 12).encode())
    response = client.post(url, {"kind": "pv_local", "file": good, "site": station.site_id}, follow=True)
    assert "1 curve(s) of local PV of" in response.content.decode()
    assert PvCurve.objects.get(site=station.site).power_kw[11] == "20.000"
    bad = SimpleUploadedFile("load.csv", b"feeder,day_type,hour,load\nX1,weekday,3,high\n")
    response = client.post(url, {"kind": "load_pu", "file": bad,
                                 "utility": station.dynamic_pricing.feeder.utility_id})
    html = response.content.decode()
    assert response.status_code == 200
    assert "line 2, column &#x27;load&#x27;: “high” is not a number" in html
    assert not LoadCurve.objects.filter(feeder__code="X1").exists()


def test_clerk_cannot_import_utility_data(client, station):
    client.force_login(clerk_for(station.site.organization, username="ana.bpo"))
    bad = SimpleUploadedFile("t.csv", b"day_type,hour,period,price_per_kwh\nall,0-23,flat,0.1\n")
    response = client.post(reverse("admin:pricing_import"), {"kind": "energy_tariff", "file": bad})
    assert response.status_code == 403


def test_whatif_page_plots_prices_and_sensitivity(client, station):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = reverse("admin:pricing_whatif")
    pricing = StationPricing.objects.get(station=station)
    prefilled = client.get(url + f"?station={pricing.pk}").content.decode()
    assert "hour,energy_tariff,f_load,f_occ,f_pv_local,f_pv_global" in prefilled
    data = {"alpha": "1", "beta": "0.6", "gamma": "0.35", "fixed_price": "2", "min_price_per_kwh": "1",
            "investment_per_kwh": "0.40", "profit_per_kwh": "0", "idle_fee_per_minute": "0.5",
            "curves": FIGURE2_CURVES, "sensitivity_parameter": "gamma", "sensitivity_values": "0, 0.35"}
    html = client.post(url, data).content.decode()
    # Σ 43.04 / 24 = 1.7933; with γ = 0 the PV hours lose their discount: + 0.35 × (7 + 4) = 3.85 → 46.89 / 24
    # = 1.95375 → 1.9538
    assert 'id="whatif-average">1.7933<' in html
    assert "<td>0</td><td>1.9538</td>" in html
    assert "<td>0.35</td><td>1.7933</td><td>1.0600</td><td>2.6000</td>" in html
    data["curves"] = "hour,energy_tariff,f_load,f_occ,f_pv_local,f_pv_global\n0,0.6,0.5,2,0,0\n"
    html = client.post(url, data).content.decode()
    assert "line 2, column &#x27;f_occ&#x27;: 2 is above 1" in html


def test_whatif_command_prints_prices_average_and_sensitivity(tmp_path, capsys):
    curves = tmp_path / "day.csv"
    curves.write_text(FIGURE2_CURVES)
    call_command("pricing_whatif", str(curves), "--alpha", "1", "--beta", "0.6", "--gamma", "0.35",
                 "--investment-per-kwh", "0.40", "--min-price-per-kwh", "1", "--vary", "alpha=0,1")
    out = capsys.readouterr().out
    assert "18h   1.00      2.60     2.6000" in out
    assert "daily average 1.7933" in out
    # α = 0: busy hours 1 + 0.6 = 1.60 (7 of them), 15h 1 + 0.6 − 0.35 = 1.25, every other hour at or below
    # C_var 1.00 → P_min 1.00 (16 hours): (11.20 + 1.25 + 16.00) / 24 = 1.18541… → 1.1854
    assert "0        1.1854    1.0000    1.6000" in out
    assert "1        1.7933    1.0600    2.6000" in out
    with pytest.raises(CommandError, match="choose one of alpha, beta, gamma"):
        call_command("pricing_whatif", str(curves), "--vary", "delta=1")
    short = tmp_path / "short.csv"
    short.write_text("hour,energy_tariff,f_load,f_occ,f_pv_local,f_pv_global\n0,0.6,0.5,0,0,0\n")
    with pytest.raises(CommandError, match="1 hours given: a day has 24"):
        call_command("pricing_whatif", str(short))


def test_clerk_edits_coefficients_and_bad_values_are_refused(client, station):
    client.force_login(clerk_for(station.site.organization, username="ana.bpo"))
    pricing = StationPricing.objects.get(station=station)
    url = reverse("admin:pricing_stationpricing_change", args=[pricing.pk])
    assert client.get(url).status_code == 200
    form = {"station": station.pk, "feeder": pricing.feeder_id, "enabled": "on", "mode": "hourly", "alpha": "0.8",
            "beta": "0.6", "gamma": "0.35", "occupancy_threshold": "0.5", "fixed_price": "2",
            "min_price_per_kwh": "1", "investment_per_kwh": "0.4", "profit_per_kwh": "0",
            "idle_fee_per_minute": "0.5"}
    response = client.post(url, {**form, "gamma": "-0.1"})
    assert response.status_code == 200 and "Ensure this value is greater than or equal to 0" in \
        response.content.decode()
    pricing.refresh_from_db()
    assert pricing.gamma == D("0.35") and pricing.mode == "at_start"
    assert client.post(url, form).status_code == 302
    pricing.refresh_from_db()
    assert (pricing.alpha, pricing.mode) == (D("0.8"), "hourly")
