from django.urls import path

from . import api, views

app_name = "creators"

urlpatterns = [
    path("creator/media/", views.media_list, name="media-list"),
    path("creator/media/upload/", views.media_upload, name="media-upload"),
    path("creator/media/counts/", views.media_counts, name="media-counts"),
    path("creator/media/bulk/", views.media_bulk_edit, name="media-bulk-edit"),
    path("creator/media/import/", views.media_import_csv, name="media-import"),
    path("creator/media/<uuid:public_id>/", views.media_detail, name="media-detail"),
    path("creator/media/<uuid:public_id>/card/", views.media_card, name="media-card"),
    path("creator/media/<uuid:public_id>/delete/", views.media_delete, name="media-delete"),
    path("media/<uuid:public_id>/<str:variant>", views.asset_file, name="asset-file"),
    path("api/v1/assets/", api.AssetListCreateView.as_view(), name="api-assets"),
    path("api/v1/assets/bulk/", api.AssetBulkUpdateView.as_view(), name="api-assets-bulk"),
    path("api/v1/assets/import/", api.AssetMetadataImportView.as_view(), name="api-assets-import"),
    path("api/v1/assets/<uuid:public_id>/", api.AssetDetailView.as_view(), name="api-asset"),
    path("api/v1/uploads/", api.UploadSessionListView.as_view(), name="api-uploads"),
    path("api/v1/uploads/<uuid:public_id>/", api.UploadSessionDetailView.as_view(), name="api-upload"),
    path(
        "api/v1/uploads/<uuid:public_id>/complete/",
        api.UploadSessionCompleteView.as_view(),
        name="api-upload-complete",
    ),
]
