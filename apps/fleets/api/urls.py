from django.urls import path

from . import views

F = "fleets/<int:fleet_id>/"
urlpatterns = [
    path("fleets/", views.FleetListView.as_view(), name="api-fleets"),
    path(F + "drivers/", views.FleetDriverListView.as_view(), name="api-fleet-drivers"),
    path(F + "drivers/<int:driver_id>/", views.FleetDriverDetailView.as_view(), name="api-fleet-driver"),
    path(F + "vehicles/", views.FleetVehicleListView.as_view(), name="api-fleet-vehicles"),
    path(F + "vehicles/<int:vehicle_id>/", views.FleetVehicleDetailView.as_view(), name="api-fleet-vehicle"),
    path(F + "cards/", views.FleetCardListView.as_view(), name="api-fleet-cards"),
    path(F + "cards/<int:card_id>/", views.FleetCardDetailView.as_view(), name="api-fleet-card"),
    path(F + "cards/<int:card_id>/block/", views.FleetCardBlockView.as_view(), name="api-fleet-card-block"),
    path(F + "cards/<int:card_id>/unblock/", views.FleetCardUnblockView.as_view(), name="api-fleet-card-unblock"),
    path(F + "plans/", views.FleetPlanListView.as_view(), name="api-fleet-plans"),
    path(F + "plans/<int:plan_id>/", views.FleetPlanDetailView.as_view(), name="api-fleet-plan"),
    path(F + "usage/", views.FleetUsageView.as_view(), name="api-fleet-usage"),
    path(F + "usage.csv", views.FleetUsageCsvView.as_view(), name="api-fleet-usage-csv"),
    path(F + "usage.xlsx", views.FleetUsageXlsxView.as_view(), name="api-fleet-usage-xlsx"),
    path(F + "sessions/", views.FleetSessionListView.as_view(), name="api-fleet-sessions"),
    path(F + "sessions.csv", views.FleetSessionCsvView.as_view(), name="api-fleet-sessions-csv"),
    path(F + "sessions.xlsx", views.FleetSessionXlsxView.as_view(), name="api-fleet-sessions-xlsx"),
    path(F + "invoices/", views.FleetInvoiceListView.as_view(), name="api-fleet-invoices"),
    path(F + "invoices/<int:invoice_id>/", views.FleetInvoiceDetailView.as_view(), name="api-fleet-invoice"),
    path(F + "invoices/<int:invoice_id>/pdf/", views.FleetInvoicePdfView.as_view(), name="api-fleet-invoice-pdf"),
]
