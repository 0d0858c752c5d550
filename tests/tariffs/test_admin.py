"""Back-office: tariffs scoped by organization; a used version is read-only; calendar edits are validated."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from django.urls import reverse

from apps.tariffs import services
from apps.tariffs.models import TariffVersion, TouCalendar
from tests.factories import OrganizationFactory, UserFactory, clerk_for

from .factories import SIMPLE_EUR, TariffFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("shipped_calendars")]
JAN = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_clerk_sees_only_tariffs_of_the_organizations_served(client):
    mine, theirs = OrganizationFactory(), OrganizationFactory()
    own = services.tariff_version_create(tariff=TariffFactory(organization=mine, code="own-tariff"),
                                         ocpi=SIMPLE_EUR, valid_from_at=JAN)
    other = services.tariff_version_create(tariff=TariffFactory(organization=theirs, code="other-tariff"),
                                           ocpi=SIMPLE_EUR, valid_from_at=JAN)
    client.force_login(clerk_for(mine))
    listing = client.get(reverse("admin:tariffs_tariffversion_changelist"))
    assert listing.status_code == 200
    assert "own-tariff" in listing.content.decode() and "other-tariff" not in listing.content.decode()
    assert client.get(reverse("admin:tariffs_tariffversion_change", args=[own.pk])).status_code == 200
    assert client.get(reverse("admin:tariffs_tariffversion_change", args=[other.pk])).status_code == 404


def _form(tariff, ocpi) -> dict:
    return {"tariff": tariff.pk, "valid_from_at_0": "2026-01-01", "valid_from_at_1": "00:00:00",
            "valid_until_at_0": "", "valid_until_at_1": "", "vat_rate": "", "notes": "",
            "ocpi": json.dumps(ocpi, default=float)}


def test_adding_a_version_in_the_admin_validates_the_ocpi_json(client):
    org = OrganizationFactory()
    tariff = TariffFactory(organization=org)
    client.force_login(clerk_for(org))
    bad = dict(SIMPLE_EUR, currency="EUX")
    response = client.post(reverse("admin:tariffs_tariffversion_add"), _form(tariff, bad))
    assert response.status_code == 200 and "not an ISO 4217 currency" in response.content.decode()
    assert not TariffVersion.objects.exists()
    response = client.post(reverse("admin:tariffs_tariffversion_add"), _form(tariff, SIMPLE_EUR))
    assert response.status_code == 302
    version = TariffVersion.objects.get()
    assert (version.number, str(version.vat_rate)) == (1, "23.00")


def test_used_version_is_read_only_in_the_admin(client):
    org = OrganizationFactory()
    version = services.tariff_version_create(tariff=TariffFactory(organization=org), ocpi=SIMPLE_EUR,
                                             valid_from_at=JAN)
    services.tariff_version_lock(version_id=version.pk)
    client.force_login(clerk_for(org))
    page = client.get(reverse("admin:tariffs_tariffversion_change", args=[version.pk])).content.decode()
    assert 'name="ocpi"' not in page and "&quot;ENERGY&quot;" in page


def test_calendar_edit_with_a_gap_is_refused(client):
    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    calendar = TouCalendar.objects.get(code="br-branca-enel-sp")
    windows = list(calendar.windows.all())
    data = {"code": calendar.code, "name": calendar.name, "distributor": calendar.distributor,
            "country": calendar.country, "season_rule": calendar.season_rule,
            "holiday_country": calendar.holiday_country, "holiday_subdiv": "", "holiday_day_type": "SUNDAY",
            "description": "", "windows-TOTAL_FORMS": str(len(windows)), "windows-INITIAL_FORMS": str(len(windows)),
            "windows-MIN_NUM_FORMS": "0", "windows-MAX_NUM_FORMS": "1000"}
    for i, w in enumerate(windows):
        data.update({f"windows-{i}-id": w.pk, f"windows-{i}-calendar": calendar.pk, f"windows-{i}-season": w.season,
                     f"windows-{i}-day_type": w.day_type, f"windows-{i}-start": w.start, f"windows-{i}-end": w.end,
                     f"windows-{i}-period": w.period})
        if w.period == "Ponta":
            data[f"windows-{i}-DELETE"] = "on"
    response = client.post(reverse("admin:tariffs_toucalendar_change", args=[calendar.pk]), data)
    assert response.status_code == 200 and "gap at 18:00" in response.content.decode()
    assert calendar.windows.filter(period="Ponta").exists()
