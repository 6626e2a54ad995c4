from django.urls import path

from . import views

app_name = "datasets"

urlpatterns = [
    path("curation/", views.curation_list, name="curation-list"),
    path("curation/new/", views.curation_edit, name="curation-new"),
    path("curation/<slug:slug>/", views.curation_edit, name="curation-edit"),
    path("curation/<slug:slug>/versions/", views.version_freeze, name="version-freeze"),
]
