"""The price panel (paper Figure 4) in a real headless Chromium: the chart object holds the published prices and
factors of the day, hour by hour."""
from __future__ import annotations

import os
import shutil
from datetime import date, datetime
from datetime import timezone as dt_timezone

import pytest
from django.db import connections
from django.urls import reverse

from apps.pricing.models import StationPricing
from apps.pricing.services.forecast import forecast_compute
from tests.factories import UserFactory

from .factories import LOAD_PU, figure2_station
from .test_forecast import FIGURE2

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
                       reason="Debian's chromium is not installed (make test installs it as root)"),
]


@pytest.fixture
def browser_page():
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


def test_price_panel_plots_the_forecast_in_chromium(live_server, browser_page, tmp_path):
    station = figure2_station()
    forecast_compute(now=datetime(2026, 12, 1, 12, tzinfo=dt_timezone.utc), day=date(2026, 12, 2))
    pricing = StationPricing.objects.get(station=station)
    UserFactory(username="root", is_staff=True, is_superuser=True, password="root-pass-123")

    page = browser_page
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "root-pass-123")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    url = reverse("admin:pricing_stationpricing_panel", args=[pricing.pk])
    page.goto(f"{live_server.url}{url}?date=2026-12-02")
    page.wait_for_function("window.evnetPriceChart && window.evnetFactorChart")

    prices = page.evaluate("""() => window.evnetPriceChart.data.datasets.map(d => [d.label, d.data])""")
    assert [label for label, _ in prices] == ["fixed price / session", "variable price / kWh", "idle fee / min"]
    assert prices[0][1] == [2.0] * 24
    assert prices[1][1] == [float(p) for p in FIGURE2]
    assert prices[2][1] == [0.5] * 24
    labels = page.evaluate("() => window.evnetPriceChart.data.labels")
    assert labels[0] == "00h" and labels[18] == "18h" and len(labels) == 24

    factors = dict(page.evaluate("""() => window.evnetFactorChart.data.datasets.map(d => [d.label, d.data])"""))
    assert factors["load curve F_load (p.u.)"] == [float(v) for v in LOAD_PU]
    assert factors["occupancy F_occ"] == [1 if h in {7, 8, 15, 16, 17, 18, 19, 20} else 0 for h in range(24)]
    assert factors["local PV F_PV_local"] == [1 if 9 <= h <= 15 else 0 for h in range(24)]
    assert factors["global PV F_PV_global"] == [1 if 10 <= h <= 13 else 0 for h in range(24)]

    # The chart really drew: the canvas has a size and the maximum sits at 18 h on the y scale.
    box = page.locator("#price-chart").bounding_box()
    assert box["width"] > 500 and box["height"] > 100
    y_max = page.evaluate("() => window.evnetPriceChart.scales.y.max")
    assert y_max >= 2.6
    page.screenshot(path=str(tmp_path / "panel.png"), full_page=True)
