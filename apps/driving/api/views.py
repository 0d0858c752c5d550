"""The driver's side of /api/v1/: stations near a point or in a map box with live status and prices, starting,
following and stopping a charge, history and receipts. Thin: parse, call one service or selector, serialize."""
from __future__ import annotations

import math
from datetime import timezone as dt_timezone

import django_filters
from django import forms
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.charging.models import ChargingSession
from apps.core.api.pagination import PagePagination
from apps.core.api.schema import error_responses
from apps.rating.exceptions import SessionNotClosed
from apps.rating.selectors import station_prices_many
from apps.rating.services.receipts import receipt_pdf
from apps.stations.selectors import (station_queryset_usable_by, stations_in_box, stations_near,
                                     stations_with_connectors)

from ..exceptions import ReceiptNotReady, SearchInvalid
from ..selectors import (driver_price_group, remote_start_get_for_driver, session_get_for_driver, session_live,
                         session_queryset_for_driver, station_get_for_driver)
from ..services import charge_start, charge_stop
from .renderers import FastJSONRenderer
from .serializers import (RemoteStartSerializer, SessionListItemSerializer, SessionSerializer, StationSerializer,
                          prices_json, station_json)

MAX_RADIUS_KM = 50
MAX_BOX_DEGREES = 5  # a map box wider or taller than this is a whole country: zoom in


def _floats(raw: str, count: int, name: str, example: str) -> list[float]:
    parts = raw.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(parts) != count or len(values) != count or not all(math.isfinite(v) for v in values):
        raise SearchInvalid(f"{name} takes {count} comma-separated numbers, e.g. {name}={example}.",
                            extra={name: [f"Expected {count} numbers like {example}."]})
    return values


def _check_point(lat: float, lon: float, name: str) -> None:
    if not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise SearchInvalid(f"{name}: latitude must be within [-90, 90] and longitude within [-180, 180].",
                            extra={name: ["Coordinates out of range."]})


class StationSearchQuery:
    """?near=<lat>,<lon>&radius_km=<km> or ?bbox=<min_lon>,<min_lat>,<max_lon>,<max_lat> (exactly one)."""

    def __init__(self, params):
        near, bbox = params.get("near"), params.get("bbox")
        if (near is None) == (bbox is None):
            raise SearchInvalid("Give either near=<lat>,<lon> (with radius_km) or bbox=<min_lon>,<min_lat>,"
                                "<max_lon>,<max_lat>.", extra={"near": ["Give near or bbox."]})
        self.near = self.bbox = None
        self.radius_km = 5.0
        if near is not None:
            lat, lon = _floats(near, 2, "near", "38.7369,-9.1427")
            _check_point(lat, lon, "near")
            self.near = (lat, lon)
            raw = params.get("radius_km")
            if raw is not None:
                try:
                    self.radius_km = float(raw)
                except ValueError:
                    self.radius_km = float("nan")
                if not math.isfinite(self.radius_km) or not 0 < self.radius_km <= MAX_RADIUS_KM:
                    raise SearchInvalid(f"radius_km must be a number above 0 and at most {MAX_RADIUS_KM}.",
                                        extra={"radius_km": [f"Between 0 and {MAX_RADIUS_KM} km."]})
        else:
            if params.get("radius_km") is not None:
                raise SearchInvalid("radius_km goes with near=, not with bbox=.",
                                    extra={"radius_km": ["Only with near."]})
            min_lon, min_lat, max_lon, max_lat = _floats(bbox, 4, "bbox", "-9.23,38.69,-9.09,38.80")
            _check_point(min_lat, min_lon, "bbox")
            _check_point(max_lat, max_lon, "bbox")
            if min_lat > max_lat:
                raise SearchInvalid("bbox: min_lat must not be above max_lat.", extra={"bbox": ["min_lat > max_lat."]})
            width = (max_lon - min_lon) % 360 if min_lon > max_lon else max_lon - min_lon
            if width > MAX_BOX_DEGREES or max_lat - min_lat > MAX_BOX_DEGREES:
                raise SearchInvalid(f"bbox is too large: at most {MAX_BOX_DEGREES}° a side.",
                                    extra={"bbox": [f"At most {MAX_BOX_DEGREES} degrees a side."]})
            self.bbox = (min_lon, min_lat, max_lon, max_lat)


