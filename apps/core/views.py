from django.http import JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import selectors


@never_cache
@require_GET
def healthz(request):
    """The process is up and serving HTTP."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """The database and the channel layer answer; 503 with the reasons when not."""
    problems = [p for p in (selectors.database_problem(), selectors.channel_layer_problem()) if p]
    if problems:
        return JsonResponse({"status": "unavailable", "problems": problems}, status=503)
    return JsonResponse({"status": "ok", "checks": {"database": "ok", "channel_layer": "ok"}})


def page_not_found(request, exception):
    """404 for a URL that matches nothing: the API's one error body under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "not_found", "message": "No such API endpoint.", "fields": {}}},
                            status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """500 (a bug): the API's one error body under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "server_error", "message": "Internal error.", "fields": {}}},
                            status=500)
    return defaults.server_error(request)
