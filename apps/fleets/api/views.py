"""/api/v1/fleets/ — what fleet managers and organization admins see of their organization: drivers (and
registering them), vehicles, cards (block/unblock), plans, sessions, usage (JSON, CSV, XLSX) and invoices (PDF).
Everything under /fleets/{fleet_id}/ answers 404 unless the caller is a fleet manager or an organization admin of
that organization; an id of another organization's object is a 404 too."""
from __future__ import annotations

from datetime import date, timedelta

from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from djmoney.money import Money
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field,
                                   inline_serializer)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.billing.models import Customer
from apps.charging.models import ChargingSession
from apps.core.api.fields import MoneyField, WattHoursField
from apps.core.api.pagination import PagePagination
from apps.core.api.schema import error_responses
from apps.invoices.models import Invoice
from apps.invoices.services.delivery import invoice_pdf
from apps.rating.formatting import kwh
from apps.users.models import IdTag

from .. import exports
from ..selectors import (USAGE_GROUPS, USAGE_MAX_DAYS, default_period, driver_current_plan, fleet_card_get,
                         fleet_cards, fleet_driver_get, fleet_drivers, fleet_get_for, fleet_invoice_get,
                         fleet_invoices, fleet_list, fleet_plan_get, fleet_day_start, fleet_plans, fleet_sessions,
                         fleet_time_zone,
                         fleet_usage, fleet_vehicle_get, fleet_vehicles, plan_subscription_months)
from ..services import fleet_card_set_status, fleet_driver_register
from .filters import CardFilter, InvoiceFilter, SessionFilter, VehicleFilter

PAGE_PARAMS = [OpenApiParameter("page", OpenApiTypes.INT, description="Page number (from 1)"),
               OpenApiParameter("page_size", OpenApiTypes.INT, description="Rows per page, at most 200")]
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
FLEET_ID = OpenApiParameter("fleet_id", OpenApiTypes.INT, OpenApiParameter.PATH,
                            description="The organization (GET /api/v1/fleets/ lists yours).")


def page_of(item: type[serializers.Serializer], name: str):
    """The schema of a paginated list of `item` (apps/core/api/pagination.py)."""
    return inline_serializer(name=name, fields={
        "count": serializers.IntegerField(),
        "next": serializers.CharField(allow_null=True),
        "previous": serializers.CharField(allow_null=True),
        "results": item(many=True),
    })


def paginated(*, request, view, queryset, serializer: type[serializers.Serializer], context: dict | None = None):
    paginator = PagePagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True, context=context or {}).data)


def filtered(*, filterset_class, request, queryset):
    filterset = filterset_class(request.query_params, queryset=queryset)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    return filterset.qs


def file_response(*, content: bytes, content_type: str, filename: str, inline: bool = False) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    return response


def person_name(user) -> str:
    return user.get_full_name() or user.get_username()


class FleetPersonRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return person_name(user)


class FleetCardRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    uid = serializers.CharField()
    label = serializers.CharField()
    status = serializers.ChoiceField(choices=IdTag.Status.choices)


class FleetVehicleRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    make = serializers.CharField()
    model = serializers.CharField()
    license_plate = serializers.CharField()


# --- fleets ---------------------------------------------------------------------------------------------------------

