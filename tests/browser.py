"""Browser tests drive Debian's Chromium (/usr/bin/chromium) with Playwright's Python package. Use
`pytestmark = BROWSER_TEST_MARKS` and the `browser_page` fixture (registered for the whole suite in conftest.py)."""
from __future__ import annotations

import os
import shutil

import pytest
from django.db import connections

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps trying to reach Google's hosts, which this closed network
# refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

BROWSER_TEST_MARKS = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # Skipped only outside CI: in CI a missing Chromium is a failure (make test installs it as root).
    pytest.mark.skipif(not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
                       reason="Debian's chromium is not installed (make test installs it as root)"),
]


@pytest.fixture
def browser_page():
    # Playwright's sync API runs an event loop in this thread; the ORM calls of Django's live server run in its own
    # threads, but the tests touch the ORM before and after the browser runs.
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
