from django.urls import path

from . import orders, revocations, views

urlpatterns = [
    path("me/", views.MeView.as_view(), name="api-me"),
    path("orders/", orders.OrderListView.as_view(), name="api-orders"),
    path("orders/<uuid:public_id>/", orders.OrderDetailView.as_view(), name="api-order"),
    path("licenses/", orders.LicenseListView.as_view(), name="api-licenses"),
    path("licenses/<uuid:public_id>/", orders.LicenseDetailView.as_view(), name="api-license"),
    path("licenses/<uuid:public_id>/files/", orders.LicenseFilesView.as_view(), name="api-license-files"),
    path(
        "licenses/<uuid:public_id>/certificate/",
        orders.LicenseCertificateView.as_view(),
        name="api-license-certificate",
    ),
    path("revocations/", revocations.RevocationFeedView.as_view(), name="api-revocations"),
    path("webhooks/", revocations.WebhookEndpointListView.as_view(), name="api-webhooks"),
    path("webhooks/<uuid:public_id>/", revocations.WebhookEndpointDetailView.as_view(), name="api-webhook"),
    path(
        "webhooks/<uuid:public_id>/deliveries/",
        revocations.WebhookDeliveryListView.as_view(),
        name="api-webhook-deliveries",
    ),
]