class FleetListView(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        kind = serializers.CharField()
        country = serializers.CharField()
        time_zone = serializers.SerializerMethodField()

        def get_time_zone(self, fleet) -> str:
            return str(fleet_time_zone(fleet=fleet))

    @extend_schema(parameters=PAGE_PARAMS, operation_id="fleets_list",
                   responses={200: page_of(OutputSerializer, "FleetListPage"), **error_responses(400, 401, 404)},
                   summary="Organizations where you are a fleet manager or organization admin")
    def get(self, request):
        return paginated(request=request, view=self, queryset=fleet_list(user=request.user),
                         serializer=self.OutputSerializer)


# --- drivers --------------------------------------------------------------------------------------------------------

class FleetBillingRefSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField()
    regime = serializers.ChoiceField(choices=Customer.Regime.choices)
    currency = serializers.CharField()


class FleetPlanRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class FleetDriverSerializer(serializers.Serializer):
    """A driver of the fleet as the manager sees them (needs `fleet_drivers`' annotations and prefetches)."""

    id = serializers.IntegerField()
    username = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    cards = FleetCardRefSerializer(source="fleet_cards", many=True)
    vehicles = FleetVehicleRefSerializer(source="fleet_vehicles", many=True)
    billing = serializers.SerializerMethodField()
    plan = serializers.SerializerMethodField()
    energy_this_month_wh = WattHoursField()
    energy_this_month_kwh = serializers.SerializerMethodField()

    @extend_schema_field(FleetBillingRefSerializer(allow_null=True))
    def get_billing(self, driver) -> dict | None:
        customer = next(iter(driver.fleet_customers), None)
        if customer is None:
            return None
        return {"customer_id": customer.pk, "regime": customer.regime, "currency": customer.currency}

    @extend_schema_field(FleetPlanRefSerializer(allow_null=True))
    def get_plan(self, driver) -> dict | None:
        plan = driver_current_plan(driver=driver, on=self.context["today"])
        return None if plan is None else {"id": plan.pk, "name": plan.name}

    def get_energy_this_month_kwh(self, driver) -> str:
        return kwh(driver.energy_this_month_wh)


def _today(fleet) -> date:
    return timezone.now().astimezone(fleet_time_zone(fleet=fleet)).date()


class FleetDriverCardInputSerializer(serializers.Serializer):
    uid = serializers.RegexField(r"^[0-9A-Za-z\-_.:*#]{1,20}$", max_length=20, error_messages={
        "invalid": "An RFID uid is 1 to 20 characters: letters, digits and - _ . : * # (OCPP 1.6 idToken)."})
    label = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class FleetDriverListView(APIView):
    """GET: the fleet's drivers. POST: register a driver (see `fleet_driver_register`)."""

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=140)
        first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
        last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
        phone = serializers.RegexField(r"^\+?[0-9 ()-]{0,32}$", max_length=32, required=False, allow_blank=True,
                                       default="")
        regime = serializers.ChoiceField(choices=Customer.Regime.choices, required=False,
                                         help_text="How the driver pays; default: postpaid for fleet companies "
                                                   "(on the company's monthly invoice), prepaid otherwise.")
        card = FleetDriverCardInputSerializer(required=False, help_text="A card to register for the driver.")

    class OutputSerializer(serializers.Serializer):
        driver = FleetDriverSerializer()
        created = serializers.BooleanField(help_text="A new account was created (false: an existing person of "
                                                     "this organization was registered as a driver).")
        initial_password = serializers.CharField(
            allow_null=True, help_text="Only for a new account, shown this once (stored only as a hash): hand it "
                                       "to the driver to log in to the app. null for an existing account.")

    @extend_schema(operation_id="fleets_drivers_list", parameters=[*PAGE_PARAMS, FLEET_ID],
                   responses={200: page_of(FleetDriverSerializer, "FleetDriverPage"), **error_responses(400, 401, 404)},
                   summary="The fleet's drivers: cards, vehicles, plan and this month's energy")
    def get(self, request, fleet_id: int):
        fleet = fleet_get_for(user=request.user, fleet_id=fleet_id)
        return paginated(request=request, view=self, queryset=fleet_drivers(fleet=fleet),
                         serializer=FleetDriverSerializer,
                         context={"today": _today(fleet)})

    @extend_schema(parameters=[FLEET_ID], request=InputSerializer,
                   responses={201: OutputSerializer, 200: OutputSerializer, **error_responses(400, 401, 404, 409)},
                   summary="Register a driver (idempotent on the e-mail): account, driver role, billing "
                           "customer and optionally a card")
    def post(self, request, fleet_id: int):
        fleet = fleet_get_for(user=request.user, fleet_id=fleet_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        card = values.get("card") or {}
        registration = fleet_driver_register(
            fleet=fleet, email=values["email"], first_name=values["first_name"], last_name=values["last_name"],
            phone=values["phone"], regime=values.get("regime"), card_uid=card.get("uid", ""),
            card_label=card.get("label", ""))
        driver = fleet_driver_get(fleet=fleet, driver_id=registration.driver.pk)
        body = self.OutputSerializer({"driver": driver, "created": registration.created,
                                      "initial_password": registration.initial_password},
                                     context={"today": _today(fleet)}).data
        return Response(body, status=status.HTTP_201_CREATED if registration.created else status.HTTP_200_OK)


class FleetDriverDetailView(APIView):
    @extend_schema(parameters=[FLEET_ID], responses={200: FleetDriverSerializer, **error_responses(401, 404)},
                   summary="One driver of the fleet")
    def get(self, request, fleet_id: int, driver_id: int):
        fleet = fleet_get_for(user=request.user, fleet_id=fleet_id)
        driver = fleet_driver_get(fleet=fleet, driver_id=driver_id)
        return Response(FleetDriverSerializer(driver, context={"today": _today(fleet)}).data)


# --- vehicles -------------------------------------------------------------------------------------------------------

class FleetVehicleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    make = serializers.CharField()
    model = serializers.CharField()
    license_plate = serializers.CharField()
    battery_capacity_wh = serializers.IntegerField(allow_null=True)
    driver = FleetPersonRefSerializer(source="owner", allow_null=True)
    card = FleetCardRefSerializer(source="id_tag", allow_null=True)
    created_at = serializers.DateTimeField()


VEHICLE_FILTERS = [
    OpenApiParameter("driver", OpenApiTypes.INT, description="Driver (user) id"),
    OpenApiParameter("license_plate", OpenApiTypes.STR, description="Part of the licence plate"),
]


class FleetVehicleListView(APIView):
    @extend_schema(operation_id="fleets_vehicles_list", parameters=[*PAGE_PARAMS, FLEET_ID, *VEHICLE_FILTERS],
                   responses={200: page_of(FleetVehicleSerializer, "FleetVehiclePage"),
                              **error_responses(400, 401, 404)},
                   summary="The fleet's vehicles")
    def get(self, request, fleet_id: int):
        fleet = fleet_get_for(user=request.user, fleet_id=fleet_id)
        vehicles = filtered(filterset_class=VehicleFilter, request=request, queryset=fleet_vehicles(fleet=fleet))
        return paginated(request=request, view=self, queryset=vehicles, serializer=FleetVehicleSerializer)


class FleetVehicleDetailView(APIView):
    @extend_schema(parameters=[FLEET_ID], responses={200: FleetVehicleSerializer, **error_responses(401, 404)},
                   summary="One vehicle of the fleet")
    def get(self, request, fleet_id: int, vehicle_id: int):
        fleet = fleet_get_for(user=request.user, fleet_id=fleet_id)
        return Response(FleetVehicleSerializer(fleet_vehicle_get(fleet=fleet, vehicle_id=vehicle_id)).data)


# --- cards ----------------------------------------------------------------------------------------------------------

class FleetCardSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    uid = serializers.CharField()
    label = serializers.CharField()
    status = serializers.ChoiceField(choices=IdTag.Status.choices)
    price_group = serializers.CharField(source="user_group")
    expires_at = serializers.DateTimeField(allow_null=True)
    driver = FleetPersonRefSerializer(source="owner", allow_null=True)
    vehicles = FleetVehicleRefSerializer(many=True)
    created_at = serializers.DateTimeField()


CARD_FILTERS = [
    OpenApiParameter("status", OpenApiTypes.STR, enum=IdTag.Status.values),
    OpenApiParameter("driver", OpenApiTypes.INT, description="Driver (user) id"),
    OpenApiParameter("uid", OpenApiTypes.STR, description="Part of the card uid"),
]


class FleetCardListView(APIView):
    @extend_schema(operation_id="fleets_cards_list", parameters=[*PAGE_PARAMS, FLEET_ID, *CARD_FILTERS],
                   responses={200: page_of(FleetCardSerializer, "FleetCardPage"), **error_responses(400, 401, 404)},
                   summary="The fleet's RFID cards, filterable by status and driver")
    def get(self, request, fleet_id: int):
        fleet = fleet_get_for(user=request.user, fleet_id=fleet_id)
        cards = filtered(filterset_class=CardFilter, request=request, queryset=fleet_cards(fleet=fleet))
        return paginated(request=request, view=self, queryset=cards, serializer=FleetCardSerializer)


class FleetCardDetailView(APIView):
    @extend_schema(parameters=[FLEET_ID], responses={200: FleetCardSerializer, **error_responses(401, 404)},
                   summary="One card of the fleet")
    def get(self, request, fleet_id: int, card_id: int):
        fleet = fleet_get_for(user=request.user, fleet_id=fleet_id)
        return Response(FleetCardSerializer(fleet_card_get(fleet=fleet, card_id=card_id)).data)


class FleetCardBlockView(APIView):
    """POST blocks the card (lost or withdrawn); doing it again changes nothing. The charger hears "Blocked" at
    the card's next Authorize or StartTransaction."""

    new_status = IdTag.Status.BLOCKED

    @extend_schema(parameters=[FLEET_ID], request=None,
                   responses={200: FleetCardSerializer, **error_responses(401, 404)},
                   summary="Block a card of the fleet (idempotent)")
    def post(self, request, fleet_id: int, card_id: int):
        fleet = fleet_get_for(user=request.user, fleet_id=fleet_id)
        card = fleet_card_set_status(fleet=fleet, card=fleet_card_get(fleet=fleet, card_id=card_id),
                                     status=self.new_status)
        return Response(FleetCardSerializer(fleet_card_get(fleet=fleet, card_id=card.pk)).data)


class FleetCardUnblockView(FleetCardBlockView):
    new_status = IdTag.Status.ACTIVE

    @extend_schema(parameters=[FLEET_ID], request=None,
                   responses={200: FleetCardSerializer, **error_responses(401, 404)},
                   summary="Unblock a card of the fleet (idempotent)")
    def post(self, request, fleet_id: int, card_id: int):
        return super().post(request, fleet_id, card_id)


# --- plans ----------------------------------------------------------------------------------------------------------

class FleetSubscriptionSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="subscription.pk")
    customer_id = serializers.IntegerField(source="subscription.customer.pk")
    customer_name = serializers.CharField(source="subscription.customer.name")
    starts_on = serializers.DateField(source="subscription.starts_on")
    ends_on = serializers.DateField(source="subscription.ends_on", allow_null=True)
    active = serializers.BooleanField()
    included_this_month_wh = WattHoursField(source="included_wh",
                                            help_text="The plan's included energy this month, prorated by the "
                                                      "days the subscription is active in it.")
    used_this_month_wh = WattHoursField(source="used_wh",
                                        help_text="Energy of the customer's sessions settled in this month.")
    remaining_this_month_wh = serializers.SerializerMethodField()

    def get_remaining_this_month_wh(self, month) -> int:
        return max(0, month.included_wh - month.used_wh)


class FleetPlanSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    monthly_fee = MoneyField(decimal_places=2, help_text="Excl. VAT.")
    included_wh = WattHoursField()
    included_kwh = serializers.SerializerMethodField()
    price_group = serializers.CharField(source="user_group")
    card_monthly_cap_wh = serializers.IntegerField(allow_null=True)
    subscriptions = serializers.SerializerMethodField()

    def get_included_kwh(self, plan) -> str:
        return kwh(plan.included_wh)

    @extend_schema_field(FleetSubscriptionSerializer(many=True))
    def get_subscriptions(self, plan) -> list[dict]:
        months = plan_subscription_months(fleet=self.context["fleet"], plan=plan, today=self.context["today"])
        return FleetSubscriptionSerializer(months, many=True).data


class FleetPlanListView(APIView):
    @extend_schema(operation_id="fleets_plans_list", parameters=[*PAGE_PARAMS, FLEET_ID],
                   responses={200: page_of(FleetPlanSerializer, "FleetPlanPage"), **error_responses(400, 401, 404)},
                   summary="The fleet's plans with their subscriptions and this month's use of the included energy")
    def get(self, request, fleet_id: int):
        fleet = fleet_get_for(user=request.user, fleet_id=fleet_id)
        return paginated(request=request, view=self, queryset=fleet_plans(fleet=fleet), serializer=FleetPlanSerializer,
                         context={"fleet": fleet, "today": _today(fleet)})


