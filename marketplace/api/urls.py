from django.urls import path

from . import orders, views

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
]
