from django.contrib import admin
from django.urls import include, path

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
]