class FleetPlanDetailView(APIView):
    @extend_schema(parameters=[FLEET_ID], responses={200: FleetPlanSerializer, **error_responses(401, 404)},
                   summary="One plan of the fleet")
    def get(self, request, fleet_id: int, plan_id: int):
        fleet = fleet_get_for(user=request.user, fleet_id=fleet_id)
        plan = fleet_plan_get(fleet=fleet, plan_id=plan_id)
        return Response(FleetPlanSerializer(plan, context={"fleet": fleet, "today": _today(fleet)}).data)


# --- usage ----------------------------------------------------------------------------------------------------------

class PeriodQuerySerializer(serializers.Serializer):
    # `from` is a Python keyword, so the field is declared through the class namespace.
    locals()["from"] = serializers.DateField(required=False, help_text="First day (in the fleet's time zone); "
                                                                       "default: the 1st of this month.")
    to = serializers.DateField(required=False, help_text=f"Last day, inclusive; default: today. At most "
                                                          f"{USAGE_MAX_DAYS} days after 'from'.")

    def validate(self, attrs):
        # Days far outside the network's life would only overflow the time-zone arithmetic.
        errors = {name: [f"Give a day between {FIRST_DAY} and {LAST_DAY}."] for name in ("from", "to")
                  if attrs.get(name) and not FIRST_DAY <= attrs[name] <= LAST_DAY}
        if errors:
            raise ValidationError(errors)
        return attrs


