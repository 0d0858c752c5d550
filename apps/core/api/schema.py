"""OpenAPI pieces shared by the apps' API views: the one error body every 4xx uses (evnet/exceptions.py)."""
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorDetail",
            fields={
                "code": serializers.CharField(help_text="Stable machine-readable code, e.g. not_found, invalid."),
                "message": serializers.CharField(help_text="What went wrong, for people."),
                "fields": serializers.DictField(help_text="Per-field messages for invalid input."),
            },
        )
    },
)


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """`responses=` entries for the error statuses a view can answer."""
    texts = {400: "Invalid input", 401: "Not authenticated", 403: "Not allowed", 404: "Not found or not yours",
             409: "Conflicts with the current state", 429: "Too many requests", 502: "The charger refused",
             504: "The charger did not answer in time"}
    return {status: OpenApiResponse(ErrorSerializer, description=texts.get(status, "Error")) for status in statuses}


class EvnetAutoSchema(AutoSchema):
    """Views follow STYLE.md's nested `InputSerializer` / `OutputSerializer`: name each component after its view
    (`MeView.OutputSerializer` → `MeViewOutput`) so that the schema's components never collide."""

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False) -> str:
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        serializer_class = serializer if isinstance(serializer, type) else type(serializer)
        outer = serializer_class.__qualname__.rpartition(".")[0]
        if outer and "<locals>" not in outer and not name.startswith(outer.replace(".", "")):
            name = outer.replace(".", "") + name
        return name
