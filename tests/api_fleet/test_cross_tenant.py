"""Tenant boundaries of the fleet managers' API: every list and detail endpoint refuses another organization's
objects with a 404 — a manager of fleet A asking for fleet B, or A's URLs with B's ids — and so it does for a
driver, and for a BPO clerk (who works in the back-office, not as a fleet manager)."""
from __future__ import annotations

from datetime import date

import pytest
from djmoney.money import Money

from apps.billing.models import Customer
from apps.invoices.services.documents import invoice_issue_monthly
from apps.organizations.models import Membership
from apps.organizations.services import membership_grant
from apps.users.models import IdTag
from tests.billing.factories import PlanFactory
from tests.factories import UserFactory

from .conftest import api_client, charge, utc

pytestmark = pytest.mark.django_db

LISTS = ["drivers/", "vehicles/", "cards/", "plans/", "usage/?group_by=driver", "usage.csv?group_by=driver",
         "usage.xlsx?group_by=card", "sessions/", "sessions.csv", "sessions.xlsx", "invoices/"]
DETAILS = ["drivers/{driver}/", "vehicles/{vehicle}/", "cards/{card}/", "plans/{plan}/", "invoices/{invoice}/",
           "invoices/{invoice}/pdf/"]
ACTIONS = ["cards/{card}/block/", "cards/{card}/unblock/"]


def objects_of(fleet) -> dict[str, int]:
    """One object of each kind in `fleet`, with a settled session and an issued invoice."""
    customer = Customer.objects.get(organization=fleet.org, user=fleet.drivers[0])
    charge(station=fleet.station, card=fleet.cards[0], start=utc(2026, 10, 5, 8), stop=utc(2026, 10, 5, 9),
           energy_wh=4_000, net="1.00", customer=customer)
    invoice = invoice_issue_monthly(customer=customer, period=date(2026, 10, 1), issued_at=utc(2026, 11, 1, 9))
    plan = PlanFactory(organization=fleet.org, monthly_fee=Money("10.00", "EUR"))
    return {"driver": fleet.drivers[0].pk, "vehicle": fleet.vehicles[0].pk, "card": fleet.cards[0].pk,
            "plan": plan.pk, "invoice": invoice.pk}


@pytest.fixture
def tenants(fleet_a, fleet_b):
    return fleet_a, objects_of(fleet_a), fleet_b, objects_of(fleet_b)


def assert_not_found(response) -> None:
    assert response.status_code == 404, (response.status_code, response.content[:200])
    assert response.json()["error"]["code"] == "not_found"


def test_a_manager_of_a_gets_404_for_every_url_of_fleet_b(tenants):
    fleet_a, _, fleet_b, b = tenants
    client = fleet_a.client
    for tail in LISTS + [d.format(**b) for d in DETAILS]:
        assert_not_found(client.get(fleet_b.url(tail)))
    for tail in ACTIONS:
        assert_not_found(client.post(fleet_b.url(tail.format(**b))))
    assert_not_found(client.post(fleet_b.url("drivers/"), {"email": "intruder@example.test"}, format="json"))
    assert IdTag.objects.get(pk=b["card"]).status == "active"
    assert not Membership.objects.filter(organization=fleet_b.org, user__email="intruder@example.test").exists()


def test_a_urls_with_b_ids_are_404_and_change_nothing(tenants):
    fleet_a, a, fleet_b, b = tenants
    client = fleet_a.client
    for detail in DETAILS:
        assert client.get(fleet_a.url(detail.format(**a))).status_code == 200, detail
        assert_not_found(client.get(fleet_a.url(detail.format(**b))))
    for action in ACTIONS:
        assert_not_found(client.post(fleet_a.url(action.format(**b))))
    assert IdTag.objects.get(pk=b["card"]).status == "active"


def test_a_lists_never_show_b_rows(tenants):
    fleet_a, a, fleet_b, b = tenants
    client = fleet_a.client
    expected = {"drivers/": {fleet_a.drivers[0].pk, fleet_a.drivers[1].pk},
                "vehicles/": {v.pk for v in fleet_a.vehicles}, "cards/": {c.pk for c in fleet_a.cards},
                "plans/": {a["plan"]}, "invoices/": {a["invoice"]}}
    for tail, ids in expected.items():
        assert {row["id"] for row in client.get(fleet_a.url(tail)).json()["results"]} == ids, tail
    sessions = client.get(fleet_a.url("sessions/")).json()["results"]
    assert {s["card"]["uid"] for s in sessions} == {"FA0001"}
    usage = client.get(fleet_a.url("usage/"), {"group_by": "card", "from": "2026-10-01", "to": "2026-10-31"}).json()
    assert [row["key"] for row in usage["rows"]] == [str(a["card"])]


@pytest.mark.parametrize("who", ["driver_of_a", "driver_of_b", "clerk_of_a", "manager_of_b"])
def test_people_without_a_fleet_role_in_a_get_404_everywhere_in_a(tenants, who):
    fleet_a, a, fleet_b, _ = tenants
    if who == "clerk_of_a":
        user = UserFactory(username="clerk.a")
        membership_grant(user=user, organization=fleet_a.org, role=Membership.Role.BPO_CLERK)
    else:
        user = {"driver_of_a": fleet_a.drivers[0], "driver_of_b": fleet_b.drivers[0],
                "manager_of_b": fleet_b.manager}[who]
    client = api_client(user)
    assert fleet_a.org.pk not in {f["id"] for f in client.get("/api/v1/fleets/").json()["results"]}
    for tail in LISTS + [d.format(**a) for d in DETAILS]:
        assert_not_found(client.get(fleet_a.url(tail)))
    for tail in ACTIONS:
        assert_not_found(client.post(fleet_a.url(tail.format(**a))))


def test_a_bpo_clerk_of_a_is_not_a_fleet_manager_of_b(tenants):
    fleet_a, _, fleet_b, b = tenants
    clerk = UserFactory(username="clerk.a.only")
    membership_grant(user=clerk, organization=fleet_a.org, role=Membership.Role.BPO_CLERK)
    client = api_client(clerk)
    for tail in LISTS + [d.format(**b) for d in DETAILS]:
        assert_not_found(client.get(fleet_b.url(tail)))


def test_an_org_admin_and_a_superuser_see_the_fleet(tenants):
    fleet_a, a, fleet_b, _ = tenants
    admin = UserFactory(username="admin.a")
    membership_grant(user=admin, organization=fleet_a.org, role=Membership.Role.ORG_ADMIN)
    client = api_client(admin)
    assert [f["id"] for f in client.get("/api/v1/fleets/").json()["results"]] == [fleet_a.org.pk]
    assert client.get(fleet_a.url(f"drivers/{a['driver']}/")).status_code == 200
    assert_not_found(client.get(fleet_b.url("drivers/")))
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    ids = {f["id"] for f in api_client(root).get("/api/v1/fleets/").json()["results"]}
    assert {fleet_a.org.pk, fleet_b.org.pk} <= ids