class UsageQuerySerializer(PeriodQuerySerializer):
    group_by = serializers.ChoiceField(choices=USAGE_GROUPS)


def _period(*, fleet, query: dict) -> tuple[date, date]:
    first, last = default_period(fleet=fleet)
    date_from = query.get("from") or (first if not query.get("to") else query["to"].replace(day=1))
    return date_from, query.get("to") or (last if date_from <= last else date_from)


class FleetUsageRowSerializer(serializers.Serializer):
    key = serializers.CharField(allow_null=True, help_text="The driver, vehicle, card or station id, or the month "
                                                           "YYYY-MM; null for sessions without one.")
    label = serializers.CharField()
    sessions = serializers.IntegerField()
    energy_wh = WattHoursField()
    energy_kwh = serializers.SerializerMethodField()
    duration_s = serializers.IntegerField(help_text="Plugged-in time; running sessions count up to now.")
    unpriced_sessions = serializers.IntegerField(help_text="Sessions not rated yet (no cost yet).")
    cost = serializers.SerializerMethodField(help_text="Incl. VAT, one amount per currency.")

    def get_energy_kwh(self, row) -> str:
        return kwh(row.energy_wh)

    @extend_schema_field(serializers.ListField(child=MoneyField(decimal_places=2)))
    def get_cost(self, row) -> list[dict]:
        field = MoneyField(decimal_places=2)
        return [field.to_representation(Money(row.cost[c], c)) for c in sorted(row.cost)]


