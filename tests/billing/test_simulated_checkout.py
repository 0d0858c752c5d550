"""The simulated payment provider's checkout page: the link a top-up gives the driver app. Pay credits the wallet
through the provider's signed webhook (once, however often it is pressed); Decline fails the payment; in production
the page does not exist."""
from decimal import Decimal

import pytest

from apps.billing.gateways import SimulatedGateway
from apps.billing.models import Payment, WebhookEvent
from apps.billing.selectors import wallet_balance
from apps.billing.services.wallets import wallet_top_up_start
from tests.billing.factories import CustomerFactory
from tests.browser import BROWSER_TEST_MARKS

pytestmark = pytest.mark.django_db


def _path(payment: Payment) -> str:
    return f"/billing/simulated-checkout/{payment.provider_intent_id}"


@pytest.fixture
def payment():
    customer = CustomerFactory(name="Maria Silva")
    return wallet_top_up_start(customer=customer, amount=Decimal("25.00"), gateway=SimulatedGateway())


def test_checkout_link_of_a_top_up_shows_the_amount(client, payment):
    intent = SimulatedGateway().checkout_url(intent_id=payment.provider_intent_id)
    assert intent.endswith(_path(payment))
    page = client.get(_path(payment))
    assert page.status_code == 200
    assert "25.00 EUR" in page.content.decode()
    assert "Maria Silva" in page.content.decode()


def test_pay_credits_the_wallet_once(client, payment):
    assert client.post(_path(payment), {"choice": "pay"}).status_code == 302
    assert client.post(_path(payment), {"choice": "pay"}).status_code == 302
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert wallet_balance(customer=payment.customer) == Decimal("25.00")
    assert WebhookEvent.objects.filter(payment=payment).count() == 1
    assert "Paid" in client.get(_path(payment)).content.decode()


def test_decline_fails_the_payment_and_credits_nothing(client, payment):
    client.post(_path(payment), {"choice": "decline"})
    client.post(_path(payment), {"choice": "pay"})  # too late: the payment has failed
    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    assert wallet_balance(customer=payment.customer) == Decimal("0")


def test_unknown_intent_and_bad_choice_are_refused(client, payment):
    assert client.get("/billing/simulated-checkout/sim_pi_doesnotexist").status_code == 404
    response = client.post(_path(payment), {"choice": "steal"})
    assert response.status_code == 400
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING


def test_page_does_not_exist_where_money_is_real(client, payment, settings):
    settings.EVNET_SIMULATED_CHECKOUT = False
    assert client.get(_path(payment)).status_code == 404
    assert client.post(_path(payment), {"choice": "pay"}).status_code == 404
    assert wallet_balance(customer=payment.customer) == Decimal("0")


class TestInChromium:
    pytestmark = BROWSER_TEST_MARKS

    def test_driver_pays_a_top_up_in_a_real_browser(self, live_server, browser_page, payment, tmp_path):
        browser_page.goto(live_server.url + _path(payment))
        assert browser_page.inner_text("#amount") == "25.00 EUR"
        browser_page.click("button[value=pay]")
        browser_page.wait_for_selector("text=You can close this page")
        assert browser_page.inner_text("#status") == "Paid"
        browser_page.screenshot(path=str(tmp_path / "checkout.png"))
        assert wallet_balance(customer=payment.customer) == Decimal("25.00")
