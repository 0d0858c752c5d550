from django.urls import path

from .cards import CardBlockView, CardListView, VehicleDetailView, VehicleListCreateView
from .views import MeView

urlpatterns = [
    path("cards/", CardListView.as_view(), name="api-cards"),
    path("cards/<int:card_id>/block/", CardBlockView.as_view(), name="api-card-block"),
    path("me/", MeView.as_view(), name="api-me"),
    path("vehicles/", VehicleListCreateView.as_view(), name="api-vehicles"),
    path("vehicles/<int:vehicle_id>/", VehicleDetailView.as_view(), name="api-vehicle"),
]