class FleetUsageView(APIView):
    class OutputSerializer(serializers.Serializer):
        group_by = serializers.CharField()
        time_zone = serializers.CharField(help_text="Days and months are counted in this zone.")
        period_from = serializers.DateField(source="date_from")
        period_to = serializers.DateField(source="date_to")
        rows = FleetUsageRowSerializer(many=True)
        totals = FleetUsageRowSerializer()

    @extend_schema(parameters=[FLEET_ID, UsageQuerySerializer],
                   responses={200: OutputSerializer, **error_responses(400, 401, 404)},
                   summary="Usage per driver, vehicle, card, station or month, with totals")
    def get(self, request, fleet_id: int):
        fleet = fleet_get_for(user=request.user, fleet_id=fleet_id)
        return Response(self.OutputSerializer(_usage(fleet=fleet, request=request)).data)


def _usage(*, fleet, request):
    query = UsageQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    date_from, date_to = _period(fleet=fleet, query=query.validated_data)
    return fleet_usage(fleet=fleet, group_by=query.validated_data["group_by"], date_from=date_from, date_to=date_to)


def _usage_filename(fleet, usage, extension: str) -> str:
    return f"usage-{fleet.slug}-{usage.group_by}-{usage.date_from:%Y%m%d}-{usage.date_to:%Y%m%d}.{extension}"


class FleetUsageCsvView(APIView):
    @extend_schema(parameters=[FLEET_ID, UsageQuerySerializer],
                   responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, UTF-8"),
                              **error_responses(400, 401, 404)},
                   summary="Usage as CSV (the same rows and totals)")
    def get(self, request, fleet_id: int):
        fleet = fleet_get_for(user=request.user, fleet_id=fleet_id)
        usage = _usage(fleet=fleet, request=request)
        header, rows = exports.usage_table(usage=usage)
        return file_response(content=exports.to_csv(header=header, rows=rows), content_type=exports.CSV_CONTENT_TYPE,
                             filename=_usage_filename(fleet, usage, "csv"))


class FleetUsageXlsxView(APIView):
    @extend_schema(parameters=[FLEET_ID, UsageQuerySerializer],
                   responses={(200, exports.XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY,
                                                                                description="Excel workbook"),
                              **error_responses(400, 401, 404)},
                   summary="Usage as XLSX (the same rows and totals)")
    def get(self, request, fleet_id: int):
        fleet = fleet_get_for(user=request.user, fleet_id=fleet_id)
        usage = _usage(fleet=fleet, request=request)
        header, rows = exports.usage_table(usage=usage)
        return file_response(content=exports.to_xlsx(header=header, rows=rows, title="Usage"),
                             content_type=exports.XLSX_CONTENT_TYPE, filename=_usage_filename(fleet, usage, "xlsx"))


# --- sessions -------------------------------------------------------------------------------------------------------

class FleetSessionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=ChargingSession.State.choices)
    started_at = serializers.DateTimeField()
    stopped_at = serializers.DateTimeField(allow_null=True)
    station = serializers.CharField(source="station.ocpp_id")
    site = serializers.CharField(source="station.site.name")
    connector = serializers.IntegerField(source="connector_number")
    card = serializers.SerializerMethodField()
    driver = FleetPersonRefSerializer(source="user", allow_null=True)
    vehicle_id = serializers.IntegerField(allow_null=True)
    energy_wh = WattHoursField()
    energy_kwh = serializers.SerializerMethodField()
    duration_s = serializers.SerializerMethodField()
    cost = serializers.SerializerMethodField(help_text="Incl. VAT; null until the session is rated.")

    @extend_schema_field(FleetCardRefSerializer(allow_null=True))
    def get_card(self, session) -> dict | None:
        return None if session.id_tag is None else FleetCardRefSerializer(session.id_tag).data

    def get_energy_kwh(self, session) -> str:
        return kwh(session.energy_wh)

    def get_duration_s(self, session) -> int:
        end = session.stopped_at or self.context["now"]
        return max(0, int((end - session.started_at).total_seconds()))

    @extend_schema_field(MoneyField(decimal_places=2, allow_null=True))
    def get_cost(self, session) -> dict | None:
        if session.cost_amount is None or not session.cost_currency:
            return None
        return MoneyField(decimal_places=2).to_representation(Money(session.cost_amount, session.cost_currency))


