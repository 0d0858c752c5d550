from django.contrib import admin
from django.urls import include, path

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core import views as core_views

admin.site.site_header = "evnet back-office"
admin.site.site_title = "evnet"
admin.site.index_title = "Charging network administration"

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("ocpp-files/", include("apps.ocpp.urls")),
    path("ops/", include("apps.operations.urls")),
    path("tariffs/", include("apps.tariffs.urls")),
    path("billing/", include("apps.billing.urls")),
    path("invoices/", include("apps.invoices.urls")),
    path("pricing/", include("apps.pricing.urls")),
    path("rating/", include("apps.rating.urls")),
    path("api/v1/", include("evnet.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"
