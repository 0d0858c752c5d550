"""The API's interactive docs in a real headless Chromium: Swagger UI renders from files served by evnet itself
(no CDN) and lists the API's operations."""
from __future__ import annotations

from tests.browser import BROWSER_TEST_MARKS

pytestmark = BROWSER_TEST_MARKS


def test_swagger_ui_lists_the_operations(live_server, browser_page, tmp_path):
    outside_requests = []
    browser_page.on("request", lambda request: outside_requests.append(request.url)
                    if not request.url.startswith(live_server.url) and not request.url.startswith("data:") else None)
    browser_page.goto(f"{live_server.url}/api/docs/")
    browser_page.wait_for_selector(".opblock-summary-path")
    paths = browser_page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/auth/token/" in p for p in paths)
    assert any("/api/v1/me/" in p for p in paths)
    assert "evnet API" in browser_page.locator(".info .title").inner_text()
    browser_page.screenshot(path=str(tmp_path / "docs.png"), full_page=True)
    assert outside_requests == []
