"""The driver's RFID cards (block a lost one) and vehicles."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.pagination import PagePagination
from apps.core.api.schema import error_responses

from ..models import IdTag
from ..selectors import id_tag_get_owned, id_tag_list_owned, vehicle_get_owned, vehicle_list_owned
from ..services import id_tag_block_by_owner, vehicle_create, vehicle_delete, vehicle_update


class CardSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    uid = serializers.CharField()
    label = serializers.CharField()
    status = serializers.CharField(help_text="active or blocked")
    organization_id = serializers.IntegerField()
    organization_name = serializers.CharField(source="organization.name")
    price_group = serializers.CharField(source="user_group")
    expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class CardListView(APIView):
    pagination_class = PagePagination  # documents ?page=&page_size= and the paginated body
    @extend_schema(summary="Your RFID cards", responses={200: CardSerializer(many=True), **error_responses(400, 401,
                                                                                                          404, 429)})
    def get(self, request):
        paginator = PagePagination()
        page = paginator.paginate_queryset(id_tag_list_owned(user=request.user), request, view=self)
        return paginator.get_paginated_response(CardSerializer(page, many=True).data)


class CardBlockView(APIView):
    @extend_schema(summary="Block a lost card (refused from the next Authorize on; repeating changes nothing)",
                   request=None, responses={200: CardSerializer, **error_responses(401, 404, 429)})
    def post(self, request, card_id: int):
        card = id_tag_block_by_owner(id_tag=id_tag_get_owned(user=request.user, id_tag_id=card_id))
        return Response(CardSerializer(card).data)


class VehicleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    make = serializers.CharField()
    model = serializers.CharField()
    license_plate = serializers.CharField()
    battery_capacity_wh = serializers.IntegerField(allow_null=True)
    organization_id = serializers.IntegerField()
    card_id = serializers.IntegerField(source="id_tag_id", allow_null=True)
    created_at = serializers.DateTimeField()


class _VehicleInput(serializers.Serializer):
    make = serializers.CharField(max_length=60)
    model = serializers.CharField(max_length=60)
    license_plate = serializers.CharField(max_length=16, required=False, allow_blank=True)
    battery_capacity_wh = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False,
                                                   allow_null=True)
    card_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False, allow_null=True,
                                       help_text="Your card usually used with it.")

    def card(self, user) -> IdTag | None:
        card_id = self.validated_data.get("card_id")
        return None if card_id is None else id_tag_get_owned(user=user, id_tag_id=card_id)


class VehicleListCreateView(APIView):
    pagination_class = PagePagination  # documents ?page=&page_size= and the paginated body
    class InputSerializer(_VehicleInput):
        organization_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False,
                                                   help_text="Needed when you belong to several organizations.")

    @extend_schema(summary="Your vehicles", responses={200: VehicleSerializer(many=True),
                                                       **error_responses(400, 401, 404, 429)})
    def get(self, request):
        paginator = PagePagination()
        page = paginator.paginate_queryset(vehicle_list_owned(user=request.user), request, view=self)
        return paginator.get_paginated_response(VehicleSerializer(page, many=True).data)

    @extend_schema(summary="Register a vehicle", request=InputSerializer,
                   responses={201: VehicleSerializer, **error_responses(400, 401, 404, 429)})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        vehicle = vehicle_create(owner=request.user, make=values["make"], model=values["model"],
                                 license_plate=values.get("license_plate", ""),
                                 battery_capacity_wh=values.get("battery_capacity_wh"),
                                 organization_id=values.get("organization_id"), id_tag=data.card(request.user))
        return Response(VehicleSerializer(vehicle).data, status=status.HTTP_201_CREATED)


class VehicleDetailView(APIView):
    class InputSerializer(_VehicleInput):
        pass

    @extend_schema(summary="One of your vehicles", responses={200: VehicleSerializer, **error_responses(401, 404,
                                                                                                       429)})
    def get(self, request, vehicle_id: int):
        return Response(VehicleSerializer(vehicle_get_owned(user=request.user, vehicle_id=vehicle_id)).data)

    @extend_schema(summary="Change a vehicle", request=InputSerializer,
                   responses={200: VehicleSerializer, **error_responses(400, 401, 404, 429)})
    def patch(self, request, vehicle_id: int):
        vehicle = vehicle_get_owned(user=request.user, vehicle_id=vehicle_id)
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k != "card_id"}
        if "card_id" in data.validated_data:
            fields["id_tag"] = data.card(request.user)
        return Response(VehicleSerializer(vehicle_update(vehicle=vehicle, **fields)).data)

    @extend_schema(summary="Remove a vehicle", responses={204: None, **error_responses(401, 404, 429)})
    def delete(self, request, vehicle_id: int):
        vehicle_delete(vehicle=vehicle_get_owned(user=request.user, vehicle_id=vehicle_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
