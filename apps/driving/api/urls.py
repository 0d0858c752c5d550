from django.urls import path

from .views import (RemoteStartDetailView, SessionDetailView, SessionListCreateView, SessionReceiptView,
                    SessionStopView, StationDetailView, StationListView)

urlpatterns = [
    path("stations/", StationListView.as_view(), name="api-stations"),
    path("stations/<int:station_id>/", StationDetailView.as_view(), name="api-station"),
    path("sessions/", SessionListCreateView.as_view(), name="api-sessions"),
    path("sessions/starts/<int:start_id>/", RemoteStartDetailView.as_view(), name="api-session-start"),
    path("sessions/<int:session_id>/", SessionDetailView.as_view(), name="api-session"),
    path("sessions/<int:session_id>/stop/", SessionStopView.as_view(), name="api-session-stop"),
    path("sessions/<int:session_id>/receipt.pdf", SessionReceiptView.as_view(), name="api-session-receipt"),
]
