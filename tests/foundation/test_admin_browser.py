"""Smoke test of the back-office in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright):
log in, open the stations list, filter by circuit, open a station; a clerk of another organization cannot see it."""
from __future__ import annotations

import os
import shutil

import pytest
from django.db import connections

from tests.factories import CircuitFactory, OrganizationFactory, SiteFactory, StationFactory, UserFactory, clerk_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
                       reason="Debian's chromium is not installed (make test installs it as root)"),
]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser_page(tmp_path):
    # Playwright's sync API runs an event loop in this thread; the ORM calls that Django's live server makes run in
    # its own threads, but fixtures here touch the ORM before and after the browser runs.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(15000)
        yield page
        # While Playwright's event loop runs in this thread, asgiref keeps Django's connections per context, so
        # the test's ORM calls opened a connection of their own that the test teardown does not see: close it here,
        # in that context, or it stays open and PostgreSQL refuses to drop the test database at the end.
        connections.close_all()
        context.close()
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def _login(page, live_server, username, password):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def test_admin_stations_in_a_real_browser(live_server, browser_page, tmp_path):
    garage = OrganizationFactory(name="Condomínio Tejo", slug="tejo")
    site = SiteFactory(organization=garage, name="Garagem Tejo")
    circuit_2 = CircuitFactory(site=site, name="Piso -3 Circuito 2")
    circuit_1 = CircuitFactory(site=site, name="Piso -3 Circuito 1")
    StationFactory(site=site, circuit=circuit_2, ocpp_id="ZCS031974", parking_spot="Lugar n°3049")
    StationFactory(site=site, circuit=circuit_1, ocpp_id="ZCS031903", parking_spot="Lugar n°3012")
    other = OrganizationFactory(name="Estaciona SP", slug="sp")
    StationFactory(site=SiteFactory(organization=other, name="Paulista", time_zone="America/Sao_Paulo"),
                   ocpp_id="SP-AC01")
    UserFactory(username="root", is_staff=True, is_superuser=True, password="root-pass-123")
    clerk = clerk_for(other, username="clerk.sp")
    clerk.set_password("clerk-pass-123")
    clerk.save()

    page = browser_page
    _login(page, live_server, "root", "root-pass-123")
    page.goto(f"{live_server.url}/admin/stations/chargingstation/")
    assert page.locator("#result_list tbody tr").count() == 3

    # Filter by circuit through the sidebar filter, as a clerk would.
    page.locator("#changelist-filter a", has_text="Garagem Tejo · Piso -3 Circuito 2").first.click()
    page.wait_for_url("**circuit__id__exact=**")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "ZCS031974" in rows.first.inner_text()

    rows.first.locator("th a").click()
    page.wait_for_selector("#id_ocpp_id")
    assert page.input_value("#id_ocpp_id") == "ZCS031974"
    assert page.input_value("#id_parking_spot") == "Lugar n°3049"
    page.screenshot(path=str(tmp_path / "station.png"))
    station_url = page.url

    # A clerk of another organization: the list does not show it, and its page says it is not there.
    page.context.clear_cookies()
    _login(page, live_server, "clerk.sp", "clerk-pass-123")
    page.goto(f"{live_server.url}/admin/stations/chargingstation/")
    listing = page.locator("#result_list").inner_text()
    assert "SP-AC01" in listing and "ZCS031974" not in listing
    response = page.goto(station_url)
    assert response.status == 404
    assert "ZCS031974" not in page.content()
