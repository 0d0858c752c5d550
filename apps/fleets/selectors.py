"""Reads for fleet managers and organization admins: their fleets, drivers, vehicles, cards, plans, sessions,
usage and invoices. Every selector takes the fleet the caller was checked against (`fleet_get_for`), so another
organization's rows are never reachable.

A fleet's sessions are the ones started with one of its cards (IdTag.organization is the fleet), at any
station: that is how the fleet's drivers charge, at its depot or on the public network, and it is also how
app-started sessions are recorded (RemoteStartTransaction carries the driver's idTag)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (DecimalField, DurationField, ExpressionWrapper, F, OuterRef, Prefetch,
                              QuerySet, Subquery, Sum, Value)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from apps.billing.models import Customer, Plan, SessionCharge, Subscription
from apps.charging.models import ChargingSession
from apps.invoices.models import Invoice
from apps.organizations.models import Membership, Organization
from apps.stations.models import ChargingStation
from apps.users.models import IdTag, User, Vehicle

from .exceptions import FleetNotFound, FleetObjectNotFound, InvalidPeriod

# Roles that see a fleet's data through the API. A BPO clerk works in the back-office, not here.
FLEET_ROLES = (Membership.Role.FLEET_MANAGER, Membership.Role.ORG_ADMIN)
# Months are counted in the fleet's time zone: its own sites' zone, else its country's (PT: Lisbon; BR: the
# São Paulo zone, where Brazil's population and charging network concentrate).
COUNTRY_TIME_ZONES = {"PT": "Europe/Lisbon", "BR": "America/Sao_Paulo"}
USAGE_GROUPS = ("driver", "vehicle", "card", "station", "month")
USAGE_MAX_DAYS = 366


def fleet_list(*, user: User) -> QuerySet[Organization]:
    """Organizations where `user` is a fleet manager or organization admin; every organization for a superuser."""
    organizations = Organization.objects.order_by("name", "pk")
    if user.is_superuser:
        return organizations
    return organizations.filter(pk__in=Membership.objects.filter(user=user, role__in=FLEET_ROLES)
                                .values("organization_id"))


def fleet_get_for(*, user: User, fleet_id: int) -> Organization:
    """The fleet `fleet_id` if `user` manages it; FleetNotFound (404) otherwise, never a hint that it exists."""
    fleet = fleet_list(user=user).filter(pk=fleet_id).first()
    if fleet is None:
        raise FleetNotFound()
    return fleet


def fleet_time_zone(*, fleet: Organization) -> ZoneInfo:
    zone = fleet.sites.order_by("pk").values_list("time_zone", flat=True).first()
    return ZoneInfo(zone or COUNTRY_TIME_ZONES.get(fleet.country, settings.TIME_ZONE))


def fleet_month_start(*, fleet: Organization, at: datetime | None = None) -> datetime:
    """The first instant of the current month in the fleet's time zone, as an aware datetime."""
    local = (at or timezone.now()).astimezone(fleet_time_zone(fleet=fleet))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


# --- drivers, vehicles, cards -------------------------------------------------------------------------------------

def _get(queryset: QuerySet, pk: int, what: str):
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise FleetObjectNotFound(f"No such {what} in this fleet.")
    return obj


def fleet_drivers(*, fleet: Organization) -> QuerySet[User]:
    """The fleet's drivers (a `driver` membership), with their cards and vehicles in the fleet, their billing
    customer and this month's energy (Wh, sessions with the fleet's cards since the 1st in the fleet's zone)."""
    month_energy = (ChargingSession.objects
                    .filter(user=OuterRef("pk"), id_tag__organization=fleet,
                            started_at__gte=fleet_month_start(fleet=fleet))
                    .order_by().values("user").annotate(total=Sum("energy_wh")).values("total"))
    return (User.objects
            .filter(pk__in=Membership.objects.filter(organization=fleet, role=Membership.Role.DRIVER)
                    .values("user_id"))
            .annotate(energy_this_month_wh=Coalesce(Subquery(month_energy), 0))
            .prefetch_related(
                Prefetch("id_tags", queryset=IdTag.objects.filter(organization=fleet).order_by("uid")
                         .select_related("billing_card__customer")
                         .prefetch_related(Prefetch("billing_card__customer__subscriptions",
                                                    queryset=Subscription.objects.select_related("plan"))),
                         to_attr="fleet_cards"),
                Prefetch("vehicles", queryset=Vehicle.objects.filter(organization=fleet).order_by("pk"),
                         to_attr="fleet_vehicles"),
                Prefetch("billing_customers",
                         queryset=Customer.objects.filter(organization=fleet).prefetch_related(
                             Prefetch("subscriptions", queryset=Subscription.objects.select_related("plan"))),
                         to_attr="fleet_customers"),
            )
            .order_by("last_name", "first_name", "pk"))


