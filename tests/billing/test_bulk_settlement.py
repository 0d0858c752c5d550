"""The sweep's bulk settlement (plain rows, COPY on PostgreSQL) stores exactly what the per-session path stores."""
from datetime import date, datetime, timedelta, timezone as dt_timezone
from decimal import Decimal

import pytest
from djmoney.money import Money

from apps.billing.models import Customer, JournalEntry, SessionCharge
from apps.billing.services.settlement import RatedSession, session_charge_settle, session_prices_settle
from apps.charging.models import ChargingSession
from apps.rating.models import SessionPrice
from tests.billing.factories import CustomerCardFactory, CustomerFactory
from tests.factories import IdTagFactory, SiteFactory, StationFactory

pytestmark = pytest.mark.django_db

# Columns compared between the two paths (all but the row id and the moment of settlement).
COMPARED = ["session_id", "organization_id", "customer_id", "id_tag_uid", "station_label", "started_at", "period",
            "energy_wh", "net", "net_currency", "vat_rate", "vat", "vat_currency", "total", "total_currency",
            "wallet_debited", "wallet_debited_currency", "receivable", "receivable_currency", "lines", "price_id",
            "status", "journal_entry_id", "invoice_id"]
LINES = [{"dimension": "ENERGY", "period": "Vazio", "quantity": "4.000", "unit_price": "0.1200", "amount": "0.4800"}]


def priced(station, id_tag, *, net: str, started_at: datetime, energy_wh: int = 9_000, user=None):
    session = ChargingSession.objects.create(
        station=station, connector_number=1, id_tag=id_tag, id_tag_uid=id_tag.uid, user=user, started_at=started_at,
        stopped_at=started_at + timedelta(hours=1), meter_start_wh=0, meter_stop_wh=energy_wh, energy_wh=energy_wh,
        state=ChargingSession.State.COMPLETED)
    return SessionPrice.objects.create(
        session=session, currency="EUR", total_excl_vat=Money(Decimal(net), "EUR"),
        total_vat=Money(Decimal("0"), "EUR"), total_incl_vat=Money(Decimal(net), "EUR"), energy_wh=energy_wh,
        rated_at=started_at + timedelta(hours=2), lines=LINES)


@pytest.fixture
def month():
    """A Lisbon garage and a São Paulo one of the same organization; a postpaid customer by card, one by the card
    owner's user, a card nobody pays for. Nets chosen on the rounding edges (half a cent, 4 decimals)."""
    lisbon = SiteFactory()
    org = lisbon.organization
    sao_paulo = SiteFactory(organization=org, country="BR", time_zone="America/Sao_Paulo", city="São Paulo")
    by_card = CustomerCardFactory(customer=CustomerFactory(organization=org, regime=Customer.Regime.POSTPAID))
    by_user = CustomerFactory(organization=org, regime=Customer.Regime.POSTPAID)
    owned_tag = IdTagFactory(organization=org, owner=by_user.user)
    nobody = IdTagFactory(organization=org)
    pt, br = StationFactory(site=lisbon), StationFactory(site=sao_paulo)
    october = datetime(2026, 10, 12, 18, 0, tzinfo=dt_timezone.utc)
    prices = [
        priced(pt, by_card.id_tag, net="0.125", started_at=october),
        priced(pt, by_card.id_tag, net="2.3450", started_at=october + timedelta(days=1)),
        priced(pt, by_card.id_tag, net="0.0049", started_at=october + timedelta(days=2)),
        # 23:30 UTC on 30 September is 00:30 on 1 October in Lisbon: an October session.
        priced(pt, owned_tag, net="10.995", started_at=datetime(2026, 9, 30, 23, 30, tzinfo=dt_timezone.utc)),
        priced(br, owned_tag, net="7.4449", started_at=october),
        priced(pt, nobody, net="3.00", started_at=october),
    ]
    return {"org": org, "by_card": by_card.customer, "by_user": by_user, "prices": prices}


def snapshot(org) -> list[dict]:
    return list(SessionCharge.objects.filter(organization=org).order_by("session_id").values(*COMPARED))


def per_session(month) -> list[dict]:
    """The same prices settled one at a time through `session_charge_settle`."""
    for price in month["prices"]:
        session = price.session
        site = session.station.site
        session_charge_settle(rated=RatedSession(
            session_id=session.pk, organization=month["org"], customer=_customer(month, session),
            currency=price.currency, net=price.total_excl_vat.amount, energy_wh=price.energy_wh,
            started_at=session.started_at, time_zone=site.time_zone, country=site.country,
            id_tag_uid=session.id_tag_uid, station_label=f"{session.station.ocpp_id} {session.station.parking_spot}", lines=price.lines,
            price_id=price.pk))
    return snapshot(month["org"])


def _customer(month, session):
    """Who pays, as the sweep decides it: the card's customer, else the customer of the card owner's user."""
    card = getattr(session.id_tag, "billing_card", None)
    if card is not None:
        return card.customer
    return month["by_user"] if session.id_tag.owner_id == month["by_user"].user_id else None


def test_bulk_settlement_stores_exactly_what_the_per_session_path_stores(month):
    counts = session_prices_settle()
    assert counts == {"to_invoice": 5, "no_customer": 1}
    bulk = snapshot(month["org"])
    SessionCharge.objects.filter(organization=month["org"]).delete()  # charges are not journal rows: no money moved
    assert per_session(month) == bulk
    by_net = {row["price_id"]: row for row in bulk}
    half_cent, edge, tiny, late, brazil, stranger = (by_net[p.pk] for p in month["prices"])
    assert (half_cent["net"], half_cent["vat"], half_cent["total"]) == (Decimal("0.13"), Decimal("0.03"),
                                                                         Decimal("0.16"))
    assert (edge["net"], edge["vat"], edge["total"]) == (Decimal("2.35"), Decimal("0.54"), Decimal("2.89"))
    assert (tiny["net"], tiny["vat"], tiny["total"]) == (Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))
    assert (late["net"], late["period"], late["customer_id"]) == (Decimal("11.00"), date(2026, 10, 1),
                                                                  month["by_user"].pk)
    assert (brazil["vat_rate"], brazil["vat"], brazil["net"]) == (Decimal("0"), Decimal("0"), Decimal("7.44"))
    assert (stranger["status"], stranger["customer_id"]) == ("no_customer", None)
    assert half_cent["lines"] == LINES and half_cent["status"] == "to_invoice"
    assert not JournalEntry.objects.exists()  # postpaid charges move no money until the invoice


def test_bulk_settlement_keeps_a_charge_settled_meanwhile_and_settles_the_rest(month):
    first = month["prices"][0]
    # Another sweep settled this session a moment ago (here with a different figure, to see which one stays).
    earlier = session_charge_settle(rated=RatedSession(
        session_id=first.session_id, organization=month["org"], customer=month["by_card"], currency="EUR",
        net=Decimal("9.99"), energy_wh=first.energy_wh, started_at=first.session.started_at,
        time_zone="Europe/Lisbon", country="PT", price_id=first.pk))
    assert session_prices_settle() == {"to_invoice": 4, "no_customer": 1}
    assert SessionCharge.objects.filter(organization=month["org"]).count() == 6
    kept = SessionCharge.objects.get(session_id=first.session_id)
    assert (kept.pk, kept.net.amount) == (earlier.pk, Decimal("9.99"))
    assert session_prices_settle() == {}  # nothing left: a second sweep writes nothing
    assert SessionCharge.objects.filter(organization=month["org"]).count() == 6
