"""The API's shared conventions: tokens, /me, one error format, money, the schema and the docs."""
from __future__ import annotations

from decimal import Decimal

import pytest
from djmoney.money import Money
from rest_framework.test import APIClient

from apps.core.api.fields import MoneyField
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def driver():
    user = UserFactory(username="maria", first_name="Maria")
    user.set_password("s3cret-pass")
    user.save()
    return user


def test_token_for_right_password_authenticates_later_requests(driver):
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": "maria", "password": "s3cret-pass"}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["username"] == "maria"
    # The same token until revoked; revoking logs every app out.
    again = APIClient().post("/api/v1/auth/token/", {"username": "maria", "password": "s3cret-pass"}, format="json")
    assert again.json()["token"] == token
    assert client.delete("/api/v1/auth/token/").status_code == 204
    assert client.get("/api/v1/me/").status_code == 401


def test_token_for_wrong_password_is_a_400_in_the_error_format(driver):
    response = APIClient().post("/api/v1/auth/token/", {"username": "maria", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "invalid_credentials", "message": "Wrong username or password.",
                                         "fields": {}}}


def test_missing_fields_name_each_field(driver):
    response = APIClient().post("/api/v1/auth/token/", {"username": "maria"}, format="json")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid"
    assert "password" in body["fields"]


def test_anonymous_caller_gets_401_in_the_error_format():
    response = APIClient().get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_unknown_api_url_is_a_json_404():
    response = APIClient().get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_me_lists_roles_and_edits_only_the_profile(driver):
    from apps.organizations.models import Membership

    fleet = OrganizationFactory(name="Frota Lda", kind="fleet_company")
    Membership.objects.create(user=driver, organization=fleet, role=Membership.Role.DRIVER)
    client = APIClient()
    client.force_authenticate(driver)
    body = client.get("/api/v1/me/").json()
    assert body["memberships"] == [{"organization_id": fleet.pk, "organization_name": "Frota Lda",
                                    "organization_kind": "fleet_company", "role": "driver"}]
    response = client.patch("/api/v1/me/", {"phone": "+351 912 345 678", "is_staff": True}, format="json")
    assert response.status_code == 200
    driver.refresh_from_db()
    assert driver.phone == "+351 912 345 678"
    assert driver.is_staff is False
    bad = client.patch("/api/v1/me/", {"email": "not-an-email", "preferred_language": "fr"}, format="json")
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"email", "preferred_language"}


def test_money_field_round_trip_and_refusals():
    field = MoneyField(decimal_places=2)
    assert field.to_representation(Money(Decimal("12.3456"), "EUR")) == {"amount": "12.35", "currency": "EUR"}
    assert field.to_internal_value({"amount": "10.50", "currency": "BRL"}) == Money(Decimal("10.50"), "BRL")
    from rest_framework.exceptions import ValidationError

    for bad in ({"amount": 10.5, "currency": "EUR"}, {"amount": "1e3x", "currency": "EUR"},
                {"amount": "1.234", "currency": "EUR"}, {"amount": "1", "currency": "USD"}, "12.34",
                {"amount": "NaN", "currency": "EUR"}):
        with pytest.raises(ValidationError):
            field.to_internal_value(bad)


def test_schema_and_docs_are_served_without_login():
    client = APIClient()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/auth/token/" in paths and "/api/v1/me/" in paths
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    # The UI's files come from this server (drf-spectacular-sidecar), not from a CDN.
    assert b"cdn.jsdelivr" not in docs.content


def test_token_endpoint_is_throttled(driver, monkeypatch):
    from django.core.cache import cache
    from rest_framework.throttling import ScopedRateThrottle

    # The suite's settings lift the throttles; put a tight one back on the token endpoint for this test only.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    cache.clear()
    try:
        client = APIClient()
        codes = [client.post("/api/v1/auth/token/", {"username": "maria", "password": "x"}, format="json").status_code
                 for _ in range(4)]
        assert codes == [400, 400, 400, 429]
        body = client.post("/api/v1/auth/token/", {}, format="json").json()
        assert body["error"]["code"] == "throttled"
    finally:
        cache.clear()
