"""The demo as a driver sees it through the API: the condominium's stations show the seed's retailer time-of-use
prices (a tariff on a shipped TOU calendar), and the resident's wallet holds the demo's opening top-up."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from apps.sites.models import Site

pytestmark = pytest.mark.django_db


def test_demo_resident_finds_priced_stations_and_a_funded_wallet(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("load_demo")
    client = APIClient()
    token = client.post("/api/v1/auth/token/", {"username": "maria.santos", "password": "evnet-demo"},
                        format="json").json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    tejo = Site.objects.get(organization__slug="condominio-edificio-tejo")
    response = client.get(f"/api/v1/stations/?near={tejo.latitude},{tejo.longitude}&radius_km=1")
    assert response.status_code == 200, response.content
    stations = {s["ocpp_id"]: s for s in response.json()["results"]}
    assert "ZCS031974" in stations
    hours = stations["ZCS031974"]["prices"]["hours"]
    assert len(hours) == 24
    energy = {Decimal(h["energy_per_kwh"]["amount"]) for h in hours}
    # The retailer's weekly cycle has several periods in any 24 hours, each priced above zero, in euros.
    assert len(energy) >= 2 and min(energy) > 0
    assert {h["energy_per_kwh"]["currency"] for h in hours} == {"EUR"}
    assert stations["ZCS031974"]["prices"]["now"]["energy_per_kwh"]["amount"] != "0.0000"
    wallet = client.get("/api/v1/wallet/")
    assert wallet.status_code == 200, wallet.content
    [tejo_wallet] = [w for w in wallet.json() if "Tejo" in str(w) or "condominio" in str(w).lower()]
    # Enough to start a charge at once (the README's simulator example), paid through the simulated provider.
    assert tejo_wallet["balance"] == {"amount": "20.00", "currency": "EUR"}
