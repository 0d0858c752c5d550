from decimal import Decimal

import pytest
from django.core.management import call_command

from apps.circuits.models import Circuit
from apps.organizations.models import Organization
from apps.stations.models import ChargingStation
from apps.users.models import IdTag

pytestmark = pytest.mark.django_db


def test_demo_holds_the_chazemo_garage_and_is_idempotent(settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    call_command("load_demo")
    first_counts = (Organization.objects.count(), ChargingStation.objects.count(), Circuit.objects.count(),
                    IdTag.objects.count())
    call_command("load_demo")
    out = capsys.readouterr().out
    assert (Organization.objects.count(), ChargingStation.objects.count(), Circuit.objects.count(),
            IdTag.objects.count()) == first_counts
    garage = Organization.objects.get(slug="condominio-edificio-tejo")
    assert garage.kind == "condominium"
    floor_circuits = Circuit.objects.filter(site__organization=garage, name__regex=r"^Piso -[34] Circuito [1-8]$")
    assert floor_circuits.count() == 16
    station = ChargingStation.objects.get(ocpp_id="ZCS031974")
    assert station.parking_spot == "Lugar n°3049"
    assert station.circuit.name == "Piso -3 Circuito 2"
    assert station.circuit.parent.name == "Piso -3"
    assert station.site.time_zone == "Europe/Lisbon"
    assert ChargingStation.objects.get(ocpp_id="ZPR150666").parking_spot == "Lugar n°3054"
    assert Organization.objects.filter(kind="parking_operator", sites__time_zone="America/Sao_Paulo").exists()
    assert Organization.objects.filter(kind="fleet_company").exists()
    # The admin login is printed, and stays the same between runs on one machine.
    password = (tmp_path / "admin-login.txt").read_text().strip()
    assert out.count(f"password: {password}") == 2
    assert "username: admin" in out


def test_demo_drivers_are_customers_and_the_condominium_is_priced(settings, tmp_path):
    """A driver of the demo can use the API at once: the condominium's stations have the seed's retailer tariff
    (one version however often the demo is loaded), and each driver has a customer record — prepaid for the
    residents, postpaid for the fleet's drivers."""
    from apps.billing.models import Customer
    from apps.tariffs.models import TariffAssignment, TariffVersion
    from apps.tariffs.selectors import tariff_spec_for
    from django.utils import timezone

    settings.VAR_DIR = tmp_path
    call_command("load_demo")
    call_command("load_demo")
    station = ChargingStation.objects.get(ocpp_id="ZCS031974")
    assert TariffAssignment.objects.filter(site=station.site).count() == 1
    assert TariffVersion.objects.filter(tariff__code="chazemo-tejo").count() == 1
    assert tariff_spec_for(station=station, user_group="public", at=timezone.now()) is not None
    resident = Customer.objects.get(organization__slug="condominio-edificio-tejo", user__username="maria.santos")
    assert resident.regime == Customer.Regime.PREPAID and resident.currency == "EUR"
    fleet_driver = Customer.objects.get(organization__kind="fleet_company", user__username="lucas.motorista")
    assert fleet_driver.regime == Customer.Regime.POSTPAID
    # One opening top-up per prepaid driver, through the real webhook and ledger, however often the demo loads.
    from apps.billing.models import Payment
    from apps.billing.selectors import journal_unbalanced_entries, wallet_balance
    assert wallet_balance(customer=resident) == Decimal("20.00")
    assert Payment.objects.filter(customer=resident, status=Payment.Status.SUCCEEDED).count() == 1
    assert not Payment.objects.filter(customer=fleet_driver).exists()
    assert journal_unbalanced_entries() == []
