"""POST /ops/api/stations/<ocpp_id>/commands — send any OCPP 1.6 command to a station the caller administers."""
from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.schema import error_responses
from apps.organizations.selectors import queryset_scope
from apps.stations.models import ChargingStation

from ..services import CSMS_ACTIONS, command_send


class StationCommandView(APIView):
    """Back-office staff (scoped to the organizations they serve) send a command and get the charger's answer.
    Errors use the API's one format: invalid_command 400, station_offline 409, command_rejected 502,
    command_timeout 504."""

    permission_classes = [permissions.IsAdminUser]

    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=CSMS_ACTIONS)
        payload = serializers.DictField(default=dict)
        timeout = serializers.FloatField(required=False, min_value=0.1, max_value=300)

    class OutputSerializer(serializers.Serializer):
        station = serializers.CharField()
        action = serializers.CharField()
        response = serializers.DictField()

    @extend_schema(request=InputSerializer,
                   responses={200: OutputSerializer, **error_responses(400, 403, 404, 409, 502, 504)},
                   summary="Send an OCPP command to a station (back-office staff)")
    def post(self, request, ocpp_id: str):
        stations = queryset_scope(queryset=ChargingStation.objects.select_related("site"), user=request.user,
                                  organization_path="site__organization")
        station = get_object_or_404(stations, ocpp_id__iexact=ocpp_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        answer = command_send(station=station, action=data.validated_data["action"],
                              payload=data.validated_data["payload"], timeout=data.validated_data.get("timeout"),
                              requested_by=request.user)
        body = self.OutputSerializer({"station": station.ocpp_id, "action": data.validated_data["action"],
                                      "response": answer}).data
        return Response(body, status=status.HTTP_200_OK)
