"""The fleet managers' API: what a manager sees of their fleet, registering drivers, cards, plans, usage, exports
and invoices — each success paired with the failure a user could cause."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from djmoney.money import Money
from openpyxl import load_workbook
from rest_framework.test import APIClient

from apps.billing.models import Customer, CustomerCard
from apps.billing.services.plans import subscription_start
from apps.charging.services.authorization import id_tag_authorize
from apps.fleets.selectors import fleet_month_start
from apps.invoices.services.documents import invoice_issue_monthly
from apps.organizations.models import Membership
from apps.organizations.services import membership_grant
from apps.users.models import IdTag
from tests.billing.factories import CustomerFactory, PlanFactory
from tests.factories import OrganizationFactory, UserFactory

from .conftest import api_client, charge, utc

pytestmark = pytest.mark.django_db
User = get_user_model()


# --- fleets ---------------------------------------------------------------------------------------------------------

def test_manager_lists_only_the_fleets_they_manage(fleet_a, fleet_b):
    response = fleet_a.client.get("/api/v1/fleets/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert body["results"] == [{"id": fleet_a.org.pk, "name": "Frota A", "kind": "fleet_company", "country": "PT",
                                "time_zone": "Europe/Lisbon"}]


def test_a_driver_manages_no_fleet_and_gets_404_inside_theirs(fleet_a):
    driver = api_client(fleet_a.drivers[0])
    assert driver.get("/api/v1/fleets/").json()["count"] == 0
    response = driver.get(fleet_a.url("drivers/"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_anonymous_caller_gets_401(fleet_a):
    assert APIClient().get(fleet_a.url("drivers/")).status_code == 401


# --- drivers --------------------------------------------------------------------------------------------------------

def test_driver_list_shows_cards_vehicles_billing_and_this_months_energy(fleet_a):
    card = fleet_a.cards[0]
    month_start = fleet_month_start(fleet=fleet_a.org)
    charge(station=fleet_a.station, card=card, start=month_start + timedelta(minutes=5),
           stop=month_start + timedelta(hours=2), energy_wh=7_250)
    charge(station=fleet_a.station, card=card, start=month_start - timedelta(hours=2),
           stop=month_start - timedelta(hours=1), energy_wh=5_000)
    response = fleet_a.client.get(fleet_a.url("drivers/"))
    assert response.status_code == 200
    first = response.json()["results"][0]
    assert first["id"] == fleet_a.drivers[0].pk
    assert first["email"] == "driver1@frota-a.test"
    assert first["cards"] == [{"id": card.pk, "uid": "FA0001", "label": "Card 1", "status": "active"}]
    assert first["vehicles"] == [{"id": fleet_a.vehicles[0].pk, "make": "BYD", "model": "Dolphin",
                                  "license_plate": "AA-01"}]
    assert first["billing"]["regime"] == "postpaid"
    assert first["energy_this_month_wh"] == 7_250  # last month's session does not count
    assert first["energy_this_month_kwh"] == "7.250"
    detail = fleet_a.client.get(fleet_a.url(f"drivers/{fleet_a.drivers[0].pk}/"))
    assert detail.status_code == 200 and detail.json() == first


def test_register_driver_creates_account_role_customer_and_card_in_one_go(fleet_a):
    response = fleet_a.client.post(fleet_a.url("drivers/"), {
        "email": "Nova.Motorista@Example.test", "first_name": "Nova", "last_name": "Motorista",
        "card": {"uid": "fa9999", "label": "Frota 9999"}}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["created"] is True
    password = body["initial_password"]
    assert len(password) >= 12
    driver = User.objects.get(pk=body["driver"]["id"])
    assert Membership.objects.filter(user=driver, organization=fleet_a.org, role="driver").exists()
    customer = Customer.objects.get(organization=fleet_a.org, user=driver)
    assert (customer.regime, customer.currency) == ("postpaid", "EUR")  # a fleet company pays on its invoice
    card = IdTag.objects.get(uid="fa9999")
    assert (card.organization, card.owner, card.label, card.user_group) == (fleet_a.org, driver, "Frota 9999", "fleet")
    assert body["driver"]["cards"] == [{"id": card.pk, "uid": "fa9999", "label": "Frota 9999", "status": "active"}]
    # The initial password works for the app's login.
    login = APIClient().post("/api/v1/auth/token/", {"username": driver.username, "password": password},
                             format="json")
    assert login.status_code == 200


def test_a_condominium_registers_prepaid_drivers_unless_told_otherwise(fleet_a):
    condo = OrganizationFactory(name="Condomínio", slug="condo", kind="condominium", country="PT")
    admin = UserFactory(username="condo.admin")
    membership_grant(user=admin, organization=condo, role=Membership.Role.ORG_ADMIN)
    client = api_client(admin)
    first = client.post(f"/api/v1/fleets/{condo.pk}/drivers/", {"email": "a@condo.test"}, format="json")
    second = client.post(f"/api/v1/fleets/{condo.pk}/drivers/", {"email": "b@condo.test", "regime": "postpaid"},
                         format="json")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["driver"]["billing"]["regime"] == "prepaid"
    assert second.json()["driver"]["billing"]["regime"] == "postpaid"
    assert not Customer.objects.filter(organization=fleet_a.org, user__email__endswith="@condo.test").exists()


def test_registering_the_same_email_again_changes_nothing(fleet_a):
    payload = {"email": "repeat@example.test", "regime": "prepaid", "card": {"uid": "FA7777"}}
    first = fleet_a.client.post(fleet_a.url("drivers/"), payload, format="json")
    again = fleet_a.client.post(fleet_a.url("drivers/"), {**payload, "email": "REPEAT@example.test"}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["created"] is False and again.json()["initial_password"] is None
    assert again.json()["driver"]["id"] == first.json()["driver"]["id"]
    assert User.objects.filter(email__iexact="repeat@example.test").count() == 1
    assert Customer.objects.filter(user_id=first.json()["driver"]["id"]).count() == 1
    assert IdTag.objects.filter(uid__iexact="FA7777").count() == 1


def test_registering_an_existing_member_gives_them_the_driver_role(fleet_a):
    response = fleet_a.client.post(fleet_a.url("drivers/"), {"email": fleet_a.manager.email}, format="json")
    assert response.status_code == 200
    assert response.json()["created"] is False
    assert Membership.objects.filter(user=fleet_a.manager, organization=fleet_a.org, role="driver").exists()


def test_an_email_of_another_organizations_person_gets_a_separate_account(fleet_a, fleet_b):
    other = fleet_b.drivers[0]
    response = fleet_a.client.post(fleet_a.url("drivers/"), {"email": other.email, "first_name": "Homonym"},
                                   format="json")
    assert response.status_code == 201
    assert response.json()["driver"]["id"] != other.pk
    assert response.json()["driver"]["first_name"] == "Homonym"  # nothing of fleet B's person shows
    assert not Membership.objects.filter(user=other, organization=fleet_a.org).exists()


def test_a_card_uid_of_another_organization_is_refused_and_nothing_is_created(fleet_a, fleet_b):
    users_before = User.objects.count()
    response = fleet_a.client.post(fleet_a.url("drivers/"), {"email": "x@example.test",
                                                              "card": {"uid": fleet_b.cards[0].uid}}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "another organization" in error["fields"]["uid"][0]
    assert User.objects.count() == users_before
    assert IdTag.objects.get(uid=fleet_b.cards[0].uid).organization == fleet_b.org


def test_a_card_of_another_driver_of_the_fleet_is_a_409(fleet_a):
    response = fleet_a.client.post(fleet_a.url("drivers/"), {"email": "y@example.test",
                                                              "card": {"uid": fleet_a.cards[1].uid}}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "card_in_use"
    assert IdTag.objects.get(pk=fleet_a.cards[1].pk).owner == fleet_a.drivers[1]
    assert not User.objects.filter(email="y@example.test").exists()


@pytest.mark.parametrize("payload, field", [
    ({"email": "not-an-email"}, "email"),
    ({}, "email"),
    ({"email": "ok@example.test", "regime": "credit"}, "regime"),
    ({"email": "ok@example.test", "card": {"uid": "has space"}}, "card"),
    ({"email": "ok@example.test", "card": {"uid": "X" * 21}}, "card"),
    ({"email": "ok@example.test", "phone": "call me"}, "phone"),
])
def test_bad_registration_input_is_a_400_naming_the_field(fleet_a, payload, field):
    response = fleet_a.client.post(fleet_a.url("drivers/"), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not User.objects.filter(email="ok@example.test").exists()


# --- vehicles and cards ---------------------------------------------------------------------------------------------

def test_vehicles_list_detail_and_driver_filter(fleet_a):
    response = fleet_a.client.get(fleet_a.url("vehicles/"), {"driver": fleet_a.drivers[1].pk})
    assert response.status_code == 200
    [vehicle] = response.json()["results"]
    assert vehicle["license_plate"] == "AA-02"
    assert vehicle["driver"]["id"] == fleet_a.drivers[1].pk
    assert vehicle["card"]["uid"] == "FA0002"
    assert fleet_a.client.get(fleet_a.url(f"vehicles/{vehicle['id']}/")).json() == vehicle
    assert fleet_a.client.get(fleet_a.url("vehicles/"), {"driver": "abc"}).status_code == 400


def test_cards_filter_by_status_and_driver(fleet_a):
    IdTag.objects.filter(pk=fleet_a.cards[1].pk).update(status="blocked")
    blocked = fleet_a.client.get(fleet_a.url("cards/"), {"status": "blocked"}).json()["results"]
    assert [c["uid"] for c in blocked] == ["FA0002"]
    mine = fleet_a.client.get(fleet_a.url("cards/"), {"driver": fleet_a.drivers[0].pk}).json()["results"]
    assert [c["uid"] for c in mine] == ["FA0001"]
    assert mine[0]["vehicles"][0]["license_plate"] == "AA-01"
    bad = fleet_a.client.get(fleet_a.url("cards/"), {"status": "lost"})
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]


def test_block_is_idempotent_and_the_next_authorize_says_blocked(fleet_a):
    card = fleet_a.cards[0]
    for _ in range(2):
        response = fleet_a.client.post(fleet_a.url(f"cards/{card.pk}/block/"))
        assert response.status_code == 200
        assert response.json()["status"] == "blocked"
    assert id_tag_authorize(station=fleet_a.station, uid=card.uid, at=utc(2026, 11, 1)).status == "Blocked"
    for _ in range(2):
        assert fleet_a.client.post(fleet_a.url(f"cards/{card.pk}/unblock/")).json()["status"] == "active"
    assert id_tag_authorize(station=fleet_a.station, uid=card.uid, at=utc(2026, 11, 1)).status == "Accepted"


def test_blocking_an_unknown_card_is_a_404_and_changes_nothing(fleet_a):
    response = fleet_a.client.post(fleet_a.url("cards/999999/block/"))
    assert response.status_code == 404
    assert not IdTag.objects.filter(status="blocked").exists()


# --- plans ----------------------------------------------------------------------------------------------------------

def test_plans_show_fee_included_energy_and_this_months_use(fleet_a):
    company = CustomerFactory(organization=fleet_a.org, kind="fleet_company", regime="postpaid", user=None,
                              name="Frota A Lda")
    plan = PlanFactory(organization=fleet_a.org, name="Frota 300", monthly_fee=Money(Decimal("49.9"), "EUR"),
                       included_wh=300_000, card_monthly_cap_wh=500_000)
    month_start = fleet_month_start(fleet=fleet_a.org)
    subscription_start(customer=company, plan=plan, starts_on=(month_start - timedelta(days=40)).date())
    charge(station=fleet_a.station, card=fleet_a.cards[0], start=month_start + timedelta(minutes=5),
           stop=month_start + timedelta(hours=2), energy_wh=10_000, net="8.00", customer=company)
    response = fleet_a.client.get(fleet_a.url("plans/"))
    assert response.status_code == 200
    [body] = response.json()["results"]
    assert body["monthly_fee"] == {"amount": "49.90", "currency": "EUR"}
    assert (body["included_wh"], body["included_kwh"], body["card_monthly_cap_wh"]) == (300_000, "300.000", 500_000)
    # The driver whose card the company pays for charges under the company's plan.
    CustomerCard.objects.create(customer=company, id_tag=fleet_a.cards[1])
    driver = fleet_a.client.get(fleet_a.url(f"drivers/{fleet_a.drivers[1].pk}/")).json()
    assert driver["plan"] == {"id": plan.pk, "name": "Frota 300"}
    [sub] = body["subscriptions"]
    assert sub["customer_name"] == "Frota A Lda" and sub["active"] is True
    assert (sub["included_this_month_wh"], sub["used_this_month_wh"], sub["remaining_this_month_wh"]) == \
        (300_000, 10_000, 290_000)
    assert fleet_a.client.get(fleet_a.url(f"plans/{plan.pk}/")).json() == body


# --- usage ----------------------------------------------------------------------------------------------------------

@pytest.fixture
def usage_sessions(fleet_a, fleet_b):
    """Fleet A: driver 1 charges twice (one at B's depot, public for the test), driver 2 once in September's last
    evening in Lisbon (already October there); fleet B charges once (must never count for A)."""
    fleet_b.station.access_mode = "public"
    fleet_b.station.save()
    a1, a2 = fleet_a.cards
    charge(station=fleet_a.station, card=a1, start=utc(2026, 10, 5, 8), stop=utc(2026, 10, 5, 9, 30),
           energy_wh=10_000, net="2.50")
    charge(station=fleet_b.station, card=a1, start=utc(2026, 10, 6, 8), stop=utc(2026, 10, 6, 9),
           energy_wh=5_000, net="1.25")
    # 23:30 UTC on 30 Sep is 00:30 on 1 Oct in Lisbon (UTC+1 in summer): October's.
    charge(station=fleet_a.station, card=a2, start=utc(2026, 9, 30, 23, 30), stop=utc(2026, 10, 1, 0, 30),
           energy_wh=3_333)
    charge(station=fleet_b.station, card=fleet_b.cards[0], start=utc(2026, 10, 7, 8), stop=utc(2026, 10, 7, 9),
           energy_wh=20_000, net="5.00")


def test_usage_per_driver_sums_in_the_database_with_totals(fleet_a, usage_sessions):
    response = fleet_a.client.get(fleet_a.url("usage/"), {"group_by": "driver", "from": "2026-10-01",
                                                          "to": "2026-10-31"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["time_zone"], body["period_from"], body["period_to"]) == ("Europe/Lisbon", "2026-10-01",
                                                                          "2026-10-31")
    rows = {row["key"]: row for row in body["rows"]}
    one = rows[str(fleet_a.drivers[0].pk)]
    assert (one["label"], one["sessions"], one["energy_wh"], one["energy_kwh"], one["duration_s"]) == \
        ("Driver1 Frota A", 2, 15_000, "15.000", 9_000)
    # VAT of the site country (PT 23 %) on each rounded net: 2.50 → 3.08, 1.25 → 1.54.
    assert one["cost"] == [{"amount": "4.62", "currency": "EUR"}]
    two = rows[str(fleet_a.drivers[1].pk)]
    assert (two["sessions"], two["energy_wh"], two["unpriced_sessions"], two["cost"]) == (1, 3_333, 1, [])
    totals = body["totals"]
    assert (totals["sessions"], totals["energy_wh"], totals["duration_s"], totals["unpriced_sessions"]) == \
        (3, 18_333, 12_600, 1)
    assert totals["cost"] == [{"amount": "4.62", "currency": "EUR"}]


@pytest.mark.parametrize("group_by, expected", [
    ("card", {"FA0001": (2, 15_000), "FA0002": (1, 3_333)}),
    ("vehicle", {"BYD Dolphin AA-01": (2, 15_000), "BYD Dolphin AA-02": (1, 3_333)}),
    ("station", {"FA-DEPOT · Depot Frota A": (2, 13_333), "FB-DEPOT · Depot Frota B": (1, 5_000)}),
    ("month", {"2026-10": (3, 18_333)}),
])
def test_usage_groups_by_card_vehicle_station_and_month(fleet_a, usage_sessions, group_by, expected):
    body = fleet_a.client.get(fleet_a.url("usage/"), {"group_by": group_by, "from": "2026-09-01",
                                                     "to": "2026-10-31"}).json()
    got = {row["label"].split(" (")[0]: (row["sessions"], row["energy_wh"]) for row in body["rows"]}
    assert got == expected


def test_the_month_boundary_is_lisbons_midnight(fleet_a, usage_sessions):
    september = fleet_a.client.get(fleet_a.url("usage/"), {"group_by": "month", "from": "2026-09-01",
                                                          "to": "2026-09-30"}).json()
    assert september["rows"] == [] and september["totals"]["sessions"] == 0


@pytest.mark.parametrize("query, field", [
    ({"group_by": "planet"}, "group_by"),
    ({}, "group_by"),
    ({"group_by": "driver", "from": "2026-10-31", "to": "2026-10-01"}, "from"),
    ({"group_by": "driver", "from": "2025-01-01", "to": "2026-10-01"}, "to"),
    ({"group_by": "driver", "from": "yesterday"}, "from"),
    ({"group_by": "driver", "from": "2026-02-30"}, "from"),
    ({"group_by": "driver", "to": "0001-01-01"}, "to"),
])
def test_bad_usage_parameters_are_400s_naming_the_parameter(fleet_a, query, field):
    for tail in ("usage/", "usage.csv", "usage.xlsx"):
        response = fleet_a.client.get(fleet_a.url(tail), query)
        assert response.status_code == 400, (tail, response.content)
        assert field in response.json()["error"]["fields"], response.json()


def test_usage_csv_has_the_same_rows_and_totals_as_decimals(fleet_a, usage_sessions):
    query = {"group_by": "driver", "from": "2026-10-01", "to": "2026-10-31"}
    body = fleet_a.client.get(fleet_a.url("usage/"), query).json()
    response = fleet_a.client.get(fleet_a.url("usage.csv"), query)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == \
        'attachment; filename="usage-frota-a-driver-20261001-20261031.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["driver"] for r in rows] == [r["key"] for r in body["rows"]] + ["total"]
    assert rows[0]["energy_wh"] == "15000" and rows[0]["energy_kwh"] == "15.000"
    assert rows[0]["cost_EUR"] == "4.62" and rows[1]["cost_EUR"] == "0.00"
    assert rows[-1]["sessions"] == "3" and rows[-1]["cost_EUR"] == "4.62"


def test_usage_xlsx_has_the_same_rows_and_totals(fleet_a, usage_sessions):
    query = {"group_by": "card", "from": "2026-10-01", "to": "2026-10-31"}
    response = fleet_a.client.get(fleet_a.url("usage.xlsx"), query)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"].endswith('usage-frota-a-card-20261001-20261031.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    assert values[0][:7] == ("card", "label", "sessions", "energy_wh", "energy_kwh", "duration_s",
                             "unpriced_sessions")
    assert values[-1][0] == "total" and values[-1][2] == 3 and values[-1][3] == 18_333
    assert Decimal(str(values[-1][7])) == Decimal("4.62")


# --- sessions -------------------------------------------------------------------------------------------------------

def test_sessions_list_only_the_fleets_cards_with_filters(fleet_a, usage_sessions):
    response = fleet_a.client.get(fleet_a.url("sessions/"))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    newest = body["results"][0]
    assert (newest["station"], newest["card"]["uid"], newest["energy_wh"], newest["energy_kwh"]) == \
        ("FB-DEPOT", "FA0001", 5_000, "5.000")
    assert newest["started_at"] == "2026-10-06T08:00:00Z"
    assert newest["cost"] == {"amount": "1.54", "currency": "EUR"}
    assert newest["duration_s"] == 3_600
    by_driver = fleet_a.client.get(fleet_a.url("sessions/"), {"driver": fleet_a.drivers[1].pk}).json()
    assert by_driver["count"] == 1 and by_driver["results"][0]["cost"] is None
    by_station = fleet_a.client.get(fleet_a.url("sessions/"), {"station": "fa-depot", "from": "2026-10-01",
                                                              "to": "2026-10-05"}).json()
    assert by_station["count"] == 2  # the Lisbon day of 1 Oct starts at 23:00 UTC on 30 Sep
    by_vehicle = fleet_a.client.get(fleet_a.url("sessions/"), {"vehicle": fleet_a.vehicles[1].pk}).json()
    assert [s["card"]["uid"] for s in by_vehicle["results"]] == ["FA0002"]
    assert by_vehicle["results"][0]["vehicle_id"] == fleet_a.vehicles[1].pk
    assert fleet_a.client.get(fleet_a.url("sessions/"), {"state": "paused"}).status_code == 400
    assert fleet_a.client.get(fleet_a.url("sessions/"), {"from": "2026-10-05", "to": "2026-10-01"}).status_code == 400


def test_sessions_export_csv_and_xlsx(fleet_a, usage_sessions):
    response = fleet_a.client.get(fleet_a.url("sessions.csv"), {"driver": fleet_a.drivers[0].pk})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="sessions-frota-a.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["started_at"], r["energy_wh"], r["cost"], r["currency"]) for r in rows] == [
        ("2026-10-06T08:00:00Z", "5000", "1.54", "EUR"), ("2026-10-05T08:00:00Z", "10000", "3.08", "EUR")]
    xlsx = fleet_a.client.get(fleet_a.url("sessions.xlsx"))
    values = list(load_workbook(io.BytesIO(xlsx.content)).active.values)
    assert len(values) == 4 and values[0][0] == "session_id"


# --- invoices -------------------------------------------------------------------------------------------------------

@pytest.fixture
def invoice(fleet_a):
    customer = Customer.objects.get(organization=fleet_a.org, user=fleet_a.drivers[0])
    charge(station=fleet_a.station, card=fleet_a.cards[0], start=utc(2026, 10, 5, 8), stop=utc(2026, 10, 5, 9),
           energy_wh=10_000, net="2.50", customer=customer)
    return invoice_issue_monthly(customer=customer, period=date(2026, 10, 1), issued_at=utc(2026, 11, 1, 9))


def test_invoices_list_detail_and_pdf(fleet_a, invoice):
    response = fleet_a.client.get(fleet_a.url("invoices/"), {"status": "issued", "period_from": "2026-10-01"})
    assert response.status_code == 200
    [item] = response.json()["results"]
    assert item["document_number"] == invoice.document_number
    assert (item["total"], item["net"]) == ({"amount": "3.08", "currency": "EUR"},
                                            {"amount": "2.50", "currency": "EUR"})
    assert item["issued_at"] == "2026-11-01T09:00:00Z"
    detail = fleet_a.client.get(fleet_a.url(f"invoices/{invoice.pk}/")).json()
    assert detail["lines"][0]["total"] == {"amount": "3.08", "currency": "EUR"}
    pdf = fleet_a.client.get(item["pdf_url"])
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert fleet_a.client.get(fleet_a.url("invoices/"), {"status": "draft"}).status_code == 400
    assert fleet_a.client.get(fleet_a.url("invoices/"), {"period_to": "2026-09-30"}).json()["count"] == 0
