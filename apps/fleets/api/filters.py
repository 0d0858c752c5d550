"""Query-string filters of the fleet lists (django-filter). Invalid values are a 400 naming the parameter."""
from __future__ import annotations

import django_filters

from apps.charging.models import ChargingSession
from apps.invoices.models import Invoice
from apps.users.models import IdTag, Vehicle


class CardFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=IdTag.Status.choices)
    driver = django_filters.NumberFilter(field_name="owner_id", min_value=1, max_value=2**31 - 1)
    uid = django_filters.CharFilter(field_name="uid", lookup_expr="icontains", max_length=20)

    class Meta:
        model = IdTag
        fields = ["status", "driver", "uid"]


class VehicleFilter(django_filters.FilterSet):
    driver = django_filters.NumberFilter(field_name="owner_id", min_value=1, max_value=2**31 - 1)
    license_plate = django_filters.CharFilter(field_name="license_plate", lookup_expr="icontains", max_length=16)

    class Meta:
        model = Vehicle
        fields = ["driver", "license_plate"]


class SessionFilter(django_filters.FilterSet):
    """`from`/`to` are days in the fleet's time zone, applied by the view (they need the fleet)."""

    state = django_filters.ChoiceFilter(choices=ChargingSession.State.choices)
    driver = django_filters.NumberFilter(field_name="user_id", min_value=1, max_value=2**31 - 1)
    card = django_filters.NumberFilter(field_name="id_tag_id", min_value=1, max_value=2**31 - 1)
    station = django_filters.CharFilter(field_name="station__ocpp_id", lookup_expr="iexact", max_length=48)
    vehicle = django_filters.NumberFilter(field_name="vehicle_id", min_value=1, max_value=2**31 - 1)

    class Meta:
        model = ChargingSession
        fields = ["state", "driver", "card", "station"]


class InvoiceFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Invoice.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Invoice.Kind.choices)
    customer = django_filters.NumberFilter(field_name="customer_id", min_value=1, max_value=2**31 - 1)
    period_from = django_filters.DateFilter(field_name="period", lookup_expr="gte")
    period_to = django_filters.DateFilter(field_name="period", lookup_expr="lte")

    class Meta:
        model = Invoice
        fields = ["status", "kind", "customer", "period_from", "period_to"]
