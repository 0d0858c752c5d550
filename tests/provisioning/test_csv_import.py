"""CSV import of stations and cards: preview, apply in one transaction, line/column errors, organization scoping —
through the services and through the admin pages a clerk uses."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.provisioning.exceptions import ImportRejected, RowError
from apps.provisioning.services import csv_import_run
from apps.stations.models import ChargingStation, StationPermission
from apps.users.models import IdTag
from tests.factories import CircuitFactory, OrganizationFactory, SiteFactory, StationFactory, UserFactory, clerk_for

pytestmark = pytest.mark.django_db

STATIONS_URL = "admin:provisioning_stationimport_changelist"
CARDS_URL = "admin:provisioning_cardimport_changelist"


@pytest.fixture
def tejo():
    organization = OrganizationFactory(slug="tejo", name="Condomínio Tejo")
    site = SiteFactory(organization=organization, name="Edifício Tejo")
    CircuitFactory(site=site, name="Piso -3 Circuito 1")
    return organization


@pytest.fixture
def frota():
    organization = OrganizationFactory(slug="frota", name="Frota Lda")
    SiteFactory(organization=organization, name="Depósito Frota")
    return organization


GOOD_STATIONS = (
    "ocpp_id,site,circuit,parking_spot,password,connectors,max_power_w,current_type\n"
    "ZCS031974,Edifício Tejo,Piso -3 Circuito 1,Lugar n°3049,pw-3049,1,7400,AC\n"
    "ZPR150666,edifício tejo,,Lugar n°3054,pw-3054,2,22000,ac\n"
)


def test_preview_reports_creates_and_updates_and_saves_nothing(tejo):
    StationFactory(ocpp_id="zpr150666", site=tejo.sites.get())
    report = csv_import_run(kind="stations", text=GOOD_STATIONS, commit=False)
    assert [(r.line, r.key, r.action) for r in report.rows] == [(2, "ZCS031974", "create"),
                                                                 (3, "zpr150666", "update")]
    assert report.rows[0].summary == ("site Edifício Tejo, circuit Piso -3 Circuito 1, Lugar n°3049, "
                                      "1 connector(s), 7400 W, password set")
    assert not report.committed
    assert list(ChargingStation.objects.values_list("ocpp_id", flat=True)) == ["zpr150666"]


def test_apply_creates_stations_with_connectors_and_passwords(tejo):
    report = csv_import_run(kind="stations", text=GOOD_STATIONS, commit=True)
    assert (report.created, report.updated, report.committed) == (2, 0, True)
    station = ChargingStation.objects.get(ocpp_id="ZPR150666")
    assert station.check_password("pw-3054") and station.connectors.count() == 2
    again = csv_import_run(kind="stations", text=GOOD_STATIONS, commit=True)
    assert (again.created, again.updated) == (0, 2)
    assert ChargingStation.objects.count() == 2


def test_a_bad_row_reports_line_and_column_and_nothing_is_saved(tejo):
    text = GOOD_STATIONS + ("BAD ID,Edifício Tejo,,,,,,\n"
                            "ZCS000001,Nowhere,,,,1,7400,AC\n"
                            "ZCS000002,Edifício Tejo,Piso -9,,,,,\n"
                            "ZCS000003,Edifício Tejo,,,,two,7400,AC\n"
                            "ZCS000004,Edifício Tejo,,,,1,7400,XX\n")
    with pytest.raises(ImportRejected) as rejected:
        csv_import_run(kind="stations", text=text, commit=True)
    assert [(e.line, e.column) for e in rejected.value.errors] == [
        (4, "ocpp_id"), (5, "site"), (6, "circuit"), (7, "connectors"), (8, "current_type")]
    assert rejected.value.errors[1].message == "No site named or numbered “Nowhere”."
    assert rejected.value.errors[3].message == "“two” is not a whole number."
    assert ChargingStation.objects.count() == 0  # the two good rows were rolled back too


@pytest.mark.parametrize("text, error", [
    ("", RowError(1, "-", "The file is empty: the first line must name the columns.")),
    ("ocpp_id,site,colour\n", RowError(1, "colour", "Unknown column “colour” (expected ocpp_id, site, circuit, "
                                                    "parking_spot, password, connectors, max_power_w, "
                                                    "current_type, connector_type).")),
    ("ocpp_id,circuit\nCP1,x\n", RowError(1, "site", "Missing column “site”.")),
    ("ocpp_id,site\n", RowError(2, "-", "The file has a header but no rows.")),
    ("ocpp_id,site\nCP1,Edifício Tejo\ncp1,Edifício Tejo\n", RowError(3, "ocpp_id", "“cp1” is also on line 2.")),
    ("ocpp_id,site\nCP1,Edifício Tejo,extra\n", RowError(2, "-", "3 cells, but the header has 2 columns.")),
])
def test_malformed_files_are_rejected_with_the_line(tejo, text, error):
    with pytest.raises(ImportRejected) as rejected:
        csv_import_run(kind="stations", text=text, commit=True)
    assert rejected.value.errors == [error]
    assert ChargingStation.objects.count() == 0


def test_semicolon_separated_files_with_a_bom_are_read(tejo):
    text = "\ufeffocpp_id;site;connectors;max_power_w\nZCS031974;Edifício Tejo;1;7400\n"
    assert csv_import_run(kind="stations", text=text, commit=True).created == 1


def test_cards_import_registers_cards_and_permissions(tejo):
    UserFactory(username="maria").memberships.create(organization=tejo, role="driver")
    StationFactory(ocpp_id="ZCS031974", site=tejo.sites.get())
    StationFactory(ocpp_id="ZPR150666", site=tejo.sites.get())
    text = ("uid,organization,owner,label,user_group,expires_at,stations\n"
            "04A1B2C3D4,tejo,maria,Cartão 12,resident,2027-12-31,ZCS031974;ZPR150666\n"
            "04FFFF0001,tejo,,,,,\n")
    report = csv_import_run(kind="cards", text=text, commit=True)
    assert [(r.key, r.action) for r in report.rows] == [("04A1B2C3D4", "create"), ("04FFFF0001", "create")]
    card = IdTag.objects.get(uid="04A1B2C3D4")
    assert card.user_group == "resident" and card.expires_at.isoformat() == "2027-12-31T00:00:00+00:00"
    assert StationPermission.objects.filter(id_tag=card).count() == 2
    assert IdTag.objects.get(uid="04FFFF0001").user_group == "public"


def test_cards_import_bad_date_and_unknown_station_are_reported(tejo):
    text = ("uid,organization,expires_at,stations\n"
            "CARD1,tejo,31/12/2027,\n"
            "CARD2,tejo,,NOPE\n"
            "CARD3,nope,,\n")
    with pytest.raises(ImportRejected) as rejected:
        csv_import_run(kind="cards", text=text, commit=True)
    assert [(e.line, e.column) for e in rejected.value.errors] == [(2, "expires_at"), (3, "stations"),
                                                                     (4, "organization")]
    assert IdTag.objects.count() == 0


def test_a_clerk_imports_only_into_organizations_they_serve(tejo, frota):
    clerk = clerk_for(tejo, username="ana.bpo")
    StationFactory(ocpp_id="FROTA-1", site=frota.sites.get())
    text = ("ocpp_id,site\n"
            "ZCS031974,Edifício Tejo\n"
            "ZCS031975,Depósito Frota\n"        # a site of another organization: as if it did not exist
            "FROTA-1,Edifício Tejo\n")          # moving another organization's station into ours
    with pytest.raises(ImportRejected) as rejected:
        csv_import_run(kind="stations", text=text, actor=clerk, commit=True)
    assert [(e.line, e.column, e.message) for e in rejected.value.errors] == [
        (3, "site", "No site named or numbered “Depósito Frota” among the organizations you serve."),
        (4, "ocpp_id", "Station FROTA-1 belongs to an organization you do not serve."),
    ]
    assert ChargingStation.objects.get(ocpp_id="FROTA-1").site.organization == frota
    cards = "uid,organization,stations\nC1,frota,\nC2,tejo,FROTA-1\n"
    with pytest.raises(ImportRejected) as rejected:
        csv_import_run(kind="cards", text=cards, actor=clerk, commit=True)
    assert [(e.line, e.column) for e in rejected.value.errors] == [(2, "organization"), (3, "stations")]


# ------------------------------------------------------------------------------------------- the admin pages
def upload(client, url_name, text, name="import.csv"):
    return client.post(reverse(url_name), {"file": SimpleUploadedFile(name, text.encode("utf-8"), "text/csv"),
                                           "preview": "Preview"})


def test_clerk_previews_then_applies_a_station_import_in_the_admin(client, tejo):
    client.force_login(clerk_for(tejo, username="ana.bpo"))
    page = client.get(reverse(STATIONS_URL))
    assert page.status_code == 200 and b"ocpp_id</code> (required)" in page.content
    preview = upload(client, STATIONS_URL, GOOD_STATIONS)
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "Preview: 2 to create, 0 to update" in html and "ZCS031974" in html
    assert ChargingStation.objects.count() == 0
    applied = client.post(reverse(STATIONS_URL), {"csv_text": preview.context["csv_text"], "apply": "1"})
    assert applied.status_code == 302 and applied["Location"] == reverse("admin:stations_chargingstation_changelist")
    assert sorted(ChargingStation.objects.values_list("ocpp_id", flat=True)) == ["ZCS031974", "ZPR150666"]


def test_admin_shows_every_bad_row_and_saves_nothing(client, tejo):
    client.force_login(clerk_for(tejo, username="ana.bpo"))
    response = upload(client, STATIONS_URL, GOOD_STATIONS + "ZCS000001,Nowhere,,,,,,\n")
    html = response.content.decode()
    assert "Nothing was saved: 1 problem" in html
    assert "<td>4</td><td>site</td><td>No site named or numbered “Nowhere” among the organizations you serve." in html
    assert "Apply this import" not in html
    # A tampered apply is validated again: still nothing saved.
    applied = client.post(reverse(STATIONS_URL), {"csv_text": GOOD_STATIONS + "X,Nowhere\n", "apply": "1"})
    assert "Nothing was saved" in applied.content.decode() and ChargingStation.objects.count() == 0


def test_admin_refuses_a_file_that_is_not_utf8(client, tejo):
    client.force_login(clerk_for(tejo, username="ana.bpo"))
    response = client.post(reverse(STATIONS_URL), {"file": SimpleUploadedFile("x.csv", "ocpp_id;site\nçã".encode(
        "latin-1")), "preview": "Preview"})
    assert "The file is not UTF-8 text" in response.content.decode()


def test_card_import_page_for_a_clerk(client, tejo, frota):
    client.force_login(clerk_for(tejo, username="ana.bpo"))
    preview = upload(client, CARDS_URL, "uid,organization\nC1,tejo\nC2,frota\n")
    html = preview.content.decode()
    assert "<td>3</td><td>organization</td><td>No organization “frota” among the organizations you serve." in html
    ok = upload(client, CARDS_URL, "uid,organization\nC1,tejo\n")
    client.post(reverse(CARDS_URL), {"csv_text": ok.context["csv_text"], "apply": "1"})
    assert list(IdTag.objects.values_list("uid", flat=True)) == ["C1"]


def test_staff_without_station_permissions_cannot_open_the_import(client, tejo):
    staff = UserFactory(username="intern", is_staff=True)
    client.force_login(staff)
    assert client.get(reverse(STATIONS_URL)).status_code == 403
    assert client.post(reverse(STATIONS_URL), {"csv_text": GOOD_STATIONS, "apply": "1"}).status_code == 403
    assert ChargingStation.objects.count() == 0