SESSION_FILTERS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="Started on or after this day (fleet's time zone)"),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Started on or before this day (inclusive)"),
    OpenApiParameter("state", OpenApiTypes.STR, enum=ChargingSession.State.values),
    OpenApiParameter("driver", OpenApiTypes.INT, description="Driver (user) id"),
    OpenApiParameter("card", OpenApiTypes.INT, description="Card id"),
    OpenApiParameter("vehicle", OpenApiTypes.INT, description="Vehicle id"),
    OpenApiParameter("station", OpenApiTypes.STR, description="Station OCPP id"),
]


def _sessions(*, fleet, request):
    query = PeriodQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    sessions = filtered(filterset_class=SessionFilter, request=request, queryset=fleet_sessions(fleet=fleet))
    values = query.validated_data
    if values.get("from") and values.get("to") and values["from"] > values["to"]:
        raise ValidationError({"from": ["Must be on or before 'to'."]})
    if values.get("from"):
        sessions = sessions.filter(started_at__gte=fleet_day_start(fleet=fleet, day=values["from"]))
    if values.get("to"):
        sessions = sessions.filter(started_at__lt=fleet_day_start(fleet=fleet, day=values["to"] + timedelta(days=1)))
    return sessions


class FleetSessionListView(APIView):
    @extend_schema(operation_id="fleets_sessions_list", parameters=[*PAGE_PARAMS, FLEET_ID, *SESSION_FILTERS],
                   responses={200: page_of(FleetSessionSerializer, "FleetSessionPage"),
                              **error_responses(400, 401, 404)},
                   summary="Sessions with the fleet's cards, newest first, with filters")
    def get(self, request, fleet_id: int):
        fleet = fleet_get_for(user=request.user, fleet_id=fleet_id)
        return paginated(request=request, view=self, queryset=_sessions(fleet=fleet, request=request),
                         serializer=FleetSessionSerializer, context={"now": timezone.now()})


class FleetSessionCsvView(APIView):
    @extend_schema(parameters=[FLEET_ID, *SESSION_FILTERS],
                   responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, UTF-8"),
                              **error_responses(400, 401, 404)},
                   summary="Sessions as CSV (same filters as the list)")
    def get(self, request, fleet_id: int):
        fleet = fleet_get_for(user=request.user, fleet_id=fleet_id)
        rows = exports.session_rows(sessions=_sessions(fleet=fleet, request=request).iterator(chunk_size=2000),
                                    now=timezone.now())
        return file_response(content=exports.to_csv(header=exports.SESSION_HEADER, rows=rows),
                             content_type=exports.CSV_CONTENT_TYPE, filename=f"sessions-{fleet.slug}.csv")


class FleetSessionXlsxView(APIView):
    @extend_schema(parameters=[FLEET_ID, *SESSION_FILTERS],
                   responses={(200, exports.XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY,
                                                                                description="Excel workbook"),
                              **error_responses(400, 401, 404)},
                   summary="Sessions as XLSX (same filters as the list)")
    def get(self, request, fleet_id: int):
        fleet = fleet_get_for(user=request.user, fleet_id=fleet_id)
        rows = exports.session_rows(sessions=_sessions(fleet=fleet, request=request).iterator(chunk_size=2000),
                                    now=timezone.now())
        return file_response(content=exports.to_xlsx(header=exports.SESSION_HEADER, rows=rows, title="Sessions"),
                             content_type=exports.XLSX_CONTENT_TYPE, filename=f"sessions-{fleet.slug}.xlsx")


# --- invoices -------------------------------------------------------------------------------------------------------

class FleetInvoiceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    document_number = serializers.CharField()
    kind = serializers.ChoiceField(choices=Invoice.Kind.choices)
    # A plain string in the schema: an enum named "status" would collide with the cards' (drf-spectacular).
    status = serializers.CharField(help_text="issued, paid, overdue or credited")
    customer_id = serializers.IntegerField()
    customer_name = serializers.CharField()
    period = serializers.DateField(help_text="First day of the billed month.")
    issued_at = serializers.DateTimeField()
    due_on = serializers.DateField()
    net = MoneyField(decimal_places=2)
    vat = MoneyField(decimal_places=2)
    total = MoneyField(decimal_places=2)
    paid = MoneyField(decimal_places=2)
    credits_id = serializers.IntegerField(allow_null=True, help_text="The invoice a credit note cancels.")
    pdf_url = serializers.SerializerMethodField()

    def get_pdf_url(self, invoice) -> str:
        return reverse("api-fleet-invoice-pdf", kwargs={"fleet_id": invoice.organization_id, "invoice_id": invoice.pk})


class FleetInvoiceLineSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    kind = serializers.CharField()
    description = serializers.CharField()
    session_id = serializers.IntegerField(allow_null=True)
    quantity = serializers.DecimalField(max_digits=19, decimal_places=4)
    unit = serializers.CharField()
    unit_price = serializers.DecimalField(max_digits=19, decimal_places=4)
    net = MoneyField(decimal_places=2)
    vat_rate = serializers.DecimalField(max_digits=5, decimal_places=4)
    vat = MoneyField(decimal_places=2)
    total = MoneyField(decimal_places=2)


class FleetInvoiceDetailSerializer(FleetInvoiceSerializer):
    lines = FleetInvoiceLineSerializer(many=True)


INVOICE_FILTERS = [
    OpenApiParameter("status", OpenApiTypes.STR, enum=Invoice.Status.values),
    OpenApiParameter("kind", OpenApiTypes.STR, enum=Invoice.Kind.values),
    OpenApiParameter("customer", OpenApiTypes.INT, description="Customer id"),
    OpenApiParameter("period_from", OpenApiTypes.DATE, description="Billed month on or after (YYYY-MM-DD)"),
    OpenApiParameter("period_to", OpenApiTypes.DATE, description="Billed month on or before (YYYY-MM-DD)"),
]


class FleetInvoiceListView(APIView):
    @extend_schema(operation_id="fleets_invoices_list", parameters=[*PAGE_PARAMS, FLEET_ID, *INVOICE_FILTERS],
                   responses={200: page_of(FleetInvoiceSerializer, "FleetInvoicePage"),
                              **error_responses(400, 401, 404)},
                   summary="Invoices and credit notes of the organization, newest first")
    def get(self, request, fleet_id: int):
        fleet = fleet_get_for(user=request.user, fleet_id=fleet_id)
        invoices = filtered(filterset_class=InvoiceFilter, request=request, queryset=fleet_invoices(fleet=fleet))
        return paginated(request=request, view=self, queryset=invoices, serializer=FleetInvoiceSerializer)


class FleetInvoiceDetailView(APIView):
    @extend_schema(parameters=[FLEET_ID], responses={200: FleetInvoiceDetailSerializer, **error_responses(401, 404)},
                   summary="One invoice with its lines")
    def get(self, request, fleet_id: int, invoice_id: int):
        fleet = fleet_get_for(user=request.user, fleet_id=fleet_id)
        return Response(FleetInvoiceDetailSerializer(fleet_invoice_get(fleet=fleet, invoice_id=invoice_id)).data)


class FleetInvoicePdfView(APIView):
    @extend_schema(parameters=[FLEET_ID],
                   responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="PDF"),
                              **error_responses(401, 404)},
                   summary="The invoice as PDF")
    def get(self, request, fleet_id: int, invoice_id: int):
        fleet = fleet_get_for(user=request.user, fleet_id=fleet_id)
        invoice = fleet_invoice_get(fleet=fleet, invoice_id=invoice_id)
        return file_response(content=invoice_pdf(invoice=invoice), content_type="application/pdf",
                             filename=f"{invoice.document_number.replace('/', '-')}.pdf", inline=True)
