"""GET/PATCH /api/v1/me/ — who the caller is and the roles they hold in which organizations."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.schema import error_responses

from ..selectors import user_memberships
from ..services import user_profile_update


class MeView(APIView):
    class MembershipSerializer(serializers.Serializer):
        organization_id = serializers.IntegerField(source="organization.pk")
        organization_name = serializers.CharField(source="organization.name")
        organization_kind = serializers.CharField(source="organization.kind")
        role = serializers.CharField()

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        first_name = serializers.CharField()
        last_name = serializers.CharField()
        email = serializers.CharField(help_text="E-mail address (may be empty).")
        phone = serializers.CharField()
        preferred_language = serializers.CharField()
        memberships = serializers.SerializerMethodField()

        def get_memberships(self, user) -> list[dict]:
            return MeView.MembershipSerializer(user_memberships(user=user), many=True).data

    class InputSerializer(serializers.Serializer):
        first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
        last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
        email = serializers.EmailField(required=False, allow_blank=True)
        phone = serializers.RegexField(r"^\+?[0-9 ()-]{0,32}$", max_length=32, required=False, allow_blank=True)
        preferred_language = serializers.ChoiceField(choices=["pt", "en"], required=False)

    @extend_schema(responses={200: OutputSerializer, **error_responses(401)}, summary="The caller")
    def get(self, request):
        return Response(self.OutputSerializer(request.user).data)

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, **error_responses(400, 401)},
                   summary="Update the caller's name, e-mail, phone or language")
    def patch(self, request):
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = user_profile_update(user=request.user, **data.validated_data)
        return Response(self.OutputSerializer(user).data)
