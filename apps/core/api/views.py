"""Authentication for apps: exchange a username and password for a token, and revoke it."""
from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from evnet.exceptions import DomainError

from .schema import error_responses


class InvalidCredentials(DomainError):
    """Wrong username or password."""

    code = "invalid_credentials"
    http_status = 400


class TokenView(APIView):
    """POST: a username and password give the person's API token (the same one until revoked).
    DELETE: revoke the caller's token (log out every app that used it)."""

    authentication_classes = APIView.authentication_classes
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    def get_permissions(self):
        if self.request.method == "POST":
            return [permissions.AllowAny()]
        return [permissions.IsAuthenticated()]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=128, style={"input_type": "password"}, trim_whitespace=False)

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        user_id = serializers.IntegerField()
        username = serializers.CharField()

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, **error_responses(400, 429)},
                   auth=[], summary="Get an API token")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, username=data.validated_data["username"],
                            password=data.validated_data["password"])
        if user is None or not user.is_active:
            raise InvalidCredentials()
        token, _ = Token.objects.get_or_create(user=user)
        return Response(self.OutputSerializer({"token": token.key, "user_id": user.pk,
                                               "username": user.get_username()}).data)

    @extend_schema(request=None, responses={204: None, **error_responses(401)}, summary="Revoke the caller's token")
    def delete(self, request):
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