def fleet_driver_get(*, fleet: Organization, driver_id: int) -> User:
    return _get(fleet_drivers(fleet=fleet), driver_id, "driver")


def driver_current_plan(*, driver: User, on: date) -> Plan | None:
    """The plan the driver charges under on `on`: their own customer record's in the fleet, else that of the
    customer their card is billed to (a fleet company paying for its drivers' cards). Needs `fleet_drivers`'
    prefetches."""
    customers = list(driver.fleet_customers)
    customers += [card.billing_card.customer for card in driver.fleet_cards if hasattr(card, "billing_card")]
    for customer in customers:
        for subscription in customer.subscriptions.all():
            if subscription.starts_on <= on and (subscription.ends_on is None or subscription.ends_on >= on):
                return subscription.plan
    return None


def fleet_vehicles(*, fleet: Organization) -> QuerySet[Vehicle]:
    return Vehicle.objects.filter(organization=fleet).select_related("owner", "id_tag").order_by("pk")


def fleet_vehicle_get(*, fleet: Organization, vehicle_id: int) -> Vehicle:
    return _get(fleet_vehicles(fleet=fleet), vehicle_id, "vehicle")


def fleet_cards(*, fleet: Organization) -> QuerySet[IdTag]:
    return (IdTag.objects.filter(organization=fleet).select_related("owner")
            .prefetch_related(Prefetch("vehicles", queryset=Vehicle.objects.order_by("pk")))
            .order_by("uid", "pk"))


def fleet_card_get(*, fleet: Organization, card_id: int) -> IdTag:
    return _get(fleet_cards(fleet=fleet), card_id, "card")


# --- plans ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SubscriptionMonth:
    subscription: Subscription
    active: bool
    included_wh: int  # this month, prorated by the days the subscription is active in it
    used_wh: int  # energy of the customer's sessions settled in this month


def fleet_plans(*, fleet: Organization) -> QuerySet[Plan]:
    return Plan.objects.filter(organization=fleet).prefetch_related(
        Prefetch("subscriptions", queryset=Subscription.objects.select_related("customer")
                 .order_by("-starts_on", "pk"))).order_by("name", "pk")


def fleet_plan_get(*, fleet: Organization, plan_id: int) -> Plan:
    return _get(fleet_plans(fleet=fleet), plan_id, "plan")


def plan_subscription_months(*, fleet: Organization, plan: Plan, today: date | None = None) -> list[SubscriptionMonth]:
    """The plan's subscriptions with this month's included energy (prorated as billing prorates it) and how much
    of it the customer used: the energy of its sessions settled into this month (what the invoice will count)."""
    from apps.billing.services.plans import plan_months_of

    today = today or timezone.now().astimezone(fleet_time_zone(fleet=fleet)).date()
    month = today.replace(day=1)
    subscriptions = list(plan.subscriptions.all())
    used = dict(SessionCharge.objects.filter(customer_id__in={s.customer_id for s in subscriptions}, period=month)
                .order_by().values("customer_id").annotate(total=Sum("energy_wh")).values_list("customer_id", "total"))
    included = {pm.subscription.pk: pm.included_wh for pm in plan_months_of(subscriptions=subscriptions, month=month)}
    return [SubscriptionMonth(
        subscription=s, active=s.starts_on <= today and (s.ends_on is None or s.ends_on >= today),
        included_wh=included.get(s.pk, 0), used_wh=int(used.get(s.customer_id) or 0),
    ) for s in subscriptions]


# --- sessions and usage -------------------------------------------------------------------------------------------

def _charge_of(column: str) -> Subquery:
    # session_id is unique: one index lookup per session, no ordering needed.
    return Subquery(SessionCharge.objects.filter(session_id=OuterRef("pk")).order_by().values(column)[:1])


def fleet_sessions(*, fleet: Organization) -> QuerySet[ChargingSession]:
    """Sessions with the fleet's cards, newest first, annotated with what they cost: the settled SessionCharge's
    total incl. VAT, else the rated price's (a session not rated yet has none), and its currency."""
    return (_fleet_costed_sessions(fleet=fleet)
            .select_related("station__site", "id_tag", "user")
            .annotate(vehicle_id=_vehicle_of_card(fleet=fleet))
            .order_by("-started_at", "-pk"))


def _fleet_costed_sessions(*, fleet: Organization) -> QuerySet[ChargingSession]:
    money = DecimalField(max_digits=19, decimal_places=4)
    return ChargingSession.objects.filter(id_tag__organization=fleet).annotate(
        cost_amount=Coalesce(_charge_of("total"), F("price__total_incl_vat"), output_field=money),
        cost_currency=Coalesce(_charge_of("total_currency"), F("price__currency")))


