from django.urls import path

from . import catalog_api, views

app_name = "datasets"

urlpatterns = [
    path("curation/", views.curation_list, name="curation-list"),
    path("curation/new/", views.curation_edit, name="curation-new"),
    path("curation/<slug:slug>/", views.curation_edit, name="curation-edit"),
    path("curation/<slug:slug>/visibility/", views.dataset_visibility, name="visibility"),
    path("curation/<slug:slug>/versions/", views.version_build, name="version-build"),
    path("curation/<slug:slug>/versions/<int:number>/", views.version_card, name="version-card"),
    path("curation/<slug:slug>/versions/<int:number>/retry/", views.version_retry, name="version-retry"),
    path(
        "curation/<slug:slug>/versions/<int:number>/withdraw/",
        views.version_withdraw,
        name="version-withdraw",
    ),
    path("datasets/", views.catalog, name="catalog"),
    path("datasets/<slug:slug>/", views.dataset_detail, name="detail"),
    path("datasets/<slug:slug>/croissant.json", views.dataset_croissant, name="croissant"),
    # Sample keys are the assets' public ids in hex.
    path("datasets/<slug:slug>/previews/<str:key>.jpg", views.dataset_preview, name="preview"),
    # API.
    path("api/v1/datasets/", catalog_api.CatalogListView.as_view(), name="api-datasets"),
    path("api/v1/datasets/<slug:slug>/", catalog_api.CatalogDetailView.as_view(), name="api-dataset"),
]