def stations_payload(*, stations, distances: dict[int, float], user, now) -> list[dict]:
    """The JSON of a page of stations: live status from the rows, prices for the caller's price group computed
    once per distinct tariff situation (station_prices_many) and serialized once per distinct result."""
    prices = station_prices_many(stations=stations, user_group=driver_price_group(user=user, at=now), now=now)
    rendered: dict[int, dict | None] = {}
    out = []
    for station in stations:
        value = prices.get(station.pk)
        key = id(value)
        if key not in rendered:
            rendered[key] = prices_json(value)
        out.append(station_json(station, distance_km=distances.get(station.pk), prices_json_value=rendered[key]))
    return out


class StationListView(APIView):
    """Stations the caller may charge at, near a point (nearest first) or in a map box."""
    pagination_class = PagePagination  # documents ?page=&page_size= and the paginated body

    renderer_classes = [FastJSONRenderer, BrowsableAPIRenderer]

    @extend_schema(
        summary="Find stations near a point or in a map box, with live status and 24-hour prices",
        parameters=[
            OpenApiParameter("near", str, description="<lat>,<lon>, e.g. 38.7369,-9.1427"),
            OpenApiParameter("radius_km", float, description=f"With near: radius in km, 0 < r ≤ {MAX_RADIUS_KM} "
                                                             f"(default 5)."),
            OpenApiParameter("bbox", str, description="<min_lon>,<min_lat>,<max_lon>,<max_lat>; min_lon > max_lon "
                                                      "crosses the antimeridian."),
        ],
        responses={200: StationSerializer(many=True), **error_responses(400, 401, 404, 429)},
    )
    def get(self, request):
        query = StationSearchQuery(request.query_params)
        now = timezone.now()
        usable = station_queryset_usable_by(user=request.user, at=now)
        paginator = PagePagination()
        if query.near is not None:
            found = stations_near(queryset=usable, latitude=query.near[0], longitude=query.near[1],
                                  radius_km=query.radius_km)
            page = paginator.paginate_queryset(found, request, view=self)
            distances = dict(page)
            ids = [pk for pk, _ in page]
        else:
            min_lon, min_lat, max_lon, max_lat = query.bbox
            ids_query = stations_in_box(queryset=usable, min_lon=min_lon, min_lat=min_lat, max_lon=max_lon,
                                        max_lat=max_lat).order_by("pk").values_list("pk", flat=True)
            ids = list(paginator.paginate_queryset(ids_query, request, view=self))
            distances = {}
        stations = stations_with_connectors(station_ids=ids)
        return paginator.get_paginated_response(stations_payload(stations=stations, distances=distances,
                                                                 user=request.user, now=now))


class StationDetailView(APIView):
    renderer_classes = [FastJSONRenderer, BrowsableAPIRenderer]

    @extend_schema(summary="A station you may charge at, with live status and 24-hour prices",
                   responses={200: StationSerializer, **error_responses(401, 404, 429)})
    def get(self, request, station_id: int):
        now = timezone.now()
        station = station_get_for_driver(user=request.user, station_id=station_id, at=now)
        [body] = stations_payload(stations=[station], distances={}, user=request.user, now=now)
        return Response(body)