def _vehicle_of_card(*, fleet: Organization) -> Subquery:
    # Sessions do not record the vehicle: a session belongs to the vehicle whose usual card started it (the
    # oldest such vehicle when a card serves several).
    return Subquery(Vehicle.objects.filter(organization=fleet, id_tag_id=OuterRef("id_tag_id"))
                    .order_by("pk").values("pk")[:1])


def fleet_day_start(*, fleet: Organization, day: date) -> datetime:
    """00:00 of `day` in the fleet's time zone (an aware datetime)."""
    return datetime.combine(day, time.min, tzinfo=fleet_time_zone(fleet=fleet))


def period_bounds(*, fleet: Organization, date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """[from 00:00, to+1 00:00) in the fleet's time zone, as aware datetimes; both days inclusive."""
    if date_from > date_to:
        raise InvalidPeriod("'from' must be on or before 'to'.", extra={"from": ["Must be on or before 'to'."]})
    if (date_to - date_from).days + 1 > USAGE_MAX_DAYS:
        raise InvalidPeriod(f"The period is at most {USAGE_MAX_DAYS} days.",
                            extra={"to": [f"At most {USAGE_MAX_DAYS} days after 'from'."]})
    return (fleet_day_start(fleet=fleet, day=date_from),
            fleet_day_start(fleet=fleet, day=date_to + timedelta(days=1)))


def default_period(*, fleet: Organization) -> tuple[date, date]:
    """This month so far, in the fleet's time zone."""
    today = timezone.now().astimezone(fleet_time_zone(fleet=fleet)).date()
    return today.replace(day=1), today


@dataclass
class UsageRow:
    key: str | None
    label: str
    sessions: int = 0
    energy_wh: int = 0
    duration_s: int = 0
    cost: dict[str, Decimal] = field(default_factory=dict)  # currency → amount (4 places, unrounded sum)
    unpriced_sessions: int = 0

    def add(self, *, sessions: int, energy_wh: int, duration_s: int, currency: str | None,
            amount: Decimal | None) -> None:
        self.sessions += sessions
        self.energy_wh += energy_wh
        self.duration_s += duration_s
        if currency:
            self.cost[currency] = self.cost.get(currency, Decimal("0")) + amount
        else:
            self.unpriced_sessions += sessions


@dataclass(frozen=True)
class Usage:
    group_by: str
    date_from: date
    date_to: date
    time_zone: str
    rows: list[UsageRow]
    totals: UsageRow


def _to_seconds(value) -> int:
    if value is None:
        return 0
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return int(value) // 1_000_000  # SQLite returns the summed duration in microseconds


def fleet_usage(*, fleet: Organization, group_by: str, date_from: date, date_to: date,
                now: datetime | None = None) -> Usage:
    """Sessions count, energy (Wh), duration (s, running sessions up to now) and cost per driver, vehicle, card,
    station or month of the fleet's sessions started in [date_from, date_to] (days in the fleet's time zone).
    The database groups by (key, currency); rows merge the currencies so a key is one row, with one cost per
    currency (money never converted). Sessions not rated yet count in sessions and energy but cost nothing yet
    (`unpriced_sessions`)."""
    if group_by not in USAGE_GROUPS:
        raise InvalidPeriod(f"group_by is one of {', '.join(USAGE_GROUPS)}.",
                            extra={"group_by": [f"One of {', '.join(USAGE_GROUPS)}."]})
    start, end = period_bounds(fleet=fleet, date_from=date_from, date_to=date_to)
    zone = fleet_time_zone(fleet=fleet)
    now = now or timezone.now()
    # Vehicles are grouped through their cards: the database sums per card, and each card's row goes to the
    # vehicle it belongs to (`_vehicle_of_card`'s rule), which spares a vehicle lookup per session.
    key_expression = {
        "driver": F("user_id"),
        "vehicle": F("id_tag_id"),
        "card": F("id_tag_id"),
        "station": F("station_id"),
        "month": TruncMonth("started_at", tzinfo=zone),
    }[group_by]
    duration = ExpressionWrapper(Coalesce(F("stopped_at"), Value(now)) - F("started_at"),
                                 output_field=DurationField())
    vehicle_of_card = {}
    if group_by == "vehicle":
        for vehicle_id, card_id in (Vehicle.objects.filter(organization=fleet, id_tag__isnull=False)
                                    .order_by("-pk").values_list("pk", "id_tag_id")):
            vehicle_of_card[card_id] = vehicle_id  # descending ids: the oldest vehicle of a card wins
    sessions = (ChargingSession.objects.filter(id_tag__organization=fleet, started_at__gte=start, started_at__lt=end)
                .annotate(session_ref=F("pk"), group_key=key_expression, seconds=duration,
                          price_total=F("price__total_incl_vat"), price_currency=F("price__currency"))
                .order_by().values("session_ref", "group_key", "energy_wh", "seconds", "price_total",
                                   "price_currency"))
    rows: dict[object, UsageRow] = {}
    totals = UsageRow(key=None, label="Total")
    for group_key, currency, count, energy, seconds, amount in _grouped_with_charges(sessions=sessions):
        key = group_key
        if group_by == "vehicle":
            key = vehicle_of_card.get(key)
        elif group_by == "month" and key is not None:
            key = _month_key(key)
        row = rows.get(key)
        if row is None:
            row = rows[key] = UsageRow(key=None if key is None else str(key), label="")
        figures = {"sessions": count, "energy_wh": int(energy or 0), "duration_s": max(0, _to_seconds(seconds)),
                   "currency": currency,
                   "amount": None if amount is None else Decimal(str(amount)).quantize(Decimal("0.0001"))}
        row.add(**figures)
        totals.add(**figures)
    _label_rows(fleet=fleet, group_by=group_by, rows=rows)
    ordered = sorted(rows.values(), key=lambda r: (r.key is None, r.label.lower() if group_by != "month" else r.key,
                                                   r.key or ""))
    return Usage(group_by=group_by, date_from=date_from, date_to=date_to, time_zone=str(zone), rows=ordered,
                 totals=totals)


def _grouped_with_charges(*, sessions: QuerySet) -> list[tuple]:
    """One GROUP BY (key, currency) over the sessions the ORM selected (`sessions` yields session_ref, group_key,
    energy_wh, seconds, price_total, price_currency), LEFT JOINed to their settled charges: (key, currency, count, Wh,
    duration, cost). The ORM has no relation from a session to its SessionCharge (billing keeps a plain
    session_id), and a correlated subquery per session made the report 5 times slower over 100,000 sessions
    (bench/fleet_usage.py), so the join is written here around the ORM's own SQL for the sessions.

    On PostgreSQL the query runs with JIT off: its plan costs crossed jit_optimize_above_cost and compiling took
    longer than executing (EXPLAIN ANALYZE). SET LOCAL ends with the transaction."""
    inner_sql, params = sessions.query.get_compiler(connection=connection).as_sql()
    q = connection.ops.quote_name
    charge = q(SessionCharge._meta.db_table)
    sql = (f"SELECT s.{q('group_key')}, COALESCE(c.{q('total_currency')}, s.{q('price_currency')}), COUNT(*), "
           f"SUM(s.{q('energy_wh')}), SUM(s.{q('seconds')}), SUM(COALESCE(c.{q('total')}, s.{q('price_total')})) "
           f"FROM ({inner_sql}) s LEFT JOIN {charge} c ON c.{q('session_id')} = s.{q('session_ref')} GROUP BY 1, 2")
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        return cursor.fetchall()


def _month_key(value) -> str:
    """YYYY-MM of a truncated month as the raw cursor returns it: a datetime already in the fleet's zone
    (PostgreSQL) or Django's SQLite text 'YYYY-MM-DD HH:MM:SS'."""
    if isinstance(value, datetime | date):
        return f"{value.year:04d}-{value.month:02d}"
    return str(value)[:7]


def _label_rows(*, fleet: Organization, group_by: str, rows: dict) -> None:
    """Name each row's key with one query per kind (the keys are ids of the fleet's own rows)."""
    ids = [int(k) for k in rows if k is not None and group_by != "month"]
    if group_by == "driver":
        names = {u.pk: (u.get_full_name() or u.username) for u in User.objects.filter(pk__in=ids)}
    elif group_by == "vehicle":
        names = {v.pk: str(v) for v in Vehicle.objects.filter(pk__in=ids, organization=fleet)}
    elif group_by == "card":
        names = {t.pk: str(t) for t in IdTag.objects.filter(pk__in=ids, organization=fleet)}
    elif group_by == "station":
        names = {s.pk: f"{s.ocpp_id} · {s.site.name}" for s in
                 ChargingStation.objects.filter(pk__in=ids).select_related("site")}
    else:
        names = {}
    missing = {"driver": "(no driver)", "vehicle": "(no vehicle)", "card": "(no card)", "station": "(no station)",
               "month": ""}[group_by]
    for key, row in rows.items():
        if group_by == "month":
            row.label = row.key
        elif key is None:
            row.label = missing
        else:
            row.label = names.get(int(key), f"#{key}")


# --- invoices -------------------------------------------------------------------------------------------------------

def fleet_invoices(*, fleet: Organization) -> QuerySet[Invoice]:
    """The invoices and credit notes the fleet's organization issued (to the company itself as a customer and to
    its postpaid drivers)."""
    return Invoice.objects.filter(organization=fleet).select_related("customer").order_by("-issued_at", "-number")


def fleet_invoice_get(*, fleet: Organization, invoice_id: int) -> Invoice:
    return _get(fleet_invoices(fleet=fleet).prefetch_related("lines"), invoice_id, "invoice")
