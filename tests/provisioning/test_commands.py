"""register_station and register_card: idempotent, with clear errors and a non-zero exit code."""
from __future__ import annotations

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError

from apps.stations.models import ChargingStation, StationPermission
from apps.users.models import IdTag
from tests.factories import CircuitFactory, OrganizationFactory, SiteFactory, StationFactory, UserFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_register_station_creates_station_with_connectors_and_password_then_is_idempotent():
    site = SiteFactory(name="Condomínio Edifício Tejo")
    CircuitFactory(site=site, name="Piso -3 Circuito 1")
    out = run("register_station", "ZCS031974", "--site", "condomínio edifício tejo", "--circuit",
              "Piso -3 Circuito 1", "--password", "s3cret", "--parking-spot", "Lugar n°3049", "--connectors", "2",
              "--max-power-w", "7400")
    assert "Registered station ZCS031974 at Condomínio Edifício Tejo, circuit Piso -3 Circuito 1, 2 connector(s)" \
        in out
    station = ChargingStation.objects.get(ocpp_id="ZCS031974")
    assert station.check_password("s3cret") and station.parking_spot == "Lugar n°3049"
    assert [(c.connector_id, c.connector_type, c.max_power_w) for c in station.connectors.all()] == [
        (1, "Type2", 7400), (2, "Type2", 7400)]
    again = run("register_station", "zcs031974", "--site", str(site.pk), "--connectors", "2")
    assert "Updated station ZCS031974" in again
    assert ChargingStation.objects.count() == 1 and station.connectors.count() == 2
    station.refresh_from_db()
    assert station.check_password("s3cret")  # not given again: kept


def test_register_station_dc_defaults_to_ccs2_connectors():
    site = SiteFactory(name="Estacionamento Paulista")
    run("register_station", "HPC-01", "--site", site.name, "--current-type", "HPC", "--max-power-w", "150000",
        "--connectors", "1")
    connector = ChargingStation.objects.get(ocpp_id="HPC-01").connectors.get()
    assert (connector.connector_type, connector.max_power_w) == ("CCS2", 150000)


@pytest.mark.parametrize("args, message", [
    (["CP1", "--site", "Nowhere"], "No site named or numbered “Nowhere”."),
    (["CP1", "--site", "Garage", "--circuit", "Piso -9"], "Site “Garage” has no circuit named “Piso -9”."),
    (["bad id!", "--site", "Garage"], "ocpp_id: An OCPP identity is 1 to 48 characters"),
    (["CP1", "--site", "Garage", "--connectors", "0", "--max-power-w", "7400"], "A station has 1 to 8 connectors"),
    (["CP1", "--site", "Garage", "--connectors", "2"], "max_power_w: Give the station's power (W)"),
    (["CP1", "--site", "Garage", "--max-power-w", "-5"], "max_power_w: The power must be a positive number"),
])
def test_register_station_refuses_bad_input_and_saves_nothing(args, message):
    SiteFactory(name="Garage")
    with pytest.raises(CommandError) as error:
        run("register_station", *args)
    assert message in str(error.value)
    assert ChargingStation.objects.count() == 0


def test_register_station_with_an_ambiguous_site_name_asks_for_the_id():
    SiteFactory(name="Garage")
    SiteFactory(name="garage")
    with pytest.raises(CommandError, match="Several sites are named “Garage”: give the site id instead."):
        run("register_station", "CP1", "--site", "Garage")


def test_command_line_error_exits_non_zero(capsys):
    with pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(["manage.py", "register_station", "CP1", "--site", "Nowhere"])
    assert exit_info.value.code != 0
    assert "No site named or numbered “Nowhere”" in capsys.readouterr().err


def test_register_card_with_station_permissions_is_idempotent():
    organization = OrganizationFactory(slug="condominio-tejo", name="Condomínio Tejo")
    owner = UserFactory(username="maria")
    station = StationFactory(ocpp_id="ZCS031974", site=SiteFactory(organization=organization))
    out = run("register_card", "04A1B2C3D4", "--organization", "condominio-tejo", "--owner", "maria",
              "--station", "zcs031974", "--label", "Cartão 12", "--user-group", "resident")
    assert "Registered card 04A1B2C3D4 for Condomínio Tejo, holder maria, allowed at ZCS031974 (1 new)" in out
    card = IdTag.objects.get(uid="04A1B2C3D4")
    assert (card.owner, card.organization, card.user_group, card.label) == (owner, organization, "resident",
                                                                             "Cartão 12")
    again = run("register_card", "04a1b2c3d4", "--organization", "condominio-tejo", "--station", "ZCS031974")
    assert "Updated card 04A1B2C3D4" in again and "(0 new)" in again
    assert IdTag.objects.count() == 1
    card.refresh_from_db()
    assert card.user_group == "resident" and card.owner == owner  # not given again: kept
    assert StationPermission.objects.filter(station=station, id_tag=card).count() == 1


@pytest.mark.parametrize("args, message", [
    (["CARD1", "--organization", "nope"], "No organization “nope”."),
    (["CARD1", "--organization", "tejo", "--owner", "ghost"], "No person with username “ghost”."),
    (["CARD1", "--organization", "tejo", "--station", "NOPE-1"], "No station “NOPE-1”."),
    (["card with spaces", "--organization", "tejo"], "uid: An RFID uid is 1 to 20 characters"),
])
def test_register_card_refuses_bad_input_and_saves_nothing(args, message):
    OrganizationFactory(slug="tejo")
    with pytest.raises(CommandError) as error:
        run("register_card", *args)
    assert message in str(error.value)
    assert IdTag.objects.count() == 0


def test_register_card_refuses_a_uid_of_another_organization():
    OrganizationFactory(slug="tejo")
    other = OrganizationFactory(slug="frota")
    IdTag.objects.create(uid="SHARED1", organization=other)
    with pytest.raises(CommandError, match="already belongs to another organization"):
        run("register_card", "shared1", "--organization", "tejo")
    assert IdTag.objects.get().organization == other