class UtcDateTimeField(django_filters.fields.IsoDateTimeField):
    """ISO 8601 with any offset, compared in UTC; moments the database cannot hold are refused, not a 500."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            value = value.astimezone(dt_timezone.utc) if value.tzinfo else value.replace(tzinfo=dt_timezone.utc)
        except OverflowError:
            value = None
        if value is None or not 1970 <= value.year <= 9998:
            raise forms.ValidationError("Give a moment between 1970 and 9998 (ISO 8601).", code="invalid")
        return value


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class SessionFilter(django_filters.FilterSet):
    from_ = UtcDateTimeFilter(field_name="started_at", lookup_expr="gte", label="from")
    to = UtcDateTimeFilter(field_name="started_at", lookup_expr="lt")
    station = django_filters.NumberFilter(field_name="station_id", min_value=1, max_value=2**63 - 1)
    state = django_filters.ChoiceFilter(choices=ChargingSession.State.choices)

    class Meta:
        model = ChargingSession
        fields = ["station", "state"]

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and "from" in data:
            data = data.copy()
            data["from_"] = data.pop("from")[-1] if hasattr(data, "getlist") else data.pop("from")
        super().__init__(data, *args, **kwargs)


class SessionListCreateView(APIView):
    pagination_class = PagePagination  # documents ?page=&page_size= and the paginated body
    class InputSerializer(serializers.Serializer):
        station_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
        connector_id = serializers.IntegerField(min_value=1, max_value=32767)
        card_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False, allow_null=True,
                                           help_text="One of your cards; default: your first active card.")

    @extend_schema(
        summary="Your charging history",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATETIME, description="Started at or after (ISO 8601)."),
            OpenApiParameter("to", OpenApiTypes.DATETIME, description="Started before (ISO 8601)."),
            OpenApiParameter("station", int), OpenApiParameter("state", str, enum=ChargingSession.State.values),
        ],
        responses={200: SessionListItemSerializer(many=True), **error_responses(400, 401, 404, 429)},
    )
    def get(self, request):
        queryset = session_queryset_for_driver(user=request.user).select_related("price").order_by("-started_at",
                                                                                                  "-pk")
        filterset = SessionFilter(request.query_params, queryset=queryset)
        if not filterset.is_valid():
            errors = dict(filterset.errors)
            if "from_" in errors:
                errors["from"] = errors.pop("from_")
            raise ValidationError(errors)
        paginator = PagePagination()
        page = paginator.paginate_queryset(filterset.qs, request, view=self)
        return paginator.get_paginated_response(SessionListItemSerializer(page, many=True).data)

    @extend_schema(
        summary="Start charging on a connector (RemoteStartTransaction)",
        request=InputSerializer,
        responses={201: OpenApiResponse(RemoteStartSerializer, description="Charging: session_id is set."),
                   202: OpenApiResponse(RemoteStartSerializer, description="The charger accepted but has not "
                                                                           "started yet: poll the start request."),
                   **error_responses(400, 401, 404, 409, 429, 502, 504)},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        start = charge_start(user=request.user, station_id=data.validated_data["station_id"],
                             connector_id=data.validated_data["connector_id"],
                             card_id=data.validated_data.get("card_id"))
        code = status.HTTP_201_CREATED if start.session_id else status.HTTP_202_ACCEPTED
        response = Response(RemoteStartSerializer(start).data, status=code)
        response["Location"] = (f"/api/v1/sessions/{start.session_id}/" if start.session_id
                                else f"/api/v1/sessions/starts/{start.pk}/")
        return response


class RemoteStartDetailView(APIView):
    @extend_schema(summary="A start request: resolves to the session once the charger has started",
                   responses={200: RemoteStartSerializer, **error_responses(401, 404, 429)})
    def get(self, request, start_id: int):
        return Response(RemoteStartSerializer(remote_start_get_for_driver(user=request.user,
                                                                          start_id=start_id)).data)


class SessionDetailView(APIView):
    @extend_schema(summary="Follow a session: energy, power, state of charge, running cost, final price",
                   responses={200: SessionSerializer, **error_responses(401, 404, 429)})
    def get(self, request, session_id: int):
        session = session_get_for_driver(user=request.user, session_id=session_id)
        return Response(SessionSerializer(session_live(session=session)).data)


class SessionStopView(APIView):
    @extend_schema(summary="Stop charging (RemoteStopTransaction)", request=None,
                   responses={202: SessionSerializer, **error_responses(401, 404, 409, 429, 502, 504)})
    def post(self, request, session_id: int):
        session = charge_stop(user=request.user, session_id=session_id)
        return Response(SessionSerializer(session_live(session=session)).data, status=status.HTTP_202_ACCEPTED)


class SessionReceiptView(APIView):
    @extend_schema(summary="The receipt of a closed session (PDF)",
                   responses={(200, "application/pdf"): OpenApiTypes.BINARY,
                              **error_responses(401, 404, 409, 429)})
    def get(self, request, session_id: int):
        session = session_get_for_driver(user=request.user, session_id=session_id)
        try:
            pdf = receipt_pdf(session_id=session.pk)
        except SessionNotClosed:
            raise ReceiptNotReady(f"Session #{session.pk} is still charging: the receipt exists once it is "
                                  f"closed and priced.") from None
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="evnet-session-{session.pk}.pdf"'
        return response
